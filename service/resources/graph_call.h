// Shared plumbing of the resource services: a unary RPC run as one Graph
// call ("validate → token → build the call → call → parse → Finish"), local
// errors in the same shape as Graph's, the token lookups that refuse unknown
// accounts before any HTTP call, and Graph paging in both directions.
//
//   grpc::ServerUnaryReactor* TemplatesService::GetTemplate(
//       grpc::CallbackServerContext* context, const GetTemplateRequest*
//       request, GetTemplateResponse* response) {
//     return UnaryGraphRpc(
//         graph_, context,
//         [&]() -> absl::StatusOr<graph::GraphCall> {
//           RETURN_IF_ERROR(RequireId(request->template_id(), "template_id"));
//           ASSIGN_OR_RETURN(std::string token,
//                            WabaToken(accounts_, request->waba_id()));
//           return NewCall("GET", "/" + request->template_id(),
//                          "get_template", std::move(token));
//         },
//         Json([response](graph::JsonObject root) {
//           *response->mutable_template_() = ParseTemplate(root);
//           return absl::OkStatus();
//         }));
//   }
#ifndef WAGATE_SERVICE_RESOURCES_GRAPH_CALL_H_
#define WAGATE_SERVICE_RESOURCES_GRAPH_CALL_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "grpcpp/grpcpp.h"
#include "service/config/accounts.h"
#include "service/graph/graph_client.h"
#include "service/graph/graph_response.h"
#include "service/resources/graph_json.h"

namespace wagate::resources {

// The call's deadline as absl::Time (InfiniteFuture when none).
absl::Time DeadlineOf(const grpc::CallbackServerContext& context);

// A failure raised by wagate itself (validation, accounts, a malformed 2xx
// answer) as a gRPC status with the same code and a GraphError (code 0,
// message and details = the status message) in its details, so that every
// failure of these services has one shape.
grpc::Status LocalError(const absl::Status& status);

// The token for management calls on `waba_id`. With several accounts an
// empty waba_id is INVALID_ARGUMENT naming `field`; an unknown one is
// FAILED_PRECONDITION (Accounts::TokenForWaba).
absl::StatusOr<std::string> WabaToken(const config::Accounts& accounts,
                                      const std::string& waba_id,
                                      absl::string_view field = "waba_id");
// The token of the account serving `phone_number_id`.
absl::StatusOr<std::string> PhoneToken(const config::Accounts& accounts,
                                       const std::string& phone_number_id);

// A Graph call with its method, path, metrics label and token; the RPC adds
// query parameters or a body.
graph::GraphCall NewCall(absl::string_view method, std::string path,
                         absl::string_view operation, std::string token);

// Parses a 2xx body and fills the response; its error finishes the RPC.
using BodyHandler = std::function<absl::Status(const std::string& body)>;
// The same over the parsed JSON root object.
using JsonHandler = std::function<absl::Status(graph::JsonObject root)>;

// A BodyHandler that parses the body as JSON first.
BodyHandler Json(JsonHandler handler);

// One unary RPC as one Graph call. `prepare` validates the request, looks
// up the token and builds the call; its error finishes the RPC (as a
// LocalError) before any HTTP. The call gets the RPC's deadline. Then the
// mapped Graph or transport error (GraphError details attached), or on_ok's
// status, finishes the RPC exactly once.
grpc::ServerUnaryReactor* UnaryGraphRpc(
    graph::GraphClient& graph, grpc::CallbackServerContext* context,
    absl::FunctionRef<absl::StatusOr<graph::GraphCall>()> prepare,
    BodyHandler on_ok);

// Checked after `prepare` and before the call goes out: answers OK to let
// it go, or the status that finishes the RPC instead. It may call Graph
// itself (e.g. TemplateOwners::Verify); `done` runs once, on any thread.
using Precondition = std::function<void(
    const graph::GraphCall& call, std::function<void(grpc::Status)> done)>;

// As UnaryGraphRpc, with `precondition` between prepare and the call.
grpc::ServerUnaryReactor* UnaryGraphRpcIf(
    graph::GraphClient& graph, grpc::CallbackServerContext* context,
    absl::FunctionRef<absl::StatusOr<graph::GraphCall>()> prepare,
    Precondition precondition, BodyHandler on_ok);

// The RPC's status from the whole Graph result.
using ResultHandler = std::function<grpc::Status(graph::GraphResult result)>;

// As UnaryGraphRpc, for the RPCs that read some error answers too (they
// can carry results): `on_result` sees every result and returns the status.
grpc::ServerUnaryReactor* UnaryGraphRpcWithResult(
    graph::GraphClient& graph, grpc::CallbackServerContext* context,
    absl::FunctionRef<absl::StatusOr<graph::GraphCall>()> prepare,
    ResultHandler on_result);

// A handler for `{"success":true}` answers setting `response->success`.
template <typename Response>
BodyHandler SuccessInto(Response* response);

absl::Status ParseSuccessInto(const std::string& body, bool* success);

// Sets next_page_token and previous_page_token from the answer's paging.
template <typename Response>
void SetPageTokens(graph::JsonObject root, Response* response) {
  response->set_next_page_token(NextPageToken(root));
  response->set_previous_page_token(PreviousPageToken(root));
}

// A handler for a list page: each object of `data[]` parsed into `items`,
// and the page tokens.
template <typename Response, typename Item>
BodyHandler PageInto(Response* response,
                     google::protobuf::RepeatedPtrField<Item>* items,
                     Item (*parse)(graph::JsonObject)) {
  return Json([response, items, parse](graph::JsonObject root) {
    for (graph::JsonObject item : root.GetArray("data")) {
      *items->Add() = parse(item);
    }
    SetPageTokens(root, response);
    return absl::OkStatus();
  });
}

template <typename Response>
BodyHandler SuccessInto(Response* response) {
  return [response](const std::string& body) {
    bool success = false;
    absl::Status s = ParseSuccessInto(body, &success);
    response->set_success(success);
    return s;
  };
}

}  // namespace wagate::resources

#endif  // WAGATE_SERVICE_RESOURCES_GRAPH_CALL_H_
