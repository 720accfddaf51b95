#include "emulator/webhook_transport.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/ip/address.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http/parser.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"

namespace wagate::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

absl::StatusOr<HttpTarget> ParseHttpUrl(absl::string_view url) {
  if (!absl::StartsWithIgnoreCase(url, "http://")) {
    return absl::InvalidArgumentError("not an http:// URL");
  }
  absl::string_view rest = url.substr(7);
  size_t slash = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, slash);
  HttpTarget t;
  t.target = slash == absl::string_view::npos
                 ? "/"
                 : std::string(rest.substr(slash, rest.find('#') - slash));
  if (t.target.empty() || t.target[0] != '/') t.target.insert(0, "/");
  if (authority.empty() || absl::StrContains(authority, '@')) {
    return absl::InvalidArgumentError("bad authority in URL");
  }
  absl::string_view host = authority, port;
  if (authority[0] == '[') {  // [v6 address]:port
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("bad IPv6 address in URL");
    }
    host = authority.substr(1, close - 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return absl::InvalidArgumentError("bad port");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':');
             colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  int port_number = 80;
  if (!port.empty() && (!absl::SimpleAtoi(port, &port_number) ||
                        port_number <= 0 || port_number > 65535)) {
    return absl::InvalidArgumentError("bad port in URL");
  }
  if (host.empty()) return absl::InvalidArgumentError("no host in URL");
  t.host = std::string(host);
  t.port = std::to_string(port_number);
  return t;
}

namespace {

struct Job {
  std::string head;  // request line and headers
  std::string body;
  WebhookTransport::Callback done;
};

}  // namespace

class WebhookTransport::Impl : public std::enable_shared_from_this<Impl> {
 public:
  class Conn;

  Impl(asio::io_context& io, HttpTarget target,
       WebhookTransportOptions options);

  void Start();
  void Post(std::string body, const http::HeaderList& headers, Callback done);
  void Stop();
  WebhookTransportStats stats() const;

 private:
  friend class Conn;
  // A finished connection takes the next queued job, or goes idle.
  std::optional<Job> NextOrIdle(Conn* conn);
  bool stopped() const {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }
  void ArmSweep();
  void Sweep();

  asio::io_context& io_;
  const HttpTarget target_;
  const WebhookTransportOptions options_;
  const std::string head_prefix_;  // "POST /path HTTP/1.1\r\nHost: h:p\r\n"
  // Deadlines are checked by one periodic sweep rather than a timer per
  // request: re-arming a timer per request is a timerfd syscall each.
  const Clock::duration timeout_;
  const Clock::duration sweep_period_;
  asio::steady_timer sweep_timer_;  // touched by Start and its handler only

  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::shared_ptr<Conn>> conns_ ABSL_GUARDED_BY(mu_);
  std::vector<Conn*> idle_ ABSL_GUARDED_BY(mu_);  // LIFO: warm ones first
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> requests_{0}, connects_{0}, resent_{0}, timeouts_{0},
      failures_{0};
};

// One persistent connection; everything it does runs on its strand.
class WebhookTransport::Impl::Conn : public std::enable_shared_from_this<Conn> {
 public:
  using Strand = asio::strand<asio::io_context::executor_type>;

  explicit Conn(std::shared_ptr<Impl> impl)
      : impl_(std::move(impl)),
        strand_(asio::make_strand(impl_->io_)),
        socket_(strand_),
        resolver_(strand_) {}

  const Strand& strand() const { return strand_; }

  // Clock ticks of the running request's deadline; 0 while idle.
  int64_t deadline() const { return deadline_.load(std::memory_order_relaxed); }

  void Run(Job job) {
    job_ = std::move(job);
    resent_ = false;
    timed_out_ = false;
    deadline_.store((Clock::now() + impl_->timeout_).time_since_epoch().count(),
                    std::memory_order_relaxed);
    if (socket_.is_open()) {
      reused_ = true;
      Write();
    } else {
      reused_ = false;
      Connect();
    }
  }

  // From the sweep: closes the connection if its request is overdue.
  void Expire() {
    int64_t d = deadline();
    if (d == 0 || Clock::now().time_since_epoch().count() < d) return;
    timed_out_ = true;
    Close();
  }

  // From Stop: fails the running request (if any) and closes.
  void Shutdown() { Close(); }

