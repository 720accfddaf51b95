#include "service/http/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/ssl/context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http/error.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"
#include "boost/beast/http/write.hpp"
#include "boost/beast/ssl/ssl_stream.hpp"
#include "openssl/crypto.h"
#include "openssl/err.h"
#include "openssl/ssl.h"
#include "service/common/log.h"
#include "service/http/target.h"

namespace wagate::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr absl::string_view kComponent = "http";
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
// After an error response the socket is drained for a moment before closing,
// so the kernel does not answer unread request bytes with a RST that would
// destroy the response before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr size_t kLingerMaxBytes = 1 << 20;
constexpr size_t kReadChunk = 16 << 10;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

std::string EndpointString(const tcp::endpoint& endpoint) {
  const net::ip::address address = endpoint.address();
  if (address.is_v6()) {
    return absl::StrCat("[", address.to_string(), "]:", endpoint.port());
  }
  return absl::StrCat(address.to_string(), ":", endpoint.port());
}

// Whom max_connections_per_ip counts together: an IPv4 address, or the /64
// of an IPv6 one (a single host is usually given a whole /64). IPv4-mapped
// IPv6 addresses (a dual-stack listener) count as their IPv4 address.
std::string ClientKey(const net::ip::address& address) {
  if (address.is_v4()) return address.to_v4().to_string();
  const net::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
  }
  net::ip::address_v6::bytes_type bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return absl::StrCat(net::ip::address_v6(bytes).to_string(), "/64");
}

// The text of `path`; the error names `key` and the path only.
absl::StatusOr<std::string> ReadFile(const std::string& key,
                                     const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat(key, ": cannot read ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::FailedPreconditionError(
        absl::StrCat(key, ": cannot read ", path));
  }
  return std::move(text).str();
}

