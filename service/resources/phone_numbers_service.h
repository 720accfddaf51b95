// wagate.v1.PhoneNumbers over the gRPC callback API: listing and reading
// business numbers, registration, verification and the business profile.
// Each RPC validates its request (PIN, code method, §1.4 profile limits),
// resolves the token (WABA or phone number; unknown ids refused before any
// HTTP call) and makes one Graph call. PINs and codes are never logged.
//
//   resources::PhoneNumbersService numbers(graph_client, accounts, {});
//   builder.RegisterService(&numbers);
#ifndef WAGATE_SERVICE_RESOURCES_PHONE_NUMBERS_SERVICE_H_
#define WAGATE_SERVICE_RESOURCES_PHONE_NUMBERS_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "service/config/accounts.h"
#include "service/graph/graph_client.h"
#include "service/resources/graph_call.h"
#include "wagate/v1/phone_numbers.grpc.pb.h"

namespace wagate::resources {

class PhoneNumbersService final
    : public wagate::v1::PhoneNumbers::CallbackService {
 public:
  struct Options {};

  // `graph` and `accounts` must outlive the service.
  PhoneNumbersService(graph::GraphClient& graph,
                      const config::Accounts& accounts, Options options);

  grpc::ServerUnaryReactor* ListPhoneNumbers(
      grpc::CallbackServerContext* context,
      const v1::ListPhoneNumbersRequest* request,
      v1::ListPhoneNumbersResponse* response) override;
  grpc::ServerUnaryReactor* GetPhoneNumber(
      grpc::CallbackServerContext* context,
      const v1::GetPhoneNumberRequest* request,
      v1::GetPhoneNumberResponse* response) override;
  grpc::ServerUnaryReactor* RegisterPhoneNumber(
      grpc::CallbackServerContext* context,
      const v1::RegisterPhoneNumberRequest* request,
      v1::RegisterPhoneNumberResponse* response) override;
  grpc::ServerUnaryReactor* DeregisterPhoneNumber(
      grpc::CallbackServerContext* context,
      const v1::DeregisterPhoneNumberRequest* request,
      v1::DeregisterPhoneNumberResponse* response) override;
  grpc::ServerUnaryReactor* RequestVerificationCode(
      grpc::CallbackServerContext* context,
      const v1::RequestVerificationCodeRequest* request,
      v1::RequestVerificationCodeResponse* response) override;
  grpc::ServerUnaryReactor* VerifyCode(
      grpc::CallbackServerContext* context,
      const v1::VerifyCodeRequest* request,
      v1::VerifyCodeResponse* response) override;
  grpc::ServerUnaryReactor* GetBusinessProfile(
      grpc::CallbackServerContext* context,
      const v1::GetBusinessProfileRequest* request,
      v1::GetBusinessProfileResponse* response) override;
  grpc::ServerUnaryReactor* UpdateBusinessProfile(
      grpc::CallbackServerContext* context,
      const v1::UpdateBusinessProfileRequest* request,
      v1::UpdateBusinessProfileResponse* response) override;

 private:
  // The RPCs on one number: `valid`, then the number's token, then `method
  // /{phone_number_id}{edge}` with `body` (JSON, sent when non-empty).
  grpc::ServerUnaryReactor* NumberRpc(grpc::CallbackServerContext* context,
                                      const absl::Status& valid,
                                      const std::string& phone_number_id,
                                      absl::string_view method,
                                      absl::string_view edge,
                                      absl::string_view operation,
                                      std::string body, BodyHandler on_ok);

  graph::GraphClient& graph_;
  const config::Accounts& accounts_;
  const Options options_;
};

}  // namespace wagate::resources

#endif  // WAGATE_SERVICE_RESOURCES_PHONE_NUMBERS_SERVICE_H_
