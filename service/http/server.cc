#include "service/http/server.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http/error.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"
#include "boost/beast/http/write.hpp"
#include "service/common/log.h"

namespace wagate::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

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

// Splits "path?query" into the decoded path and decoded query pairs.
void ParseTarget(absl::string_view target, Request* request) {
  size_t question = target.find('?');
  absl::string_view path = target.substr(0, question);
  request->path = PercentDecode(path, /*plus_is_space=*/false);
  if (question == absl::string_view::npos) return;
  absl::string_view query = target.substr(question + 1);
  // Fragments are not sent by well-behaved clients; ignore one if present.
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    size_t amp = query.find('&');
    absl::string_view piece = query.substr(0, amp);
    query = amp == absl::string_view::npos ? absl::string_view()
                                           : query.substr(amp + 1);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    if (eq == absl::string_view::npos) {
      request->query.emplace_back(PercentDecode(piece, true), std::string());
    } else {
      request->query.emplace_back(PercentDecode(piece.substr(0, eq), true),
                                  PercentDecode(piece.substr(eq + 1), true));
    }
  }
}

struct Route {
  std::string method;  // "" = any
  Handler handler;
};

class Connection;

// The server's state; Server::Impl (private in server.h) derives from it so
// connections in this file can name it.
class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(net::io_context& io, ServerOptions options)
      : io_(io), options_(std::move(options)), acceptor_(io), retry_(io) {}

  void AddRoute(bool prefix, absl::string_view method, absl::string_view path,
                Handler handler) {
    Route route{std::string(method), std::move(handler)};
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

  // The handler for (method, path), or nullptr with `*allow` listing the
  // methods the path accepts (empty: the path is unknown).
  const Handler* FindRoute(absl::string_view method, const std::string& path,
                           std::vector<absl::string_view>* allow) const {
    auto match = [&](const std::vector<Route>& routes) -> const Handler* {
      for (const Route& route : routes) {
        if (route.method.empty() || route.method == method) {
          return &route.handler;
        }
      }
      for (const Route& route : routes) allow->push_back(route.method);
      return nullptr;
    };
    auto it = exact_.find(path);
    if (it != exact_.end()) {
      if (const Handler* h = match(it->second)) return h;
    }
    for (const auto& [prefix, routes] : prefixes_) {
      if (absl::StartsWith(path, prefix)) {
        if (const Handler* h = match(routes)) return h;
      }
    }
    std::sort(allow->begin(), allow->end());
    allow->erase(std::unique(allow->begin(), allow->end()), allow->end());
    return nullptr;
  }

  absl::Status Listen(absl::string_view address);
  void Stop();
  void Unregister(Connection* connection) {
    absl::MutexLock lock(&mu_);
    connections_.erase(connection);
    connections_open_.fetch_sub(1, std::memory_order_relaxed);
  }

  ServerStats stats() const {
    ServerStats s;
    s.connections_accepted =
        connections_accepted_.load(std::memory_order_relaxed);
    s.connections_rejected =
        connections_rejected_.load(std::memory_order_relaxed);
    s.connections_open = connections_open_.load(std::memory_order_relaxed);
    s.requests = requests_.load(std::memory_order_relaxed);
    return s;
  }

  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  const ServerOptions& options() const { return options_; }
  void CountRequest() { requests_.fetch_add(1, std::memory_order_relaxed); }

  std::atomic<int> port_{0};

 private:
  void AcceptLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnAccept(beast::error_code ec, tcp::socket socket);

  net::io_context& io_;
  const ServerOptions options_;
  // Routes are written before Listen and only read afterwards: no lock.
  std::unordered_map<std::string, std::vector<Route>> exact_;
  std::vector<std::pair<std::string, std::vector<Route>>> prefixes_;

  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> connections_accepted_{0};
  std::atomic<uint64_t> connections_rejected_{0};
  std::atomic<uint64_t> connections_open_{0};
  std::atomic<uint64_t> requests_{0};

  // The acceptor is touched from Listen/Stop (any thread) and from accept
  // completions (io threads); the mutex serializes them.
  mutable absl::Mutex mu_;
  tcp::acceptor acceptor_ ABSL_GUARDED_BY(mu_);
  net::steady_timer retry_ ABSL_GUARDED_BY(mu_);
  bool listening_ ABSL_GUARDED_BY(mu_) = false;
  std::string address_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_
      ABSL_GUARDED_BY(mu_);

  friend class Connection;
};

