#include "service/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gtest/gtest.h"

namespace wagate::http {
namespace {

// A blocking loopback client speaking raw bytes, so tests can send malformed
// or slow requests. Every read gives up after a few seconds.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool connected() const { return connected_; }

  void Send(absl::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  struct Reply {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string Header(absl::string_view name) const {
      for (const auto& [k, v] : headers) {
        if (absl::EqualsIgnoreCase(k, name)) return v;
      }
      return "";
    }
  };

  // Reads one response with a Content-Length body; nullopt if the
  // connection closed or timed out first.
  std::optional<Reply> Read() {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Reply reply;
    std::vector<absl::string_view> lines =
        absl::StrSplit(absl::string_view(buffer_).substr(0, end), "\r\n");
    std::vector<absl::string_view> status_line =
        absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
    if (status_line.size() < 2 ||
        !absl::SimpleAtoi(status_line[1], &reply.status)) {
      return std::nullopt;
    }
    size_t length = 0;
    for (size_t i = 1; i < lines.size(); ++i) {
      std::pair<std::string, std::string> kv =
          absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
      kv.second = std::string(absl::StripAsciiWhitespace(kv.second));
      if (absl::EqualsIgnoreCase(kv.first, "Content-Length")) {
        EXPECT_TRUE(absl::SimpleAtoi(kv.second, &length));
      }
      reply.headers.push_back(std::move(kv));
    }
    buffer_.erase(0, end + 4);
    if (reply.status == 100) return Read();
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    reply.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return reply;
  }

  // True if the server closes the connection (EOF or reset) before the
  // receive timeout; any bytes received meanwhile go to the buffer.
  bool WaitClosed(int timeout_ms = 3000) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(
              deadline - std::chrono::steady_clock::now())
              .count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
      if (!Fill()) return closed_;
    }
    return false;
  }

  const std::string& buffered() const { return buffer_; }

 private:
  bool Fill() {
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    closed_ = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    return false;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
};

std::string Get(absl::string_view target, absl::string_view extra = "") {
  return absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: t\r\n", extra,
                      "\r\n");
}

std::string Post(absl::string_view target, absl::string_view body,
                 absl::string_view extra = "") {
  return absl::StrCat("POST ", target,
                      " HTTP/1.1\r\nHost: t\r\nContent-Length: ", body.size(),
                      "\r\n", extra, "\r\n", body);
}

