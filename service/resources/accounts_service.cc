#include "service/resources/accounts_service.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "service/common/json_writer.h"
#include "service/graph/graph_error.h"
#include "service/graph/graph_response.h"
#include "service/resources/graph_call.h"
#include "service/resources/graph_json.h"
#include "service/resources/validation.h"

namespace wagate::resources {
namespace {

// GraphClientOptions::default_timeout: the bound when the deadline is later.
constexpr absl::Duration kMaxTimeout = absl::Seconds(30);

// Block or unblock: POST or DELETE with the same body; the answer's user
// list is `added_users` or `removed_users`.
template <typename Response>
void BlockOrUnblock(
    graph::GraphClient& graph, http::Client& http,
    const config::Accounts& accounts, bool block,
    grpc::CallbackServerContext* context, const std::string& phone_number_id,
    const google::protobuf::RepeatedPtrField<std::string>& users,
    grpc::ServerUnaryReactor* reactor, Response* response,
    google::protobuf::RepeatedPtrField<v1::BlockedUser>* done) {
  absl::Status valid = RequireId(phone_number_id, "phone_number_id");
  if (valid.ok()) valid = ValidateUsers(users);
  absl::StatusOr<std::string> token =
      valid.ok() ? PhoneToken(accounts, phone_number_id) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return;
  }
  const absl::Time deadline = DeadlineOf(*context);
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) {
    reactor->Finish(
        graph::TransportErrorToGrpcStatus(absl::DeadlineExceededError(
            "the call's deadline passed before the Graph request was sent")));
    return;
  }
  graph::GraphCall call;
  call.path = "/" + phone_number_id + "/block_users";
  http::ClientRequest request;
  request.method = block ? "POST" : "DELETE";
  request.url = graph.Url(call);
  request.headers = {{"Authorization", "Bearer " + *token},
                     {"Content-Type", "application/json"}};
  request.body = BlockUsersJson(users);
  request.timeout = std::min(left, kMaxTimeout);
  http.Send(
      std::move(request),
      [reactor, response, done, block, token = *std::move(token)](
          absl::StatusOr<http::ClientResponse> r) mutable {
        if (!r.ok()) {
          reactor->Finish(graph::TransportErrorToGrpcStatus(r.status()));
          return;
        }
        const bool ok_status = r->status >= 200 && r->status < 300;
        graph::JsonDocument doc;
        graph::JsonObject lists;
        if (doc.Parse(r->body).ok()) {
          lists = doc.root().GetObject("block_users");
        }
        const bool mixed =
            !ok_status && lists.valid() &&
            doc.root().GetObject("error").GetInt("code") == 139100;
        if (!ok_status && !mixed) {
          graph::Redact(token, &r->body);
          reactor->Finish(
              graph::ToGrpcStatus(graph::ParseGraphError(r->status, r->body)));
          return;
        }
        if (!lists.valid()) {
          reactor->Finish(LocalError(absl::InternalError(
              "Graph answered block_users without the block_users object")));
          return;
        }
        for (graph::JsonObject u :
             lists.GetArray(block ? "added_users" : "removed_users")) {
          *done->Add() = ParseBlockedUser(u);
        }
        for (graph::JsonObject u : lists.GetArray("failed_users")) {
          *response->add_failed_users() = ParseFailedUser(u);
        }
        reactor->Finish(grpc::Status::OK);
      });
}

}  // namespace

AccountsService::AccountsService(graph::GraphClient& graph, http::Client& http,
                                 const config::Accounts& accounts,
                                 Options options)
    : graph_(graph), http_(http), accounts_(accounts), options_(options) {}

