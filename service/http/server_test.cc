#include "service/http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
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
#include "openssl/bio.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"
#include "service/common/log.h"

namespace wagate::http {
namespace {

using Clock = std::chrono::steady_clock;

// A self-signed certificate for 127.0.0.1 / localhost, made at test time.
struct TestCert {
  std::string key_pem;
  std::string cert_pem;
  std::string fingerprint;  // SHA-256 of the DER certificate, hex
};

std::string Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  std::string hex;
  for (unsigned int i = 0; i < n; ++i)
    absl::StrAppend(&hex, absl::Hex(md[i], absl::kZeroPad2));
  return hex;
}

TestCert MakeCert(const std::string& common_name) {
  static std::atomic<long> serial{1};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                            "IP:127.0.0.1,DNS:localhost");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  TestCert out;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  out.key_pem.assign(data, static_cast<size_t>(size));
  BIO_reset(bio);
  PEM_write_bio_X509(bio, cert);
  size = BIO_get_mem_data(bio, &data);
  out.cert_pem.assign(data, static_cast<size_t>(size));
  BIO_free(bio);
  out.fingerprint = Fingerprint(cert);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// How a test client talks to the server.
struct ClientTls {
  bool enabled = false;
  // PEM certificate to verify the server against (with its IP address);
  // empty: no verification.
  std::string trust_pem;
};

// A blocking loopback client speaking raw bytes (over TLS when asked), so
// tests can send malformed or slow requests. Every read gives up after a few
// seconds.
class RawClient {
 public:
  // `source_ip`: the local address to connect from (any of 127.0.0.0/8
  // works on Linux), for tests telling clients apart by address.
  explicit RawClient(int port, ClientTls tls = {},
                     const char* source_ip = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (source_ip != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, source_ip, &local.sin_addr);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    // Non-blocking: every wait is a poll with a deadline.
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    if (connected_ && tls.enabled) Handshake(tls);
  }
  ~RawClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  bool connected() const { return connected_; }
  // TLS: whether the handshake succeeded, the server's certificate and the
  // protocol version.
  bool handshake_ok() const { return handshake_ok_; }
  std::string peer_fingerprint() const { return peer_fingerprint_; }
  int tls_version() const { return ssl_ ? SSL_version(ssl_) : 0; }

