#include "emulator/webhook_transport.h"

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/write.hpp"
#include "emulator/test_util.h"
#include "emulator/webhook_sender.h"
#include "gtest/gtest.h"
#include "service/common/hmac.h"

namespace wagate::emulator {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using testing::IoThreads;

// A raw HTTP/1.1 receiver on 127.0.0.1 with blocking sockets, so a test can
// do what http::Server never does: close a keep-alive connection without
// saying so, or never answer.
class RawServer {
 public:
  enum class Close { kNever, kSilently, kWithHeader };

  explicit RawServer(Close close = Close::kNever)
      : close_(close), acceptor_(io_, tcp::endpoint(tcp::v4(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~RawServer() {
    stopping_ = true;
    {  // wakes the blocking accept
      asio::io_context io;
      tcp::socket s(io);
      boost::system::error_code ec;
      s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    }
    accept_thread_.join();
    {
      absl::MutexLock lock(&mu_);
      for (auto& s : sockets_) {
        boost::system::error_code ec;
        s->shutdown(tcp::socket::shutdown_both, ec);
      }
    }
    for (auto& t : threads_) t.join();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/hook?x=1";
  }
  // The next `n` requests get `status`, or no answer at all if status is 0.
  void AnswerNext(int n, int status) {
    absl::MutexLock lock(&mu_);
    special_left_ = n;
    special_status_ = status;
  }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  std::string last_request() const {
    absl::MutexLock lock(&mu_);
    return last_request_;
  }

 private:
  void AcceptLoop() {
    while (true) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) return;
      ++connections_;
      absl::MutexLock lock(&mu_);
      sockets_.push_back(socket);
      threads_.emplace_back([this, socket] { Serve(*socket); });
    }
  }

  void Serve(tcp::socket& socket) {
    std::string buffer;
    while (true) {
      boost::system::error_code ec;
      size_t end = asio::read_until(socket, asio::dynamic_buffer(buffer),
                                    "\r\n\r\n", ec);
      if (ec) return;
      std::string head = buffer.substr(0, end);
      size_t length = 0;
      std::string lower = absl::AsciiStrToLower(head);
      size_t at = lower.find("content-length:");
      if (at != std::string::npos) {
        size_t eol = lower.find("\r\n", at);
        absl::SimpleAtoi(
            absl::StripAsciiWhitespace(lower.substr(at + 15, eol - at - 15)),
            &length);
      }
      if (buffer.size() < end + length) {
        asio::read(socket, asio::dynamic_buffer(buffer),
                   asio::transfer_exactly(end + length - buffer.size()), ec);
        if (ec) return;
      }
      int status = 200;
      {
        absl::MutexLock lock(&mu_);
        last_request_ = buffer.substr(0, end + length);
        if (special_left_ > 0) {
          --special_left_;
          status = special_status_;
        }
      }
      buffer.erase(0, end + length);
      ++requests_;
      if (status == 0) {  // never answer: wait for the client to give up
        char c;
        socket.read_some(asio::buffer(&c, 1), ec);
        return;
      }
      std::string answer =
          "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 2\r\n";
      if (close_ == Close::kWithHeader) answer += "Connection: close\r\n";
      answer += "\r\nok";
      asio::write(socket, asio::buffer(answer), ec);
      if (ec || close_ != Close::kNever) {
        socket.shutdown(tcp::socket::shutdown_both, ec);
        return;
      }
    }
  }

  const Close close_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0}, requests_{0};
  std::thread accept_thread_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  int special_left_ ABSL_GUARDED_BY(mu_) = 0;
  int special_status_ ABSL_GUARDED_BY(mu_) = 200;
  std::string last_request_ ABSL_GUARDED_BY(mu_);
};

HttpTarget Target(const std::string& url) {
  absl::StatusOr<HttpTarget> t = ParseHttpUrl(url);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : HttpTarget{};
}

absl::StatusOr<int> PostAndWait(WebhookTransport& transport,
                                std::string body = "{}") {
  std::promise<absl::StatusOr<int>> promise;
  transport.Post(std::move(body), {{"X-Test", "1"}},
                 [&](absl::StatusOr<int> r) { promise.set_value(r); });
  auto future = promise.get_future();
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return absl::InternalError("test: no callback in 10 s");
  }
  return future.get();
}