ServerOptions ShortOptions() {
  ServerOptions options;
  options.max_body_bytes = 1024;
  options.max_header_bytes = 2048;
  options.header_timeout = absl::Milliseconds(300);
  options.body_timeout = absl::Milliseconds(300);
  options.idle_timeout = absl::Milliseconds(300);
  options.write_timeout = absl::Seconds(2);
  return options;
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : work_(io_.get_executor()) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~ServerTest() override {
    server_.reset();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  // Creates the server, lets `routes` register handlers, and listens.
  template <typename Routes>
  void StartServer(ServerOptions options, Routes routes) {
    server_ = std::make_unique<Server>(io_, options);
    routes(*server_);
    ASSERT_TRUE(server_->Listen("127.0.0.1:0").ok());
    ASSERT_GT(server_->port(), 0);
  }
  void StartEcho(ServerOptions options = ShortOptions()) {
    StartServer(options, [](Server& s) {
      s.Handle("", "/echo", [](Request req, Responder respond) {
        respond(TextResponse(200, req.method + " " + req.body));
      });
    });
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, RoutesExactPrefixNotFoundAndWrongMethod) {
  StartServer(ShortOptions(), [](Server& s) {
    s.Handle("GET", "/a",
             [](Request, Responder r) { r(TextResponse(200, "exact-get")); });
    s.Handle("PUT", "/a",
             [](Request, Responder r) { r(TextResponse(200, "exact-put")); });
    s.HandlePrefix("", "/p/", [](Request req, Responder r) {
      r(TextResponse(200, "short:" + req.path));
    });
    s.HandlePrefix("", "/p/long/", [](Request req, Responder r) {
      r(TextResponse(200, "long:" + req.path));
    });
    s.Handle("POST", "/p/exact",
             [](Request, Responder r) { r(TextResponse(201, "exact-post")); });
  });
  RawClient c(server_->port());
  ASSERT_TRUE(c.connected());
  struct Case {
    std::string request;
    int status;
    std::string body;
  } cases[] = {
      {Get("/a"), 200, "exact-get"},
      {"PUT /a HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 200,
       "exact-put"},
      {Get("/p/x"), 200, "short:/p/x"},
      {Get("/p/long/y"), 200, "long:/p/long/y"},
      {Post("/p/exact", ""), 201, "exact-post"},
      {Get("/p/exact"), 200, "short:/p/exact"},  // exact wrong method: prefix
      {Get("/b"), 404, "not found\n"},
      {Get("/p"), 404, "not found\n"},
  };
  for (const Case& test : cases) {
    c.Send(test.request);
    auto reply = c.Read();
    ASSERT_TRUE(reply.has_value()) << test.request;
    EXPECT_EQ(reply->status, test.status) << test.request;
    EXPECT_EQ(reply->body, test.body) << test.request;
    EXPECT_EQ(reply->Header("Server"), "wagate");
  }
  c.Send(Post("/a", "x"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 405);
  EXPECT_EQ(reply->Header("Allow"), "GET, PUT");
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
}

TEST_F(ServerTest, ResponseHeadersAndContentType) {
  StartServer(ShortOptions(), [](Server& s) {
    s.Handle("GET", "/j", [](Request, Responder r) {
      Response response = JsonResponse(202, "{\"ok\":true}");
      response.headers.emplace_back("X-Trace", "abc");
      r(std::move(response));
    });
  });
  RawClient c(server_->port());
  c.Send(Get("/j"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 202);
  EXPECT_EQ(reply->Header("Content-Type"), "application/json");
  EXPECT_EQ(reply->Header("Content-Length"), "11");
  EXPECT_EQ(reply->Header("X-Trace"), "abc");
  EXPECT_EQ(reply->body, "{\"ok\":true}");
}

TEST_F(ServerTest, AsyncResponderFromAnotherThread) {
  std::vector<std::thread> answerers;
  absl::Mutex mu;
  StartServer(ShortOptions(), [&](Server& s) {
    s.Handle("POST", "/later", [&](Request req, Responder respond) {
      absl::MutexLock lock(&mu);
      answerers.emplace_back([body = req.body, respond] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        respond(TextResponse(200, "later:" + body));
      });
    });
  });
  RawClient c(server_->port());
  c.Send(Post("/later", "hi"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "later:hi");
  absl::MutexLock lock(&mu);
  for (auto& t : answerers) t.join();
}

TEST_F(ServerTest, PipelinedRequestsAnsweredInOrder) {
  std::vector<std::thread> answerers;
  absl::Mutex mu;
  StartServer(ShortOptions(), [&](Server& s) {
    s.Handle("GET", "/slow", [&](Request, Responder respond) {
      absl::MutexLock lock(&mu);
      answerers.emplace_back([respond] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        respond(TextResponse(200, "slow"));
      });
    });
    s.Handle("GET", "/fast",
             [](Request, Responder r) { r(TextResponse(200, "fast")); });
  });
  RawClient c(server_->port());
  c.Send(Get("/slow") + Get("/fast") + Get("/slow"));
  for (const char* want : {"slow", "fast", "slow"}) {
    auto reply = c.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->body, want);
  }
  absl::MutexLock lock(&mu);
  for (auto& t : answerers) t.join();
}

TEST_F(ServerTest, DroppedResponderAnswers500) {
  StartServer(ShortOptions(), [](Server& s) {
    s.Handle("GET", "/drop", [](Request, Responder) {});
    s.Handle("GET", "/throw",
             [](Request, Responder) { throw std::runtime_error("boom"); });
  });
  RawClient c(server_->port());
  for (const char* target : {"/drop", "/throw"}) {
    c.Send(Get(target));
    auto reply = c.Read();
    ASSERT_TRUE(reply.has_value()) << target;
    EXPECT_EQ(reply->status, 500) << target;
  }
}

TEST_F(ServerTest, ResponderCalledTwiceSendsOnce) {
  StartServer(ShortOptions(), [](Server& s) {
    s.Handle("GET", "/twice", [](Request, Responder r) {
      r(TextResponse(200, "first"));
      r(TextResponse(200, "second"));
    });
  });
  RawClient c(server_->port());
  c.Send(Get("/twice") + Get("/twice"));
  for (int i = 0; i < 2; ++i) {
    auto reply = c.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->body, "first");
  }
}

TEST_F(ServerTest, DecodesPathAndQuery) {
  StartServer(ShortOptions(), [](Server& s) {
    s.HandlePrefix("GET", "/q/", [](Request req, Responder r) {
      std::string out = req.path + "|" + req.target;
      for (const auto& [k, v] : req.query) out += "|" + k + "=" + v;
      out += "|mode=" + req.QueryParam("hub.mode").value_or("none");
      out += "|remote=" +
             std::string(absl::StartsWith(req.remote_address, "127.0.0.1:")
                             ? "ok"
                             : req.remote_address);
      out += "|ua=" + std::string(req.Header("user-agent"));
      r(TextResponse(200, out));
    });
  });
  RawClient c(server_->port());
  c.Send(Get("/q/a%20b%2Fc?hub.mode=sub+scribe&x=%26%3D&empty=&flag&&y=1",
             "User-Agent: raw\r\n"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body,
            "/q/a b/c|/q/a%20b%2Fc?hub.mode=sub+scribe&x=%26%3D&empty=&flag&&"
            "y=1|hub.mode=sub scribe|x=&=|empty=|flag=|y=1|mode=sub scribe|"
            "remote=ok|ua=raw");
}

TEST_F(ServerTest, KeepAliveReusesOneConnection) {
  StartEcho();
  RawClient c(server_->port());
  c.Send(Post("/echo", "one"));
  auto first = c.Read();
  c.Send(Post("/echo", "two"));
  auto second = c.Read();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(first->body, "POST one");
  EXPECT_EQ(second->body, "POST two");
  ServerStats stats = server_->stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.requests, 2u);
}

TEST_F(ServerTest, ConnectionCloseHonored) {
  StartEcho();
  RawClient c(server_->port());
  c.Send(Get("/echo", "Connection: close\r\n"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->Header("Connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(ServerTest, Http10ClosesByDefault) {
  StartEcho();
  RawClient c(server_->port());
  c.Send("GET /echo HTTP/1.0\r\n\r\n");
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "GET ");
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(ServerTest, BodyLimit) {
  StartEcho();
  RawClient ok(server_->port());
  ok.Send(Post("/echo", std::string(1024, 'a')));
  auto reply = ok.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body.size(), 5u + 1024u);

  RawClient big(server_->port());
  big.Send(Post("/echo", std::string(1025, 'a')));
  reply = big.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 413);
  EXPECT_TRUE(big.WaitClosed());
}

TEST_F(ServerTest, HugeDeclaredBodyRejectedBeforeItIsSent) {
  StartEcho();
  RawClient c(server_->port());
  // Only the headers are sent: the 413 must not wait for the body.
  c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n");
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 413);
}

TEST_F(ServerTest, ChunkedBodyOverLimit) {
  StartEcho();
  RawClient c(server_->port());
  std::string chunk(600, 'b');
  c.Send(absl::StrCat(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
      "258\r\n", chunk, "\r\n258\r\n", chunk, "\r\n0\r\n\r\n"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 413);
}

TEST_F(ServerTest, ExpectContinue) {
  StartEcho();
  RawClient c(server_->port());
  c.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
      "Expect: 100-continue\r\n\r\n");
  // The client waits for 100 Continue before sending the body.
  ASSERT_TRUE(c.WaitClosed(200) == false);
  ASSERT_TRUE(absl::StartsWith(c.buffered(), "HTTP/1.1 100 Continue\r\n\r\n"))
      << c.buffered();
  c.Send("abc");
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "POST abc");
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  StartEcho();
  RawClient c(server_->port());
  c.Send(Get("/echo", absl::StrCat("X-Big: ", std::string(4096, 'h'), "\r\n")));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 431);
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(ServerTest, MalformedRequestGets400AndClose) {
  StartEcho();
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET /echo HTTP/9.9\r\n\r\n",
                          "GET /echo HTTP/1.1\r\nBad Header\r\n\r\n",
                          "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n"}) {
    RawClient c(server_->port());
    c.Send(bad);
    auto reply = c.Read();
    ASSERT_TRUE(reply.has_value()) << bad;
    EXPECT_EQ(reply->status, 400) << bad;
    EXPECT_TRUE(c.WaitClosed()) << bad;
  }
}