 private:
  void Close() {
    boost::system::error_code ignored;
    resolver_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  void Connect() {
    impl_->connects_.fetch_add(1, std::memory_order_relaxed);
    buffer_.clear();
    boost::system::error_code ec;
    asio::ip::address address = asio::ip::make_address(impl_->target_.host, ec);
    if (!ec) {
      unsigned short port =
          static_cast<unsigned short>(std::stoi(impl_->target_.port));
      socket_.async_connect(
          tcp::endpoint(address, port),
          [self = shared_from_this()](boost::system::error_code ec) {
            self->OnConnect(ec);
          });
      return;
    }
    resolver_.async_resolve(
        impl_->target_.host, impl_->target_.port,
        [self = shared_from_this()](
            boost::system::error_code ec,
            asio::ip::tcp::resolver::results_type results) {
          if (ec) return self->OnBroken(ec, false);
          asio::async_connect(
              self->socket_, results,
              [self](boost::system::error_code ec, const tcp::endpoint&) {
                self->OnConnect(ec);
              });
        });
  }

  void OnConnect(boost::system::error_code ec) {
    if (ec) return OnBroken(ec, false);
    socket_.set_option(tcp::no_delay(true), ec);
    Write();
  }

  void Write() {
    std::array<asio::const_buffer, 2> buffers = {asio::buffer(job_->head),
                                                 asio::buffer(job_->body)};
    asio::async_write(
        socket_, buffers,
        [self = shared_from_this()](boost::system::error_code ec, size_t) {
          if (ec) return self->OnBroken(ec, false);
          self->Read();
        });
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(impl_->options_.max_response_bytes);
    beast::http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](boost::system::error_code ec, size_t) {
          if (ec) return self->OnBroken(ec, self->parser_->got_some());
          self->OnAnswer();
        });
  }

  void OnAnswer() {
    const auto& response = parser_->get();
    int status = response.result_int();
    if (!response.keep_alive()) Close();
    Finish(status);
  }

  // A transport error; `answered`: some of the answer had arrived.
  void OnBroken(boost::system::error_code ec, bool answered) {
    Close();
    if (timed_out_) {
      impl_->timeouts_.fetch_add(1, std::memory_order_relaxed);
      return Finish(absl::DeadlineExceededError("webhook POST timed out"));
    }
    if (impl_->stopped()) {
      return Finish(absl::CancelledError("webhook transport stopped"));
    }
    // A keep-alive connection the receiver closed while idle fails at once
    // (write error, EOF, reset): send again on a fresh one, once.
    if (reused_ && !resent_ && !answered &&
        ec != asio::error::operation_aborted) {
      resent_ = true;
      reused_ = false;
      impl_->resent_.fetch_add(1, std::memory_order_relaxed);
      return Connect();
    }
    impl_->failures_.fetch_add(1, std::memory_order_relaxed);
    Finish(absl::UnavailableError(
        absl::StrCat("webhook POST failed: ", ec.message())));
  }

  void Finish(absl::StatusOr<int> result) {
    deadline_.store(0, std::memory_order_relaxed);
    impl_->requests_.fetch_add(1, std::memory_order_relaxed);
    Callback done = std::move(job_->done);
    job_.reset();
    parser_.reset();
    std::optional<Job> next = impl_->NextOrIdle(this);
    done(std::move(result));
    if (next) Run(std::move(*next));
  }

  const std::shared_ptr<Impl> impl_;  // broken by Stop, which drops conns_
  Strand strand_;
  asio::basic_stream_socket<tcp, Strand> socket_;
  asio::ip::basic_resolver<tcp, Strand> resolver_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::response_parser<beast::http::string_body>> parser_;
  std::optional<Job> job_;
  bool reused_ = false;     // the request went out on an open connection
  bool resent_ = false;     // already sent again after a stale connection
  bool timed_out_ = false;  // closed by the sweep
  std::atomic<int64_t> deadline_{0};
};

WebhookTransport::Impl::Impl(asio::io_context& io, HttpTarget target,
                             WebhookTransportOptions options)
    : io_(io),
      target_(std::move(target)),
      options_(options),
      head_prefix_(absl::StrCat("POST ", target_.target, " HTTP/1.1\r\nHost: ",
                                absl::StrContains(target_.host, ':')
                                    ? absl::StrCat("[", target_.host, "]")
                                    : target_.host,
                                ":", target_.port, "\r\n")),
      timeout_(std::chrono::duration_cast<Clock::duration>(
          absl::ToChronoNanoseconds(options.timeout))),
      sweep_period_(std::clamp<Clock::duration>(
          timeout_ / 8, std::chrono::milliseconds(5),
          std::chrono::milliseconds(250))),
      sweep_timer_(io) {}

