#include "service/metrics/gateway_metrics.h"

#include <atomic>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(GatewayMetricsTest, EveryFamilyHasHelpAndType) {
  Registry registry;
  GatewayMetrics m(registry);
  std::string text = registry.Render();
  for (const char* family : {
           "wagate_messages_sent_total counter",
           "wagate_graph_request_duration_seconds histogram",
           "wagate_pacer_wait_seconds histogram",
           "wagate_pacer_rejections_total counter",
           "wagate_send_stream_backlog gauge",
           "wagate_webhook_events_total counter",
           "wagate_webhook_requests_total counter",
           "wagate_webhook_ack_duration_seconds histogram",
           "wagate_events_stored_total counter",
           "wagate_event_store_commit_duration_seconds histogram",
           "wagate_subscribers gauge",
           "wagate_subscriber_lag_events gauge",
           "wagate_grpc_requests_total counter",
       }) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family + "\n"));
    std::string name(family, std::string(family).find(' '));
    EXPECT_THAT(text, HasSubstr("# HELP " + name + " "));
  }
}

TEST(GatewayMetricsTest, IncrementsShowUnderTheirLabels) {
  Registry registry;
  GatewayMetrics m(registry);
  m.messages_sent->Get({"106540352242922", "graph_error", "131047"})
      ->Increment();
  m.graph_request_duration->Get({"send_message"})
      ->ObserveDuration(absl::Milliseconds(3));
  m.pacer_wait->Observe(6);
  m.pacer_rejections->Get({"deadline"})->Increment();
  m.send_stream_backlog->Add(2);
  m.webhook_events->Get({"messages", "stored"})->Add(3);
  m.webhook_requests->Get({"200"})->Increment();
  m.webhook_ack_duration->Observe(0.004);
  m.events_stored->Add(3);
  m.event_store_commit_duration->Observe(0.002);
  m.subscribers->Get({"billing"})->Increment();
  m.grpc_requests->Get({"wagate.v1.Messaging", "Send", "OK"})->Increment();

  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("wagate_messages_sent_total{phone_number_id="
                              "\"106540352242922\",result=\"graph_error\","
                              "graph_code=\"131047\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("wagate_graph_request_duration_seconds_bucket{"
                              "operation=\"send_message\",le=\"0.005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("wagate_pacer_wait_seconds_bucket{le=\"5\"} 0\n"
                              "wagate_pacer_wait_seconds_bucket{le=\"7.5\"} "
                              "1\n"));
  EXPECT_THAT(text,
              HasSubstr("wagate_pacer_rejections_total{reason=\"deadline\"} "
                        "1\n"));
  EXPECT_THAT(text, HasSubstr("wagate_send_stream_backlog 2\n"));
  EXPECT_THAT(text, HasSubstr("wagate_webhook_events_total{field=\"messages\","
                              "result=\"stored\"} 3\n"));
  EXPECT_THAT(text,
              HasSubstr("wagate_webhook_requests_total{code=\"200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("wagate_webhook_ack_duration_seconds_count 1\n"));
  EXPECT_THAT(text, HasSubstr("wagate_events_stored_total 3\n"));
  EXPECT_THAT(
      text, HasSubstr("wagate_event_store_commit_duration_seconds_count 1\n"));
  EXPECT_THAT(text, HasSubstr("wagate_subscribers{group=\"billing\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("wagate_grpc_requests_total{service=\"wagate.v1."
                              "Messaging\",method=\"Send\",code=\"OK\"} 1\n"));
}

TEST(GatewayMetricsTest, KnownPacerReasonsStartAtZero) {
  Registry registry;
  GatewayMetrics m(registry);
  EXPECT_THAT(registry.Render(),
              HasSubstr("wagate_pacer_rejections_total{reason=\"deadline\"} 0\n"
                        "wagate_pacer_rejections_total{reason=\"shutdown\"} "
                        "0\n"));
}

TEST(GatewayMetricsTest, SubscriberLagComesFromTheSourceAtScrape) {
  Registry registry;
  GatewayMetrics m(registry);
  EXPECT_THAT(registry.Render(),
              HasSubstr("wagate_subscriber_lag_events{stat=\"max\"} 0\n"
                        "wagate_subscriber_lag_events{stat=\"sum\"} 0\n"));
  std::atomic<int> lag{5};
  m.SetSubscriberLagSource([&lag] {
    return GatewayMetrics::Lag{static_cast<double>(lag.load()),
                               static_cast<double>(lag.load() + 7)};
  });
  EXPECT_THAT(registry.Render(),
              HasSubstr("wagate_subscriber_lag_events{stat=\"max\"} 5\n"
                        "wagate_subscriber_lag_events{stat=\"sum\"} 12\n"));
  lag = 40;
  EXPECT_THAT(registry.Render(),
              HasSubstr("wagate_subscriber_lag_events{stat=\"max\"} 40\n"));
  m.SetSubscriberLagSource(nullptr);
  EXPECT_THAT(registry.Render(),
              HasSubstr("wagate_subscriber_lag_events{stat=\"max\"} 0\n"));
}

TEST(GatewayMetricsTest, TwoInstancesOverOneRegistryShareFamilies) {
  Registry registry;
  GatewayMetrics a(registry);
  GatewayMetrics b(registry);
  EXPECT_EQ(a.messages_sent, b.messages_sent);
  EXPECT_EQ(a.pacer_wait, b.pacer_wait);
}

TEST(GatewayMetricsTest, GlobalIncludesProcessMetrics) {
  GatewayMetrics& m = GatewayMetrics::Global();
  EXPECT_EQ(&m, &GatewayMetrics::Global());
  std::string text = Registry::Global().Render();
  EXPECT_THAT(text, HasSubstr("# TYPE wagate_messages_sent_total counter\n"));
  EXPECT_THAT(text, HasSubstr("wagate_process_resident_memory_bytes "));
  EXPECT_THAT(text, Not(HasSubstr("wagate_process_resident_memory_bytes 0\n")));
}

TEST(GatewayMetricsTest, GrpcCodeNames) {
  EXPECT_EQ(GrpcCodeName(0), "OK");
  EXPECT_EQ(GrpcCodeName(3), "INVALID_ARGUMENT");
  EXPECT_EQ(GrpcCodeName(8), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(17), "UNKNOWN");
  EXPECT_EQ(GrpcCodeName(-1), "UNKNOWN");
}

}  // namespace
}  // namespace wagate::metrics
