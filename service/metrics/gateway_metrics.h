// Every metric family the gateway exports, defined in one place so names,
// help texts, label names and buckets stay consistent; components only
// increment.
//
//   metrics::GatewayMetrics& m = metrics::GatewayMetrics::Global();
//   m.messages_sent->Get({phone_number_id, "ok", "0"})->Increment();
//   m.graph_request_duration->Get({"send_message"})->ObserveDuration(latency);
//   m.webhook_ack_duration->ObserveDuration(absl::Now() - received);
//
// Components take a `metrics::GatewayMetrics*` (tests pass one built over
// their own Registry and read it back; production passes &Global()). Keep the
// child pointer for a fixed label combination; Get() on the fly is fine for
// label values known only per call (a lock-shared map lookup).
//
// Label values — use these words so dashboards can rely on them:
//   messages_sent.result: the Sender's results: "ok", "graph_error",
//     "transport_error", "outcome_unknown", "invalid", "not_configured",
//     "paced_out", "replayed", "idempotency_conflict",
//     "idempotency_mismatch", "store_error"; graph_code: Graph's error code
//     as decimal, "0" when there is none. phone_number_id is the business
//     number sending, bounded (messaging/sender.h SenderStats): a configured
//     number (or, in single-account mode, one that has sent, up to 1000),
//     else "other"; "invalid" for a value that is not a phone number ID.
//     NEVER label by the recipient, by message content, by a raw caller
//     value or by anything secret.
//   graph_request_duration.operation: GraphCall::operation ("send_message",
//     "list_phone_numbers", ...), a fixed set chosen in code.
//   pacer_rejections.reason: "deadline" (no capacity before the call's
//     deadline), "shutdown".
//   webhook_events: field is the webhook field ("messages", ...); result is
//     "stored", "duplicate" (a redelivery), "failed" (store refused; 503).
//   webhook_requests.code: the HTTP status answered, e.g. "200", "401".
//   subscribers.group: the consumer group, "" for a plain Subscribe.
//   grpc_requests: service "wagate.v1.Messaging", method "Send", code the
//     canonical name ("OK", "INVALID_ARGUMENT"; GrpcCodeName()).
#ifndef WAGATE_SERVICE_METRICS_GATEWAY_METRICS_H_
#define WAGATE_SERVICE_METRICS_GATEWAY_METRICS_H_

#include <functional>
#include <vector>

#include "absl/strings/string_view.h"
#include "service/metrics/registry.h"

namespace wagate::metrics {

struct GatewayMetrics {
  // Registers (or finds) every family in `registry`, which must outlive this.
  explicit GatewayMetrics(Registry& registry);
  GatewayMetrics(const GatewayMetrics&) = delete;
  GatewayMetrics& operator=(const GatewayMetrics&) = delete;

  // The process-wide instance over Registry::Global(), created on first use
  // with the process metrics; never destroyed.
  static GatewayMetrics& Global();

  // --- Send path ---
  // wagate_messages_sent_total{phone_number_id,result,graph_code}
  CounterFamily* messages_sent;
  // wagate_graph_request_duration_seconds{operation}: each HTTP exchange with
  // Graph (retries observed separately), observed once, by the gateway's
  // one graph::GraphClient.
  HistogramFamily* graph_request_duration;
  // wagate_pacer_wait_seconds: time a granted send waited for throughput.
  Histogram* pacer_wait;
  // wagate_pacer_rejections_total{reason}
  CounterFamily* pacer_rejections;
  // wagate_send_stream_backlog: requests received on SendStreams and not yet
  // answered, over all streams. Add on receipt, subtract on answer.
  Gauge* send_stream_backlog;

  // --- Webhook path ---
  // wagate_webhook_events_total{field,result}
  CounterFamily* webhook_events;
  // wagate_webhook_requests_total{code}
  CounterFamily* webhook_requests;
  // wagate_webhook_ack_duration_seconds: POST received to 200 written (after
  // the durable commit).
  Histogram* webhook_ack_duration;

  // --- Event log and subscribers ---
  // wagate_events_stored_total: events newly appended (not duplicates).
  Counter* events_stored;
  // wagate_event_store_commit_duration_seconds: one group commit.
  Histogram* event_store_commit_duration;
  // wagate_subscribers{group}: open Subscribe streams.
  GaugeFamily* subscribers;
  // wagate_subscriber_lag_events{stat="max"|"sum"}: events stored but not yet
  // delivered, over subscribers; evaluated at scrape (SetSubscriberLagSource).
  GaugeFamily* subscriber_lag_events;
  Gauge* subscriber_lag_max;
  Gauge* subscriber_lag_sum;

  // --- gRPC ---
  // wagate_grpc_requests_total{service,method,code}: finished RPCs
  // (GrpcMetricsInterceptorFactory counts them).
  CounterFamily* grpc_requests;

  struct Lag {
    double max = 0;
    double sum = 0;
  };
  // Makes the lag gauges call `source` at scrape (nullptr clears it; do so
  // before whatever `source` reads is destroyed). `source` must be cheap and
  // thread-safe.
  void SetSubscriberLagSource(std::function<Lag()> source);
};

// Buckets of wagate_pacer_wait_seconds: 1 ms … 60 s (a pair-limited
// recipient allows one message per 6 s, so queued waits run long).
std::vector<double> PacerWaitBuckets();

// "OK", "CANCELLED", … "UNAUTHENTICATED" for canonical codes 0…16;
// "UNKNOWN" otherwise.
absl::string_view GrpcCodeName(int code);

}  // namespace wagate::metrics

#endif  // WAGATE_SERVICE_METRICS_GATEWAY_METRICS_H_