  void Send(absl::string_view data) {
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!data.empty()) {
      ssize_t n;
      if (ssl_ != nullptr) {
        n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
        if (n <= 0) {
          int error = SSL_get_error(ssl_, static_cast<int>(n));
          if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
            if (!WaitFor(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                         deadline)) {
              return;
            }
            continue;
          }
          ERR_clear_error();
          return;
        }
      } else {
        n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          if (!WaitFor(POLLOUT, deadline)) return;
          continue;
        }
        if (n <= 0) return;
      }
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
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
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
      if (!Fill(deadline)) return std::nullopt;
    }
    reply.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return reply;
  }

  // True if the server closes the connection (EOF or reset) before the
  // receive timeout; any bytes received meanwhile go to the buffer.
  bool WaitClosed(int timeout_ms = 3000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (!Fill(deadline)) return closed_;
    }
    return false;
  }

  const std::string& buffered() const { return buffer_; }

 private:
  // Waits until the socket is ready for `events`; false at the deadline.
  bool WaitFor(short events, Clock::time_point deadline) {
    while (true) {
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                Clock::now())
              .count());
      if (left <= 0) return false;
      pollfd p{fd_, events, 0};
      int ready = ::poll(&p, 1, left);
      if (ready > 0) return true;
      if (ready < 0 && errno != EINTR) return false;
    }
  }

  // Appends what arrives before the deadline; false on timeout (closed_
  // false) or when the server closed or reset the connection (closed_ true).
  bool Fill(Clock::time_point deadline) {
    char chunk[16384];
    while (true) {
      if (ssl_ != nullptr) {
        int n = SSL_read(ssl_, chunk, sizeof(chunk));
        if (n > 0) {
          buffer_.append(chunk, static_cast<size_t>(n));
          return true;
        }
        int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
          if (!WaitFor(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                       deadline)) {
            return false;
          }
          continue;
        }
        ERR_clear_error();
        closed_ = true;  // close_notify, EOF or reset
        return false;
      }
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!WaitFor(POLLIN, deadline)) return false;
        continue;
      }
      closed_ = true;
      return false;
    }
  }

  void Handshake(const ClientTls& tls) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!tls.trust_pem.empty()) {
      BIO* bio = BIO_new_mem_buf(tls.trust_pem.data(),
                                 static_cast<int>(tls.trust_pem.size()));
      X509* trusted = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
      BIO_free(bio);
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), trusted);
      X509_free(trusted);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (!tls.trust_pem.empty()) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    }
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (true) {
      int n = SSL_connect(ssl_);
      if (n == 1) break;
      int error = SSL_get_error(ssl_, n);
      if ((error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) &&
          WaitFor(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        continue;
      }
      ERR_clear_error();
      closed_ = true;  // refused: nothing more will come
      return;
    }
    handshake_ok_ = true;
    X509* peer = SSL_get1_peer_certificate(ssl_);
    if (peer != nullptr) {
      peer_fingerprint_ = Fingerprint(peer);
      X509_free(peer);
    }
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
  bool handshake_ok_ = false;
  bool closed_ = false;
  std::string peer_fingerprint_;
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

// Runs the io_context; with tls_, servers get a self-signed certificate
// written to files in a fresh directory.
class ServerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A TLS client writing to a closed socket must not kill the test.
    ::signal(SIGPIPE, SIG_IGN);
  }

  ServerFixture() : work_(io_.get_executor()) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    std::string dir = ::testing::TempDir() + "/server_test_XXXXXX";
    dir_ = ::mkdtemp(dir.data()) != nullptr ? dir : ::testing::TempDir();
    cert_ = Cert("A");
    cert_file_ = dir_ + "/cert.pem";
    key_file_ = dir_ + "/key.pem";
    WriteFile(cert_file_, cert_.cert_pem);
    WriteFile(key_file_, cert_.key_pem);
  }
  ~ServerFixture() override {
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
  // Certificates are made once per name and reused across tests.
  static const TestCert& Cert(const std::string& name) {
    static absl::Mutex mu;
    static auto* certs = new std::map<std::string, TestCert>();
    absl::MutexLock lock(&mu);
    auto it = certs->find(name);
    if (it == certs->end()) {
      it = certs->emplace(name, MakeCert("wagate-test-" + name)).first;
    }
    return it->second;
  }

  // ShortOptions(), with the test certificate when tls_.
  ServerOptions Options() const {
    ServerOptions options = ShortOptions();
    if (tls_) options.tls = ServerTls{cert_file_, key_file_};
    return options;
  }
  ClientTls client_tls() const { return ClientTls{tls_, ""}; }

  void StartEcho() { StartEcho(Options()); }
  void StartEcho(ServerOptions options) {
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
  bool tls_ = false;
  std::string dir_;
  TestCert cert_;
  std::string cert_file_;
  std::string key_file_;
};

// Every behaviour over plaintext and over TLS: one request-handling path,
// with every limit and timeout, for both.
class ServerTest : public ServerFixture,
                   public ::testing::WithParamInterface<bool> {
 protected:
  ServerTest() { tls_ = GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Transports, ServerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tls" : "Plaintext";
                         });

TEST_P(ServerTest, RoutesExactPrefixNotFoundAndWrongMethod) {
  StartServer(Options(), [](Server& s) {
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
  RawClient c(server_->port(), client_tls());
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

TEST_P(ServerTest, ResponseHeadersAndContentType) {
  StartServer(Options(), [](Server& s) {
    s.Handle("GET", "/j", [](Request, Responder r) {
      Response response = JsonResponse(202, "{\"ok\":true}");
      response.headers.emplace_back("X-Trace", "abc");
      r(std::move(response));
    });
  });
  RawClient c(server_->port(), client_tls());
  c.Send(Get("/j"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 202);
  EXPECT_EQ(reply->Header("Content-Type"), "application/json");
  EXPECT_EQ(reply->Header("Content-Length"), "11");
  EXPECT_EQ(reply->Header("X-Trace"), "abc");
  EXPECT_EQ(reply->body, "{\"ok\":true}");
}

TEST_P(ServerTest, AsyncResponderFromAnotherThread) {
  std::vector<std::thread> answerers;
  absl::Mutex mu;
  StartServer(Options(), [&](Server& s) {
    s.Handle("POST", "/later", [&](Request req, Responder respond) {
      absl::MutexLock lock(&mu);
      answerers.emplace_back([body = req.body, respond] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        respond(TextResponse(200, "later:" + body));
      });
    });
  });
  RawClient c(server_->port(), client_tls());
  c.Send(Post("/later", "hi"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "later:hi");
  absl::MutexLock lock(&mu);
  for (auto& t : answerers) t.join();
}

TEST_P(ServerTest, PipelinedRequestsAnsweredInOrder) {
  std::vector<std::thread> answerers;
  absl::Mutex mu;
  StartServer(Options(), [&](Server& s) {
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
  RawClient c(server_->port(), client_tls());
  c.Send(Get("/slow") + Get("/fast") + Get("/slow"));
  for (const char* want : {"slow", "fast", "slow"}) {
    auto reply = c.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->body, want);
  }
  absl::MutexLock lock(&mu);
  for (auto& t : answerers) t.join();
}

TEST_P(ServerTest, DroppedResponderAnswers500) {
  StartServer(Options(), [](Server& s) {
    s.Handle("GET", "/drop", [](Request, Responder) {});
    s.Handle("GET", "/throw",
             [](Request, Responder) { throw std::runtime_error("boom"); });
  });
  RawClient c(server_->port(), client_tls());
  for (const char* target : {"/drop", "/throw"}) {
    c.Send(Get(target));
    auto reply = c.Read();
    ASSERT_TRUE(reply.has_value()) << target;
    EXPECT_EQ(reply->status, 500) << target;
  }
}

TEST_P(ServerTest, ResponderCalledTwiceSendsOnce) {
  StartServer(Options(), [](Server& s) {
    s.Handle("GET", "/twice", [](Request, Responder r) {
      r(TextResponse(200, "first"));
      r(TextResponse(200, "second"));
    });
  });
  RawClient c(server_->port(), client_tls());
  c.Send(Get("/twice") + Get("/twice"));
  for (int i = 0; i < 2; ++i) {
    auto reply = c.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->body, "first");
  }
}

TEST_P(ServerTest, DecodesPathAndQuery) {
  StartServer(Options(), [](Server& s) {
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
  RawClient c(server_->port(), client_tls());
  c.Send(Get("/q/a%20b%2Fc?hub.mode=sub+scribe&x=%26%3D&empty=&flag&&y=1",
             "User-Agent: raw\r\n"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body,
            "/q/a b/c|/q/a%20b%2Fc?hub.mode=sub+scribe&x=%26%3D&empty=&flag&&"
            "y=1|hub.mode=sub scribe|x=&=|empty=|flag=|y=1|mode=sub scribe|"
            "remote=ok|ua=raw");
}

TEST_P(ServerTest, KeepAliveReusesOneConnection) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
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

TEST_P(ServerTest, ConnectionCloseHonored) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
  c.Send(Get("/echo", "Connection: close\r\n"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->Header("Connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
}

TEST_P(ServerTest, Http10ClosesByDefault) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
  c.Send("GET /echo HTTP/1.0\r\n\r\n");
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "GET ");
  EXPECT_TRUE(c.WaitClosed());
}

TEST_P(ServerTest, BodyLimit) {
  StartEcho();
  RawClient ok(server_->port(), client_tls());
  ok.Send(Post("/echo", std::string(1024, 'a')));
  auto reply = ok.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body.size(), 5u + 1024u);

  RawClient big(server_->port(), client_tls());
  big.Send(Post("/echo", std::string(1025, 'a')));
  reply = big.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 413);
  EXPECT_TRUE(big.WaitClosed());
}

TEST_P(ServerTest, HugeDeclaredBodyRejectedBeforeItIsSent) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
  // Only the headers are sent: the 413 must not wait for the body.
  c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n");
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 413);
}

TEST_P(ServerTest, ChunkedBodyOverLimit) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
  std::string chunk(600, 'b');
  c.Send(absl::StrCat(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
      "258\r\n", chunk, "\r\n258\r\n", chunk, "\r\n0\r\n\r\n"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 413);
}

TEST_P(ServerTest, ExpectContinue) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
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

TEST_P(ServerTest, OversizedHeadersGet431) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
  c.Send(Get("/echo", absl::StrCat("X-Big: ", std::string(4096, 'h'), "\r\n")));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 431);
  EXPECT_TRUE(c.WaitClosed());
}

TEST_P(ServerTest, MalformedRequestGets400AndClose) {
  StartEcho();
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET /echo HTTP/9.9\r\n\r\n",
                          "GET /echo HTTP/1.1\r\nBad Header\r\n\r\n",
                          "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n"}) {
    RawClient c(server_->port(), client_tls());
    c.Send(bad);
    auto reply = c.Read();
    ASSERT_TRUE(reply.has_value()) << bad;
    EXPECT_EQ(reply->status, 400) << bad;
    EXPECT_TRUE(c.WaitClosed()) << bad;
  }
}

