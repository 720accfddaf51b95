// Every limit of the config's `limits` reaches the part it limits: each test
// starts the gateway with one limit set low and trips it over real sockets
// (issue 8, § Limits).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/auth/api_keys.h"
#include "service/common/hmac.h"
#include "service/metrics/gateway_metrics.h"
#include "service/server/gateway.h"
#include "service/server/sandbox.h"
#include "tests/integration/util/sandbox_gateway.h"
#include "wagate/v1/events.grpc.pb.h"
#include "wagate/v1/messaging.grpc.pb.h"

namespace wagate::server {
namespace {

using ::testing::HasSubstr;

// A blocking loopback TCP connection for raw HTTP.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(data.size());
  }
  // Reads what arrives within `timeout`; sets *closed when the peer closed.
  std::string Read(absl::Duration timeout, bool* closed) {
    std::string out;
    *closed = false;
    const absl::Time until = absl::Now() + timeout;
    while (absl::Now() < until) {
      pollfd p{fd_, POLLIN, 0};
      int ms = static_cast<int>(absl::ToInt64Milliseconds(until - absl::Now()));
      if (::poll(&p, 1, std::max(ms, 1)) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        *closed = true;
        break;
      }
      out.append(buf, n);
      if (out.find("\r\n\r\n") != std::string::npos) {
        // A whole head; good enough for a status line check unless the
        // caller waits for the close.
        pollfd more{fd_, POLLIN, 0};
        if (::poll(&more, 1, 50) <= 0) break;
      }
    }
    return out;
  }
  // True if the peer closes the connection within `timeout`.
  bool ClosedWithin(absl::Duration timeout) {
    bool closed = false;
    Read(timeout, &closed);
    return closed;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class LimitsTest : public ::testing::Test {
 protected:
  void Start(const std::string& limits_json) {
    config::v1::Config config;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                    absl::StrCat(R"({"limits":)", limits_json, "}"), &config)
                    .ok())
        << limits_json;
    auto started =
        testing::SandboxGateway::Start({.config = std::move(config),
                                        .name = "limits_test",
                                        .shutdown_grace = absl::Seconds(1)});
    ASSERT_TRUE(started.ok()) << started.status();
    gw_ = *std::move(started);
    sandbox_ = &gw_->sandbox();
    http_port_ = gw_->http_port();
    channel_ = gw_->channel();
  }

  // A signed POST /webhook on a raw connection; returns the status line.
  std::string PostWebhook(const std::string& body,
                          const std::string& extra_headers = "") {
    RawConnection c(http_port_);
    EXPECT_TRUE(c.connected());
    c.Send(
        absl::StrCat("POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: ",
                     body.size(), "\r\nX-Hub-Signature-256: ",
                     common::SignatureHeader(Sandbox::kAppSecret, body), "\r\n",
                     extra_headers, "\r\n", body));
    bool closed = false;
    std::string answer = c.Read(absl::Seconds(5), &closed);
    return answer.substr(0, answer.find("\r\n"));
  }

  std::string Scrape() {
    RawConnection c(http_port_);
    c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool closed = false;
    std::string all;
    const absl::Time until = absl::Now() + absl::Seconds(5);
    while (!closed && absl::Now() < until) {
      all += c.Read(absl::Seconds(1), &closed);
    }
    return all;
  }

