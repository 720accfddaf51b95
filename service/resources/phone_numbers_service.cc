#include "service/resources/phone_numbers_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/json_writer.h"
#include "service/graph/graph_response.h"
#include "service/resources/graph_call.h"
#include "service/resources/graph_json.h"
#include "service/resources/validation.h"

namespace wagate::resources {
namespace {

// Field names become one comma-separated `fields` value: only plain names,
// so a caller cannot smuggle Graph's nested field syntax in.
absl::Status ValidateFields(
    const google::protobuf::RepeatedPtrField<std::string>& fields) {
  for (int i = 0; i < fields.size(); ++i) {
    const std::string& f = fields.Get(i);
    bool ok = !f.empty() && f.size() <= 64;
    for (char c : f) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("fields[", i, "]: not a Graph field name"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

PhoneNumbersService::PhoneNumbersService(graph::GraphClient& graph,
                                         const config::Accounts& accounts,
                                         Options options)
    : graph_(graph), accounts_(accounts), options_(options) {}

bool PhoneNumbersService::Prepare(grpc::CallbackServerContext* context,
                                  grpc::ServerUnaryReactor* reactor,
                                  const absl::Status& valid,
                                  const std::string& phone_number_id,
                                  graph::GraphCall* call) {
  absl::StatusOr<std::string> token =
      valid.ok() ? PhoneToken(accounts_, phone_number_id) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return false;
  }
  call->access_token = *std::move(token);
  call->deadline = DeadlineOf(*context);
  return true;
}

grpc::ServerUnaryReactor* PhoneNumbersService::ListPhoneNumbers(
    grpc::CallbackServerContext* context,
    const v1::ListPhoneNumbersRequest* request,
    v1::ListPhoneNumbersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = RequireId(request->waba_id(), "waba_id");
  if (valid.ok()) valid = ValidatePageSize(request->page_size());
  absl::StatusOr<std::string> token =
      valid.ok() ? WabaToken(accounts_, request->waba_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "GET";
  call.path = "/" + request->waba_id() + "/phone_numbers";
  call.query.emplace_back("fields", kPhoneNumberFields);
  AddPaging(request->page_size(), request->page_token(), &call.query);
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "list_phone_numbers";
  CallAndFinish(graph_, std::move(call), reactor,
                [response](const std::string& body) {
                  graph::JsonDocument doc;
                  absl::Status s = doc.Parse(body);
                  if (!s.ok()) return s;
                  for (graph::JsonObject n : doc.root().GetArray("data")) {
                    *response->add_phone_numbers() = ParsePhoneNumber(n);
                  }
                  response->set_next_page_token(NextPageToken(doc.root()));
                  return absl::OkStatus();
                });
  return reactor;
}

grpc::ServerUnaryReactor* PhoneNumbersService::GetPhoneNumber(
    grpc::CallbackServerContext* context,
    const v1::GetPhoneNumberRequest* request,
    v1::GetPhoneNumberResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = RequireId(request->phone_number_id(), "phone_number_id");
  if (valid.ok()) valid = ValidateFields(request->fields());
  graph::GraphCall call;
  if (!Prepare(context, reactor, valid, request->phone_number_id(), &call)) {
    return reactor;
  }
  call.method = "GET";
  call.path = "/" + request->phone_number_id();
  call.query.emplace_back("fields",
                          request->fields().empty()
                              ? std::string(kPhoneNumberFields)
                              : absl::StrJoin(request->fields(), ","));
  call.operation = "get_phone_number";
  CallAndFinish(
      graph_, std::move(call), reactor, [response](const std::string& body) {
        graph::JsonDocument doc;
        absl::Status s = doc.Parse(body);
        if (!s.ok()) return s;
        *response->mutable_phone_number() = ParsePhoneNumber(doc.root());
        return absl::OkStatus();
      });
  return reactor;
}

grpc::ServerUnaryReactor* PhoneNumbersService::RegisterPhoneNumber(
    grpc::CallbackServerContext* context,
    const v1::RegisterPhoneNumberRequest* request,
    v1::RegisterPhoneNumberResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  graph::GraphCall call;
  if (!Prepare(context, reactor, ValidateRegister(*request),
               request->phone_number_id(), &call)) {
    return reactor;
  }
  call.method = "POST";
  call.path = "/" + request->phone_number_id() + "/register";
  common::JsonWriter w(128);
  w.BeginObject().Field("messaging_product", "whatsapp");
  w.Field("pin", request->pin());
  if (!request->data_localization_region().empty()) {
    w.Field("data_localization_region", request->data_localization_region());
  }
  w.EndObject();
  call.body = std::move(w).Release();
  call.operation = "register_phone_number";
  CallAndFinish(graph_, std::move(call), reactor, SuccessInto(response));
  return reactor;
}

grpc::ServerUnaryReactor* PhoneNumbersService::DeregisterPhoneNumber(
    grpc::CallbackServerContext* context,
    const v1::DeregisterPhoneNumberRequest* request,
    v1::DeregisterPhoneNumberResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  graph::GraphCall call;
  if (!Prepare(context, reactor,
               RequireId(request->phone_number_id(), "phone_number_id"),
               request->phone_number_id(), &call)) {
    return reactor;
  }
  call.method = "POST";
  call.path = "/" + request->phone_number_id() + "/deregister";
  call.operation = "deregister_phone_number";
  CallAndFinish(graph_, std::move(call), reactor, SuccessInto(response));
  return reactor;
}

grpc::ServerUnaryReactor* PhoneNumbersService::RequestVerificationCode(
    grpc::CallbackServerContext* context,
    const v1::RequestVerificationCodeRequest* request,
    v1::RequestVerificationCodeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  graph::GraphCall call;
  if (!Prepare(context, reactor, ValidateRequestCode(*request),
               request->phone_number_id(), &call)) {
    return reactor;
  }
  call.method = "POST";
  call.path = "/" + request->phone_number_id() + "/request_code";
  common::JsonWriter w(96);
  w.BeginObject();
  w.Field("code_method", CodeMethodName(request->code_method()));
  w.Field("language", request->language());
  w.EndObject();
  call.body = std::move(w).Release();
  call.operation = "request_code";
  CallAndFinish(graph_, std::move(call), reactor, SuccessInto(response));
  return reactor;
}

grpc::ServerUnaryReactor* PhoneNumbersService::VerifyCode(
    grpc::CallbackServerContext* context, const v1::VerifyCodeRequest* request,
    v1::VerifyCodeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  graph::GraphCall call;
  if (!Prepare(context, reactor, ValidateVerifyCode(*request),
               request->phone_number_id(), &call)) {
    return reactor;
  }
  call.method = "POST";
  call.path = "/" + request->phone_number_id() + "/verify_code";
  common::JsonWriter w(64);
  w.BeginObject().Field("code", request->code()).EndObject();
  call.body = std::move(w).Release();
  call.operation = "verify_code";
  CallAndFinish(graph_, std::move(call), reactor, SuccessInto(response));
  return reactor;
}

grpc::ServerUnaryReactor* PhoneNumbersService::GetBusinessProfile(
    grpc::CallbackServerContext* context,
    const v1::GetBusinessProfileRequest* request,
    v1::GetBusinessProfileResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  graph::GraphCall call;
  if (!Prepare(context, reactor,
               RequireId(request->phone_number_id(), "phone_number_id"),
               request->phone_number_id(), &call)) {
    return reactor;
  }
  call.method = "GET";
  call.path = "/" + request->phone_number_id() + "/whatsapp_business_profile";
  call.query.emplace_back("fields", kBusinessProfileFields);
  call.operation = "get_business_profile";
  CallAndFinish(
      graph_, std::move(call), reactor, [response](const std::string& body) {
        graph::JsonDocument doc;
        absl::Status s = doc.Parse(body);
        if (!s.ok()) return s;
        std::vector<graph::JsonObject> data = doc.root().GetArray("data");
        if (data.empty()) {
          return absl::InternalError(
              "Graph answered the business profile without data");
        }
        *response->mutable_business_profile() = ParseBusinessProfile(data[0]);
        return absl::OkStatus();
      });
  return reactor;
}

grpc::ServerUnaryReactor* PhoneNumbersService::UpdateBusinessProfile(
    grpc::CallbackServerContext* context,
    const v1::UpdateBusinessProfileRequest* request,
    v1::UpdateBusinessProfileResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  graph::GraphCall call;
  if (!Prepare(context, reactor, ValidateUpdateBusinessProfile(*request),
               request->phone_number_id(), &call)) {
    return reactor;
  }
  call.method = "POST";
  call.path = "/" + request->phone_number_id() + "/whatsapp_business_profile";
  call.body = UpdateBusinessProfileJson(*request);
  call.operation = "update_business_profile";
  CallAndFinish(graph_, std::move(call), reactor, SuccessInto(response));
  return reactor;
}

}  // namespace wagate::resources