// A server TLS context (TLS 1.2+) with the certificate chain and key of
// `tls`. Errors name the config key and path, never the files' contents.
absl::StatusOr<std::shared_ptr<ssl::context>> LoadTlsContext(
    const ServerTls& tls) {
  const std::string cert_key = absl::StrCat(tls.config_key, ".cert_file");
  const std::string key_key = absl::StrCat(tls.config_key, ".key_file");
  if (tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(tls.config_key, ": cert_file and key_file go together"));
  }
  absl::StatusOr<std::string> cert = ReadFile(cert_key, tls.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(key_key, tls.key_file);
  if (!key.ok()) return key.status();
  // The key's bytes are wiped however this returns.
  struct Wipe {
    std::string& text;
    ~Wipe() { OPENSSL_cleanse(text.data(), text.size()); }
  } wipe{*key};
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // No renegotiation: a client could make the server redo handshakes at will.
  // Cipher choice follows our (OpenSSL's) order, not the client's.
  SSL_CTX_set_options(
      native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  context->set_options(ssl::context::default_workarounds |
                       ssl::context::no_compression |
                       ssl::context::single_dh_use);
  // An encrypted key must fail, not prompt on a terminal for a passphrase.
  context->set_password_callback(
      [](size_t, ssl::context::password_purpose) { return std::string(); });
  auto fail = [&](const std::string& what) {
    ERR_clear_error();
    return absl::FailedPreconditionError(what);
  };
  beast::error_code ec;
  context->use_certificate_chain(net::buffer(*cert), ec);
  if (ec) {
    return fail(absl::StrCat(cert_key, ": ", tls.cert_file,
                             " is not a PEM certificate chain (", ec.message(),
                             ")"));
  }
  context->use_private_key(net::buffer(*key), ssl::context::pem, ec);
  if (ec) {
    return fail(absl::StrCat(key_key, ": ", tls.key_file,
                             " is not an unencrypted PEM private key (",
                             ec.message(), ")"));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return fail(absl::StrCat(key_key, ": ", tls.key_file,
                             " does not match the certificate in ",
                             tls.cert_file));
  }
  return context;
}

struct Route {
  std::string method;  // "" = any
  Handler handler;
  RouteOptions options;
};

class ConnectionBase;

// The server's state; Server::Impl (private in server.h) derives from it so
// connections in this file can name it.
class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(net::io_context& io, ServerOptions options)
      : io_(io),
        options_(std::move(options)),
        acceptor_(io),
        retry_(io),
        max_connections_(options_.max_connections) {}

  void AddRoute(bool prefix, absl::string_view method, absl::string_view path,
                Handler handler, RouteOptions options) {
    Route route{std::string(method), std::move(handler), std::move(options)};
    if (!prefix) {
      exact_[std::string(path)].push_back(std::move(route));
      return;
    }
    for (auto& [existing, routes] : prefixes_) {
      if (existing == path) {
        routes.push_back(std::move(route));
        return;
      }
    }
    prefixes_.emplace_back(std::string(path), std::vector<Route>{});
    prefixes_.back().second.push_back(std::move(route));
    // Longest prefix first so the first match is the most specific.
    std::stable_sort(prefixes_.begin(), prefixes_.end(),
                     [](const auto& a, const auto& b) {
                       return a.first.size() > b.first.size();
                     });
  }

  // The route for (method, path), or nullptr with `*allow` listing the
  // methods the path accepts (empty: the path is unknown).
  const Route* FindRoute(absl::string_view method, const std::string& path,
                         std::vector<absl::string_view>* allow) const {
    auto match = [&](const std::vector<Route>& routes) -> const Route* {
      for (const Route& route : routes) {
        if (route.method.empty() || route.method == method) return &route;
      }
      for (const Route& route : routes) allow->push_back(route.method);
      return nullptr;
    };
    auto it = exact_.find(path);
    if (it != exact_.end()) {
      if (const Route* r = match(it->second)) return r;
    }
    for (const auto& [prefix, routes] : prefixes_) {
      if (absl::StartsWith(path, prefix)) {
        if (const Route* r = match(routes)) return r;
      }
    }
    std::sort(allow->begin(), allow->end());
    allow->erase(std::unique(allow->begin(), allow->end()), allow->end());
    return nullptr;
  }

  absl::Status Listen(absl::string_view address);
  absl::Status ReloadTls();
  void Stop();
  // `client` is the connection's per-client key (ClientKey).
  void Unregister(ConnectionBase* connection, const std::string& client) {
    absl::MutexLock lock(&mu_);
    connections_.erase(connection);
    connections_open_.fetch_sub(1, std::memory_order_relaxed);
    auto it = per_client_.find(client);
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
  }

  ServerStats stats() const {
    ServerStats s;
    s.connections_accepted =
        connections_accepted_.load(std::memory_order_relaxed);
    s.connections_rejected =
        connections_rejected_.load(std::memory_order_relaxed);
    s.connections_rejected_per_ip =
        connections_rejected_per_ip_.load(std::memory_order_relaxed);
    s.connections_open = connections_open_.load(std::memory_order_relaxed);
    s.requests = requests_.load(std::memory_order_relaxed);
    s.requests_refused_at_header =
        requests_refused_at_header_.load(std::memory_order_relaxed);
    return s;
  }

  size_t max_connections() const {
    absl::MutexLock lock(&mu_);
    return max_connections_;
  }

  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  const ServerOptions& options() const { return options_; }
  void CountRequest() { requests_.fetch_add(1, std::memory_order_relaxed); }
  void CountRefusedAtHeader() {
    requests_refused_at_header_.fetch_add(1, std::memory_order_relaxed);
  }

  std::atomic<int> port_{0};

 private:
  void AcceptLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnAccept(beast::error_code ec, tcp::socket socket);
  // Lowers max_connections_ to what the open-file limit leaves.
  void ClampToFileLimitLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  net::io_context& io_;
  const ServerOptions options_;
  // Routes are written before Listen and only read afterwards: no lock.
  std::unordered_map<std::string, std::vector<Route>> exact_;
  std::vector<std::pair<std::string, std::vector<Route>>> prefixes_;

  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> connections_accepted_{0};
  std::atomic<uint64_t> connections_rejected_{0};
  std::atomic<uint64_t> connections_rejected_per_ip_{0};
  std::atomic<uint64_t> connections_open_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> requests_refused_at_header_{0};

  // The acceptor is touched from Listen/Stop (any thread) and from accept
  // completions (io threads); the mutex serializes them.
  mutable absl::Mutex mu_;
  tcp::acceptor acceptor_ ABSL_GUARDED_BY(mu_);
  net::steady_timer retry_ ABSL_GUARDED_BY(mu_);
  bool listening_ ABSL_GUARDED_BY(mu_) = false;
  std::string address_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<ConnectionBase*, std::weak_ptr<ConnectionBase>>
      connections_ ABSL_GUARDED_BY(mu_);
  size_t max_connections_ ABSL_GUARDED_BY(mu_);
  // Open connections per client key; keys at zero are erased.
  std::unordered_map<std::string, size_t> per_client_ ABSL_GUARDED_BY(mu_);
  // The certificate new connections get; replaced by ReloadTls. Each TLS
  // connection holds the one it was accepted with.
  std::shared_ptr<ssl::context> tls_context_ ABSL_GUARDED_BY(mu_);
  // Serializes reloads (file reading happens outside mu_).
  absl::Mutex reload_mu_;
};

