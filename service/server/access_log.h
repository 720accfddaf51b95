// One structured log line per gRPC call, carrying a request id: the caller's
// `x-request-id` metadata, or one made up here. The id is sent back in the
// response's initial metadata, so a caller can quote it. Lines name the
// method, the status code and the duration — never request or response
// bodies, never metadata values other than the request id. A method the
// server does not register is logged as "unknown" (the caller chose that
// path). Successful calls log at debug (a busy gateway makes thousands a
// second), failures at info.
//
//   creators.push_back(MakeAccessLogInterceptorFactory(known_methods));
#ifndef WAGATE_SERVICE_SERVER_ACCESS_LOG_H_
#define WAGATE_SERVICE_SERVER_ACCESS_LOG_H_

#include <memory>
#include <string>

#include "grpcpp/support/server_interceptor.h"
#include "service/metrics/grpc_interceptor.h"

namespace wagate::server {

// `known` (not null): the methods logged by name.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeAccessLogInterceptorFactory(
    std::shared_ptr<const metrics::KnownGrpcMethods> known);

// A caller-supplied request id is used only if it is 1–64 characters of
// [A-Za-z0-9._-]; anything else is replaced (it goes into logs).
bool IsUsableRequestId(const std::string& id);

}  // namespace wagate::server

#endif  // WAGATE_SERVICE_SERVER_ACCESS_LOG_H_