// One accepted socket. Every member is used only on the socket's strand.
// Reads one request at a time: the next request is read only after the
// response is written, which keeps pipelined responses in order.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<ServerCore> server, tcp::socket socket)
      : server_(std::move(server)), stream_(std::move(socket)) {
    beast::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = EndpointString(remote);
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }
  ~Connection() { server_->Unregister(this); }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Runs on the strand when the server stops.
  void OnStop() {
    if (state_ == State::kReading || state_ == State::kLingering) Close();
  }

  beast::tcp_stream::executor_type executor() { return stream_.get_executor(); }

  // Runs on the strand with the handler's answer.
  void OnResponse(Response response);

 private:
  enum class State { kReading, kHandling, kWriting, kLingering, kClosed };

  void WaitIdle();
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  void OnReadError(beast::error_code ec);
  void Dispatch();
  void WriteError(int status, absl::string_view text);
  void Write();
  void OnWrite(beast::error_code ec);
  void Linger();
  void Drain();
  void Close();

  std::shared_ptr<ServerCore> server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;  // reused across requests on this connection
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  std::string remote_address_;
  State state_ = State::kReading;
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
  explicit ResponderState(std::shared_ptr<Connection> connection)
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
    std::shared_ptr<Connection> connection = std::move(connection_);
    try {
      auto executor = connection->executor();
      net::dispatch(executor, [connection, r = std::move(response)]() mutable {
        connection->OnResponse(std::move(r));
      });
    } catch (const std::exception& e) {
      log::Error(kComponent, "cannot deliver response", {{"error", e.what()}});
    }
  }
  std::shared_ptr<Connection> connection_;
  std::atomic<bool> answered_{false};
};

void Connection::ReadHeader() {
  if (server_->stopping()) {
    Close();
    return;
  }
  state_ = State::kReading;
  const ServerOptions& options = server_->options();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(options.max_header_bytes, UINT32_MAX)));
  parser_->body_limit(options.max_body_bytes);
  // One deadline for the whole header block: a client trickling bytes
  // (slowloris) cannot extend it.
  stream_.expires_after(ToChrono(options.header_timeout));
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) {
        self->OnHeader(ec);
      });
}

void Connection::WaitIdle() {
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
  stream_.expires_after(ToChrono(server_->options().idle_timeout));
  stream_.async_read_some(
      buffer_.prepare(kReadChunk),
      [self = shared_from_this()](beast::error_code ec, size_t n) {
        if (ec) {  // idle timeout, peer closed, or Stop
          self->Close();
          return;
        }
        self->buffer_.commit(n);
        self->ReadHeader();
      });
}

void Connection::OnHeader(beast::error_code ec) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  if (parser_->is_done()) {
    Dispatch();
    return;
  }
  const auto expect = parser_->get()[bhttp::field::expect];
  if (absl::EqualsIgnoreCase(absl::string_view(expect.data(), expect.size()),
                             "100-continue")) {
    stream_.expires_after(ToChrono(server_->options().write_timeout));
    net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
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

void Connection::ReadBody() {
  stream_.expires_after(ToChrono(server_->options().body_timeout));
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->OnBody(ec);
                    });
}

void Connection::OnBody(beast::error_code ec) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  Dispatch();
}

void Connection::OnReadError(beast::error_code ec) {
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
    Close();  // timeout, peer gone, or Stop: nobody to answer
  }
}

