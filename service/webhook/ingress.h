// The webhook endpoint Meta calls: `GET /webhook` answers the subscription
// check, `POST /webhook` verifies the signature, parses every update into an
// Event (parser.h) and appends them to the durable event store, answering
// 200 only once they are stored (so nothing acknowledged to Meta is lost).
//
//   webhook::IngressOptions options;
//   options.app_secrets = {app_secret};  // several while rotating
//   options.verify_token = verify_token;
//   ASSIGN_OR_RETURN(std::unique_ptr<webhook::Ingress> ingress,
//                    webhook::Ingress::Create(options, store.get()));
//   ingress->RegisterRoutes(http_server);  // before http_server.Listen()
//
// POST answers:
//   200  every event of the body is durable (duplicates of events already
//        stored count as stored: Meta's redeliveries are acknowledged)
//   401  X-Hub-Signature-256 missing (answered from the request head: the
//        body is not read and the connection closes) or malformed
//   403  signature matches no configured app secret
//   400  invalid JSON, trailing data, or not a whatsapp_business_account body
//   413  body over max_body_bytes (the server's own limit also answers 413)
//   503  the store could not take the events now; Meta redelivers later
// Nothing is stored for a request answered otherwise than 200. Logs carry
// the outcome and sizes, never bodies, signatures, tokens or secrets.
//
// Lifetime: the Ingress and the Store must outlive the server's handling of
// requests (stop the server first). Counters stay valid for callbacks that
// complete after the Ingress is destroyed.
#ifndef WAGATE_SERVICE_WEBHOOK_INGRESS_H_
#define WAGATE_SERVICE_WEBHOOK_INGRESS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/events/store.h"
#include "service/http/server.h"
#include "service/metrics/gateway_metrics.h"

namespace wagate::webhook {

struct IngressOptions {
  // App secrets the signature may be made with (several while rotating).
  // At least one.
  std::vector<std::string> app_secrets;
  // The token Meta echoes in `hub.verify_token` on GET. Not empty.
  std::string verify_token;
  // Bodies above this get 413. Meta sends up to 3 MB; keep the server's
  // ServerOptions::max_body_bytes at least as large.
  size_t max_body_bytes = 4 << 20;
  // The route, GET and POST.
  std::string path = "/webhook";
  // Source of received_at; default absl::Now.
  std::function<absl::Time()> clock;
  // Where to count wagate_webhook_requests_total{code},
  // wagate_webhook_events_total{field,result} and
  // wagate_webhook_ack_duration_seconds; nullptr = nowhere (stats() only).
  // Production passes &metrics::GatewayMetrics::Global(). Not owned; must
  // outlive the Store's pending Append callbacks.
  metrics::GatewayMetrics* metrics = nullptr;
};

// Counters for /metrics and tests. Events are counted per webhook field.
struct IngressStats {
  struct FieldCounts {
    uint64_t stored = 0;     // newly stored
    uint64_t duplicate = 0;  // already stored (a redelivery)
    uint64_t failed = 0;     // refused by the store (answered 503)
  };
  uint64_t verify_ok = 0;
  uint64_t verify_refused = 0;
  uint64_t posts_ok = 0;                 // 200
  uint64_t posts_unauthenticated = 0;    // 401
  uint64_t posts_forbidden = 0;          // 403
  uint64_t posts_invalid = 0;            // 400
  uint64_t posts_too_large = 0;          // 413 (from the ingress itself)
  uint64_t posts_store_unavailable = 0;  // 503
  std::map<std::string, FieldCounts> events_by_field;
};

class Ingress {
 public:
  // INVALID_ARGUMENT if no app secret or no verify token is configured.
  // `store` is not owned.
  static absl::StatusOr<std::unique_ptr<Ingress>> Create(IngressOptions options,
                                                         events::Store* store);
  ~Ingress();
  Ingress(const Ingress&) = delete;
  Ingress& operator=(const Ingress&) = delete;

  // Routes GET and POST `options.path` to this ingress.
  void RegisterRoutes(http::Server& server);

  // The handlers, exposed for servers that route themselves.
  void HandleVerify(const http::Request& request, http::Responder respond);
  void HandlePost(http::Request request, http::Responder respond);

  IngressStats stats() const;

 private:
  struct Counters;
  Ingress(IngressOptions options, events::Store* store);

  const IngressOptions options_;
  events::Store* const store_;
  // Shared with Append callbacks, which may run after the Ingress is gone.
  const std::shared_ptr<Counters> counters_;
};

}  // namespace wagate::webhook

#endif  // WAGATE_SERVICE_WEBHOOK_INGRESS_H_