void WebhookTransport::Impl::Start() {
  absl::MutexLock lock(&mu_);
  const int n = std::max(1, options_.connections);
  for (int i = 0; i < n; ++i) {
    conns_.push_back(std::make_shared<Conn>(shared_from_this()));
  }
  for (auto it = conns_.rbegin(); it != conns_.rend(); ++it) {
    idle_.push_back(it->get());
  }
  ArmSweep();
}

void WebhookTransport::Impl::ArmSweep() {
  sweep_timer_.expires_after(sweep_period_);
  sweep_timer_.async_wait(
      [weak = weak_from_this()](boost::system::error_code ec) {
        if (ec) return;
        if (std::shared_ptr<Impl> self = weak.lock()) self->Sweep();
      });
}

void WebhookTransport::Impl::Sweep() {
  const int64_t now = Clock::now().time_since_epoch().count();
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  for (const std::shared_ptr<Conn>& c : conns_) {
    int64_t d = c->deadline();
    if (d != 0 && now >= d) {
      asio::post(c->strand(), [c] { c->Expire(); });
    }
  }
  ArmSweep();
}

void WebhookTransport::Impl::Post(std::string body,
                                  const http::HeaderList& headers,
                                  Callback done) {
  Job job;
  size_t size = head_prefix_.size() + 40;
  for (const auto& [name, value] : headers)
    size += name.size() + value.size() + 4;
  job.head.reserve(size);
  job.head.append(head_prefix_);
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&job.head, name, ": ", value, "\r\n");
  }
  absl::StrAppend(&job.head, "Content-Length: ", body.size(), "\r\n\r\n");
  job.body = std::move(body);
  job.done = std::move(done);
  std::shared_ptr<Conn> conn;
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      if (idle_.empty()) {
        queue_.push_back(std::move(job));
        return;
      }
      conn = idle_.back()->shared_from_this();
      idle_.pop_back();
    }
  }
  if (!conn) {
    asio::post(io_, [done = std::move(job.done)] {
      done(absl::CancelledError("webhook transport stopped"));
    });
    return;
  }
  // Inline when called from that connection's strand (a callback posting
  // the next request, which takes the connection it just freed): Run only
  // starts an asynchronous write, so this cannot recurse.
  asio::dispatch(conn->strand(), [conn, job = std::move(job)]() mutable {
    conn->Run(std::move(job));
  });
}

std::optional<Job> WebhookTransport::Impl::NextOrIdle(Conn* conn) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return std::nullopt;
  if (!queue_.empty()) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    return job;
  }
  idle_.push_back(conn);
  return std::nullopt;
}

void WebhookTransport::Impl::Stop() {
  std::vector<std::shared_ptr<Conn>> conns;
  std::deque<Job> queued;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    conns.swap(conns_);
    queued.swap(queue_);
    idle_.clear();
  }
  for (const std::shared_ptr<Conn>& c : conns) {
    asio::post(c->strand(), [c] { c->Shutdown(); });
  }
  for (Job& job : queued) {
    asio::post(io_, [done = std::move(job.done)] {
      done(absl::CancelledError("webhook transport stopped"));
    });
  }
}

WebhookTransportStats WebhookTransport::Impl::stats() const {
  WebhookTransportStats s;
  s.requests = requests_.load();
  s.connects = connects_.load();
  s.resent = resent_.load();
  s.timeouts = timeouts_.load();
  s.failures = failures_.load();
  return s;
}

WebhookTransport::WebhookTransport(asio::io_context& io, HttpTarget target,
                                   WebhookTransportOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(target), options)) {
  impl_->Start();
}

WebhookTransport::~WebhookTransport() { Stop(); }

void WebhookTransport::Post(std::string body, const http::HeaderList& headers,
                            Callback done) {
  impl_->Post(std::move(body), headers, std::move(done));
}

void WebhookTransport::Stop() { impl_->Stop(); }

WebhookTransportStats WebhookTransport::stats() const { return impl_->stats(); }

}  // namespace wagate::emulator
