// Counts every finished gRPC call into wagate_grpc_requests_total{service,
// method,code} with a server interceptor, so no service has to count itself.
//
//   grpc::ServerBuilder builder;
//   std::vector<std::unique_ptr<
//       grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(metrics::MakeGrpcMetricsInterceptorFactory(
//       metrics::GatewayMetrics::Global().grpc_requests));
//   builder.experimental().SetInterceptorCreators(std::move(creators));
//
// "/wagate.v1.Messaging/Send" is counted as service "wagate.v1.Messaging",
// method "Send", code the status sent ("OK", "INVALID_ARGUMENT", ...; see
// GrpcCodeName). A call that ends without the server sending a status (the
// client cancelled or its deadline passed first) is counted as "CANCELLED".
#ifndef WAGATE_SERVICE_METRICS_GRPC_INTERCEPTOR_H_
#define WAGATE_SERVICE_METRICS_GRPC_INTERCEPTOR_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "grpcpp/support/server_interceptor.h"
#include "service/metrics/registry.h"

namespace wagate::metrics {

// `requests` must have the label names {service, method, code} and outlive
// the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcMetricsInterceptorFactory(CounterFamily* requests);

// Splits "/pkg.Service/Method" into {"pkg.Service", "Method"}; anything else
// gives {"", path}.
std::pair<absl::string_view, absl::string_view> SplitGrpcMethod(
    absl::string_view path);

}  // namespace wagate::metrics

#endif  // WAGATE_SERVICE_METRICS_GRPC_INTERCEPTOR_H_
