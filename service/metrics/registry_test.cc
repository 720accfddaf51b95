#include "service/metrics/registry.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::metrics {
namespace {

using ::testing::HasSubstr;

TEST(RegistryTest, EmptyRegistryRendersNothing) {
  Registry registry;
  EXPECT_EQ(registry.Render(), "");
}

TEST(RegistryTest, CounterRendersHelpTypeAndValue) {
  Registry registry;
  Counter* c =
      registry.AddCounter("wagate_events_stored_total", "Events newly stored.");
  c->Increment();
  c->Add(41);
  EXPECT_EQ(c->Value(), 42u);
  EXPECT_EQ(registry.Render(),
            "# HELP wagate_events_stored_total Events newly stored.\n"
            "# TYPE wagate_events_stored_total counter\n"
            "wagate_events_stored_total 42\n");
}

TEST(RegistryTest, LabelledCounterChildrenSortedByLabelValues) {
  Registry registry;
  CounterFamily* f = registry.AddCounterFamily(
      "wagate_webhook_requests_total", "Webhook requests by status.", {"code"});
  f->Get({"401"})->Increment();
  f->Get({"200"})->Add(3);
  f->Get({"200"})->Increment();  // same child
  EXPECT_EQ(f->size(), 2u);
  EXPECT_EQ(registry.Render(),
            "# HELP wagate_webhook_requests_total Webhook requests by status.\n"
            "# TYPE wagate_webhook_requests_total counter\n"
            "wagate_webhook_requests_total{code=\"200\"} 4\n"
            "wagate_webhook_requests_total{code=\"401\"} 1\n");
}

TEST(RegistryTest, GetReturnsTheSamePointerForTheSameLabels) {
  Registry registry;
  CounterFamily* f = registry.AddCounterFamily("x_total", "x", {"a", "b"});
  Counter* c = f->Get({"1", "2"});
  EXPECT_EQ(f->Get({"1", "2"}), c);
  EXPECT_EQ(f->Get(std::vector<std::string>{"1", "2"}), c);
  EXPECT_NE(f->Get({"2", "1"}), c);
  // Different splits of the same characters are different children.
  EXPECT_NE(f->Get({"12", ""}), c);
}

TEST(RegistryTest, WrongNumberOfLabelValuesIsPaddedOrTruncated) {
  Registry registry;
  CounterFamily* f = registry.AddCounterFamily("x_total", "x", {"a", "b"});
  EXPECT_EQ(f->Get({"1"}), f->Get({"1", ""}));
  EXPECT_EQ(f->Get({"1", "2", "3"}), f->Get({"1", "2"}));
}

TEST(RegistryTest, LabelValuesAndHelpEscaped) {
  Registry registry;
  CounterFamily* f = registry.AddCounterFamily(
      "x_total", "Help with \\ backslash\nand newline \"quoted\".", {"v"});
  f->Get({"a\"b\\c\nd"})->Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP x_total Help with \\\\ backslash\\nand newline "
            "\"quoted\".\n"
            "# TYPE x_total counter\n"
            "x_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(RegistryTest, FamiliesSortedByName) {
  Registry registry;
  registry.AddCounter("b_total", "b");
  registry.AddGauge("a", "a");
  registry.AddCounter("c_total", "c");
  std::string text = registry.Render();
  size_t a = text.find("# HELP a ");
  size_t b = text.find("# HELP b_total ");
  size_t c = text.find("# HELP c_total ");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(RegistryTest, GaugeSetAddAndCallback) {
  Registry registry;
  Gauge* g = registry.AddGauge("wagate_send_stream_backlog", "Backlog.");
  g->Set(5);
  g->Add(2.5);
  g->Decrement();
  EXPECT_DOUBLE_EQ(g->Value(), 6.5);
  int calls = 0;
  registry.AddGaugeCallback("wagate_subscribers_lag", "Lag.", [&calls] {
    ++calls;
    return 7.0;
  });
  EXPECT_EQ(registry.Render(),
            "# HELP wagate_send_stream_backlog Backlog.\n"
            "# TYPE wagate_send_stream_backlog gauge\n"
            "wagate_send_stream_backlog 6.5\n"
            "# HELP wagate_subscribers_lag Lag.\n"
            "# TYPE wagate_subscribers_lag gauge\n"
            "wagate_subscribers_lag 7\n");
  EXPECT_EQ(calls, 1);
}

TEST(RegistryTest, ClearedCallbackFallsBackToSetValue) {
  Registry registry;
  Gauge* g = registry.AddGauge("g", "g");
  g->Set(3);
  g->SetCallback([] { return 9.0; });
  EXPECT_DOUBLE_EQ(g->Value(), 9);
  g->ClearCallback();
  EXPECT_DOUBLE_EQ(g->Value(), 3);
}

TEST(RegistryTest, LabelledGauge) {
  Registry registry;
  GaugeFamily* f =
      registry.AddGaugeFamily("wagate_subscribers", "Subscribers.", {"group"});
  f->Get({"billing"})->Increment();
  f->Get({"billing"})->Increment();
  f->Get({""})->Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP wagate_subscribers Subscribers.\n"
            "# TYPE wagate_subscribers gauge\n"
            "wagate_subscribers{group=\"\"} 1\n"
            "wagate_subscribers{group=\"billing\"} 2\n");
}

TEST(RegistryTest, HistogramBucketsCumulativeWithInfSumAndCount) {
  Registry registry;
  Histogram* h = registry.AddHistogram("wagate_pacer_wait_seconds",
                                       "Pacer waits.", {0.005, 0.1, 1});
  h->Observe(0.001);  // first bucket
  h->Observe(0.005);  // on a bound: "le" is inclusive
  h->Observe(0.05);
  h->Observe(2);                                         // only +Inf
  h->Observe(std::numeric_limits<double>::quiet_NaN());  // ignored
  EXPECT_EQ(registry.Render(),
            "# HELP wagate_pacer_wait_seconds Pacer waits.\n"
            "# TYPE wagate_pacer_wait_seconds histogram\n"
            "wagate_pacer_wait_seconds_bucket{le=\"0.005\"} 2\n"
            "wagate_pacer_wait_seconds_bucket{le=\"0.1\"} 3\n"
            "wagate_pacer_wait_seconds_bucket{le=\"1\"} 3\n"
            "wagate_pacer_wait_seconds_bucket{le=\"+Inf\"} 4\n"
            "wagate_pacer_wait_seconds_sum 2.056\n"
            "wagate_pacer_wait_seconds_count 4\n");
}

TEST(RegistryTest, LabelledHistogramPutsLeLast) {
  Registry registry;
  HistogramFamily* f =
      registry.AddHistogramFamily("wagate_graph_request_duration_seconds",
                                  "Graph latency.", {"operation"}, {0.5});
  f->Get({"send"})->ObserveDuration(absl::Milliseconds(250));
  EXPECT_EQ(registry.Render(),
            "# HELP wagate_graph_request_duration_seconds Graph latency.\n"
            "# TYPE wagate_graph_request_duration_seconds histogram\n"
            "wagate_graph_request_duration_seconds_bucket{operation=\"send\","
            "le=\"0.5\"} 1\n"
            "wagate_graph_request_duration_seconds_bucket{operation=\"send\","
            "le=\"+Inf\"} 1\n"
            "wagate_graph_request_duration_seconds_sum{operation=\"send\"} "
            "0.25\n"
            "wagate_graph_request_duration_seconds_count{operation=\"send\"} "
            "1\n");
}

TEST(RegistryTest, LatencyBucketsSpanHalfAMillisecondToTenSeconds) {
  std::vector<double> b = LatencyBuckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0005);
  EXPECT_DOUBLE_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  EXPECT_EQ(ExponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
}

TEST(RegistryTest, SameRegistrationReturnsTheExistingFamily) {
  Registry registry;
  CounterFamily* a = registry.AddCounterFamily("x_total", "x", {"a"});
  CounterFamily* b = registry.AddCounterFamily("x_total", "x", {"a"});
  EXPECT_EQ(a, b);
  Histogram* h1 = registry.AddHistogram("h", "h", {1, 2});
  Histogram* h2 = registry.AddHistogram("h", "h", {1, 2});
  EXPECT_EQ(h1, h2);
}

TEST(RegistryDeathTest, ConflictingOrInvalidRegistrationsAbort) {
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddCounterFamily("x_total", "x", {"a"});
        registry.AddCounterFamily("x_total", "x", {"b"});
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddCounter("x_total", "x");
        registry.AddGauge("x_total", "x");
      },
      "registered twice");
  EXPECT_DEATH(Registry().AddCounter("1bad", "x"), "invalid metric name");
  EXPECT_DEATH(Registry().AddCounterFamily("x", "x", {"bad-label"}),
               "invalid label name");
  EXPECT_DEATH(Registry().AddHistogramFamily("x", "x", {"le"}, {1}),
               "invalid label name");
  EXPECT_DEATH(Registry().AddHistogram("x", "x", {2, 1}), "bucket bounds");
}

