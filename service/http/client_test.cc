#include "service/http/client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/streambuf.hpp"
#include "boost/asio/write.hpp"
#include "gtest/gtest.h"

// Designated initializers that leave fields defaulted are the point.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace wagate::http {
namespace {

using boost::asio::ip::tcp;

struct SeenRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// A raw HTTP/1.1 responder: one blocking thread per connection, so the test
// controls every byte. Counts connections and records requests.
class TestServer {
 public:
  enum class Mode { kRespond, kCloseAfterRequest, kNeverAnswer };

  explicit TestServer(Mode mode = Mode::kRespond)
      : mode_(mode), acceptor_(io_, tcp::endpoint(tcp::v4(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestServer() {
    stopping_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes accept()
    accept_thread_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
  }

  std::string Url(absl::string_view target) const {
    return absl::StrCat("http://127.0.0.1:", port_, target);
  }
  int connections() const { return connections_.load(); }
  std::vector<SeenRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t request_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) return;
      connections_++;
      std::lock_guard<std::mutex> lock(mu_);
      sockets_.push_back(socket);
      threads_.emplace_back([this, socket] { Serve(*socket); });
    }
  }

  void Serve(tcp::socket& socket) {
    boost::asio::streambuf buffer;
    boost::system::error_code ec;
    while (true) {
      size_t header_bytes =
          boost::asio::read_until(socket, buffer, "\r\n\r\n", ec);
      if (ec) return;
      std::string head(static_cast<const char*>(buffer.data().data()),
                       header_bytes);
      buffer.consume(header_bytes);
      SeenRequest request;
      std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
      std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
      request.method = first[0];
      request.target = first.size() > 1 ? first[1] : "";
      for (size_t i = 1; i < lines.size(); ++i) {
        size_t colon = lines[i].find(':');
        if (colon == std::string::npos) continue;
        request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
            std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      }
      size_t length = 0;
      (void)absl::SimpleAtoi(request.headers["content-length"], &length);
      if (buffer.size() < length) {
        boost::asio::read(socket, buffer,
                          boost::asio::transfer_exactly(length - buffer.size()),
                          ec);
        if (ec) return;
      }
      request.body.assign(static_cast<const char*>(buffer.data().data()),
                          length);
      buffer.consume(length);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      if (mode_ == Mode::kCloseAfterRequest) {
        // FIN without an answer; the descriptor stays open until the server
        // is destroyed so ~TestServer never touches a reused number.
        socket.shutdown(tcp::socket::shutdown_both, ec);
        return;
      }
      if (mode_ == Mode::kNeverAnswer) continue;  // read on, never write
      boost::asio::write(socket, boost::asio::buffer(Answer(request)), ec);
      if (ec) return;
    }
  }

  // /status/NNN answers NNN; /chunked a chunked body; /size the body's
  // length; anything else 200 echoing the request.
  static std::string Answer(const SeenRequest& r) {
    if (r.target == "/chunked") {
      return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    }
    if (r.target == "/size") {
      std::string body = std::to_string(r.body.size());
      return absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: ", body.size(),
                          "\r\n\r\n", body);
    }
    int status = 200;
    if (absl::StartsWith(r.target, "/status/")) {
      (void)absl::SimpleAtoi(r.target.substr(8), &status);
    }
    std::string body =
        absl::StrCat("echo ", r.method, " ", r.target, " ", r.body);
    return absl::StrCat("HTTP/1.1 ", status, " Whatever\r\n",
                        "Content-Type: text/plain\r\n", "X-Test: yes\r\n",
                        "Content-Length: ", body.size(), "\r\n\r\n", body);
  }

  const Mode mode_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
  std::vector<SeenRequest> requests_;
};

// The client's io_context, run by `threads` threads for the test's life.
class IoThreads {
 public:
  explicit IoThreads(int threads = 1) : work_(io.get_executor()) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { io.run(); });
  }
  ~IoThreads() {
    work_.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  std::vector<std::thread> threads_;
};

