// Counts every finished gRPC call into wagate_grpc_requests_total{service,
// method,code} with a server interceptor, so no service has to count itself.
//
//   ASSIGN_OR_RETURN(std::shared_ptr<const metrics::KnownGrpcMethods> known,
//                    metrics::KnownGrpcMethods::FromServices(
//                        {"wagate.v1.Messaging", "grpc.health.v1.Health"}));
//   grpc::ServerBuilder builder;
//   std::vector<std::unique_ptr<
//       grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(metrics::MakeGrpcMetricsInterceptorFactory(
//       metrics::GatewayMetrics::Global().grpc_requests, known));
//   builder.experimental().SetInterceptorCreators(std::move(creators));
//
// "/wagate.v1.Messaging/Send" is counted as service "wagate.v1.Messaging",
// method "Send", code the status sent ("OK", "INVALID_ARGUMENT", ...; see
// GrpcCodeName). A method the server does not register is counted as
// service "unknown", method "unknown": callers choose the path, and random
// ones would otherwise fill the registry's series. A call that ends without
// the server sending a status (the client cancelled or its deadline passed
// first) is counted as "CANCELLED".
#ifndef WAGATE_SERVICE_METRICS_GRPC_INTERCEPTOR_H_
#define WAGATE_SERVICE_METRICS_GRPC_INTERCEPTOR_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/server_interceptor.h"
#include "service/metrics/registry.h"

namespace wagate::metrics {

// The label of every method the server does not register.
inline constexpr absl::string_view kUnknownGrpcMethod = "unknown";

// The full names ("/pkg.Service/Method") of the methods a server registers.
class KnownGrpcMethods {
 public:
  explicit KnownGrpcMethods(std::vector<std::string> full_names);

  // Every method of the named services ("wagate.v1.Messaging"), from the
  // compiled-in descriptors, plus `more` full names (for services whose
  // descriptors may not be linked in, such as gRPC's built-in health
  // service); NOT_FOUND naming a service not found.
  static absl::StatusOr<std::shared_ptr<const KnownGrpcMethods>> FromServices(
      const std::vector<std::string>& services,
      std::vector<std::string> more = {});

  bool Contains(absl::string_view full_name) const;
  // {service, method} of a known method (views into `full_name`), else
  // {"unknown", "unknown"}.
  std::pair<absl::string_view, absl::string_view> Labels(
      absl::string_view full_name) const;

 private:
  absl::flat_hash_set<std::string> names_;
};

// `requests` must have the label names {service, method, code} and outlive
// the server; `known` must not be null.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcMetricsInterceptorFactory(
    CounterFamily* requests, std::shared_ptr<const KnownGrpcMethods> known);

// Splits "/pkg.Service/Method" into {"pkg.Service", "Method"}; anything else
// gives {"", path}.
std::pair<absl::string_view, absl::string_view> SplitGrpcMethod(
    absl::string_view path);

}  // namespace wagate::metrics

#endif  // WAGATE_SERVICE_METRICS_GRPC_INTERCEPTOR_H_
