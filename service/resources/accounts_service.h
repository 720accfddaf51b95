// wagate.v1.Accounts over the gRPC callback API: the app's webhook
// subscription to a WABA (`/{waba_id}/subscribed_apps`) and a number's
// blocklist (`/{phone_number_id}/block_users`).
//
// Block and unblock unwrap Graph's mixed result (HTTP 400, code 139100,
// with both added/removed_users and failed_users in the body, which
// GraphResult keeps): the RPC succeeds and returns the per-user failures.
// Every call goes through GraphClient (metrics per operation, one error
// mapping).
//
//   resources::AccountsService accounts_service(graph_client, accounts, {});
//   builder.RegisterService(&accounts_service);
#ifndef WAGATE_SERVICE_RESOURCES_ACCOUNTS_SERVICE_H_
#define WAGATE_SERVICE_RESOURCES_ACCOUNTS_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "service/config/accounts.h"
#include "service/graph/graph_client.h"
#include "service/resources/graph_call.h"
#include "wagate/v1/accounts.grpc.pb.h"

namespace wagate::resources {

class AccountsService final : public wagate::v1::Accounts::CallbackService {
 public:
  struct Options {};

  // `graph` and `accounts` must outlive the service.
  AccountsService(graph::GraphClient& graph, const config::Accounts& accounts,
                  Options options);

  grpc::ServerUnaryReactor* SubscribeApp(
      grpc::CallbackServerContext* context,
      const v1::SubscribeAppRequest* request,
      v1::SubscribeAppResponse* response) override;
  grpc::ServerUnaryReactor* UnsubscribeApp(
      grpc::CallbackServerContext* context,
      const v1::UnsubscribeAppRequest* request,
      v1::UnsubscribeAppResponse* response) override;
  grpc::ServerUnaryReactor* ListSubscribedApps(
      grpc::CallbackServerContext* context,
      const v1::ListSubscribedAppsRequest* request,
      v1::ListSubscribedAppsResponse* response) override;
  grpc::ServerUnaryReactor* BlockUsers(
      grpc::CallbackServerContext* context,
      const v1::BlockUsersRequest* request,
      v1::BlockUsersResponse* response) override;
  grpc::ServerUnaryReactor* UnblockUsers(
      grpc::CallbackServerContext* context,
      const v1::UnblockUsersRequest* request,
      v1::UnblockUsersResponse* response) override;
  grpc::ServerUnaryReactor* ListBlockedUsers(
      grpc::CallbackServerContext* context,
      const v1::ListBlockedUsersRequest* request,
      v1::ListBlockedUsersResponse* response) override;

 private:
  // `valid`, then the WABA's token, then `method /{waba_id}/subscribed_apps`
  // with `body` (JSON, sent when non-empty).
  grpc::ServerUnaryReactor* SubscribedAppsRpc(
      grpc::CallbackServerContext* context, const absl::Status& valid,
      const std::string& waba_id, absl::string_view method,
      absl::string_view operation, std::string body, BodyHandler on_ok);
  // Block (POST, `added_users`) or unblock (DELETE, `removed_users`).
  template <typename Response>
  grpc::ServerUnaryReactor* BlockOrUnblock(
      grpc::CallbackServerContext* context, bool block,
      const std::string& phone_number_id,
      const google::protobuf::RepeatedPtrField<std::string>& users,
      Response* response,
      google::protobuf::RepeatedPtrField<v1::BlockedUser>* done);

  graph::GraphClient& graph_;
  const config::Accounts& accounts_;
  const Options options_;
};

}  // namespace wagate::resources

#endif  // WAGATE_SERVICE_RESOURCES_ACCOUNTS_SERVICE_H_