// What the server and Responders need of a connection, whatever its stream.
class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  explicit ConnectionBase(std::shared_ptr<ServerCore> server)
      : server_(std::move(server)) {}
  virtual ~ConnectionBase() { server_->Unregister(this, client_key_); }

  // Set once at accept, before Start.
  void set_client_key(std::string key) { client_key_ = std::move(key); }

  virtual void Start() = 0;
  // Runs on the strand when the server stops.
  virtual void OnStop() = 0;
  // Runs on the strand with the handler's answer.
  virtual void OnResponse(Response response) = 0;
  virtual net::any_io_executor executor() = 0;

 protected:
  std::shared_ptr<ServerCore> server_;

 private:
  std::string client_key_;
};

// One accepted socket, plaintext (Stream = beast::tcp_stream) or TLS
// (TlsStream): one request-handling path for both, with every deadline set on
// the TCP layer underneath. Every member is used only on the socket's strand.
// Reads one request at a time: the next request is read only after the
// response is written, which keeps pipelined responses in order.
template <class Stream>
class Connection final : public ConnectionBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `context` is the TLS certificate (null for plaintext); the connection
  // keeps it for its lifetime, whatever ReloadTls does meanwhile.
  Connection(std::shared_ptr<ServerCore> server,
             std::shared_ptr<ssl::context> context, tcp::socket socket)
      : ConnectionBase(std::move(server)),
        context_(std::move(context)),
        stream_(MakeStream(std::move(socket), context_.get())) {
    beast::error_code ec;
    tcp::endpoint remote = tcp().socket().remote_endpoint(ec);
    if (!ec) remote_address_ = EndpointString(remote);
    tcp().socket().set_option(tcp::no_delay(true), ec);
  }

  void Start() override {
    net::dispatch(stream_.get_executor(), [self = self()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->ReadHeader();
      }
    });
  }

  void OnStop() override {
    if (state_ == State::kHandshaking || state_ == State::kReading ||
        state_ == State::kLingering) {
      Close();
    }
  }

  net::any_io_executor executor() override { return stream_.get_executor(); }

  void OnResponse(Response response) override;

 private:
  enum class State {
    kHandshaking,
    kReading,
    kHandling,
    kWriting,
    kLingering,
    kClosed
  };

  static Stream MakeStream(tcp::socket socket, ssl::context* context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *context);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Connection> self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }
  // The TCP stream: where deadlines are set, for TLS too.
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  void Handshake();
  void WaitIdle();
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  void OnReadError(beast::error_code ec);
  // Checks the request from its header block alone; false if it was
  // refused (and is being answered).
  bool Admit();
  void Refuse(Response response);
  void Dispatch();
  void WriteError(int status, absl::string_view text);
  void Write();
  void OnWrite(beast::error_code ec);
  void CloseAfterWrite();
  void Linger();
  void Drain();
  void Close();

  std::shared_ptr<ssl::context> context_;  // before stream_, which uses it
  Stream stream_;
  beast::flat_buffer buffer_;  // reused across requests on this connection
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  // The request being read: everything but the body once the header block
  // is in, and the route it goes to.
  Request request_;
  const Route* route_ = nullptr;
  bhttp::response<bhttp::string_body> response_;
  std::string remote_address_;
  State state_ = kTls ? State::kHandshaking : State::kReading;
  bool keep_alive_ = false;
  bool close_after_write_ = false;
  bool linger_after_write_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  size_t lingered_ = 0;
};

