// /metrics scraped before and after real traffic through the sandbox: a Send,
// its three status webhooks, a subscriber.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/http/client.h"
#include "service/server/gateway.h"
#include "service/server/sandbox.h"
#include "tests/integration/util/sandbox_gateway.h"
#include "wagate/v1/events.grpc.pb.h"
#include "wagate/v1/messaging.grpc.pb.h"
#include "wagate/v1/templates.grpc.pb.h"

namespace wagate::server {
namespace {

// The value of the series `name{labels}` (labels exactly as rendered), or 0.
double Sample(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  size_t start = at + series.size() + 2;
  size_t end = text.find('\n', start);
  double value = 0;
  EXPECT_TRUE(absl::SimpleAtod(text.substr(start, end - start), &value));
  return value;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testing::SandboxGateway::Start({.name = "metrics_test"});
    ASSERT_TRUE(started.ok()) << started.status();
    gw_ = *std::move(started);
    sandbox_ = &gw_->sandbox();
    gateway_ = &gw_->gateway();
    http_address_ = gw_->http_address();
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    gw_.reset();
    client_.reset();
    work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  }

  std::string Scrape() {
    absl::Notification done;
    std::string body;
    http::ClientRequest request;
    request.url = absl::StrCat("http://", http_address_, "/metrics");
    client_->Send(request, [&](absl::StatusOr<http::ClientResponse> response) {
      EXPECT_TRUE(response.ok()) << response.status();
      if (response.ok()) {
        EXPECT_EQ(response->status, 200);
        EXPECT_THAT(std::string(response->Header("Content-Type")),
                    ::testing::HasSubstr("text/plain"));
        body = response->body;
      }
      done.Notify();
    });
    done.WaitForNotification();
    return body;
  }

  std::unique_ptr<testing::SandboxGateway> gw_;
  Sandbox* sandbox_ = nullptr;
  Gateway* gateway_ = nullptr;
  std::string http_address_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_ = boost::asio::make_work_guard(io_);
  std::unique_ptr<http::Client> client_ = std::make_unique<http::Client>(io_);
  std::thread io_thread_;
};

TEST_F(MetricsTest, CountersMoveWithTraffic) {
  const std::string pnid = sandbox_->phone_number_id();
  const std::string sent_ok =
      absl::StrCat("wagate_messages_sent_total{phone_number_id=\"", pnid,
                   "\",result=\"ok\",graph_code=\"0\"}");
  const std::string statuses_stored =
      "wagate_webhook_events_total{field=\"messages\",result=\"stored\"}";
  const std::string send_rpcs =
      "wagate_grpc_requests_total{service=\"wagate.v1.Messaging\",method="
      "\"Send\",code=\"OK\"}";
  std::string before = Scrape();
  EXPECT_THAT(before, ::testing::HasSubstr(
                          "# TYPE wagate_messages_sent_total counter"));
  EXPECT_GT(Sample(before, "wagate_process_resident_memory_bytes"), 0);

  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", gateway_->grpc_port()),
                          grpc::InsecureChannelCredentials());
  auto events = v1::Events::NewStub(channel);
  grpc::ClientContext subscribe_context;
  subscribe_context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(30));
  v1::SubscribeRequest subscribe;
  subscribe.set_from_oldest(true);
  auto stream = events->Subscribe(&subscribe_context, subscribe);

  auto messaging = v1::Messaging::NewStub(channel);
  grpc::ClientContext send_context;
  v1::SendRequest request;
  request.set_phone_number_id(pnid);
  request.set_to("16505551234");
  request.mutable_text()->set_body("metrics");
  v1::SendResponse response;
  ASSERT_TRUE(messaging->Send(&send_context, request, &response).ok());
  v1::Event event;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stream->Read(&event));

  // Counters move as each component finishes its part (the ingress answers,
  // the store's listeners run) — not necessarily before the subscriber has
  // the events: scrape until they have all moved, then check exact values.
  std::string after = Scrape();
  for (int i = 0; i < 100; ++i) {
    if (Sample(after, statuses_stored) - Sample(before, statuses_stored) >= 3 &&
        Sample(after, "wagate_events_stored_total") -
                Sample(before, "wagate_events_stored_total") >=
            3 &&
        Sample(after, send_rpcs) - Sample(before, send_rpcs) >= 1) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
    after = Scrape();
  }
  EXPECT_EQ(Sample(after, sent_ok) - Sample(before, sent_ok), 1) << after;
  EXPECT_EQ(Sample(after, statuses_stored) - Sample(before, statuses_stored),
            3);
  EXPECT_EQ(Sample(after, send_rpcs) - Sample(before, send_rpcs), 1);
  EXPECT_EQ(Sample(after, "wagate_events_stored_total") -
                Sample(before, "wagate_events_stored_total"),
            3);
  EXPECT_EQ(Sample(after, "wagate_subscribers{group=\"\"}"), 1);
  // No recipient number and no message text in any series.
  EXPECT_THAT(after, ::testing::Not(::testing::HasSubstr("16505551234")));
  EXPECT_THAT(after, ::testing::Not(::testing::HasSubstr("metrics\"")));
  subscribe_context.TryCancel();
}

TEST_F(MetricsTest, ManagementCallsAreTimedPerOperation) {
  const std::string series =
      "wagate_graph_request_duration_seconds_count{operation=\"list_"
      "templates\"}";
  const double before = Sample(Scrape(), series);
  auto templates = v1::Templates::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", gateway_->grpc_port()),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::ListTemplatesRequest request;
  request.set_waba_id(sandbox_->waba_id());
  v1::ListTemplatesResponse response;
  grpc::Status status = templates->ListTemplates(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Sample(Scrape(), series) - before, 1);
}

}  // namespace
}  // namespace wagate::server
