// Validation of POST /{phone_number_id}/messages bodies as Meta does it
// (CLOUD_API.md §2): required fields, types, and the documented limits of
// every message type. Pure: no state, no I/O, so it is fast and tested alone.
// The checks that need state (templates, limits, the 24 h window) are done by
// the caller on the parsed result.
//
//   SendRequest req;
//   GraphError err;
//   if (!ParseSendRequest(body, &req, &err)) return ErrorResponse(err);
//   // req.kind, req.to, req.wa_id, req.type, req.tmpl...
#ifndef WAGATE_EMULATOR_VALIDATION_H_
#define WAGATE_EMULATOR_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "emulator/errors.h"

namespace wagate::emulator {

// A template component's parameters as sent: its type ("header", "body",
// "button"), for buttons sub_type and index, and how many parameters it has.
struct TemplateComponentParams {
  std::string type;
  std::string sub_type;
  int index = -1;
  int parameter_count = 0;
};

struct TemplateRef {
  std::string name;
  std::string language;
  std::vector<TemplateComponentParams> components;
};

enum class SendKind { kMessage, kMarkRead, kTypingIndicator };

struct SendRequest {
  SendKind kind = SendKind::kMessage;
  std::string to;     // as the caller wrote it: echoed as contacts[].input
  std::string wa_id;  // digits only (or the group id for groups)
  std::string recipient_type = "individual";
  std::string type;  // "text", "image", ..., "template"
  std::string biz_opaque_callback_data;
  std::string context_message_id;
  std::string message_id;  // mark read / typing: the message being read
  TemplateRef tmpl;        // type == "template"
};

// Parses and validates `body`. On failure fills `error` (code, HTTP status,
// details naming the offending parameter) and returns false.
bool ParseSendRequest(absl::string_view body, SendRequest* request,
                      GraphError* error);

// The number of Unicode code points in UTF-8 `text` (Meta's limits count
// characters, not bytes).
size_t Utf8Length(absl::string_view text);

// Digits of `to` with '+', '-', '(', ')', '.' and spaces removed; "" if
// anything else remains or no digit is left.
std::string NormalizePhoneNumber(absl::string_view to);

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_VALIDATION_H_