// Shared by all copies of one Responder; answers 500 if none was called.
class ResponderState {
 public:
  explicit ResponderState(std::shared_ptr<ConnectionBase> connection)
      : connection_(std::move(connection)) {}
  ~ResponderState() {
    if (!answered_.exchange(true)) Send(TextResponse(500, "no response\n"));
  }
  void Answer(Response response) {
    if (answered_.exchange(true)) return;  // second call: ignored
    Send(std::move(response));
  }

 private:
  void Send(Response response) {
    // The connection's strand serializes this with everything else on the
    // socket, whichever thread the handler answered from.
    std::shared_ptr<ConnectionBase> connection = std::move(connection_);
    try {
      auto executor = connection->executor();
      net::dispatch(executor, [connection, r = std::move(response)]() mutable {
        connection->OnResponse(std::move(r));
      });
    } catch (const std::exception& e) {
      log::Error(kComponent, "cannot deliver response", {{"error", e.what()}});
    }
  }
  std::shared_ptr<ConnectionBase> connection_;
  std::atomic<bool> answered_{false};
};

template <class Stream>
void Connection<Stream>::Handshake() {
  if (server_->stopping()) {
    Close();
    return;
  }
  state_ = State::kHandshaking;
  // A client that connects and says nothing (or too little) is cut off like
  // one that does not finish its headers.
  tcp().expires_after(ToChrono(server_->options().header_timeout));
  stream_.async_handshake(
      ssl::stream_base::server, [self = self()](beast::error_code ec) {
        if (ec) {
          // Plaintext clients, scanners, timeouts: nothing to answer.
          if (log::Enabled(log::Level::kDebug)) {
            log::Debug(
                kComponent, "TLS handshake failed",
                {{"remote", self->remote_address_}, {"error", ec.message()}});
          }
          self->Close();
          return;
        }
        self->ReadHeader();
      });
}

template <class Stream>
void Connection<Stream>::ReadHeader() {
  if (server_->stopping()) {
    Close();
    return;
  }
  state_ = State::kReading;
  const ServerOptions& options = server_->options();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(options.max_header_bytes, UINT32_MAX)));
  // No body limit while the header is parsed: Admit checks a declared
  // Content-Length after the route (an unknown path is a 404 whatever its
  // size), then sets the limit for the body.
  parser_->body_limit(boost::none);
  // One deadline for the whole header block: a client trickling bytes
  // (slowloris) cannot extend it.
  tcp().expires_after(ToChrono(options.header_timeout));
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = self()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

template <class Stream>
void Connection<Stream>::WaitIdle() {
  if (server_->stopping()) {
    Close();
    return;
  }
  state_ = State::kReading;
  if (buffer_.size() > 0) {  // a pipelined request is already here
    ReadHeader();
    return;
  }
  // Between requests the idle timeout applies; the header timeout starts
  // with the first byte of the next request.
  tcp().expires_after(ToChrono(server_->options().idle_timeout));
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          [self = self()](beast::error_code ec, size_t n) {
                            if (ec) {  // idle timeout, peer closed, or Stop
                              self->Close();
                              return;
                            }
                            self->buffer_.commit(n);
                            self->ReadHeader();
                          });
}

template <class Stream>
void Connection<Stream>::OnHeader(beast::error_code ec) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  if (!Admit()) return;
  // Chunked bodies are counted against the limit as they arrive.
  parser_->body_limit(server_->options().max_body_bytes);
  if (parser_->is_done()) {
    Dispatch();
    return;
  }
  const auto expect = parser_->get()[bhttp::field::expect];
  if (absl::EqualsIgnoreCase(absl::string_view(expect.data(), expect.size()),
                             "100-continue")) {
    tcp().expires_after(ToChrono(server_->options().write_timeout));
    net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                     [self = self()](beast::error_code ec, size_t) {
                       if (ec) {
                         self->Close();
                         return;
                       }
                       self->ReadBody();
                     });
    return;
  }
  ReadBody();
}