TEST_F(ServerTest, SlowHeadersDisconnected) {
  StartEcho();
  RawClient c(server_->port());
  c.Send("GET /echo HTTP/1.1\r\nHost: t\r\n");
  // Trickling bytes must not extend the header deadline.
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c.Send("X: y\r\n");
  }
  EXPECT_TRUE(c.WaitClosed(2000));
  EXPECT_EQ(c.buffered(), "");  // no response, just closed
}

TEST_F(ServerTest, SlowBodyDisconnected) {
  StartEcho();
  RawClient c(server_->port());
  c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_TRUE(c.WaitClosed(2000));
  EXPECT_EQ(c.buffered(), "");
}

TEST_F(ServerTest, IdleKeepAliveClosed) {
  StartEcho();
  RawClient c(server_->port());
  c.Send(Get("/echo"));
  ASSERT_TRUE(c.Read().has_value());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitClosed(3000));
  // Closed by the idle timeout (300 ms), not immediately after the response.
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(200));
}

TEST_F(ServerTest, IdleTimeoutIsNotHeaderTimeout) {
  ServerOptions options = ShortOptions();
  options.idle_timeout = absl::Seconds(5);
  StartEcho(options);
  RawClient c(server_->port());
  c.Send(Get("/echo"));
  ASSERT_TRUE(c.Read().has_value());
  // Longer than header_timeout (300 ms) but within idle_timeout.
  EXPECT_FALSE(c.WaitClosed(600));
  c.Send(Get("/echo"));
  EXPECT_TRUE(c.Read().has_value());
}