void Connection::Dispatch() {
  server_->CountRequest();
  auto& message = parser_->get();
  keep_alive_ = message.keep_alive();
  version_ = message.version();
  head_ = message.method() == bhttp::verb::head;
  linger_after_write_ = false;

  Request request;
  request.method.assign(message.method_string().data(),
                        message.method_string().size());
  request.target.assign(message.target().data(), message.target().size());
  ParseTarget(request.target, &request);
  for (const auto& field : message) {
    request.headers.emplace_back(
        std::string(field.name_string().data(), field.name_string().size()),
        std::string(field.value().data(), field.value().size()));
  }
  request.body = std::move(message.body());
  request.remote_address = remote_address_;
  parser_.reset();
  state_ = State::kHandling;

  std::vector<absl::string_view> allow;
  const Handler* handler =
      server_->FindRoute(request.method, request.path, &allow);
  if (handler == nullptr) {
    if (allow.empty()) {
      OnResponse(TextResponse(404, "not found\n"));
      return;
    }
    Response response = TextResponse(405, "method not allowed\n");
    response.headers.emplace_back("Allow", absl::StrJoin(allow, ", "));
    OnResponse(std::move(response));
    return;
  }
  auto state = std::make_shared<ResponderState>(shared_from_this());
  Responder responder = [state = std::move(state)](Response response) {
    state->Answer(std::move(response));
  };
  try {
    (*handler)(std::move(request), std::move(responder));
  } catch (const std::exception& e) {
    // The dropped Responder answers 500.
    log::Error(kComponent, "handler threw", {{"error", e.what()}});
  } catch (...) {
    log::Error(kComponent, "handler threw");
  }
}

void Connection::WriteError(int status, absl::string_view text) {
  state_ = State::kHandling;
  keep_alive_ = false;
  version_ = 11;
  head_ = false;
  linger_after_write_ = true;
  OnResponse(TextResponse(status, std::string(text)));
}

void Connection::OnResponse(Response response) {
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

void Connection::Write() {
  stream_.expires_after(ToChrono(server_->options().write_timeout));
  bhttp::async_write(stream_, response_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnWrite(ec);
                     });
}

void Connection::OnWrite(beast::error_code ec) {
  if (ec) {
    Close();
    return;
  }
  if (linger_after_write_) {
    Linger();
    return;
  }
  if (close_after_write_) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    Close();
    return;
  }
  response_ = {};  // frees the body while the connection idles
  WaitIdle();
}

void Connection::Linger() {
  state_ = State::kLingering;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  buffer_.consume(buffer_.size());
  stream_.expires_after(kLingerTime);
  lingered_ = 0;
  Drain();
}

void Connection::Drain() {
  stream_.async_read_some(
      buffer_.prepare(kReadChunk),
      [self = shared_from_this()](beast::error_code ec, size_t n) {
        self->lingered_ += n;
        if (ec || self->lingered_ > kLingerMaxBytes ||
            self->state_ != State::kLingering) {
          self->Close();
          return;
        }
        self->Drain();
      });
}

void Connection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
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

  absl::MutexLock lock(&mu_);
  if (stopping()) return absl::FailedPreconditionError("server is stopped");
  if (listening_) {
    return absl::FailedPreconditionError(
        absl::StrCat("already listening on ", address_));
  }
  beast::error_code ec;
  auto fail = [&](absl::string_view what) {
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
  log::Info(kComponent, "listening", {{"address", address_}});
  AcceptLocked();
  return absl::OkStatus();
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
  std::shared_ptr<Connection>
      connection;  // outlives the lock (see ~Connection)
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
  if (connections_open_.load(std::memory_order_relaxed) >=
      options_.max_connections) {
    connections_rejected_.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    connections_accepted_.fetch_add(1, std::memory_order_relaxed);
    connections_open_.fetch_add(1, std::memory_order_relaxed);
    connection =
        std::make_shared<Connection>(shared_from_this(), std::move(socket));
    connections_.emplace(connection.get(), connection);
  }
  AcceptLocked();
  lock.Release();
  if (connection) connection->Start();
}

void ServerCore::Stop() {
  stopping_.store(true, std::memory_order_release);
  std::vector<std::shared_ptr<Connection>> open;
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

}  // namespace

class Server::Impl : public ServerCore {
 public:
  using ServerCore::ServerCore;
};

Server::Server(net::io_context& io, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Server::~Server() { Stop(); }

void Server::Handle(absl::string_view method, absl::string_view path,
                    Handler handler) {
  impl_->AddRoute(false, method, path, std::move(handler));
}

void Server::HandlePrefix(absl::string_view method, absl::string_view prefix,
                          Handler handler) {
  impl_->AddRoute(true, method, prefix, std::move(handler));
}

absl::Status Server::Listen(absl::string_view address) {
  return impl_->Listen(address);
}

int Server::port() const { return impl_->port_.load(); }

void Server::Stop() { impl_->Stop(); }

ServerStats Server::stats() const { return impl_->stats(); }

}  // namespace wagate::http