template <typename Pred>
bool WaitFor(Pred pred) {
  const absl::Time end = absl::Now() + absl::Seconds(10);
  while (absl::Now() < end) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return pred();
}

TEST(ParseHttpUrlTest, SplitsHostPortAndTarget) {
  HttpTarget t = Target("http://127.0.0.1:8080/webhook?a=b#frag");
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, "8080");
  EXPECT_EQ(t.target, "/webhook?a=b");
  t = Target("HTTP://localhost");
  EXPECT_EQ(t.host, "localhost");
  EXPECT_EQ(t.port, "80");
  EXPECT_EQ(t.target, "/");
  t = Target("http://[::1]:9/x");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.port, "9");
  t = Target("http://h?q=1");
  EXPECT_EQ(t.target, "/?q=1");
}

TEST(ParseHttpUrlTest, RefusesOtherSchemesAndBadAuthorities) {
  EXPECT_FALSE(ParseHttpUrl("https://127.0.0.1/webhook").ok());
  EXPECT_FALSE(ParseHttpUrl("ftp://h/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://:80/").ok());
  EXPECT_FALSE(ParseHttpUrl("http:///x").ok());
  EXPECT_FALSE(ParseHttpUrl("http://h:99999/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://h:x/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://user@h/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://[::1/").ok());
}

TEST(WebhookTransportTest, KeepAliveReusesOneConnection) {
  IoThreads io;
  RawServer server;
  WebhookTransport transport(io.io, Target(server.url()), {.connections = 8});
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<int> r =
        PostAndWait(transport, "{\"n\":" + std::to_string(i) + "}");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, 200);
  }
  EXPECT_EQ(server.requests(), 50);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(transport.stats().connects, 1u);
  EXPECT_EQ(transport.stats().requests, 50u);
  const std::string last = server.last_request();
  EXPECT_TRUE(absl::StartsWith(last, "POST /hook?x=1 HTTP/1.1\r\n")) << last;
  EXPECT_TRUE(absl::StrContains(last, "\r\nX-Test: 1\r\n")) << last;
  EXPECT_TRUE(absl::StrContains(last, "\r\nContent-Length: 8\r\n")) << last;
  EXPECT_TRUE(absl::StrContains(last, "\r\nHost: 127.0.0.1:")) << last;
  EXPECT_TRUE(absl::EndsWith(last, "\r\n\r\n{\"n\":49}")) << last;
}

TEST(WebhookTransportTest, ConcurrentPostsShareThePoolAndAllArrive) {
  IoThreads io;
  RawServer server;
  WebhookTransport transport(io.io, Target(server.url()), {.connections = 4});
  std::atomic<int> ok{0}, done{0};
  for (int i = 0; i < 400; ++i) {
    transport.Post("{}", {}, [&](absl::StatusOr<int> r) {
      if (r.ok() && *r == 200) ++ok;
      ++done;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == 400; }));
  EXPECT_EQ(ok.load(), 400);
  EXPECT_EQ(server.requests(), 400);
  EXPECT_LE(server.connections(), 4);
}

TEST(WebhookTransportTest, ReconnectsAfterTheReceiverClosesSilently) {
  IoThreads io;
  RawServer server(RawServer::Close::kSilently);
  WebhookTransport transport(io.io, Target(server.url()), {.connections = 1});
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(WaitFor([&] { return server.requests() == i; }));
    absl::StatusOr<int> r = PostAndWait(transport);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    EXPECT_EQ(*r, 200);
    // Let the receiver's close reach the client's socket first.
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(server.requests(), 10);
  EXPECT_EQ(server.connections(), 10);
  EXPECT_EQ(transport.stats().connects, 10u);
  EXPECT_GE(transport.stats().resent, 1u);
  EXPECT_EQ(transport.stats().failures, 0u);
}