TEST_F(ServerTest, WriteTimeoutClosesStalledReader) {
  ServerOptions options = ShortOptions();
  options.write_timeout = absl::Milliseconds(300);
  absl::Notification called;
  StartServer(options, [&](Server& s) {
    s.Handle("GET", "/big", [&](Request, Responder r) {
      called.Notify();
      // Far more than loopback socket buffers hold, so the write stalls.
      r(TextResponse(200, std::string(64 << 20, 'x')));
    });
  });
  RawClient c(server_->port());
  c.Send(Get("/big"));  // and never read
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(5)));
  // Still writing well after the response started, then cut off.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server_->stats().connections_open, 1u);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (server_->stats().connections_open != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server_->stats().connections_open, 0u);
}

TEST_F(ServerTest, MaxConnections) {
  ServerOptions options = ShortOptions();
  options.max_connections = 1;
  options.idle_timeout = absl::Seconds(5);
  StartEcho(options);
  RawClient first(server_->port());
  first.Send(Get("/echo"));
  ASSERT_TRUE(first.Read().has_value());
  RawClient second(server_->port());
  second.Send(Get("/echo"));
  EXPECT_TRUE(second.WaitClosed());
  EXPECT_EQ(second.buffered(), "");
  ServerStats stats = server_->stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.connections_rejected, 1u);
  EXPECT_EQ(stats.connections_open, 1u);
  // The first connection still works.
  first.Send(Get("/echo"));
  EXPECT_TRUE(first.Read().has_value());
}

TEST_F(ServerTest, DropConnectionClosesWithoutAnswer) {
  StartServer(ShortOptions(), [](Server& s) {
    s.Handle("GET", "/drop", [](Request, Responder r) {
      Response response;
      response.drop_connection = true;
      r(std::move(response));
    });
  });
  RawClient c(server_->port());
  c.Send(Get("/drop"));
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(c.buffered(), "");
}

TEST_F(ServerTest, StopAnswersInFlightAndRefusesNewConnections) {
  absl::Notification called;
  Responder pending;
  absl::Mutex mu;
  StartServer(ShortOptions(), [&](Server& s) {
    s.Handle("GET", "/hold", [&](Request, Responder r) {
      absl::MutexLock lock(&mu);
      pending = std::move(r);
      called.Notify();
    });
  });
  int port = server_->port();
  RawClient idle(port);
  RawClient busy(port);
  busy.Send(Get("/hold"));
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(5)));

  server_->Stop();
  EXPECT_TRUE(idle.WaitClosed());
  RawClient refused(port);
  EXPECT_FALSE(refused.connected());

  {
    absl::MutexLock lock(&mu);
    pending(TextResponse(200, "finished"));
    pending = nullptr;
  }
  auto reply = busy.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "finished");
  EXPECT_EQ(reply->Header("Connection"), "close");
  EXPECT_TRUE(busy.WaitClosed());
  server_->Stop();  // twice is fine
}

TEST_F(ServerTest, ResponderAfterServerDestroyedDoesNotCrash) {
  absl::Notification called;
  Responder pending;
  absl::Mutex mu;
  StartServer(ShortOptions(), [&](Server& s) {
    s.Handle("GET", "/hold", [&](Request, Responder r) {
      absl::MutexLock lock(&mu);
      pending = std::move(r);
      called.Notify();
    });
  });
  RawClient c(server_->port());
  c.Send(Get("/hold"));
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(5)));
  server_.reset();
  absl::MutexLock lock(&mu);
  pending(TextResponse(200, "late"));
  pending = nullptr;
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "late");
}

TEST_F(ServerTest, ListenErrors) {
  StartEcho();
  Server other(io_, ShortOptions());
  absl::Status status =
      other.Listen(absl::StrCat("127.0.0.1:", server_->port()));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StrContains(status.message(),
                                absl::StrCat("127.0.0.1:", server_->port())))
      << status;
  EXPECT_EQ(other.Listen("nonsense").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(other.Listen("127.0.0.1:70000").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(other.Listen("no.such.host:1").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(server_->Listen("127.0.0.1:0").code() ==
              absl::StatusCode::kFailedPrecondition);
}

TEST_F(ServerTest, ListenLocalhostAndIpv6) {
  Server local(io_, ShortOptions());
  local.Handle("GET", "/",
               [](Request, Responder r) { r(TextResponse(200, "ok")); });
  ASSERT_TRUE(local.Listen("localhost:0").ok());
  RawClient c(local.port());
  c.Send(Get("/"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "ok");

  Server v6(io_, ShortOptions());
  absl::Status status = v6.Listen("[::1]:0");
  if (status.ok()) {
    EXPECT_GT(v6.port(), 0);
  } else {
    // Hosts without IPv6 loopback: the error must still be a clean status.
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
}

}  // namespace
}  // namespace wagate::http
