#include "emulator/errors.h"

#include "absl/strings/str_cat.h"
#include "service/common/json_writer.h"

namespace wagate::emulator {
namespace {

struct CodeInfo {
  int code;
  int http_status;
  const char* title;
  bool transient;
};

// Titles as Meta's error-code page words them (CLOUD_API.md §4.2).
constexpr CodeInfo kCodes[] = {
    {0, 401, "AuthException", false},
    {1, 400, "API Unknown", true},
    {2, 503, "API Service", true},
    {3, 500, "API Method", false},
    {4, 400, "Too many API calls", true},
    {10, 403, "Permission Denied", false},
    {33, 400, "Parameter value is not valid", false},
    {100, 400, "Invalid parameter", false},
    {190, 401, "Access token has expired", false},
    {200, 403, "API Permission", false},
    {368, 403, "Temporarily blocked for policies violations", false},
    {80007, 400, "Rate limit issues", true},
    {130429, 400, "Rate limit hit", true},
    {130472, 400, "User's number is part of an experiment", false},
    {130497, 403,
     "Business account is restricted from messaging users in this country",
     false},
    {131000, 500, "Something went wrong", true},
    {131005, 403, "Access denied", false},
    {131008, 400, "Required parameter is missing", false},
    {131009, 400, "Parameter value is not valid", false},
    {131016, 500, "Service unavailable", true},
    {131021, 400, "Recipient cannot be sender", false},
    {131026, 400, "Message Undeliverable", false},
    {131031, 403, "Business Account locked", false},
    {131042, 400, "Business eligibility payment issue", false},
    {131045, 500, "Incorrect certificate", false},
    {131047, 400, "Re-engagement message", false},
    {131048, 400, "Spam rate limit hit", false},
    {131049, 400,
     "This message was not delivered to maintain healthy ecosystem "
     "engagement.",
     false},
    {131050, 400, "User has stopped receiving marketing messages", false},
    {131051, 400, "Unsupported message type", false},
    {131052, 400, "Media download error", false},
    {131053, 400, "Media upload error", false},
    {131056, 400, "(Business Account, Consumer Account) pair rate limit hit",
     true},
    {131057, 500, "Account in maintenance mode", true},
    {132000, 400,
     "Number of parameters does not match the expected number of "
     "params",
     false},
    {132001, 404, "Template name does not exist in the translation", false},
    {132005, 400, "Translated text too long", false},
    {132007, 400, "Format character policy violated", false},
    {132012, 400,
     "Parameter format does not match format in the created "
     "template",
     false},
    {132015, 400, "Template is Paused", false},
    {132016, 400, "Template is Disabled", false},
    {133000, 500, "Incomplete deregistration", false},
    {133004, 503, "Server temporarily unavailable", true},
    {133005, 400, "Two step verification PIN mismatch", false},
    {133006, 400, "Phone number re-verification needed", false},
    {133010, 400, "Phone number Not Registered", false},
    {133016, 400, "Account register deregister rate limit exceeded", false},
    {135000, 400, "Generic user error", false},
    {139100, 400, "Failed to block/unblock users", false},
};

const CodeInfo* Find(int code) {
  for (const CodeInfo& info : kCodes) {
    if (info.code == code) return &info;
  }
  return nullptr;
}

}  // namespace

absl::string_view ErrorTitle(int code) {
  const CodeInfo* info = Find(code);
  return info ? info->title : "";
}

int ErrorHttpStatus(int code) {
  const CodeInfo* info = Find(code);
  return info ? info->http_status : 400;
}

GraphError GraphError::Make(int code, std::string details) {
  GraphError e;
  e.code = code;
  const CodeInfo* info = Find(code);
  e.http_status = info ? info->http_status : 400;
  e.title = info ? info->title : "Unknown error";
  e.is_transient = info ? info->transient : false;
  e.details = std::move(details);
  if (code == 130429) e.subcode = 2494055;  // as in Meta's own example
  return e;
}

std::string GraphError::Message() const {
  return absl::StrCat("(#", code, ") ", title);
}

void WriteErrorObject(const GraphError& error, absl::string_view fbtrace_id,
                      common::JsonWriter* w) {
  w->BeginObject();
  w->Field("message", error.Message());
  w->Field("type", "OAuthException");
  w->Field("code", error.code);
  w->Key("error_data").BeginObject();
  w->Field("messaging_product", "whatsapp");
  w->Field("details", error.details);
  w->EndObject();
  if (error.subcode != 0) w->Field("error_subcode", error.subcode);
  if (error.is_transient) w->Field("is_transient", true);
  w->Field("fbtrace_id", fbtrace_id);
  w->EndObject();
}

std::string ErrorJson(const GraphError& error, absl::string_view fbtrace_id) {
  common::JsonWriter w(256);
  w.BeginObject().Key("error");
  WriteErrorObject(error, fbtrace_id, &w);
  w.EndObject();
  return std::move(w).Release();
}

std::string WebhookErrorJson(int code, absl::string_view details) {
  absl::string_view title = ErrorTitle(code);
  if (title.empty()) title = "Unknown error";
  common::JsonWriter w(256);
  w.BeginObject();
  w.Field("code", code);
  w.Field("title", title);
  w.Field("message", title);
  w.Key("error_data").BeginObject().Field("details", details).EndObject();
  w.Field("href",
          "https://developers.facebook.com/docs/whatsapp/cloud-api/support/"
          "error-codes/");
  w.EndObject();
  return std::move(w).Release();
}

}  // namespace wagate::emulator