TEST(WebhookTransportTest, ConnectionCloseHeaderReconnectsWithoutResending) {
  IoThreads io;
  RawServer server(RawServer::Close::kWithHeader);
  WebhookTransport transport(io.io, Target(server.url()), {.connections = 1});
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<int> r = PostAndWait(transport);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, 200);
  }
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(server.connections(), 5);
  EXPECT_EQ(transport.stats().resent, 0u);
}

TEST(WebhookTransportTest, TimeoutClosesTheConnectionAndTheNextPostReconnects) {
  IoThreads io;
  RawServer server;
  server.AnswerNext(1, 0);  // the first request is never answered
  WebhookTransport transport(
      io.io, Target(server.url()),
      {.connections = 1, .timeout = absl::Milliseconds(200)});
  absl::StatusOr<int> r = PostAndWait(transport);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  r = PostAndWait(transport);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 200);
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(transport.stats().timeouts, 1u);
}

TEST(WebhookTransportTest, NonOkStatusIsAResultOnAKeptConnection) {
  IoThreads io;
  RawServer server;
  server.AnswerNext(2, 503);
  WebhookTransport transport(io.io, Target(server.url()), {.connections = 1});
  EXPECT_EQ(PostAndWait(transport).value_or(-1), 503);
  EXPECT_EQ(PostAndWait(transport).value_or(-1), 503);
  EXPECT_EQ(PostAndWait(transport).value_or(-1), 200);
  EXPECT_EQ(server.connections(), 1);
}

TEST(WebhookTransportTest, RefusedConnectionIsUnavailable) {
  IoThreads io;
  int port;
  {
    asio::io_context tmp;
    tcp::acceptor a(tmp, tcp::endpoint(tcp::v4(), 0));
    port = a.local_endpoint().port();
  }
  WebhookTransport transport(
      io.io, Target("http://127.0.0.1:" + std::to_string(port) + "/"), {});
  absl::StatusOr<int> r = PostAndWait(transport);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(transport.stats().failures, 1u);
}

TEST(WebhookTransportTest, StopCancelsRunningAndQueuedPosts) {
  IoThreads io;
  RawServer server;
  server.AnswerNext(100, 0);
  WebhookTransport transport(io.io, Target(server.url()), {.connections = 1});
  std::atomic<int> cancelled{0};
  for (int i = 0; i < 3; ++i) {
    transport.Post("{}", {}, [&](absl::StatusOr<int> r) {
      if (r.status().code() == absl::StatusCode::kCancelled) ++cancelled;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return server.requests() == 1; }));
  transport.Stop();
  EXPECT_TRUE(WaitFor([&] { return cancelled.load() == 3; }));
  absl::StatusOr<int> r = PostAndWait(transport);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
}

EmulatorOptions SenderOptions(const std::string& url) {
  EmulatorOptions o;
  o.webhook_url = url;
  o.app_secret = "secret";
  o.webhook_concurrency = 4;
  o.webhook_retry_initial = absl::Milliseconds(10);
  o.webhook_timeout = absl::Milliseconds(200);
  return o;
}

Change TestChange() {
  StatusEvent status;
  status.wamid = "wamid.test";
  status.status = "sent";
  status.recipient_id = "16505551234";
  status.time = absl::Now();
  return StatusChange(NumberMetadata{"15550783881", "106540352242922"}, status);
}