std::string HeaderOf(const ClientResponse& r, absl::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (absl::EqualsIgnoreCase(n, name)) return v;
  }
  return "";
}

absl::StatusOr<ClientResponse> SendAndWait(Client& client,
                                           ClientRequest request) {
  std::promise<absl::StatusOr<ClientResponse>> promise;
  auto future = promise.get_future();
  client.Send(std::move(request), [&promise](absl::StatusOr<ClientResponse> r) {
    promise.set_value(std::move(r));
  });
  if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    return absl::InternalError("test: no callback within 20 s");
  }
  return future.get();
}

// Waits up to 10 s for `predicate`.
template <typename Predicate>
bool Eventually(Predicate predicate) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

int UnusedPort() {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(tcp::v4(), 0));
  return acceptor.local_endpoint().port();  // closed on return: refuses
}

// A loopback listener that never accepts, its queue filled: Linux drops
// further SYNs, so a connect to it stays in progress (SYN_SENT) until the
// client gives up. Nothing leaves the machine.
class StuckListener {
 public:
  StuckListener() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 0) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address),
                      &length) != 0) {
      ADD_FAILURE() << "listener: " << errno;
    }
    port_ = ntohs(address.sin_port);
    for (int i = 0; i < 4; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      (void)::connect(fd, reinterpret_cast<sockaddr*>(&address), length);
      fillers_.push_back(fd);
    }
  }
  ~StuckListener() {
    for (int fd : fillers_) ::close(fd);
    ::close(listener_);
  }
  std::string Url(absl::string_view target) const {
    return absl::StrCat("http://127.0.0.1:", port_, target);
  }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

int OpenDescriptors() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (::readdir(dir) != nullptr) ++count;
  ::closedir(dir);
  return count;
}

TEST(ClientTest, GetRoundTrip) {
  TestServer server;
  IoThreads io;
  Client client(io.io);
  auto r = SendAndWait(client, {.method = "GET",
                                .url = server.Url("/v17.0/123?fields=a%2Cb"),
                                .headers = {{"X-Custom", "abc"}}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "echo GET /v17.0/123?fields=a%2Cb ");
  EXPECT_EQ(HeaderOf(*r, "x-test"), "yes");
  EXPECT_EQ(HeaderOf(*r, "Content-Type"), "text/plain");
  EXPECT_GT(r->elapsed, absl::ZeroDuration());
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/v17.0/123?fields=a%2Cb");
  EXPECT_EQ(seen[0].headers["x-custom"], "abc");
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(ClientTest, PostWithBodyAndHeaders) {
  TestServer server;
  IoThreads io;
  Client client(io.io);
  std::string json = R"({"messaging_product":"whatsapp","to":"15551234567"})";
  auto r =
      SendAndWait(client, {.method = "POST",
                           .url = server.Url("/v17.0/123/messages"),
                           .headers = {{"Content-Type", "application/json"},
                                       {"Authorization", "Bearer tok"},
                                       {"X-Empty", ""}},
                           .body = json});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "echo POST /v17.0/123/messages " + json);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, json);
  EXPECT_EQ(seen[0].headers["content-type"], "application/json");
  EXPECT_EQ(seen[0].headers["authorization"], "Bearer tok");
  EXPECT_EQ(seen[0].headers.count("x-empty"), 1u);
  EXPECT_EQ(seen[0].headers.count("expect"), 0u);
}

TEST(ClientTest, OtherMethodsAndEmptyPost) {
  TestServer server;
  IoThreads io;
  Client client(io.io);
  // The same pooled easy handle serves all of these in turn.
  auto del =
      SendAndWait(client, {.method = "DELETE", .url = server.Url("/m/1")});
  ASSERT_TRUE(del.ok()) << del.status();
  auto put = SendAndWait(
      client, {.method = "PUT", .url = server.Url("/m/2"), .body = "xyz"});
  ASSERT_TRUE(put.ok()) << put.status();
  auto post =
      SendAndWait(client, {.method = "POST", .url = server.Url("/m/3")});
  ASSERT_TRUE(post.ok()) << post.status();
  auto get = SendAndWait(client, {.method = "GET", .url = server.Url("/m/4")});
  ASSERT_TRUE(get.ok()) << get.status();
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].method, "DELETE");
  EXPECT_EQ(seen[1].method, "PUT");
  EXPECT_EQ(seen[1].body, "xyz");
  EXPECT_EQ(seen[2].method, "POST");
  EXPECT_EQ(seen[2].headers["content-length"], "0");
  EXPECT_EQ(seen[3].method, "GET");
  EXPECT_EQ(seen[3].body, "");
}