grpc::ServerUnaryReactor* AccountsService::SubscribeApp(
    grpc::CallbackServerContext* context,
    const v1::SubscribeAppRequest* request,
    v1::SubscribeAppResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = ValidateSubscribeApp(*request);
  absl::StatusOr<std::string> token =
      valid.ok() ? WabaToken(accounts_, request->waba_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "POST";
  call.path = "/" + request->waba_id() + "/subscribed_apps";
  if (!request->override_callback_uri().empty()) {
    common::JsonWriter w(256);
    w.BeginObject();
    w.Field("override_callback_uri", request->override_callback_uri());
    w.Field("verify_token", request->verify_token());
    w.EndObject();
    call.body = std::move(w).Release();
  }
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "subscribe_app";
  CallAndFinish(graph_, std::move(call), reactor, SuccessInto(response));
  return reactor;
}

grpc::ServerUnaryReactor* AccountsService::UnsubscribeApp(
    grpc::CallbackServerContext* context,
    const v1::UnsubscribeAppRequest* request,
    v1::UnsubscribeAppResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = RequireId(request->waba_id(), "waba_id");
  absl::StatusOr<std::string> token =
      valid.ok() ? WabaToken(accounts_, request->waba_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "DELETE";
  call.path = "/" + request->waba_id() + "/subscribed_apps";
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "unsubscribe_app";
  CallAndFinish(graph_, std::move(call), reactor, SuccessInto(response));
  return reactor;
}

grpc::ServerUnaryReactor* AccountsService::ListSubscribedApps(
    grpc::CallbackServerContext* context,
    const v1::ListSubscribedAppsRequest* request,
    v1::ListSubscribedAppsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = RequireId(request->waba_id(), "waba_id");
  absl::StatusOr<std::string> token =
      valid.ok() ? WabaToken(accounts_, request->waba_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "GET";
  call.path = "/" + request->waba_id() + "/subscribed_apps";
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "list_subscribed_apps";
  CallAndFinish(graph_, std::move(call), reactor,
                [response](const std::string& body) {
                  graph::JsonDocument doc;
                  absl::Status s = doc.Parse(body);
                  if (!s.ok()) return s;
                  for (graph::JsonObject a : doc.root().GetArray("data")) {
                    *response->add_apps() = ParseSubscribedApp(a);
                  }
                  return absl::OkStatus();
                });
  return reactor;
}

grpc::ServerUnaryReactor* AccountsService::BlockUsers(
    grpc::CallbackServerContext* context, const v1::BlockUsersRequest* request,
    v1::BlockUsersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  BlockOrUnblock(graph_, http_, accounts_, /*block=*/true, context,
                 request->phone_number_id(), request->users(), reactor,
                 response, response->mutable_added_users());
  return reactor;
}

grpc::ServerUnaryReactor* AccountsService::UnblockUsers(
    grpc::CallbackServerContext* context,
    const v1::UnblockUsersRequest* request,
    v1::UnblockUsersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  BlockOrUnblock(graph_, http_, accounts_, /*block=*/false, context,
                 request->phone_number_id(), request->users(), reactor,
                 response, response->mutable_removed_users());
  return reactor;
}

grpc::ServerUnaryReactor* AccountsService::ListBlockedUsers(
    grpc::CallbackServerContext* context,
    const v1::ListBlockedUsersRequest* request,
    v1::ListBlockedUsersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = RequireId(request->phone_number_id(), "phone_number_id");
  if (valid.ok()) valid = ValidatePageSize(request->page_size());
  absl::StatusOr<std::string> token =
      valid.ok() ? PhoneToken(accounts_, request->phone_number_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "GET";
  call.path = "/" + request->phone_number_id() + "/block_users";
  AddPaging(request->page_size(), request->page_token(), &call.query);
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "list_blocked_users";
  CallAndFinish(graph_, std::move(call), reactor,
                [response](const std::string& body) {
                  graph::JsonDocument doc;
                  absl::Status s = doc.Parse(body);
                  if (!s.ok()) return s;
                  for (graph::JsonObject d : doc.root().GetArray("data")) {
                    for (graph::JsonObject u : d.GetArray("block_users")) {
                      *response->add_blocked_users() = ParseBlockedUser(u);
                    }
                  }
                  response->set_next_page_token(NextPageToken(doc.root()));
                  return absl::OkStatus();
                });
  return reactor;
}

}  // namespace wagate::resources
