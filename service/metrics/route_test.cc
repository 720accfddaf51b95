#include "service/metrics/route.h"

#include <unistd.h>

#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/http/client.h"
#include "service/http/server.h"
#include "service/metrics/process_metrics.h"
#include "service/metrics/registry.h"

namespace wagate::metrics {
namespace {

// Sample lines ("name{labels} value") of a scrape, by series.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      ADD_FAILURE() << "malformed sample line: " << line;
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

class MetricsRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<http::Server>(io_, http::ServerOptions{});
    RegisterMetricsRoute(*server_, registry_);
    ASSERT_TRUE(server_->Listen("127.0.0.1:0").ok());
    client_ = std::make_unique<http::Client>(io_);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    server_->Stop();
    client_.reset();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  http::ClientResponse Get(const std::string& path) {
    std::promise<absl::StatusOr<http::ClientResponse>> promise;
    http::ClientRequest request;
    request.method = "GET";
    request.url = absl::StrCat("http://127.0.0.1:", server_->port(), path);
    request.timeout = absl::Seconds(10);
    client_->Send(std::move(request),
                  [&promise](absl::StatusOr<http::ClientResponse> r) {
                    promise.set_value(std::move(r));
                  });
    absl::StatusOr<http::ClientResponse> response = promise.get_future().get();
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : http::ClientResponse{};
  }

  Registry registry_;
  boost::asio::io_context io_;
  std::unique_ptr<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_ = std::make_unique<boost::asio::executor_work_guard<
          boost::asio::io_context::executor_type>>(io_.get_executor());
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Client> client_;
  std::thread thread_;
};

TEST_F(MetricsRouteTest, ScrapeShowsDeltasAfterIncrements) {
  CounterFamily* sent =
      registry_.AddCounterFamily("wagate_messages_sent_total", "Sends.",
                                 {"phone_number_id", "result", "graph_code"});
  Histogram* latency = registry_.AddHistogram(
      "wagate_graph_request_duration_seconds", "Latency.", {0.1, 1});
  Gauge* backlog = registry_.AddGauge("wagate_send_stream_backlog", "Backlog.");
  Counter* ok = sent->Get({"106540352242922", "ok", "0"});
  ok->Increment();

  http::ClientResponse before = Get("/metrics");
  EXPECT_EQ(before.status, 200);
  EXPECT_EQ(before.Header("Content-Type"), kMetricsContentType);
  EXPECT_THAT(before.body,
              ::testing::HasSubstr(
                  "# TYPE wagate_messages_sent_total counter\n"
                  "wagate_messages_sent_total{phone_number_id="
                  "\"106540352242922\",result=\"ok\",graph_code=\"0\"} 1\n"));
  std::map<std::string, double> a = Samples(before.body);

  ok->Add(4);
  sent->Get({"106540352242922", "graph_error", "131026"})->Increment();
  latency->Observe(0.05);
  latency->Observe(0.5);
  backlog->Set(3);

  std::map<std::string, double> b = Samples(Get("/metrics").body);
  const std::string ok_series =
      "wagate_messages_sent_total{phone_number_id=\"106540352242922\","
      "result=\"ok\",graph_code=\"0\"}";
  EXPECT_EQ(b[ok_series] - a[ok_series], 4);
  EXPECT_EQ(a.count("wagate_messages_sent_total{phone_number_id="
                    "\"106540352242922\",result=\"graph_error\",graph_code="
                    "\"131026\"}"),
            0u);
  EXPECT_EQ(b["wagate_messages_sent_total{phone_number_id=\"106540352242922\","
              "result=\"graph_error\",graph_code=\"131026\"}"],
            1);
  EXPECT_EQ(b["wagate_graph_request_duration_seconds_count"] -
                a["wagate_graph_request_duration_seconds_count"],
            2);
  EXPECT_EQ(b["wagate_graph_request_duration_seconds_bucket{le=\"0.1\"}"] -
                a["wagate_graph_request_duration_seconds_bucket{le=\"0.1\"}"],
            1);
  EXPECT_EQ(b["wagate_graph_request_duration_seconds_bucket{le=\"+Inf\"}"], 2);
  EXPECT_DOUBLE_EQ(b["wagate_graph_request_duration_seconds_sum"], 0.55);
  EXPECT_EQ(a["wagate_send_stream_backlog"], 0);
  EXPECT_EQ(b["wagate_send_stream_backlog"], 3);
}

TEST_F(MetricsRouteTest, ProcessMetricsOverHttp) {
  RegisterProcessMetrics(registry_);
  RegisterProcessMetrics(registry_);  // harmless twice
  std::map<std::string, double> s = Samples(Get("/metrics").body);
  ASSERT_EQ(s.count("wagate_process_resident_memory_bytes"), 1u);
  EXPECT_GT(s["wagate_process_resident_memory_bytes"], 0);
  EXPECT_GE(s["wagate_process_virtual_memory_bytes"],
            s["wagate_process_resident_memory_bytes"]);
  EXPECT_GT(s["wagate_process_open_fds"], 0);
  EXPECT_GT(s["wagate_process_max_fds"], 0);
  // Started in the past, and after 2020.
  double now = absl::ToUnixMicros(absl::Now()) / 1e6;
  EXPECT_LE(s["wagate_process_start_time_seconds"], now + 1);
  EXPECT_GT(s["wagate_process_start_time_seconds"], 1577836800);
}

TEST_F(MetricsRouteTest, OtherMethodsAndPathsAreNotMetrics) {
  EXPECT_EQ(Get("/metrics/").status, 404);
  http::ClientResponse ok = Get("/metrics");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "");  // empty registry
}

TEST(ProcessMetricsTest, ReadingsArePlausible) {
  absl::StatusOr<uint64_t> rss = ResidentMemoryBytes();
  ASSERT_TRUE(rss.ok()) << rss.status();
  EXPECT_GT(*rss, 0u);
  // Growing the heap by 64 MiB and touching it shows up in RSS.
  std::vector<char> block(64 << 20, 1);
  absl::StatusOr<uint64_t> grown = ResidentMemoryBytes();
  ASSERT_TRUE(grown.ok());
  EXPECT_GT(*grown, *rss + (32 << 20));
  EXPECT_EQ(block[12345], 1);

  absl::StatusOr<uint64_t> fds = OpenFds();
  ASSERT_TRUE(fds.ok());
  int pipes[2];
  ASSERT_EQ(pipe(pipes), 0);
  absl::StatusOr<uint64_t> more = OpenFds();
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(*more, *fds + 2);
  close(pipes[0]);
  close(pipes[1]);

  absl::StatusOr<double> start = ProcessStartTimeSeconds();
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_LE(*start, absl::ToUnixMicros(absl::Now()) / 1e6 + 1);
}

}  // namespace
}  // namespace wagate::metrics
