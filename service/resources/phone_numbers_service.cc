#include "service/resources/phone_numbers_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/json_writer.h"
#include "service/common/status_macros.h"
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

grpc::ServerUnaryReactor* PhoneNumbersService::NumberRpc(
    grpc::CallbackServerContext* context, const absl::Status& valid,
    const std::string& phone_number_id, absl::string_view method,
    absl::string_view edge, absl::string_view operation, std::string body,
    BodyHandler on_ok) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(valid);
        ASSIGN_OR_RETURN(std::string token,
                         PhoneToken(accounts_, phone_number_id));
        graph::GraphCall call =
            NewCall(method, absl::StrCat("/", phone_number_id, edge), operation,
                    std::move(token));
        call.body = std::move(body);
        return call;
      },
      std::move(on_ok));
}

grpc::ServerUnaryReactor* PhoneNumbersService::ListPhoneNumbers(
    grpc::CallbackServerContext* context,
    const v1::ListPhoneNumbersRequest* request,
    v1::ListPhoneNumbersResponse* response) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(RequireId(request->waba_id(), "waba_id"));
        RETURN_IF_ERROR(ValidatePageSize(request->page_size()));
        ASSIGN_OR_RETURN(std::string token,
                         WabaToken(accounts_, request->waba_id()));
        graph::GraphCall call =
            NewCall("GET", "/" + request->waba_id() + "/phone_numbers",
                    "list_phone_numbers", std::move(token));
        call.query.emplace_back("fields", kPhoneNumberFields);
        AddPaging(request->page_size(), request->page_token(), &call.query);
        return call;
      },
      PageInto(response, response->mutable_phone_numbers(), &ParsePhoneNumber));
}

grpc::ServerUnaryReactor* PhoneNumbersService::GetPhoneNumber(
    grpc::CallbackServerContext* context,
    const v1::GetPhoneNumberRequest* request,
    v1::GetPhoneNumberResponse* response) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(
            RequireId(request->phone_number_id(), "phone_number_id"));
        RETURN_IF_ERROR(ValidateFields(request->fields()));
        ASSIGN_OR_RETURN(std::string token,
                         PhoneToken(accounts_, request->phone_number_id()));
        graph::GraphCall call = NewCall("GET", "/" + request->phone_number_id(),
                                        "get_phone_number", std::move(token));
        call.query.emplace_back("fields",
                                request->fields().empty()
                                    ? std::string(kPhoneNumberFields)
                                    : absl::StrJoin(request->fields(), ","));
        return call;
      },
      Json([response](graph::JsonObject root) {
        *response->mutable_phone_number() = ParsePhoneNumber(root);
        return absl::OkStatus();
      }));
}

grpc::ServerUnaryReactor* PhoneNumbersService::RegisterPhoneNumber(
    grpc::CallbackServerContext* context,
    const v1::RegisterPhoneNumberRequest* request,
    v1::RegisterPhoneNumberResponse* response) {
  common::JsonWriter w(128);
  w.BeginObject().Field("messaging_product", "whatsapp");
  w.Field("pin", request->pin());
  if (!request->data_localization_region().empty()) {
    w.Field("data_localization_region", request->data_localization_region());
  }
  w.EndObject();
  return NumberRpc(context, ValidateRegister(*request),
                   request->phone_number_id(), "POST", "/register",
                   "register_phone_number", std::move(w).Release(),
                   SuccessInto(response));
}

grpc::ServerUnaryReactor* PhoneNumbersService::DeregisterPhoneNumber(
    grpc::CallbackServerContext* context,
    const v1::DeregisterPhoneNumberRequest* request,
    v1::DeregisterPhoneNumberResponse* response) {
  return NumberRpc(context,
                   RequireId(request->phone_number_id(), "phone_number_id"),
                   request->phone_number_id(), "POST", "/deregister",
                   "deregister_phone_number", "", SuccessInto(response));
}

grpc::ServerUnaryReactor* PhoneNumbersService::RequestVerificationCode(
    grpc::CallbackServerContext* context,
    const v1::RequestVerificationCodeRequest* request,
    v1::RequestVerificationCodeResponse* response) {
  common::JsonWriter w(96);
  w.BeginObject();
  w.Field("code_method", CodeMethodName(request->code_method()));
  w.Field("language", request->language());
  w.EndObject();
  return NumberRpc(context, ValidateRequestCode(*request),
                   request->phone_number_id(), "POST", "/request_code",
                   "request_code", std::move(w).Release(),
                   SuccessInto(response));
}

grpc::ServerUnaryReactor* PhoneNumbersService::VerifyCode(
    grpc::CallbackServerContext* context, const v1::VerifyCodeRequest* request,
    v1::VerifyCodeResponse* response) {
  common::JsonWriter w(64);
  w.BeginObject().Field("code", request->code()).EndObject();
  return NumberRpc(context, ValidateVerifyCode(*request),
                   request->phone_number_id(), "POST", "/verify_code",
                   "verify_code", std::move(w).Release(),
                   SuccessInto(response));
}

grpc::ServerUnaryReactor* PhoneNumbersService::GetBusinessProfile(
    grpc::CallbackServerContext* context,
    const v1::GetBusinessProfileRequest* request,
    v1::GetBusinessProfileResponse* response) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(
            RequireId(request->phone_number_id(), "phone_number_id"));
        ASSIGN_OR_RETURN(std::string token,
                         PhoneToken(accounts_, request->phone_number_id()));
        graph::GraphCall call = NewCall(
            "GET",
            "/" + request->phone_number_id() + "/whatsapp_business_profile",
            "get_business_profile", std::move(token));
        call.query.emplace_back("fields", kBusinessProfileFields);
        return call;
      },
      Json([response](graph::JsonObject root) {
        std::vector<graph::JsonObject> data = root.GetArray("data");
        if (data.empty()) {
          return absl::InternalError(
              "Graph answered the business profile without data");
        }
        *response->mutable_business_profile() = ParseBusinessProfile(data[0]);
        return absl::OkStatus();
      }));
}

grpc::ServerUnaryReactor* PhoneNumbersService::UpdateBusinessProfile(
    grpc::CallbackServerContext* context,
    const v1::UpdateBusinessProfileRequest* request,
    v1::UpdateBusinessProfileResponse* response) {
  absl::Status valid = ValidateUpdateBusinessProfile(*request);
  return NumberRpc(context, valid, request->phone_number_id(), "POST",
                   "/whatsapp_business_profile", "update_business_profile",
                   valid.ok() ? UpdateBusinessProfileJson(*request) : "",
                   SuccessInto(response));
}

}  // namespace wagate::resources
