#include "service/metrics/gateway_metrics.h"

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/metrics/process_metrics.h"

namespace wagate::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Checks a whole scrape against the text format 0.0.4: HELP then TYPE once
// per family, every sample named after the current family (histograms:
// _bucket/_sum/_count), labels well formed with only \\, \" and \n
// escapes, values numeric, histogram buckets non-decreasing up to +Inf ==
// _count. Returns the problems found.
std::vector<std::string> CheckExposition(const std::string& text) {
  std::vector<std::string> problems;
  std::set<std::string> seen_families;
  std::set<std::string> seen_series;
  std::string family, type;
  double last_bucket = -1;
  double inf_bucket = -1;
  if (text.empty() || text.back() != '\n')
    problems.push_back("no final newline");
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "# HELP ")) {
      family = std::string(line.substr(0, line.find(' ')));
      type.clear();
      if (!seen_families.insert(family).second) {
        problems.push_back("family twice: " + family);
      }
      continue;
    }
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      if (parts.size() != 2 || parts[0] != family || !type.empty()) {
        problems.push_back("TYPE without HELP: " + std::string(line));
      }
      type = parts.size() == 2 ? parts[1] : "";
      continue;
    }
    if (line[0] == '#') {
      problems.push_back("comment: " + std::string(line));
      continue;
    }
    size_t end_name = line.find_first_of("{ ");
    std::string name(line.substr(0, end_name));
    std::string suffix;
    if (type == "histogram") {
      for (const char* s : {"_bucket", "_sum", "_count"}) {
        if (name == family + s) suffix = s;
      }
    }
    if (name != family && suffix.empty()) {
      problems.push_back("sample outside its family: " + std::string(line));
    }
    // Labels: {k="v",...} with escapes.
    size_t i = end_name;
    std::string le;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == absl::string_view::npos || line[eq + 1] != '"') {
          problems.push_back("bad label: " + std::string(line));
          break;
        }
        std::string key(line.substr(i, eq - i));
        std::string value;
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            char e = i + 1 < line.size() ? line[i + 1] : 0;
            if (e != '\\' && e != '"' && e != 'n') {
              problems.push_back("bad escape: " + std::string(line));
            }
            value.push_back(e == 'n' ? '\n' : e);
            i += 2;
          } else {
            value.push_back(line[i++]);
          }
        }
        ++i;  // closing quote
        if (key == "le") le = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // closing brace
    }
    if (i >= line.size() || line[i] != ' ') {
      problems.push_back("no value: " + std::string(line));
      continue;
    }
    std::string series(line.substr(0, i));
    if (!seen_series.insert(series).second) {
      problems.push_back("series twice: " + series);
    }
    absl::string_view value_text = line.substr(i + 1);
    double value = 0;
    if (value_text == "+Inf" || value_text == "-Inf" || value_text == "NaN") {
      value = value_text == "+Inf" ? 1e308 : 0;
    } else if (!absl::SimpleAtod(value_text, &value)) {
      problems.push_back("bad value: " + std::string(line));
    }
    if (suffix == "_bucket") {
      if (le.empty()) problems.push_back("bucket without le: " + series);
      if (value < last_bucket) problems.push_back("not cumulative: " + series);
      last_bucket = value;
      if (le == "+Inf") {
        inf_bucket = value;
        last_bucket = -1;  // the next child starts over
      }
    } else if (suffix == "_count" && value != inf_bucket) {
      problems.push_back("+Inf bucket != count: " + series);
    }
  }
  return problems;
}

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
  const std::string text = registry.Render();
  for (const char* reason : {"deadline", "shutdown", "gate_unavailable"}) {
    EXPECT_THAT(
        text, HasSubstr(absl::StrCat("wagate_pacer_rejections_total{reason=\"",
                                     reason, "\"} 0\n")));
  }
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

TEST(GatewayMetricsTest, WholeScrapeIsWellFormed) {
  Registry registry;
  RegisterProcessMetrics(registry);
  GatewayMetrics m(registry);
  m.messages_sent->Get({"106540352242922", "ok", "0"})->Add(3);
  m.messages_sent->Get({"1065\"4\\0\n", "graph_error", "131047"})->Increment();
  for (const char* op : {"send_message", "list_phone_numbers"}) {
    for (double v : {0.0001, 0.003, 0.2, 4.0, 30.0}) {
      m.graph_request_duration->Get({op})->Observe(v);
    }
  }
  m.pacer_wait->Observe(6);
  m.webhook_events->Get({"messages", "duplicate"})->Increment();
  m.webhook_requests->Get({"413"})->Increment();
  m.webhook_ack_duration->Observe(0.004);
  m.event_store_commit_duration->Observe(0.002);
  m.subscribers->Get({""})->Increment();
  m.send_stream_backlog->Add(-1);
  m.SetSubscriberLagSource([] { return GatewayMetrics::Lag{1.5, 2}; });
  m.grpc_requests->Get({"wagate.v1.Events", "Subscribe", "CANCELLED"})
      ->Increment();
  std::string text = registry.Render();
  EXPECT_THAT(CheckExposition(text), ::testing::IsEmpty()) << text;
  m.SetSubscriberLagSource(nullptr);
}

TEST(GatewayMetricsTest, CheckerCatchesBrokenOutput) {
  // The checker itself must reject what the registry must never produce.
  EXPECT_THAT(CheckExposition("# HELP a x\n# TYPE a counter\nb 1\n"),
              ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(CheckExposition("# HELP a x\n# TYPE a counter\na{k=\"\\t\"} 1\n"),
              ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(
      CheckExposition("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                      "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"),
      ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(CheckExposition("# HELP a x\n# TYPE a gauge\na 1\na 2\n"),
              ::testing::Not(::testing::IsEmpty()));
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