template <class Stream>
void Connection<Stream>::ReadBody() {
  tcp().expires_after(ToChrono(server_->options().body_timeout));
  bhttp::async_read(
      stream_, buffer_, *parser_,
      [self = self()](beast::error_code ec, size_t) { self->OnBody(ec); });
}

template <class Stream>
void Connection<Stream>::OnBody(beast::error_code ec) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  Dispatch();
}

template <class Stream>
void Connection<Stream>::OnReadError(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  if (ec == bhttp::error::body_limit) {
    WriteError(413, "request body too large\n");
  } else if (ec == bhttp::error::header_limit ||
             ec == bhttp::error::buffer_overflow) {
    WriteError(431, "request header fields too large\n");
  } else if (ec.category() ==
                 bhttp::make_error_code(bhttp::error::bad_method).category() &&
             ec != bhttp::error::end_of_stream &&
             ec != bhttp::error::partial_message &&
             ec != bhttp::error::short_read) {
    WriteError(400, "bad request\n");
  } else {
    Close();  // timeout, peer gone, TLS error, or Stop: nobody to answer
  }
}

template <class Stream>
bool Connection<Stream>::Admit() {
  server_->CountRequest();
  auto& message = parser_->get();
  keep_alive_ = message.keep_alive();
  version_ = message.version();
  head_ = message.method() == bhttp::verb::head;
  linger_after_write_ = false;

  request_ = Request();
  request_.method.assign(message.method_string().data(),
                         message.method_string().size());
  request_.target.assign(message.target().data(), message.target().size());
  ParseTarget(request_.target, &request_);
  for (const auto& field : message) {
    request_.headers.emplace_back(
        std::string(field.name_string().data(), field.name_string().size()),
        std::string(field.value().data(), field.value().size()));
  }
  request_.remote_address = remote_address_;

  std::vector<absl::string_view> allow;
  route_ = server_->FindRoute(request_.method, request_.path, &allow);
  if (route_ == nullptr) {
    if (allow.empty()) {
      Refuse(TextResponse(404, "not found\n"));
      return false;
    }
    Response response = TextResponse(405, "method not allowed\n");
    response.headers.emplace_back("Allow", absl::StrJoin(allow, ", "));
    Refuse(std::move(response));
    return false;
  }
  const boost::optional<std::uint64_t> length = parser_->content_length();
  if (length.has_value() && *length > server_->options().max_body_bytes) {
    Refuse(TextResponse(413, "request body too large\n"));
    return false;
  }
  for (const std::string& name : route_->options.required_headers) {
    if (!request_.Header(name).empty()) continue;
    Response response;
    if (route_->options.on_missing_header) {
      try {
        response = route_->options.on_missing_header(request_, name);
      } catch (const std::exception& e) {
        log::Error(kComponent, "on_missing_header threw",
                   {{"error", e.what()}});
        response = TextResponse(500, "no response\n");
      }
    } else {
      response = TextResponse(400, absl::StrCat("missing header ", name, "\n"));
    }
    Refuse(std::move(response));
    return false;
  }
  return true;
}

template <class Stream>
void Connection<Stream>::Refuse(Response response) {
  server_->CountRefusedAtHeader();
  // A body the client may still be sending is not read: close after the
  // answer (draining a little so the answer is not lost to a reset).
  if (!parser_->is_done()) {
    keep_alive_ = false;
    linger_after_write_ = true;
  }
  parser_.reset();
  request_ = Request();
  route_ = nullptr;
  state_ = State::kHandling;
  OnResponse(std::move(response));
}

template <class Stream>
void Connection<Stream>::Dispatch() {
  Request request = std::move(request_);
  request.body = std::move(parser_->get().body());
  parser_.reset();
  const Route* route = route_;
  route_ = nullptr;
  state_ = State::kHandling;

  auto state = std::make_shared<ResponderState>(shared_from_this());
  Responder responder = [state = std::move(state)](Response response) {
    state->Answer(std::move(response));
  };
  try {
    route->handler(std::move(request), std::move(responder));
  } catch (const std::exception& e) {
    // The dropped Responder answers 500.
    log::Error(kComponent, "handler threw", {{"error", e.what()}});
  } catch (...) {
    log::Error(kComponent, "handler threw");
  }
}