TEST(WebhookSenderTransportTest, TimeoutIsRetriedThenAcknowledged) {
  IoThreads io;
  RawServer server;
  server.AnswerNext(1, 0);
  WebhookSender sender(io.io, SenderOptions(server.url()));
  std::atomic<bool> done{false};
  sender.Enqueue(TestChange(), [&] { done = true; });
  ASSERT_TRUE(WaitFor([&] { return done.load(); }));
  WebhookStats s = sender.stats();
  EXPECT_EQ(s.acknowledged, 1u);
  EXPECT_EQ(s.retried, 1u);
  EXPECT_EQ(s.posted, 2u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_EQ(server.requests(), 2);
  const std::string last = server.last_request();
  EXPECT_TRUE(absl::StrContains(last, "\r\nX-Hub-Signature-256: sha256="));
  EXPECT_TRUE(absl::StrContains(last, "\r\nContent-Type: application/json"));
}

TEST(WebhookSenderTransportTest, NonOkIsRetriedUntilAcknowledged) {
  IoThreads io;
  RawServer server;
  server.AnswerNext(3, 500);
  WebhookSender sender(io.io, SenderOptions(server.url()));
  std::atomic<bool> done{false};
  sender.Enqueue(TestChange(), [&] { done = true; });
  ASSERT_TRUE(WaitFor([&] { return done.load(); }));
  WebhookStats s = sender.stats();
  EXPECT_EQ(s.acknowledged, 1u);
  EXPECT_EQ(s.retried, 3u);
  EXPECT_EQ(s.posted, 4u);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_EQ(server.connections(), 1);  // a non-200 keeps the connection
}

// The sender's cached-pad HMAC must equal the one-shot one, for short keys,
// keys longer than SHA-256's block (hashed first) and non-ASCII bodies.
TEST(WebhookSenderTransportTest, SignatureMatchesOneShotHmac) {
  IoThreads io;
  RawServer server;
  for (const std::string& secret :
       {std::string("s"), std::string(64, 'k'), std::string(100, 'x')}) {
    EmulatorOptions o = SenderOptions(server.url());
    o.app_secret = secret;
    WebhookSender sender(io.io, o);
    StatusEvent status;
    status.wamid = "wamid.sig";
    status.status = "sent";
    status.recipient_id = "16505551234";
    status.biz_opaque_callback_data = "caf\xc3\xa9 \xf0\x9f\x98\x80";
    status.time = absl::Now();
    std::atomic<bool> done{false};
    sender.Enqueue(
        StatusChange(NumberMetadata{"15550783881", "106540352242922"}, status),
        [&] { done = true; });
    ASSERT_TRUE(WaitFor([&] { return done.load(); }));
    const std::string request = server.last_request();
    const std::string body = request.substr(request.find("\r\n\r\n") + 4);
    size_t at = request.find("X-Hub-Signature-256: ") + 21;
    const std::string header =
        request.substr(at, request.find("\r\n", at) - at);
    EXPECT_TRUE(absl::StrContains(body, "\\u00e9")) << body;
    EXPECT_EQ(header, common::SignatureHeader(secret, body)) << secret.size();
  }
}

// URLs the transport does not take (https://, or here userinfo) still go
// through libcurl; a plain-HTTP one lets the test see libcurl's request.
TEST(WebhookSenderTransportTest, OtherUrlsFallBackToLibcurl) {
  IoThreads io;
  RawServer server;
  std::string url = server.url();
  url.insert(7, "user:pw@");
  ASSERT_FALSE(ParseHttpUrl(url).ok());
  WebhookSender sender(io.io, SenderOptions(url));
  std::atomic<bool> done{false};
  sender.Enqueue(TestChange(), [&] { done = true; });
  ASSERT_TRUE(WaitFor([&] { return done.load(); }));
  EXPECT_EQ(sender.stats().acknowledged, 1u);
  const std::string last = server.last_request();
  EXPECT_TRUE(absl::StrContains(last, "\r\nAuthorization: Basic ")) << last;
  EXPECT_TRUE(absl::StrContains(last, "\r\nX-Hub-Signature-256: sha256="));
}

TEST(WebhookSenderTransportTest, StatusesOfOneMessageArriveInOrder) {
  IoThreads io;
  RawServer server;
  EmulatorOptions o = SenderOptions(server.url());
  o.webhook_concurrency = 16;
  WebhookSender sender(io.io, o);
  // Each callback enqueues the next status only after the previous one was
  // acknowledged: the order the emulator relies on.
  std::atomic<int> acked{0};
  std::function<void(int)> next = [&](int i) {
    if (i == 20) return;
    sender.Enqueue(TestChange(), [&, i] {
      acked = i + 1;
      next(i + 1);
    });
  };
  next(0);
  ASSERT_TRUE(WaitFor([&] { return acked.load() == 20; }));
  EXPECT_EQ(sender.stats().acknowledged, 20u);
}

}  // namespace
}  // namespace wagate::emulator
