// GET /metrics on an HTTP listener (the gateway's admin listener, and its
// webhook listener while that is loopback): the registry in Prometheus text
// format 0.0.4 (Content-Type "text/plain; version=0.0.4").
//
//   http::Server server(io, http::ServerOptions{});
//   metrics::RegisterMetricsRoute(server, metrics::Registry::Global());
//   server.Listen("127.0.0.1:8080");
//
// Rendering runs on the server's io thread and takes no lock a hot path
// holds for long; gauge callbacks run there too.
#ifndef WAGATE_SERVICE_METRICS_ROUTE_H_
#define WAGATE_SERVICE_METRICS_ROUTE_H_

#include "service/http/server.h"
#include "service/metrics/registry.h"

namespace wagate::metrics {

inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4";

// Routes GET /metrics to `registry`, which must outlive `server`. Register
// before server.Listen().
void RegisterMetricsRoute(http::Server& server, Registry& registry);

}  // namespace wagate::metrics

#endif  // WAGATE_SERVICE_METRICS_ROUTE_H_
