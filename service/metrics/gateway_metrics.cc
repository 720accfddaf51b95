#include "service/metrics/gateway_metrics.h"

#include <memory>
#include <utility>

#include "service/metrics/process_metrics.h"

namespace wagate::metrics {

GatewayMetrics::GatewayMetrics(Registry& r)
    : messages_sent(r.AddCounterFamily(
          "wagate_messages_sent_total",
          "Send and SendStream requests finished, by business phone number, "
          "result and Graph error code (0 when none).",
          {"phone_number_id", "result", "graph_code"})),
      graph_request_duration(r.AddHistogramFamily(
          "wagate_graph_request_duration_seconds",
          "Latency of HTTP exchanges with the Graph API, by operation.",
          {"operation"}, LatencyBuckets())),
      pacer_wait(r.AddHistogram(
          "wagate_pacer_wait_seconds",
          "Time granted sends waited for throughput or pair-limit capacity.",
          PacerWaitBuckets())),
      pacer_rejections(r.AddCounterFamily(
          "wagate_pacer_rejections_total",
          "Sends the pacer refused, by reason (deadline, shutdown, "
          "gate_unavailable: the shared pacing gate could not be asked).",
          {"reason"})),
      send_stream_backlog(r.AddGauge(
          "wagate_send_stream_backlog",
          "Requests received on SendStream calls and not yet answered.")),
      webhook_events(r.AddCounterFamily(
          "wagate_webhook_events_total",
          "Webhook events received, by webhook field and result (stored, "
          "duplicate, failed).",
          {"field", "result"})),
      webhook_requests(r.AddCounterFamily(
          "wagate_webhook_requests_total",
          "Webhook HTTP requests, by status answered.", {"code"})),
      webhook_ack_duration(r.AddHistogram(
          "wagate_webhook_ack_duration_seconds",
          "Time from receiving a webhook POST to acknowledging it after the "
          "durable commit.",
          LatencyBuckets())),
      events_stored(r.AddCounter("wagate_events_stored_total",
                                 "Events newly appended to the event log.")),
      event_store_commit_duration(r.AddHistogram(
          "wagate_event_store_commit_duration_seconds",
          "Duration of one event log group commit.", LatencyBuckets())),
      subscribers(r.AddGaugeFamily(
          "wagate_subscribers",
          "Open Subscribe streams, by consumer group (empty for none).",
          {"group"})),
      subscriber_lag_events(r.AddGaugeFamily(
          "wagate_subscriber_lag_events",
          "Events stored and not yet delivered: max and sum over subscribers.",
          {"stat"})),
      subscriber_lag_max(subscriber_lag_events->Get({"max"})),
      subscriber_lag_sum(subscriber_lag_events->Get({"sum"})),
      grpc_requests(r.AddCounterFamily(
          "wagate_grpc_requests_total",
          "Finished gRPC calls, by service, method and status code.",
          {"service", "method", "code"})) {
  // Known label values exist from the start, so rate() sees a 0 rather than
  // a missing series before the first rejection.
  pacer_rejections->Get({"deadline"});
  pacer_rejections->Get({"shutdown"});
  pacer_rejections->Get({"gate_unavailable"});
}

GatewayMetrics& GatewayMetrics::Global() {
  static GatewayMetrics* const metrics = [] {
    RegisterProcessMetrics(Registry::Global());
    return new GatewayMetrics(Registry::Global());
  }();
  return *metrics;
}

void GatewayMetrics::SetSubscriberLagSource(std::function<Lag()> source) {
  if (!source) {
    subscriber_lag_max->ClearCallback();
    subscriber_lag_sum->ClearCallback();
    return;
  }
  auto shared = std::make_shared<std::function<Lag()>>(std::move(source));
  subscriber_lag_max->SetCallback([shared] { return (*shared)().max; });
  subscriber_lag_sum->SetCallback([shared] { return (*shared)().sum; });
}

std::vector<double> PacerWaitBuckets() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
          1,     2.5,   5,    7.5,   10,   20,  30,   60};
}

absl::string_view GrpcCodeName(int code) {
  static constexpr absl::string_view kNames[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) {
    return "UNKNOWN";
  }
  return kNames[code];
}

}  // namespace wagate::metrics