TEST_P(ServerTest, SlowHeadersDisconnected) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
  c.Send("GET /echo HTTP/1.1\r\nHost: t\r\n");
  // Trickling bytes must not extend the header deadline.
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c.Send("X: y\r\n");
  }
  EXPECT_TRUE(c.WaitClosed(2000));
  EXPECT_EQ(c.buffered(), "");  // no response, just closed
}

TEST_P(ServerTest, SlowBodyDisconnected) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
  c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_TRUE(c.WaitClosed(2000));
  EXPECT_EQ(c.buffered(), "");
}

TEST_P(ServerTest, IdleKeepAliveClosed) {
  StartEcho();
  RawClient c(server_->port(), client_tls());
  c.Send(Get("/echo"));
  ASSERT_TRUE(c.Read().has_value());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitClosed(3000));
  // Closed by the idle timeout (300 ms), not immediately after the response.
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(200));
}

TEST_P(ServerTest, IdleTimeoutIsNotHeaderTimeout) {
  ServerOptions options = Options();
  options.idle_timeout = absl::Seconds(5);
  StartEcho(options);
  RawClient c(server_->port(), client_tls());
  c.Send(Get("/echo"));
  ASSERT_TRUE(c.Read().has_value());
  // Longer than header_timeout (300 ms) but within idle_timeout.
  EXPECT_FALSE(c.WaitClosed(600));
  c.Send(Get("/echo"));
  EXPECT_TRUE(c.Read().has_value());
}

