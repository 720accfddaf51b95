#include "service/metrics/route.h"

#include <utility>

namespace wagate::metrics {

void RegisterMetricsRoute(http::Server& server, Registry& registry) {
  server.Handle("GET", "/metrics",
                [&registry](http::Request, http::Responder respond) {
                  http::Response response;
                  response.status = 200;
                  response.content_type = kMetricsContentType;
                  response.body = registry.Render();
                  respond(std::move(response));
                });
}

}  // namespace wagate::metrics