template <class Stream>
void Connection<Stream>::WriteError(int status, absl::string_view text) {
  state_ = State::kHandling;
  keep_alive_ = false;
  version_ = 11;
  head_ = false;
  linger_after_write_ = true;
  OnResponse(TextResponse(status, std::string(text)));
}

template <class Stream>
void Connection<Stream>::OnResponse(Response response) {
  if (state_ != State::kHandling) return;
  state_ = State::kWriting;
  if (response.drop_connection) {
    Close();
    return;
  }
  bool keep_alive = keep_alive_ && !server_->stopping() &&
                    !absl::EqualsIgnoreCase(
                        FindHeader(response.headers, "Connection"), "close");
  try {
    response_ = {};
    response_.version(version_);
    int status = response.status;
    if (status < 100 || status > 999) status = 500;
    response_.result(static_cast<unsigned>(status));
    response_.set(bhttp::field::server, "wagate");
    if (!response.content_type.empty()) {
      response_.set(bhttp::field::content_type, response.content_type);
    }
    for (const auto& [name, value] : response.headers) {
      // Framing headers are ours to set.
      if (absl::EqualsIgnoreCase(name, "Connection") ||
          absl::EqualsIgnoreCase(name, "Content-Length") ||
          absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
        continue;
      }
      response_.insert(name, value);
    }
    bool bodiless = status < 200 || status == 204 || status == 304;
    if (!bodiless) {
      response_.content_length(response.body.size());
      if (!head_) response_.body() = std::move(response.body);
    }
    response_.keep_alive(keep_alive);
  } catch (const std::exception& e) {
    log::Error(kComponent, "cannot build response", {{"error", e.what()}});
    Close();
    return;
  }
  close_after_write_ = !keep_alive;
  Write();
}

template <class Stream>
void Connection<Stream>::Write() {
  tcp().expires_after(ToChrono(server_->options().write_timeout));
  bhttp::async_write(
      stream_, response_,
      [self = self()](beast::error_code ec, size_t) { self->OnWrite(ec); });
}

template <class Stream>
void Connection<Stream>::OnWrite(beast::error_code ec) {
  if (ec) {
    Close();
    return;
  }
  if (linger_after_write_) {
    Linger();
    return;
  }
  if (close_after_write_) {
    CloseAfterWrite();
    return;
  }
  response_ = {};  // frees the body while the connection idles
  WaitIdle();
}

template <class Stream>
void Connection<Stream>::CloseAfterWrite() {
  if constexpr (kTls) {
    // close_notify tells the client the response ended here and was not cut
    // off; a client that never answers it gets kLingerTime.
    tcp().expires_after(kLingerTime);
    stream_.async_shutdown(
        [self = self()](beast::error_code) { self->Close(); });
  } else {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Close();
  }
}

template <class Stream>
void Connection<Stream>::Linger() {
  state_ = State::kLingering;
  beast::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
  buffer_.consume(buffer_.size());
  tcp().expires_after(kLingerTime);
  lingered_ = 0;
  Drain();
}

template <class Stream>
void Connection<Stream>::Drain() {
  // Raw bytes off the TCP layer (for TLS too: they are only discarded).
  tcp().async_read_some(buffer_.prepare(kReadChunk),
                        [self = self()](beast::error_code ec, size_t n) {
                          self->lingered_ += n;
                          if (ec || self->lingered_ > kLingerMaxBytes ||
                              self->state_ != State::kLingering) {
                            self->Close();
                            return;
                          }
                          self->Drain();
                        });
}

template <class Stream>
void Connection<Stream>::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  beast::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().close();
}

