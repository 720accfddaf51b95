#include "service/resources/graph_call.h"

#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/graph/graph_error.h"
#include "service/graph/graph_response.h"

namespace wagate::resources {

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline >= std::chrono::system_clock::time_point::max() -
                      std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

grpc::Status LocalError(const absl::Status& status) {
  v1::GraphError error;
  error.set_message(std::string(status.message()));
  error.set_details(std::string(status.message()));
  return graph::StatusWithGraphError(
      static_cast<grpc::StatusCode>(static_cast<int>(status.code())),
      std::string(status.message()), error);
}

absl::StatusOr<std::string> WabaToken(const config::Accounts& accounts,
                                      const std::string& waba_id,
                                      absl::string_view field) {
  if (waba_id.empty() && !accounts.single_account()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": required when the gateway serves several accounts"));
  }
  return accounts.TokenForWaba(waba_id);
}

absl::StatusOr<std::string> PhoneToken(const config::Accounts& accounts,
                                       const std::string& phone_number_id) {
  absl::StatusOr<config::PhoneNumberAccount> account =
      accounts.ForPhoneNumber(phone_number_id);
  if (!account.ok()) return account.status();
  return std::move(account->access_token);
}

graph::GraphCall NewCall(absl::string_view method, std::string path,
                         absl::string_view operation, std::string token) {
  graph::GraphCall call;
  call.method = std::string(method);
  call.path = std::move(path);
  call.operation = std::string(operation);
  call.access_token = std::move(token);
  return call;
}

BodyHandler Json(JsonHandler handler) {
  return [handler = std::move(handler)](const std::string& body) {
    graph::JsonDocument doc;
    absl::Status s = doc.Parse(body);
    if (!s.ok()) return s;
    return handler(doc.root());
  };
}

grpc::ServerUnaryReactor* UnaryGraphRpcWithResult(
    graph::GraphClient& graph, grpc::CallbackServerContext* context,
    absl::FunctionRef<absl::StatusOr<graph::GraphCall>()> prepare,
    ResultHandler on_result) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<graph::GraphCall> call = prepare();
  if (!call.ok()) {
    reactor->Finish(LocalError(call.status()));
    return reactor;
  }
  call->deadline = DeadlineOf(*context);
  graph.Call(*std::move(call), [reactor, on_result = std::move(on_result)](
                                   graph::GraphResult result) {
    reactor->Finish(on_result(std::move(result)));
  });
  return reactor;
}

grpc::ServerUnaryReactor* UnaryGraphRpc(
    graph::GraphClient& graph, grpc::CallbackServerContext* context,
    absl::FunctionRef<absl::StatusOr<graph::GraphCall>()> prepare,
    BodyHandler on_ok) {
  return UnaryGraphRpcWithResult(
      graph, context, prepare,
      [on_ok = std::move(on_ok)](graph::GraphResult result) {
        if (!result.ok()) return result.status;
        absl::Status s = on_ok(result.body);
        return s.ok() ? grpc::Status::OK : LocalError(s);
      });
}

grpc::ServerUnaryReactor* UnaryGraphRpcIf(
    graph::GraphClient& graph, grpc::CallbackServerContext* context,
    absl::FunctionRef<absl::StatusOr<graph::GraphCall>()> prepare,
    Precondition precondition, BodyHandler on_ok) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<graph::GraphCall> prepared = prepare();
  if (!prepared.ok()) {
    reactor->Finish(LocalError(prepared.status()));
    return reactor;
  }
  prepared->deadline = DeadlineOf(*context);
  auto call = std::make_shared<graph::GraphCall>(*std::move(prepared));
  const graph::GraphCall& checked = *call;
  precondition(checked, [&graph, reactor, call,
                         on_ok = std::move(on_ok)](grpc::Status allowed) {
    if (!allowed.ok()) {
      reactor->Finish(allowed);
      return;
    }
    graph.Call(std::move(*call), [reactor, on_ok](graph::GraphResult result) {
      if (!result.ok()) {
        reactor->Finish(result.status);
        return;
      }
      absl::Status s = on_ok(result.body);
      reactor->Finish(s.ok() ? grpc::Status::OK : LocalError(s));
    });
  });
  return reactor;
}

absl::Status ParseSuccessInto(const std::string& body, bool* success) {
  absl::StatusOr<bool> ok = graph::ParseSuccess(body);
  if (!ok.ok()) return ok.status();
  *success = *ok;
  return absl::OkStatus();
}

}  // namespace wagate::resources