TEST(ClientTest, ChunkedResponseAndLargeRequestBody) {
  TestServer server;
  IoThreads io;
  Client client(io.io);
  auto chunked = SendAndWait(client, {.url = server.Url("/chunked")});
  ASSERT_TRUE(chunked.ok()) << chunked.status();
  EXPECT_EQ(chunked->body, "hello world");
  // Larger than socket buffers: curl has to wait for writability.
  std::string big(8 << 20, 'x');
  auto sized = SendAndWait(
      client, {.method = "POST", .url = server.Url("/size"), .body = big});
  ASSERT_TRUE(sized.ok()) << sized.status();
  EXPECT_EQ(sized->body, std::to_string(big.size()));
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].body, big);
  EXPECT_EQ(seen[1].headers.count("expect"), 0u);
}

TEST(ClientTest, ErrorStatusesAreResponses) {
  TestServer server;
  IoThreads io;
  Client client(io.io);
  for (int status : {400, 404, 429, 500, 503}) {
    auto r = SendAndWait(client,
                         {.url = server.Url(absl::StrCat("/status/", status))});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(HeaderOf(*r, "X-Test"), "yes");
  }
}

TEST(ClientTest, KeepAliveReusesOneConnection) {
  TestServer server;
  IoThreads io;
  Client client(io.io);
  for (int i = 0; i < 100; ++i) {
    auto r = SendAndWait(client, {.url = server.Url(absl::StrCat("/seq/", i))});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->body, absl::StrCat("echo GET /seq/", i, " "));
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.request_count(), 100u);
}