absl::Status ServerCore::Listen(absl::string_view address) {
  absl::string_view host;
  absl::string_view port_text;
  if (absl::StartsWith(address, "[")) {
    size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad listen address \"", address,
                       "\": want host:port or [ipv6]:port"));
    }
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad listen address \"", address, "\": want host:port"));
    }
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad port in listen address \"", address, "\""));
  }
  net::ip::address ip;
  if (host.empty() || host == "*") {
    ip = net::ip::address_v4::any();
  } else if (absl::EqualsIgnoreCase(host, "localhost")) {
    ip = net::ip::address_v4::loopback();
  } else {
    beast::error_code ec;
    ip = net::ip::make_address(std::string(host), ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad host in listen address \"", address, "\""));
    }
  }
  tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));

  std::shared_ptr<ssl::context> tls_context;
  if (!options_.tls.cert_file.empty()) {
    absl::StatusOr<std::shared_ptr<ssl::context>> loaded =
        LoadTlsContext(options_.tls);
    if (!loaded.ok()) return loaded.status();
    tls_context = *std::move(loaded);
  }

  absl::MutexLock lock(&mu_);
  if (stopping()) return absl::FailedPreconditionError("server is stopped");
  if (listening_) {
    return absl::FailedPreconditionError(
        absl::StrCat("already listening on ", address_));
  }
  beast::error_code ec;
  auto fail = [&](absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    std::string message = absl::StrCat(what, " ", address, ": ", ec.message());
    if (ec == net::error::address_in_use) {
      return absl::UnavailableError(
          absl::StrCat("address ", address, " in use: ", ec.message()));
    }
    if (ec == net::error::access_denied) {
      return absl::PermissionDeniedError(message);
    }
    return absl::UnavailableError(message);
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("cannot open socket for");
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("cannot set SO_REUSEADDR for");
  acceptor_.bind(endpoint, ec);
  if (ec) return fail("cannot bind");
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on");
  tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) return fail("cannot read the bound port of");
  port_.store(bound.port());
  listening_ = true;
  address_ = EndpointString(bound);
  tls_context_ = std::move(tls_context);
  ClampToFileLimitLocked();
  log::Info(kComponent, "listening",
            {{"address", address_},
             {"tls", tls_context_ ? "true" : "false"},
             {"max_connections", absl::StrCat(max_connections_)}});
  AcceptLocked();
  return absl::OkStatus();
}

void ServerCore::ClampToFileLimitLocked() {
  size_t limit = options_.open_files_limit;
  if (limit == 0) {
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0 ||
        nofile.rlim_cur == RLIM_INFINITY) {
      return;
    }
    limit = static_cast<size_t>(nofile.rlim_cur);
  }
  // What accepting may use; a limit below the reserve still leaves half of
  // it to connections rather than none.
  const size_t allowed = limit > options_.reserved_fds
                             ? limit - options_.reserved_fds
                             : std::max<size_t>(1, limit / 2);
  if (max_connections_ <= allowed) return;
  log::Warning(kComponent,
               "max_connections lowered to fit the open-file limit (raise "
               "`ulimit -n` to allow more)",
               {{"address", address_},
                {"configured", absl::StrCat(max_connections_)},
                {"max_connections", absl::StrCat(allowed)},
                {"open_files_limit", absl::StrCat(limit)},
                {"reserved_fds", absl::StrCat(options_.reserved_fds)}});
  max_connections_ = allowed;
}

void ServerCore::AcceptLocked() {
  acceptor_.async_accept(
      net::make_strand(io_),
      [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        self->OnAccept(ec, std::move(socket));
      });
}