TEST(RegistryTest, TooManyLabelCombinationsGoToOneOverflowChild) {
  Registry registry;
  CounterFamily* f = registry.AddCounterFamily("x_total", "x", {"id"});
  for (size_t i = 0; i < kMaxChildren; ++i) {
    f->Get({absl::StrCat(i)})->Increment();
  }
  EXPECT_EQ(f->size(), kMaxChildren);
  Counter* overflow = f->Get({"new-1"});
  EXPECT_EQ(f->Get({"new-2"}), overflow);
  overflow->Increment();
  EXPECT_EQ(f->size(), kMaxChildren + 1);
  EXPECT_THAT(registry.Render(), HasSubstr("x_total{id=\"_overflow\"} 1\n"));
  // Existing children keep working.
  EXPECT_EQ(f->Get({"7"})->Value(), 1u);
}

TEST(RegistryTest, FormatValue) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(0.0005), "0.0005");
  EXPECT_EQ(FormatValue(-1.5), "-1.5");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  // Large values keep every digit (a Unix start time in seconds).
  EXPECT_EQ(FormatValue(1795000000.25), "1795000000.25");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(std::stod(FormatValue(1e-300)), 1e-300);
  EXPECT_EQ(std::stod(FormatValue(1e300)), 1e300);
}

TEST(RegistryTest, ConcurrentIncrementsAreExact) {
  Registry registry;
  CounterFamily* f = registry.AddCounterFamily("x_total", "x", {"k"});
  Histogram* h = registry.AddHistogram("h_seconds", "h", {0.5});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([f, h, t] {
      // Half the threads race to create the child, half reuse a kept one.
      Counter* kept = f->Get({"shared"});
      for (int i = 0; i < kPerThread; ++i) {
        if (t % 2 == 0) {
          kept->Increment();
        } else {
          f->Get({"shared"})->Increment();
        }
        h->Observe(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(f->Get({"shared"})->Value(),
            static_cast<uint64_t>(kThreads) * kPerThread);
  Histogram::Snapshot s = h->Read();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads) * kPerThread);
  EXPECT_DOUBLE_EQ(s.sum, static_cast<double>(kThreads) * kPerThread);
  EXPECT_THAT(registry.Render(),
              HasSubstr(absl::StrCat("x_total{k=\"shared\"} ",
                                     kThreads * kPerThread, "\n")));
}

TEST(RegistryTest, RenderWhileIncrementingAndCreatingChildren) {
  Registry registry;
  CounterFamily* f = registry.AddCounterFamily("x_total", "x", {"k"});
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 20000;
  std::atomic<int> running{kWriters};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerWriter; ++i) {
        f->Get({absl::StrCat(t, "-", i % 50)})->Increment();
      }
      --running;
    });
  }
  int renders = 0;
  do {
    std::string text = registry.Render();
    ASSERT_EQ(text.rfind("# HELP x_total x\n# TYPE x_total counter\n", 0), 0u);
    ++renders;
  } while (running.load() > 0);
  for (std::thread& t : writers) t.join();
  EXPECT_GT(renders, 0);
  EXPECT_EQ(f->size(), 200u);
  uint64_t total = 0;
  for (int t = 0; t < kWriters; ++t) {
    for (int k = 0; k < 50; ++k)
      total += f->Get({absl::StrCat(t, "-", k)})->Value();
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kWriters) * kPerWriter);
}

TEST(RegistryTest, GlobalIsOneRegistry) {
  EXPECT_EQ(&Registry::Global(), &Registry::Global());
}

}  // namespace
}  // namespace wagate::metrics