TEST_P(ServerTest, WriteTimeoutClosesStalledReader) {
  ServerOptions options = Options();
  options.write_timeout = absl::Milliseconds(300);
  absl::Notification called;
  StartServer(options, [&](Server& s) {
    s.Handle("GET", "/big", [&](Request, Responder r) {
      called.Notify();
      // Far more than loopback socket buffers hold, so the write stalls.
      r(TextResponse(200, std::string(64 << 20, 'x')));
    });
  });
  RawClient c(server_->port(), client_tls());
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

TEST_P(ServerTest, MaxConnections) {
  ServerOptions options = Options();
  options.max_connections = 1;
  options.idle_timeout = absl::Seconds(5);
  StartEcho(options);
  RawClient first(server_->port(), client_tls());
  first.Send(Get("/echo"));
  ASSERT_TRUE(first.Read().has_value());
  RawClient second(server_->port(), client_tls());
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

// Refusals decided from the header block: the answer comes although the
// body is never sent, and the connection then closes (the body was not
// read, so nothing after it could be parsed).
class HeaderRefusalTest : public ServerTest {
 protected:
  void StartRoutes() {
    StartServer(Options(), [this](Server& s) {
      s.Handle("GET", "/get-only", [this](Request, Responder r) {
        handled_++;
        r(TextResponse(200, "got"));
      });
      RouteOptions with_answer;
      with_answer.required_headers = {"X-Signature"};
      with_answer.on_missing_header = [this](const Request& head,
                                             absl::string_view header) {
        absl::MutexLock lock(&mu_);
        refused_ = head.method + " " + head.path + " " + std::string(header) +
                   " body=" + head.body;
        return TextResponse(401, "unsigned\n");
      };
      s.Handle(
          "POST", "/signed",
          [this](Request req, Responder r) {
            handled_++;
            r(TextResponse(200, "signed:" + req.body));
          },
          with_answer);
      RouteOptions plain;
      plain.required_headers = {"X-Token"};
      s.HandlePrefix(
          "", "/tokened/",
          [this](Request, Responder r) {
            handled_++;
            r(TextResponse(200, "ok"));
          },
          plain);
    });
  }

  // Sends `head` only (it declares a body that never comes) and expects
  // `status` at once, then the close.
  RawClient::Reply ExpectRefused(absl::string_view head, int status) {
    RawClient c(server_->port(), client_tls());
    c.Send(head);
    auto reply = c.Read();
    EXPECT_TRUE(reply.has_value()) << head;
    if (!reply.has_value()) return {};
    EXPECT_EQ(reply->status, status) << head;
    EXPECT_EQ(reply->Header("Connection"), "close") << head;
    EXPECT_TRUE(c.WaitClosed()) << head;
    return *reply;
  }

  std::atomic<int> handled_{0};
  absl::Mutex mu_;
  std::string refused_ ABSL_GUARDED_BY(mu_);
};

INSTANTIATE_TEST_SUITE_P(Transports, HeaderRefusalTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tls" : "Plaintext";
                         });

TEST_P(HeaderRefusalTest, UnknownPathIs404WithoutReadingTheBody) {
  StartRoutes();
  ExpectRefused(
      "POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n", 404);
  // An unknown path is a 404 whatever the body it declares.
  ExpectRefused(
      "POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n",
      404);
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(server_->stats().requests_refused_at_header, 2u);
}

TEST_P(HeaderRefusalTest, WrongMethodIs405WithAllowWithoutReadingTheBody) {
  StartRoutes();
  RawClient::Reply reply = ExpectRefused(
      "POST /get-only HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n", 405);
  EXPECT_EQ(reply.Header("Allow"), "GET");
  EXPECT_EQ(handled_.load(), 0);
}

TEST_P(HeaderRefusalTest, DeclaredBodyOverTheLimitIs413BeforeItIsSent) {
  StartRoutes();  // max_body_bytes 1024
  ExpectRefused(
      "POST /signed HTTP/1.1\r\nHost: t\r\nX-Signature: s\r\n"
      "Content-Length: 1025\r\n\r\n",
      413);
  EXPECT_EQ(handled_.load(), 0);
}

TEST_P(HeaderRefusalTest, MissingRequiredHeaderGetsTheRoutesAnswerUnread) {
  StartRoutes();
  RawClient::Reply reply = ExpectRefused(
      "POST /signed?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n",
      401);
  EXPECT_EQ(reply.body, "unsigned\n");
  {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(refused_, "POST /signed X-Signature body=");
  }
  // An empty value is as good as none.
  ExpectRefused(
      "POST /signed HTTP/1.1\r\nHost: t\r\nX-Signature:\r\n"
      "Content-Length: 500\r\n\r\n",
      401);
  // Without an on_missing_header: 400 naming the header.
  reply = ExpectRefused(
      "PUT /tokened/a HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n", 400);
  EXPECT_EQ(reply.body, "missing header X-Token\n");
  EXPECT_EQ(handled_.load(), 0);
}

TEST_P(HeaderRefusalTest, ExpectContinueIsNotSentToARefusedRequest) {
  StartRoutes();
  RawClient c(server_->port(), client_tls());
  c.Send(
      "POST /signed HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
      "Expect: 100-continue\r\n\r\n");
  // The raw bytes up to the close: the final answer, and no 100 first.
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_TRUE(absl::StartsWith(c.buffered(), "HTTP/1.1 401 ")) << c.buffered();
  EXPECT_FALSE(absl::StrContains(c.buffered(), "100 Continue"));
}

TEST_P(HeaderRefusalTest, AcceptedAndBodilessRefusalsKeepTheConnection) {
  StartRoutes();
  RawClient c(server_->port(), client_tls());
  // No body declared: nothing is left unread, so keep-alive holds.
  c.Send(Get("/nowhere"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 404);
  c.Send("POST /signed HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 401);
  // Signed: the body is read and handled, on the same connection.
  c.Send(Post("/signed", "hello", "X-Signature: s\r\n"));
  reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "signed:hello");
  c.Send(Get("/tokened/x", "x-token: t\r\n"));  // names are case-insensitive
  reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(handled_.load(), 2);
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
}

TEST_P(ServerTest, MaxConnectionsPerIp) {
  ServerOptions options = Options();
  options.max_connections_per_ip = 2;
  options.idle_timeout = absl::Seconds(5);
  StartEcho(options);
  auto open = [&](const char* source) {
    auto c = std::make_unique<RawClient>(server_->port(), client_tls(), source);
    c->Send(Get("/echo"));
    return c;
  };
  auto first = open("127.0.0.1");
  ASSERT_TRUE(first->Read().has_value());
  auto second = open("127.0.0.1");
  ASSERT_TRUE(second->Read().has_value());
  auto third = open("127.0.0.1");
  EXPECT_TRUE(third->WaitClosed());
  EXPECT_EQ(third->buffered(), "");
  EXPECT_EQ(server_->stats().connections_rejected_per_ip, 1u);
  EXPECT_EQ(server_->stats().connections_rejected, 0u);
  // Another address has its own allowance.
  auto other = open("127.0.0.2");
  auto reply = other->Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  // A connection closing frees its place.
  first.reset();
  auto deadline = Clock::now() + std::chrono::seconds(3);
  while (server_->stats().connections_open > 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto again = open("127.0.0.1");
  EXPECT_TRUE(again->Read().has_value());
  EXPECT_EQ(server_->stats().connections_rejected_per_ip, 1u);
}

TEST_P(ServerTest, MaxConnectionsIsClampedToTheOpenFileLimit) {
  std::vector<std::string> lines;
  absl::Mutex mu;
  log::SetSinkForTesting([&](absl::string_view line) {
    absl::MutexLock lock(&mu);
    lines.emplace_back(line);
  });
  ServerOptions options = Options();
  options.max_connections = 4096;
  options.open_files_limit = 10;
  options.reserved_fds = 8;
  options.idle_timeout = absl::Seconds(5);
  StartEcho(options);
  log::SetSinkForTesting(nullptr);
  EXPECT_EQ(server_->max_connections(), 2u);
  {
    absl::MutexLock lock(&mu);
    int clamped = 0;
    for (const std::string& line : lines) {
      if (absl::StrContains(line, "max_connections lowered")) {
        ++clamped;
        EXPECT_TRUE(absl::StrContains(line, "\"configured\":\"4096\"")) << line;
        EXPECT_TRUE(absl::StrContains(line, "\"max_connections\":\"2\""))
            << line;
        EXPECT_TRUE(absl::StrContains(line, "\"open_files_limit\":\"10\""))
            << line;
      }
    }
    EXPECT_EQ(clamped, 1);
  }
  RawClient first(server_->port(), client_tls());
  first.Send(Get("/echo"));
  ASSERT_TRUE(first.Read().has_value());
  RawClient second(server_->port(), client_tls());
  second.Send(Get("/echo"));
  ASSERT_TRUE(second.Read().has_value());
  RawClient third(server_->port(), client_tls());
  EXPECT_TRUE(third.WaitClosed());
  EXPECT_EQ(server_->stats().connections_rejected, 1u);
}

TEST_P(ServerTest, OpenFileLimitComesFromRlimitNofile) {
  rlimit nofile{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &nofile), 0);
  if (nofile.rlim_cur == RLIM_INFINITY || nofile.rlim_cur <= 256) {
    GTEST_SKIP() << "soft RLIMIT_NOFILE " << nofile.rlim_cur;
  }
  ServerOptions options = Options();
  options.max_connections = static_cast<size_t>(nofile.rlim_cur) + 1000;
  StartEcho(options);
  EXPECT_EQ(server_->max_connections(),
            static_cast<size_t>(nofile.rlim_cur) - options.reserved_fds);
  // Under the limit: as configured.
  Server small(io_, [&] {
    ServerOptions o = Options();
    o.max_connections = 3;
    return o;
  }());
  ASSERT_TRUE(small.Listen("127.0.0.1:0").ok());
  EXPECT_EQ(small.max_connections(), 3u);
  // A limit below the reserve still leaves half of it to connections.
  Server tiny(io_, [&] {
    ServerOptions o = Options();
    o.open_files_limit = 100;
    return o;
  }());
  ASSERT_TRUE(tiny.Listen("127.0.0.1:0").ok());
  EXPECT_EQ(tiny.max_connections(), 50u);
}

TEST_P(ServerTest, DropConnectionClosesWithoutAnswer) {
  StartServer(Options(), [](Server& s) {
    s.Handle("GET", "/drop", [](Request, Responder r) {
      Response response;
      response.drop_connection = true;
      r(std::move(response));
    });
  });
  RawClient c(server_->port(), client_tls());
  c.Send(Get("/drop"));
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(c.buffered(), "");
}

TEST_P(ServerTest, StopAnswersInFlightAndRefusesNewConnections) {
  absl::Notification called;
  Responder pending;
  absl::Mutex mu;
  StartServer(Options(), [&](Server& s) {
    s.Handle("GET", "/hold", [&](Request, Responder r) {
      absl::MutexLock lock(&mu);
      pending = std::move(r);
      called.Notify();
    });
  });
  int port = server_->port();
  RawClient idle(port, client_tls());
  RawClient busy(port, client_tls());
  busy.Send(Get("/hold"));
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(5)));

  server_->Stop();
  EXPECT_TRUE(idle.WaitClosed());
  RawClient refused(port, client_tls());
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

TEST_P(ServerTest, ResponderAfterServerDestroyedDoesNotCrash) {
  absl::Notification called;
  Responder pending;
  absl::Mutex mu;
  StartServer(Options(), [&](Server& s) {
    s.Handle("GET", "/hold", [&](Request, Responder r) {
      absl::MutexLock lock(&mu);
      pending = std::move(r);
      called.Notify();
    });
  });
  RawClient c(server_->port(), client_tls());
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

TEST_P(ServerTest, ListenErrors) {
  StartEcho();
  Server other(io_, Options());
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

TEST_P(ServerTest, ListenLocalhostAndIpv6) {
  Server local(io_, Options());
  local.Handle("GET", "/",
               [](Request, Responder r) { r(TextResponse(200, "ok")); });
  ASSERT_TRUE(local.Listen("localhost:0").ok());
  RawClient c(local.port(), client_tls());
  c.Send(Get("/"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "ok");

  Server v6(io_, Options());
  absl::Status status = v6.Listen("[::1]:0");
  if (status.ok()) {
    EXPECT_GT(v6.port(), 0);
  } else {
    // Hosts without IPv6 loopback: the error must still be a clean status.
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
}

// HTTPS-only behaviour: certificates, handshakes and reloads.
class TlsServerTest : public ServerFixture {
 protected:
  TlsServerTest() { tls_ = true; }

  void WriteCert(const TestCert& cert) {
    WriteFile(cert_file_, cert.cert_pem);
    WriteFile(key_file_, cert.key_pem);
  }

  // The certificate a new connection is served, or "" if none.
  std::string ServedFingerprint() {
    RawClient c(server_->port(), ClientTls{true, ""});
    return c.peer_fingerprint();
  }

  bool WaitNoConnections() {
    auto deadline = Clock::now() + std::chrono::seconds(3);
    while (server_->stats().connections_open != 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return server_->stats().connections_open == 0;
  }
};

TEST_F(TlsServerTest, ServesHttpsVerifiedAgainstItsCertificate) {
  StartEcho();
  EXPECT_TRUE(server_->tls());
  RawClient c(server_->port(), ClientTls{true, cert_.cert_pem});
  ASSERT_TRUE(c.handshake_ok());
  EXPECT_GE(c.tls_version(), TLS1_2_VERSION);
  EXPECT_EQ(c.peer_fingerprint(), cert_.fingerprint);
  c.Send(Post("/echo", "over tls"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "POST over tls");

  // Verification is real: a client trusting another certificate refuses.
  RawClient other(server_->port(), ClientTls{true, Cert("B").cert_pem});
  EXPECT_FALSE(other.handshake_ok());
}

TEST_F(TlsServerTest, PlaintextClientIsClosedWithoutAnAnswer) {
  StartEcho();
  RawClient plain(server_->port());
  ASSERT_TRUE(plain.connected());
  plain.Send(Get("/echo"));
  EXPECT_TRUE(plain.WaitClosed());
  EXPECT_FALSE(absl::StrContains(plain.buffered(), "HTTP/1.1"))
      << plain.buffered();
  EXPECT_TRUE(WaitNoConnections());
  EXPECT_EQ(server_->stats().requests, 0u);
  // The server still serves TLS clients.
  RawClient c(server_->port(), ClientTls{true, ""});
  c.Send(Get("/echo"));
  auto reply = c.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
}

TEST_F(TlsServerTest, SilentClientIsCutOffByTheHandshakeTimeout) {
  StartEcho();  // header_timeout 300 ms
  RawClient silent(server_->port());
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(silent.WaitClosed(3000));
  EXPECT_EQ(silent.buffered(), "");
  EXPECT_TRUE(WaitNoConnections());
}

TEST_F(TlsServerTest, PartialHandshakeIsCutOffByTheHandshakeTimeout) {
  StartEcho();
  RawClient slow(server_->port());
  // The first bytes of a TLS record header (handshake, TLS 1.0 record
  // version), then nothing more.
  slow.Send(absl::string_view("\x16\x03\x01", 3));
  EXPECT_TRUE(slow.WaitClosed(3000));
  EXPECT_TRUE(WaitNoConnections());
}

TEST_F(TlsServerTest, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  StartEcho();
  RawClient before(server_->port(), ClientTls{true, ""});
  ASSERT_TRUE(before.handshake_ok());
  EXPECT_EQ(before.peer_fingerprint(), cert_.fingerprint);

  const TestCert& next = Cert("B");
  WriteCert(next);
  absl::Status reloaded = server_->ReloadTls();
  ASSERT_TRUE(reloaded.ok()) << reloaded;

  RawClient after(server_->port(), ClientTls{true, next.cert_pem});
  ASSERT_TRUE(after.handshake_ok());
  EXPECT_EQ(after.peer_fingerprint(), next.fingerprint);
  after.Send(Get("/echo"));
  auto reply = after.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);

  // The connection made before the reload carries on with its session.
  before.Send(Post("/echo", "still here"));
  reply = before.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "POST still here");
}

TEST_F(TlsServerTest, BadFilesOnReloadKeepTheOldCertificate) {
  StartEcho();
  const std::string secret = "PRIVATE-MATERIAL-do-not-echo";
  struct Case {
    std::string name;
    std::function<void()> break_files;
    std::string key;
    std::string path;
  } cases[] = {
      {"cert not PEM", [&] { WriteFile(cert_file_, secret); },
       "tls.http.cert_file", cert_file_},
      {"cert unreadable", [&] { std::remove(cert_file_.c_str()); },
       "tls.http.cert_file", cert_file_},
      {"key not PEM", [&] { WriteFile(key_file_, secret); },
       "tls.http.key_file", key_file_},
      {"key of another certificate",
       [&] { WriteFile(cert_file_, Cert("B").cert_pem); }, "tls.http.key_file",
       key_file_},
  };
  for (const Case& test : cases) {
    WriteCert(cert_);
    test.break_files();
    absl::Status status = server_->ReloadTls();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition)
        << test.name << ": " << status;
    EXPECT_TRUE(absl::StrContains(status.message(), test.key))
        << test.name << ": " << status;
    EXPECT_TRUE(absl::StrContains(status.message(), test.path))
        << test.name << ": " << status;
    EXPECT_FALSE(absl::StrContains(status.message(), secret)) << test.name;
    EXPECT_EQ(ServedFingerprint(), cert_.fingerprint) << test.name;
  }
  WriteCert(Cert("B"));
  EXPECT_TRUE(server_->ReloadTls().ok());
  EXPECT_EQ(ServedFingerprint(), Cert("B").fingerprint);
}

TEST_F(TlsServerTest, ListenRefusesACertificateItCannotRead) {
  ServerOptions options = Options();
  options.tls.cert_file = dir_ + "/missing.pem";
  Server server(io_, options);
  absl::Status status = server.Listen("127.0.0.1:0");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "tls.http.cert_file"))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), dir_ + "/missing.pem"))
      << status;
  EXPECT_EQ(server.port(), 0);
}

TEST_F(TlsServerTest, ReloadWithoutTlsIsRefused) {
  tls_ = false;
  StartEcho();
  EXPECT_FALSE(server_->tls());
  EXPECT_EQ(server_->ReloadTls().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace wagate::http