void ServerCore::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) return;
  std::shared_ptr<ConnectionBase>
      connection;  // outlives the lock (see ~ConnectionBase)
  absl::ReleasableMutexLock lock(&mu_);
  if (stopping() || !acceptor_.is_open()) {
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  if (ec) {
    // Usually out of file descriptors: back off instead of spinning.
    log::Warning(kComponent, "accept failed", {{"error", ec.message()}});
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      absl::MutexLock lock(&self->mu_);
      if (self->stopping() || !self->acceptor_.is_open()) return;
      self->AcceptLocked();
    });
    return;
  }
  beast::error_code remote_ec;
  const tcp::endpoint remote = socket.remote_endpoint(remote_ec);
  const std::string client =
      remote_ec ? std::string() : ClientKey(remote.address());
  size_t* from_client = nullptr;  // the client's open connections
  if (!client.empty() && options_.max_connections_per_ip > 0) {
    from_client = &per_client_[client];
  }
  if (remote_ec) {
    // Gone before we looked (reset while queued): nothing to serve.
    beast::error_code ignored;
    socket.close(ignored);
  } else if (connections_open_.load(std::memory_order_relaxed) >=
             max_connections_) {
    connections_rejected_.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.close(ignored);
  } else if (from_client != nullptr &&
             *from_client >= options_.max_connections_per_ip) {
    connections_rejected_per_ip_.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    connections_accepted_.fetch_add(1, std::memory_order_relaxed);
    connections_open_.fetch_add(1, std::memory_order_relaxed);
    if (tls_context_ != nullptr) {
      connection = std::make_shared<Connection<TlsStream>>(
          shared_from_this(), tls_context_, std::move(socket));
    } else {
      connection = std::make_shared<Connection<beast::tcp_stream>>(
          shared_from_this(), nullptr, std::move(socket));
    }
    if (from_client != nullptr) {
      ++*from_client;
      connection->set_client_key(client);
    }
    connections_.emplace(connection.get(), connection);
  }
  // A refused first connection must not leave its key behind.
  if (from_client != nullptr && *from_client == 0) per_client_.erase(client);
  AcceptLocked();
  lock.Release();
  if (connection) connection->Start();
}

void ServerCore::Stop() {
  stopping_.store(true, std::memory_order_release);
  std::vector<std::shared_ptr<ConnectionBase>> open;
  {
    absl::MutexLock lock(&mu_);
    beast::error_code ignored;
    if (acceptor_.is_open()) acceptor_.close(ignored);
    retry_.cancel();
    if (listening_) {
      log::Info(kComponent, "stopping", {{"address", address_}});
      listening_ = false;
    }
    open.reserve(connections_.size());
    for (auto& [raw, weak] : connections_) {
      if (auto connection = weak.lock()) open.push_back(std::move(connection));
    }
  }
  // Dropping these may destroy connections, which takes mu_: not under it.
  for (auto& connection : open) {
    auto executor = connection->executor();
    net::post(executor,
              [connection = std::move(connection)] { connection->OnStop(); });
  }
}

absl::Status ServerCore::ReloadTls() {
  if (options_.tls.cert_file.empty()) {
    return absl::FailedPreconditionError("TLS is not configured");
  }
  absl::MutexLock reload(&reload_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (tls_context_ == nullptr) {
      return absl::FailedPreconditionError("not listening");
    }
  }
  // Files are read and parsed outside mu_, which accepts wait on.
  absl::StatusOr<std::shared_ptr<ssl::context>> loaded =
      LoadTlsContext(options_.tls);
  if (!loaded.ok()) return loaded.status();
  std::shared_ptr<ssl::context> old;  // freed outside the lock
  {
    absl::MutexLock lock(&mu_);
    old = std::move(tls_context_);
    tls_context_ = *std::move(loaded);
  }
  return absl::OkStatus();
}

}  // namespace

class Server::Impl : public ServerCore {
 public:
  using ServerCore::ServerCore;
};

Server::Server(net::io_context& io, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Server::~Server() { Stop(); }

void Server::Handle(absl::string_view method, absl::string_view path,
                    Handler handler, RouteOptions options) {
  impl_->AddRoute(false, method, path, std::move(handler), std::move(options));
}

void Server::HandlePrefix(absl::string_view method, absl::string_view prefix,
                          Handler handler, RouteOptions options) {
  impl_->AddRoute(true, method, prefix, std::move(handler), std::move(options));
}

absl::Status Server::Listen(absl::string_view address) {
  return impl_->Listen(address);
}

int Server::port() const { return impl_->port_.load(); }

size_t Server::max_connections() const { return impl_->max_connections(); }

bool Server::tls() const { return !impl_->options().tls.cert_file.empty(); }

absl::Status Server::ReloadTls() { return impl_->ReloadTls(); }

void Server::Stop() { impl_->Stop(); }

ServerStats Server::stats() const { return impl_->stats(); }

}  // namespace wagate::http