TEST(ClientTest, ManyConcurrentRequestsOnBoundedConnections) {
  TestServer server;
  IoThreads io(2);
  ClientOptions options;
  options.max_connections_per_host = 8;
  Client client(io.io, options);
  constexpr int kRequests = 200;
  std::atomic<int> ok{0}, failed{0}, done{0};
  // Sent from several threads: Send is thread-safe.
  std::vector<std::thread> senders;
  for (int s = 0; s < 4; ++s) {
    senders.emplace_back([&, s] {
      for (int i = 0; i < kRequests / 4; ++i) {
        std::string target = absl::StrCat("/c/", s, "/", i);
        client.Send({.url = server.Url(target)},
                    [&, target](absl::StatusOr<ClientResponse> r) {
                      if (r.ok() && r->body == "echo GET " + target + " ") {
                        ok++;
                      } else {
                        failed++;
                      }
                      done++;
                    });
      }
    });
  }
  for (auto& t : senders) t.join();
  ASSERT_TRUE(Eventually([&] { return done.load() == kRequests; }))
      << done.load();
  EXPECT_EQ(ok.load(), kRequests);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LE(server.connections(), 8);
  EXPECT_GE(server.connections(), 1);
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(ClientTest, ConnectionRefusedIsUnavailableAndNotSent) {
  IoThreads io;
  Client client(io.io);
  auto r = SendAndWait(
      client, {.method = "POST",
               .url = absl::StrCat("http://127.0.0.1:", UnusedPort(), "/x"),
               .body = "{}"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_FALSE(RequestMayHaveBeenSent(r.status()));
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(ClientTest, MalformedUrlIsInvalidArgument) {
  IoThreads io;
  Client client(io.io);
  auto r = SendAndWait(client, {.url = "ftp://127.0.0.1/x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
      << r.status();
  EXPECT_FALSE(RequestMayHaveBeenSent(r.status()));
}

TEST(ClientTest, CloseWithoutAnswerMayHaveBeenSent) {
  TestServer server(TestServer::Mode::kCloseAfterRequest);
  IoThreads io;
  Client client(io.io);
  auto r = SendAndWait(
      client, {.method = "POST", .url = server.Url("/x"), .body = "{}"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_TRUE(RequestMayHaveBeenSent(r.status()));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(ClientTest, NoAnswerTimesOutAsDeadlineExceeded) {
  TestServer server(TestServer::Mode::kNeverAnswer);
  IoThreads io;
  Client client(io.io);
  auto r = SendAndWait(client, {.method = "POST",
                                .url = server.Url("/x"),
                                .body = "{}",
                                .timeout = absl::Milliseconds(300)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_TRUE(RequestMayHaveBeenSent(r.status()));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(ClientTest, FailureMessagesCarryNoSecrets) {
  TestServer closing(TestServer::Mode::kCloseAfterRequest);
  TestServer silent(TestServer::Mode::kNeverAnswer);
  IoThreads io;
  Client client(io.io);
  const std::string refused =
      absl::StrCat("http://127.0.0.1:", UnusedPort(), "/v17.0/1/messages");
  for (const std::string& url : {refused, closing.Url("/v17.0/1/messages"),
                                 silent.Url("/v17.0/1/messages")}) {
    auto r =
        SendAndWait(client, {.method = "POST",
                             .url = url + "?access_token=SECRET456",
                             .headers = {{"Authorization", "Bearer SECRET123"}},
                             .body = "{\"text\":\"BODYSECRET\"}",
                             .timeout = absl::Milliseconds(300)});
    ASSERT_FALSE(r.ok()) << url;
    std::string message(r.status().message());
    EXPECT_FALSE(absl::StrContains(message, "SECRET")) << message;
    EXPECT_TRUE(absl::StrContains(message, "POST 127.0.0.1:")) << message;
    EXPECT_TRUE(absl::StrContains(message, "/v17.0/1/messages")) << message;
  }
}

TEST(ClientTest, DestructorCancelsInFlightRequests) {
  TestServer server(TestServer::Mode::kNeverAnswer);
  IoThreads io(2);
  std::atomic<int> cancelled{0}, other{0}, sent_flag{0};
  auto client = std::make_unique<Client>(io.io);
  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) {
    client->Send({.url = server.Url(absl::StrCat("/hang/", i))},
                 [&](absl::StatusOr<ClientResponse> r) {
                   if (r.status().code() == absl::StatusCode::kCancelled) {
                     cancelled++;
                     if (RequestMayHaveBeenSent(r.status())) sent_flag++;
                   } else {
                     other++;
                   }
                 });
  }
  ASSERT_TRUE(Eventually([&] { return server.request_count() == kRequests; }));
  EXPECT_EQ(client->in_flight(), static_cast<size_t>(kRequests));
  client.reset();  // io threads are still running
  // Cancelled synchronously: every callback ran before the destructor ended.
  EXPECT_EQ(cancelled.load(), kRequests);
  EXPECT_EQ(sent_flag.load(), kRequests);
  EXPECT_EQ(other.load(), 0);
}

TEST(ClientTest, DestructorWithoutRunningIoContext) {
  boost::asio::io_context io;  // never run
  int cancelled = 0;
  {
    Client client(io);
    client.Send({.url = "http://127.0.0.1:1/x"},
                [&](absl::StatusOr<ClientResponse> r) {
                  if (r.status().code() == absl::StatusCode::kCancelled) {
                    cancelled++;
                  }
                });
    EXPECT_EQ(client.in_flight(), 1u);
  }
  // The Send never reached the strand; it is cancelled when io runs.
  io.run();
  EXPECT_EQ(cancelled, 1);
}

TEST(ClientTest, DestroyFromInsideCallback) {
  TestServer server(TestServer::Mode::kNeverAnswer);
  TestServer answering;
  IoThreads io;
  auto client = std::make_unique<Client>(io.io);
  std::atomic<int> cancelled{0};
  std::promise<void> destroyed;
  // One request hangs; the answer to the other destroys the client.
  client->Send({.url = server.Url("/hang")},
               [&](absl::StatusOr<ClientResponse> r) {
                 if (r.status().code() == absl::StatusCode::kCancelled) {
                   cancelled++;
                 }
               });
  ASSERT_TRUE(Eventually([&] { return server.request_count() == 1; }));
  client->Send({.url = answering.Url("/ok")},
               [&](absl::StatusOr<ClientResponse> r) {
                 EXPECT_TRUE(r.ok()) << r.status();
                 client.reset();
                 destroyed.set_value();
               });
  ASSERT_EQ(destroyed.get_future().wait_for(std::chrono::seconds(20)),
            std::future_status::ready);
  EXPECT_EQ(cancelled.load(), 1);
}

// libcurl 7.88 closes a socket that has not finished connecting without
// calling CLOSESOCKETFUNCTION when its transfer is removed (fixed upstream in
// 8.2.0). The client must neither leak it nor, when the kernel hands the
// number to the next connection, mistake that one for the old socket and
// close it (which failed the next request with "Couldn't connect to
// server").
TEST(ClientTest, AbortWhileConnectingLeavesTheNextRequestWorking) {
  StuckListener stuck;
  TestServer server;
  IoThreads io(2);
  Client client(io.io);
  for (int round = 0; round < 3; ++round) {
    const int before = OpenDescriptors();
    auto control = std::make_shared<StreamControl>();
    std::promise<absl::Status> aborted;
    client.Send({.method = "POST",
                 .url = stuck.Url("/upload"),
                 .body = "{}",
                 .control = control},
                [&](absl::StatusOr<ClientResponse> r) {
                  aborted.set_value(r.status());
                });
    // Its socket is open and connecting.
    ASSERT_TRUE(Eventually([&] { return OpenDescriptors() > before; }));
    control->Abort();
    auto future = aborted.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(20)),
              std::future_status::ready);
    EXPECT_EQ(future.get().code(), absl::StatusCode::kCancelled);
    EXPECT_TRUE(Eventually([&] { return OpenDescriptors() == before; }))
        << "the connecting socket leaked: " << OpenDescriptors() << " open, "
        << before << " before";

    auto r = SendAndWait(client, {.url = server.Url(absl::StrCat("/", round))});
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.status();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(client.in_flight(), 0u);
}

// The client keeps one timer armed at the earliest of curl's timeouts: a
// shorter timeout that comes after a longer one must still fire on time,
// and a longer one after a shorter one once that has fired.
TEST(ClientTest, EachTimeoutFiresWhateverOrderTheyComeIn) {
  TestServer server(TestServer::Mode::kNeverAnswer);
  IoThreads io;
  // Before the client: its destructor completes the first request.
  std::promise<absl::Status> long_first, short_second, long_third;
  Client client(io.io);
  auto send = [&](absl::Duration timeout, std::promise<absl::Status>* p) {
    client.Send(
        {.url = server.Url("/hang"), .timeout = timeout},
        [p](absl::StatusOr<ClientResponse> r) { p->set_value(r.status()); });
  };
  send(absl::Seconds(30), &long_first);
  ASSERT_TRUE(Eventually([&] { return server.request_count() == 1; }));
  send(absl::Milliseconds(200), &short_second);
  auto second = short_second.get_future();
  // Far below the first one's 30 s: only the re-armed timer ends it.
  ASSERT_EQ(second.wait_for(std::chrono::seconds(20)),
            std::future_status::ready);
  EXPECT_EQ(second.get().code(), absl::StatusCode::kDeadlineExceeded);
  send(absl::Milliseconds(300), &long_third);
  auto third = long_third.get_future();
  ASSERT_EQ(third.wait_for(std::chrono::seconds(20)),
            std::future_status::ready);
  EXPECT_EQ(third.get().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(client.in_flight(), 1u);  // the 30 s one; cancelled at exit
}

}  // namespace
}  // namespace wagate::http
