#include "service/resources/accounts_service.h"

#include <string>
#include <utility>

#include "service/common/json_writer.h"
#include "service/common/status_macros.h"
#include "service/graph/graph_response.h"
#include "service/resources/graph_call.h"
#include "service/resources/graph_json.h"
#include "service/resources/validation.h"

namespace wagate::resources {
namespace {

// Graph's code for a block/unblock that failed for some users only: HTTP
// 400 whose body still lists the users done.
constexpr int kMixedBlockResult = 139100;

}  // namespace

AccountsService::AccountsService(graph::GraphClient& graph,
                                 const config::Accounts& accounts,
                                 Options options)
    : graph_(graph), accounts_(accounts), options_(options) {}

grpc::ServerUnaryReactor* AccountsService::SubscribedAppsRpc(
    grpc::CallbackServerContext* context, const absl::Status& valid,
    const std::string& waba_id, absl::string_view method,
    absl::string_view operation, std::string body, BodyHandler on_ok) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(valid);
        ASSIGN_OR_RETURN(std::string token, WabaToken(accounts_, waba_id));
        graph::GraphCall call =
            NewCall(method, "/" + waba_id + "/subscribed_apps", operation,
                    std::move(token));
        call.body = std::move(body);
        return call;
      },
      std::move(on_ok));
}

template <typename Response>
grpc::ServerUnaryReactor* AccountsService::BlockOrUnblock(
    grpc::CallbackServerContext* context, bool block,
    const std::string& phone_number_id,
    const google::protobuf::RepeatedPtrField<std::string>& users,
    Response* response,
    google::protobuf::RepeatedPtrField<v1::BlockedUser>* done) {
  return UnaryGraphRpcWithResult(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(RequireId(phone_number_id, "phone_number_id"));
        RETURN_IF_ERROR(ValidateUsers(users));
        ASSIGN_OR_RETURN(std::string token,
                         PhoneToken(accounts_, phone_number_id));
        graph::GraphCall call = NewCall(
            block ? "POST" : "DELETE", "/" + phone_number_id + "/block_users",
            block ? "block_users" : "unblock_users", std::move(token));
        call.body = BlockUsersJson(users);
        return call;
      },
      [response, done, block](graph::GraphResult r) {
        graph::JsonDocument doc;
        graph::JsonObject lists;
        if (!r.body.empty() && doc.Parse(r.body).ok()) {
          lists = doc.root().GetObject("block_users");
        }
        const bool mixed = !r.ok() && r.error.has_value() &&
                           r.error->code() == kMixedBlockResult &&
                           lists.valid();
        if (!r.ok() && !mixed) return r.status;
        if (!lists.valid()) {
          return LocalError(absl::InternalError(
              "Graph answered block_users without the block_users object"));
        }
        for (graph::JsonObject u :
             lists.GetArray(block ? "added_users" : "removed_users")) {
          *done->Add() = ParseBlockedUser(u);
        }
        for (graph::JsonObject u : lists.GetArray("failed_users")) {
          *response->add_failed_users() = ParseFailedUser(u);
        }
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* AccountsService::SubscribeApp(
    grpc::CallbackServerContext* context,
    const v1::SubscribeAppRequest* request,
    v1::SubscribeAppResponse* response) {
  std::string body;
  if (!request->override_callback_uri().empty()) {
    common::JsonWriter w(256);
    w.BeginObject();
    w.Field("override_callback_uri", request->override_callback_uri());
    w.Field("verify_token", request->verify_token());
    w.EndObject();
    body = std::move(w).Release();
  }
  return SubscribedAppsRpc(context, ValidateSubscribeApp(*request),
                           request->waba_id(), "POST", "subscribe_app",
                           std::move(body), SuccessInto(response));
}

grpc::ServerUnaryReactor* AccountsService::UnsubscribeApp(
    grpc::CallbackServerContext* context,
    const v1::UnsubscribeAppRequest* request,
    v1::UnsubscribeAppResponse* response) {
  return SubscribedAppsRpc(context, RequireId(request->waba_id(), "waba_id"),
                           request->waba_id(), "DELETE", "unsubscribe_app", "",
                           SuccessInto(response));
}

grpc::ServerUnaryReactor* AccountsService::ListSubscribedApps(
    grpc::CallbackServerContext* context,
    const v1::ListSubscribedAppsRequest* request,
    v1::ListSubscribedAppsResponse* response) {
  return SubscribedAppsRpc(context, RequireId(request->waba_id(), "waba_id"),
                           request->waba_id(), "GET", "list_subscribed_apps",
                           "", Json([response](graph::JsonObject root) {
                             for (graph::JsonObject a : root.GetArray("data")) {
                               *response->add_apps() = ParseSubscribedApp(a);
                             }
                             return absl::OkStatus();
                           }));
}

grpc::ServerUnaryReactor* AccountsService::BlockUsers(
    grpc::CallbackServerContext* context, const v1::BlockUsersRequest* request,
    v1::BlockUsersResponse* response) {
  return BlockOrUnblock(context, /*block=*/true, request->phone_number_id(),
                        request->users(), response,
                        response->mutable_added_users());
}

grpc::ServerUnaryReactor* AccountsService::UnblockUsers(
    grpc::CallbackServerContext* context,
    const v1::UnblockUsersRequest* request,
    v1::UnblockUsersResponse* response) {
  return BlockOrUnblock(context, /*block=*/false, request->phone_number_id(),
                        request->users(), response,
                        response->mutable_removed_users());
}

grpc::ServerUnaryReactor* AccountsService::ListBlockedUsers(
    grpc::CallbackServerContext* context,
    const v1::ListBlockedUsersRequest* request,
    v1::ListBlockedUsersResponse* response) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(
            RequireId(request->phone_number_id(), "phone_number_id"));
        RETURN_IF_ERROR(ValidatePageSize(request->page_size()));
        ASSIGN_OR_RETURN(std::string token,
                         PhoneToken(accounts_, request->phone_number_id()));
        graph::GraphCall call =
            NewCall("GET", "/" + request->phone_number_id() + "/block_users",
                    "list_blocked_users", std::move(token));
        AddPaging(request->page_size(), request->page_token(), &call.query);
        return call;
      },
      Json([response](graph::JsonObject root) {
        // Graph nests the page: data[].block_users[].
        for (graph::JsonObject d : root.GetArray("data")) {
          for (graph::JsonObject u : d.GetArray("block_users")) {
            *response->add_blocked_users() = ParseBlockedUser(u);
          }
        }
        SetPageTokens(root, response);
        return absl::OkStatus();
      }));
}

}  // namespace wagate::resources