  std::unique_ptr<testing::SandboxGateway> gw_;
  Sandbox* sandbox_ = nullptr;
  int http_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(LimitsTest, GrpcMaxMessageBytes) {
  Start(R"({"grpc_max_message_bytes": 65536})");
  auto stub = v1::Messaging::NewStub(channel_);
  v1::SendRequest request;
  request.set_phone_number_id(sandbox_->phone_number_id());
  request.set_to("16505551234");
  request.mutable_text()->set_body(std::string(100 * 1024, 'x'));
  grpc::ClientContext context;
  v1::SendResponse response;
  grpc::Status s = stub->Send(&context, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  // Below the limit the request reaches validation (and fails there: text
  // is at most 4096 characters).
  request.mutable_text()->set_body(std::string(5000, 'x'));
  grpc::ClientContext context2;
  s = stub->Send(&context2, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(LimitsTest, GrpcMaxConcurrentStreams) {
  Start(R"({"grpc_max_concurrent_streams": 2})");
  auto events = v1::Events::NewStub(channel_);
  // Two open Subscribe streams take both slots of the connection.
  v1::SubscribeRequest live;
  grpc::ClientContext s1, s2;
  auto r1 = events->Subscribe(&s1, live);
  auto r2 = events->Subscribe(&s2, live);
  absl::SleepFor(absl::Milliseconds(300));  // both streams open at the server
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse answer;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(700));
    grpc::Status s = health->Check(&context, check, &answer);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << "a third stream was not held back";
  }
  s1.TryCancel();
  r1->Finish();
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::Status s = health->Check(&context, check, &answer);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  s2.TryCancel();
  r2->Finish();
}

TEST_F(LimitsTest, SendStreamBacklog) {
  Start(R"({"send_stream_backlog": 4})");
  auto stub = v1::Messaging::NewStub(channel_);
  grpc::ClientContext context;
  auto stream = stub->SendStream(&context);
  // 60 sends to one recipient: the pair limit lets 45 through at once and
  // holds the rest for 6 s each, so the backlog fills and stays full.
  std::thread writer([&] {
    for (int i = 0; i < 60; ++i) {
      v1::SendRequest request;
      request.set_phone_number_id(sandbox_->phone_number_id());
      request.set_to("16505551234");
      request.mutable_text()->set_body(absl::StrCat("m", i));
      request.set_idempotency_key(absl::StrCat("k", i));
      if (!stream->Write(request)) break;
    }
  });
  double max_backlog = 0;
  int results = 0;
  const absl::Time until = absl::Now() + absl::Seconds(3);
  while (absl::Now() < until) {
    const std::string metrics = Scrape();
    for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
      if (absl::StartsWith(line, "wagate_send_stream_backlog ")) {
        double v = 0;
        if (absl::SimpleAtod(line.substr(line.find(' ') + 1), &v)) {
          max_backlog = std::max(max_backlog, v);
        }
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GT(max_backlog, 0);
  EXPECT_LE(max_backlog, 4);
  context.TryCancel();
  writer.join();
  v1::SendResult result;
  while (stream->Read(&result)) ++results;
  stream->Finish();
  EXPECT_GE(results, 0);
}

TEST_F(LimitsTest, HttpMaxBodyBytes) {
  Start(R"({"http_max_body_bytes": 1024})");
  const std::string small =
      R"({"object":"whatsapp_business_account","entry":[]})";
  EXPECT_THAT(PostWebhook(small), HasSubstr(" 200"));
  std::string big = absl::StrCat(
      R"({"object":"whatsapp_business_account","entry":[],"pad":")",
      std::string(2000, 'x'), R"("})");
  EXPECT_THAT(PostWebhook(big), HasSubstr(" 413"));
}

TEST_F(LimitsTest, HttpMaxHeaderBytes) {
  Start(R"({"http_max_header_bytes": 2048})");
  const std::string body =
      R"({"object":"whatsapp_business_account","entry":[]})";
  EXPECT_THAT(PostWebhook(body, "X-Small: ok\r\n"), HasSubstr(" 200"));
  EXPECT_THAT(PostWebhook(body, absl::StrCat("X-Big: ", std::string(4000, 'y'),
                                             "\r\n")),
              HasSubstr(" 431"));
}

TEST_F(LimitsTest, HttpMaxConnections) {
  Start(R"({"http_max_connections": 3})");
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<RawConnection>(http_port_));
    ASSERT_TRUE(open.back()->connected());
  }
  absl::SleepFor(absl::Milliseconds(200));  // all three accepted
  RawConnection extra(http_port_);
  ASSERT_TRUE(extra.connected());  // the kernel accepts; the gateway closes
  EXPECT_TRUE(extra.ClosedWithin(absl::Seconds(3)));
  // The three still work.
  ASSERT_TRUE(open[0]->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool closed = false;
  EXPECT_THAT(open[0]->Read(absl::Seconds(3), &closed), HasSubstr(" 200"));
  // One closes: a new one is served.
  open.pop_back();
  absl::SleepFor(absl::Milliseconds(200));
  RawConnection again(http_port_);
  ASSERT_TRUE(again.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THAT(again.Read(absl::Seconds(3), &closed), HasSubstr(" 200"));
}

TEST_F(LimitsTest, HttpMaxConnectionsPerIp) {
  Start(R"({"http_max_connections_per_ip": 2})");
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(std::make_unique<RawConnection>(http_port_));
    ASSERT_TRUE(open.back()->connected());
  }
  absl::SleepFor(absl::Milliseconds(200));  // both accepted
  // A third from the same address (127.0.0.1) is closed at accept.
  RawConnection extra(http_port_);
  ASSERT_TRUE(extra.connected());
  EXPECT_TRUE(extra.ClosedWithin(absl::Seconds(3)));
  ASSERT_TRUE(open[0]->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool closed = false;
  EXPECT_THAT(open[0]->Read(absl::Seconds(3), &closed), HasSubstr(" 200"));
}

// Not a limit of its own, but the listener's: an unsigned webhook is
// refused from its head, before a byte of its (declared, huge) body is sent.
TEST_F(LimitsTest, UnsignedWebhookIsRefusedBeforeItsBody) {
  Start("{}");
  metrics::Counter* unauthorized =
      metrics::GatewayMetrics::Global().webhook_requests->Get({"401"});
  const uint64_t before = unauthorized->Value();
  RawConnection c(http_port_);
  ASSERT_TRUE(c.Send(
      "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 1000000\r\n\r\n"));
  bool closed = false;
  std::string answer = c.Read(absl::Seconds(3), &closed);
  EXPECT_THAT(answer.substr(0, answer.find("\r\n")), HasSubstr(" 401"));
  EXPECT_TRUE(closed || c.ClosedWithin(absl::Seconds(3)));
  // Counted as the ingress counts every answer.
  EXPECT_EQ(unauthorized->Value(), before + 1);
}

TEST_F(LimitsTest, HttpHeaderTimeout) {
  Start(R"({"http_header_timeout": "1s"})");
  RawConnection silent(http_port_);
  ASSERT_TRUE(silent.connected());
  const absl::Time start = absl::Now();
  // Half a request head, then nothing.
  ASSERT_TRUE(silent.Send("POST /webhook HTTP/1.1\r\nHost: x\r\n"));
  bool closed = false;
  silent.Read(absl::Seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(900));
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
}

TEST_F(LimitsTest, HttpIdleTimeout) {
  Start(R"({"http_idle_timeout": "1s"})");
  RawConnection keep_alive(http_port_);
  ASSERT_TRUE(keep_alive.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool closed = false;
  EXPECT_THAT(keep_alive.Read(absl::Seconds(3), &closed), HasSubstr(" 200"));
  ASSERT_FALSE(closed);
  const absl::Time start = absl::Now();
  EXPECT_TRUE(keep_alive.ClosedWithin(absl::Seconds(5)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(800));
}

TEST_F(LimitsTest, SubscribersPerKey) {
  // Two clients; each may hold two Subscribe streams.
  Start(absl::StrCat(R"({"subscribers_per_key": 2}, "clients": [)",
                     R"({"name": "a", "api_key_sha256": ")",
                     auth::Sha256Hex("key-a-0123456789"), R"("},)",
                     R"({"name": "b", "api_key_sha256": ")",
                     auth::Sha256Hex("key-b-0123456789"), R"("}])"));
  auto events = v1::Events::NewStub(channel_);
  auto open = [&](const std::string& key, grpc::ClientContext* context) {
    context->AddMetadata("authorization", "Bearer " + key);
    return events->Subscribe(context, v1::SubscribeRequest());
  };
  grpc::ClientContext a1, a2, a3, b1;
  auto s1 = open("key-a-0123456789", &a1);
  auto s2 = open("key-a-0123456789", &a2);
  absl::SleepFor(absl::Milliseconds(300));  // both admitted
  auto s3 = open("key-a-0123456789", &a3);
  v1::Event event;
  EXPECT_FALSE(s3->Read(&event));
  grpc::Status refused = s3->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("subscribers_per_key"));
  // Another client has its own budget.
  b1.set_deadline(std::chrono::system_clock::now() +
                  std::chrono::milliseconds(500));
  auto sb = open("key-b-0123456789", &b1);
  EXPECT_FALSE(sb->Read(&event));
  EXPECT_EQ(sb->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "b's stream was admitted and stayed open";
  // A stream ends: its slot is free again.
  a1.TryCancel();
  s1->Finish();
  absl::SleepFor(absl::Milliseconds(300));
  grpc::ClientContext a4;
  a4.set_deadline(std::chrono::system_clock::now() +
                  std::chrono::milliseconds(500));
  auto s4 = open("key-a-0123456789", &a4);
  EXPECT_FALSE(s4->Read(&event));
  EXPECT_EQ(s4->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  a2.TryCancel();
  s2->Finish();
}

}  // namespace
}  // namespace wagate::server
