// Shared plumbing of the resource services: one Graph call per unary RPC
// finishing its reactor, local errors in the same shape as Graph's, and the
// token lookup that refuses unknown accounts before any HTTP call.
//
//   grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
//   graph::GraphCall call{.method = "GET", .path = "/" + id, ...};
//   resources::CallAndFinish(graph_, std::move(call), reactor,
//       [response](const std::string& body) -> absl::Status {
//         ...fill *response from body...
//       });
#ifndef WAGATE_SERVICE_RESOURCES_GRAPH_CALL_H_
#define WAGATE_SERVICE_RESOURCES_GRAPH_CALL_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/config/accounts.h"
#include "service/graph/graph_client.h"

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

// Parses a 2xx body and fills the response; its error finishes the RPC.
using BodyHandler = std::function<absl::Status(const std::string& body)>;

// Runs `call` and finishes `reactor` exactly once: with the mapped Graph or
// transport error (details attached), or with on_ok's status.
void CallAndFinish(graph::GraphClient& graph, graph::GraphCall call,
                   grpc::ServerUnaryReactor* reactor, BodyHandler on_ok);

// A handler for `{"success":true}` answers setting `*success`.
template <typename Response>
BodyHandler SuccessInto(Response* response);

absl::Status ParseSuccessInto(const std::string& body, bool* success);

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
