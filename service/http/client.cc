// libcurl's multi interface on Asio. Everything that touches curl runs on one
// strand; curl asks for socket readiness (CURLMOPT_SOCKETFUNCTION) and
// timeouts (CURLMOPT_TIMERFUNCTION) and we answer with async_wait and a
// steady_timer.
//
// Asio never watches curl's descriptor itself but a dup() of it that only we
// close. libcurl 7.88 (Debian 12) closes a socket that has not finished
// connecting without calling CLOSESOCKETFUNCTION when its transfer ends
// (fixed upstream in 8.2.0), so curl's number can be closed, and reused by
// anyone, behind our back: closing or deregistering by that number would hit
// the new owner (it failed the next upload after an aborted one with
// "Couldn't connect to server"). Our duplicate stays ours; a socket curl
// dropped that way is found (its number gone or now another socket) when the
// number comes back to us or after a transfer fails, and its duplicate is
// closed then.
#include "service/http/client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "boost/asio/bind_executor.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "service/common/log.h"

namespace wagate::http {
namespace {

constexpr absl::string_view kMayHaveBeenSentUrl =
    "wagate.dev/http/may-have-been-sent";
// Pooled transfers whose request body grew past this give the memory back.
constexpr size_t kMaxRetainedBodyCapacity = 64 << 10;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
      log::Error("http_client", "curl_global_init failed",
                 {{"error", curl_easy_strerror(code)}});
    }
  });
}

// "host:port/path" of an absolute URL: no scheme, user info, query or
// fragment, because the query may carry an access token.
std::string HostAndPath(absl::string_view url) {
  size_t scheme = url.find("://");
  if (scheme != absl::string_view::npos) url.remove_prefix(scheme + 3);
  size_t end = url.find_first_of("?#");
  if (end != absl::string_view::npos) url = url.substr(0, end);
  size_t slash = url.find('/');
  absl::string_view authority = url.substr(0, slash);
  size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) url.remove_prefix(at + 1);
  return std::string(url);
}

absl::Status MarkMayHaveBeenSent(absl::Status status) {
  status.SetPayload(kMayHaveBeenSentUrl, absl::Cord("true"));
  return status;
}

bool IsNothingSentError(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

// The inode of an open descriptor (sockets and pipes have distinct ones while
// they live), or 0 if `fd` is not open.
ino_t InodeOf(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return 0;
  return st.st_ino;
}

// One descriptor curl watches. `descriptor` holds our duplicate of curl's
// `fd`. `owned` descriptors were opened by our OPENSOCKETFUNCTION and curl
// closes them through CLOSESOCKETFUNCTION (or, see above, by itself); others
// (the threaded resolver's wake-up pipe) belong to curl.
struct SocketState {
  explicit SocketState(boost::asio::io_context& io) : descriptor(io) {}
  boost::asio::posix::stream_descriptor descriptor;  // our dup of `fd`
  curl_socket_t fd = CURL_SOCKET_BAD;                // curl's number
  ino_t inode = 0;  // identifies the file `fd` named when we saw it
  bool owned = false;
  bool closed = false;
  int wanted = 0;  // CURL_POLL_IN / CURL_POLL_OUT bits curl asked for
  bool read_pending = false;
  bool write_pending = false;
};

// Starts watching curl's `fd` through a duplicate; null if that fails.
std::shared_ptr<SocketState> WatchDescriptor(boost::asio::io_context& io,
                                             curl_socket_t fd, bool owned) {
  const ino_t inode = InodeOf(fd);
  if (inode == 0) return nullptr;
  const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return nullptr;
  auto state = std::make_shared<SocketState>(io);
  boost::system::error_code ec;
  state->descriptor.assign(dup, ec);
  if (ec) {
    ::close(dup);
    log::Warning("http_client", "cannot watch curl descriptor",
                 {{"error", ec.message()}});
    return nullptr;
  }
  state->fd = fd;
  state->inode = inode;
  state->owned = owned;
  return state;
}

// Stops watching: aborts queued waits and closes our duplicate (never curl's
// descriptor).
void ForgetSocket(SocketState& state) {
  state.closed = true;
  state.wanted = 0;
  boost::system::error_code ec;
  state.descriptor.close(ec);
}

}  // namespace

bool RequestMayHaveBeenSent(const absl::Status& status) {
  return status.GetPayload(kMayHaveBeenSentUrl).has_value();
}

class Client::Impl : public std::enable_shared_from_this<Impl> {
 public:
  using Clock = std::chrono::steady_clock;

  Impl(boost::asio::io_context& io, ClientOptions options)
      : io_(io),
        options_(options),
        strand_(boost::asio::make_strand(io)),
        timer_(io) {
    GlobalInitOnce();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) {
      log::Error("http_client", "curl_multi_init failed");
      return;
    }
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::SocketCallback);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::TimerCallback);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(options_.max_connections_per_host));
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      static_cast<long>(options_.max_total_connections));
    // Keep idle connections up to the total limit instead of curl's default.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS,
                      static_cast<long>(options_.max_total_connections));
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING,
                      options_.http2 ? static_cast<long>(CURLPIPE_MULTIPLEX)
                                     : static_cast<long>(CURLPIPE_NOTHING));
  }

  std::atomic<size_t> in_flight{0};

  void Send(ClientRequest request, ClientCallback done) {
    in_flight.fetch_add(1, std::memory_order_relaxed);
    boost::asio::post(strand_,
                      [self = shared_from_this(), request = std::move(request),
                       done = std::move(done), start = Clock::now()]() mutable {
                        self->Start(std::move(request), std::move(done), start);
                      });
  }

  // Fails every request in flight with CANCELLED and frees curl. Callable
  // from any thread, including from inside one of this client's callbacks.
  // Handlers still queued afterwards see closing_ and do nothing.
  void Shutdown() {
    closing_.store(true);
    if (!strand_.running_in_this_thread()) {
      // A handler may be running on another io thread; it bails out at its
      // next check of closing_. Wait for it so curl stays single-threaded.
      while (active_handlers_.load() != 0) std::this_thread::yield();
    }
    if (multi_ == nullptr) return;

    struct Cancelled {
      ClientCallback done;
      absl::Status status;
    };
    std::vector<Cancelled> cancelled;
    while (active_ != nullptr) {
      Transfer* t = active_;
      Unlink(t);
      UnbindStream(t);
      curl_multi_remove_handle(multi_, t->easy);
      absl::Status status = absl::CancelledError(
          absl::StrCat(t->request.method, " ", HostAndPath(t->request.url),
                       ": HTTP client destroyed"));
      if (WasRequestStarted(t->easy)) status = MarkMayHaveBeenSent(status);
      cancelled.push_back({std::move(t->done), std::move(status)});
      DeleteTransfer(t);
    }
    for (Transfer* t : pool_) DeleteTransfer(t);
    pool_.clear();
    // Closes pooled connections through CloseSocketCallback.
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
    timer_.cancel();
    // What is left was closed by curl behind our back, or is curl's own:
    // drop our duplicates only.
    for (auto& [fd, state] : sockets_) ForgetSocket(*state);
    sockets_.clear();

    in_flight.fetch_sub(cancelled.size(), std::memory_order_relaxed);
    for (Cancelled& c : cancelled) {
      if (c.done) c.done(std::move(c.status));
    }
  }

 private:
  // One request; owns its easy handle for life so handles and their
  // buffers are reused through pool_.
  struct Transfer {
    Impl* impl = nullptr;
    CURL* easy = nullptr;
    ClientRequest request;
    ClientCallback done;
    ClientResponse response;
    Clock::time_point start;
    // Our own curl_slist nodes over reused strings: no malloc per header.
    std::vector<std::string> header_lines;
    std::vector<curl_slist> header_nodes;
    // Streamed requests: the key of streaming_ while the transfer runs.
    uint64_t serial = 0;
    Transfer* prev = nullptr;
    Transfer* next = nullptr;
  };

  // Marks a strand handler as running so Shutdown from another thread waits
  // for it (curl must not be used from two threads at once).
  class HandlerScope {
   public:
    explicit HandlerScope(Impl* impl) : impl_(impl) {
      impl_->active_handlers_.fetch_add(1);
      live_ = !impl_->closing_.load();
    }
    ~HandlerScope() { impl_->active_handlers_.fetch_sub(1); }
    bool live() const { return live_; }

   private:
    Impl* impl_;
    bool live_;
  };

  bool closing() const { return closing_.load(std::memory_order_relaxed); }

  void Start(ClientRequest request, ClientCallback done,
             Clock::time_point start) {
    HandlerScope scope(this);
    if (!scope.live() || multi_ == nullptr) {
      absl::Status status = absl::CancelledError(
          absl::StrCat(request.method, " ", HostAndPath(request.url),
                       ": HTTP client destroyed"));
      in_flight.fetch_sub(1, std::memory_order_relaxed);
      if (done) done(std::move(status));
      return;
    }
    Transfer* t = AcquireTransfer();
    if (t == nullptr) {
      in_flight.fetch_sub(1, std::memory_order_relaxed);
      if (done) done(absl::InternalError("curl_easy_init failed"));
      return;
    }
    t->request = std::move(request);
    t->done = std::move(done);
    t->start = start;
    Configure(*t);
    Link(t);
    BindStream(t);
    CURLMcode code = curl_multi_add_handle(multi_, t->easy);
    if (code != CURLM_OK) {
      Unlink(t);
      UnbindStream(t);
      absl::Status status = absl::InternalError(
          absl::StrCat(t->request.method, " ", HostAndPath(t->request.url),
                       ": curl_multi_add_handle: ", curl_multi_strerror(code)));
      ClientCallback cb = std::move(t->done);
      ReleaseTransfer(t);
      in_flight.fetch_sub(1, std::memory_order_relaxed);
      if (cb) cb(std::move(status));
      return;
    }
    if (t->request.control != nullptr && t->request.control->aborted()) {
      AbortTransfer(t);  // aborted before it started
    }
    // curl asks for a 0 ms timeout from add_handle; the timer starts it.
  }

  Transfer* AcquireTransfer() {
    if (!pool_.empty()) {
      Transfer* t = pool_.back();
      pool_.pop_back();
      return t;
    }
    CURL* easy = curl_easy_init();
    if (easy == nullptr) return nullptr;
    auto* t = new Transfer;
    t->impl = this;
    t->easy = easy;
    // Options that never change per request.
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Impl::WriteCallback);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Impl::ReadCallback);
    curl_easy_setopt(easy, CURLOPT_READDATA, t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Impl::HeaderCallback);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION,
                     &Impl::OpenSocketCallback);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION,
                     &Impl::CloseSocketCallback);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(
        easy, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                     options_.http2 ? static_cast<long>(CURL_HTTP_VERSION_2TLS)
                                    : static_cast<long>(CURL_HTTP_VERSION_1_1));
    return t;
  }

  void Configure(Transfer& t) {
    CURL* easy = t.easy;
    const ClientRequest& r = t.request;
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    // Wait for an existing HTTP/2 connection rather than opening another.
    curl_easy_setopt(
        easy, CURLOPT_PIPEWAIT,
        options_.http2 && absl::StartsWith(r.url, "https:") ? 1L : 0L);
    long timeout_ms = 0;  // 0: no limit
    if (r.timeout != absl::InfiniteDuration() &&
        r.timeout > absl::ZeroDuration()) {
      timeout_ms = static_cast<long>(
          std::max<int64_t>(1, absl::ToInt64Milliseconds(r.timeout)));
    }
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);

    bool has_body = !r.body.empty() || r.method == "POST" ||
                    r.method == "PUT" || r.method == "PATCH";
    if (r.body_source) {
      // No POSTFIELDS: curl pulls the body through ReadCallback; an unknown
      // size (-1) makes it chunked.
      curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, nullptr);
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(r.body_source_size));
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
                       r.method == "POST" ? nullptr : r.method.c_str());
    } else if (has_body) {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
                       r.method == "POST" ? nullptr : r.method.c_str());
    } else if (r.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, nullptr);
    } else {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
                       r.method == "GET" ? nullptr : r.method.c_str());
    }

    // Header list. "Expect:" turns off curl's 100-continue round trip for
    // large bodies.
    size_t count = r.headers.size() + 1;
    if (t.header_lines.size() < count) t.header_lines.resize(count);
    t.header_nodes.resize(count);
    bool has_expect = false;
    size_t n = 0;
    for (const auto& [name, value] : r.headers) {
      std::string& line = t.header_lines[n++];
      line.assign(name);
      // curl drops "Name:" with no value; "Name;" sends it empty.
      if (value.empty()) {
        line.push_back(';');
      } else {
        line.append(": ");
        line.append(value);
      }
      if (absl::EqualsIgnoreCase(name, "Expect")) has_expect = true;
    }
    if (!has_expect) t.header_lines[n++].assign("Expect:");
    t.header_nodes.resize(n);
    for (size_t i = 0; i < n; ++i) {
      t.header_nodes[i].data = t.header_lines[i].data();
      t.header_nodes[i].next = i + 1 < n ? &t.header_nodes[i + 1] : nullptr;
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER,
                     n > 0 ? t.header_nodes.data() : nullptr);
  }

  // Returns a finished transfer to the pool.
  void ReleaseTransfer(Transfer* t) {
    t->request.url.clear();
    t->request.method.clear();
    t->request.headers.clear();
    if (t->request.body.capacity() > kMaxRetainedBodyCapacity) {
      std::string().swap(t->request.body);
    } else {
      t->request.body.clear();
    }
    t->response = ClientResponse{};
    t->done = nullptr;
    t->request.body_source = nullptr;
    t->request.body_source_size = -1;
    t->request.body_sink = nullptr;
    t->request.control = nullptr;
    if (pool_.size() < std::max<size_t>(16, options_.max_total_connections)) {
      pool_.push_back(t);
    } else {
      DeleteTransfer(t);
    }
  }

  static void DeleteTransfer(Transfer* t) {
    curl_easy_cleanup(t->easy);
    delete t;
  }

  void Link(Transfer* t) {
    t->prev = nullptr;
    t->next = active_;
    if (active_ != nullptr) active_->prev = t;
    active_ = t;
  }

  void Unlink(Transfer* t) {
    if (t->prev != nullptr) t->prev->next = t->next;
    if (t->next != nullptr) t->next->prev = t->prev;
    if (active_ == t) active_ = t->next;
    t->prev = t->next = nullptr;
  }

  // True once curl got past connecting and may have written the request.
  static bool WasRequestStarted(CURL* easy) {
    curl_off_t pretransfer = 0;
    long request_size = 0;
    curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
    return pretransfer > 0 || request_size > 0;
  }

  absl::StatusOr<ClientResponse> Result(Transfer& t, CURLcode code) {
    if (code != CURLE_OK && t.request.control != nullptr &&
        t.request.control->aborted()) {
      absl::Status status = absl::CancelledError(
          absl::StrCat(t.request.method, " ", HostAndPath(t.request.url),
                       ": aborted by the caller"));
      return WasRequestStarted(t.easy) ? MarkMayHaveBeenSent(status) : status;
    }
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
      t.response.status = static_cast<int>(status);
      t.response.elapsed = absl::FromChrono(Clock::now() - t.start);
      return std::move(t.response);
    }
    // Never the headers (they carry the bearer token) nor the query.
    std::string message =
        absl::StrCat(t.request.method, " ", HostAndPath(t.request.url), ": ",
                     curl_easy_strerror(code), " (curl ", code, ")");
    if (IsNothingSentError(code)) {
      if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
        return absl::InvalidArgumentError(std::move(message));
      }
      return absl::UnavailableError(std::move(message));
    }
    if (code == CURLE_OPERATION_TIMEDOUT) {
      if (!WasRequestStarted(t.easy)) {
        return absl::UnavailableError(std::move(message));
      }
      return MarkMayHaveBeenSent(absl::DeadlineExceededError(message));
    }
    if (code == CURLE_OUT_OF_MEMORY || code == CURLE_FAILED_INIT ||
        code == CURLE_BAD_FUNCTION_ARGUMENT) {
      absl::Status status = absl::InternalError(std::move(message));
      return WasRequestStarted(t.easy) ? MarkMayHaveBeenSent(status) : status;
    }
    // GOT_NOTHING, RECV_ERROR, SEND_ERROR, PARTIAL_FILE, HTTP2...: the
    // connection broke with the request (possibly) on the wire.
    return MarkMayHaveBeenSent(absl::UnavailableError(std::move(message)));
  }

  // Delivers every finished transfer. Stops if a callback destroyed the
  // client (Shutdown ran inline on this strand).
  void ProcessDone() {
    int left = 0;
    while (!closing() && multi_ != nullptr) {
      CURLMsg* msg = curl_multi_info_read(multi_, &left);
      if (msg == nullptr) break;
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode code = msg->data.result;
      char* priv = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
      auto* t = reinterpret_cast<Transfer*>(priv);
      curl_multi_remove_handle(multi_, easy);
      if (code != CURLE_OK) SweepClosedSockets();
      Unlink(t);
      UnbindStream(t);
      absl::StatusOr<ClientResponse> result = Result(*t, code);
      ClientCallback done = std::move(t->done);
      ReleaseTransfer(t);
      in_flight.fetch_sub(1, std::memory_order_relaxed);
      if (done) done(std::move(result));
    }
  }

  void SocketAction(curl_socket_t fd, int events) {
    int running = 0;
    CURLMcode code = curl_multi_socket_action(multi_, fd, events, &running);
    if (code != CURLM_OK) {
      log::Warning("http_client", "curl_multi_socket_action failed",
                   {{"error", curl_multi_strerror(code)}});
    }
  }

  // --- Sockets -------------------------------------------------------------

  static curl_socket_t OpenSocketCallback(void* clientp, curlsocktype purpose,
                                          curl_sockaddr* address) {
    auto* self = static_cast<Impl*>(clientp);
    if (purpose != CURLSOCKTYPE_IPCXN || self->closing()) {
      return CURL_SOCKET_BAD;
    }
    int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC,
                      address->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    std::shared_ptr<SocketState> state =
        WatchDescriptor(self->io_, fd, /*owned=*/true);
    if (state == nullptr) {
      ::close(fd);
      return CURL_SOCKET_BAD;
    }
    auto [it, inserted] = self->sockets_.try_emplace(fd, state);
    if (!inserted) {
      // The number was ours before and curl closed it without telling us:
      // drop that socket's duplicate, which is all that kept it alive.
      ForgetSocket(*it->second);
      it->second = std::move(state);
    }
    return fd;
  }

  static int CloseSocketCallback(void* clientp, curl_socket_t fd) {
    auto* self = static_cast<Impl*>(clientp);
    auto it = self->sockets_.find(fd);
    if (it != self->sockets_.end()) {
      ForgetSocket(*it->second);  // also aborts waits still queued
      self->sockets_.erase(it);
    }
    return ::close(fd);
  }

  // After a failed or aborted transfer (the only ones whose sockets curl
  // 7.88 may close without CLOSESOCKETFUNCTION): drops the entries whose
  // number is closed or names another file now.
  void SweepClosedSockets() {
    for (auto it = sockets_.begin(); it != sockets_.end();) {
      SocketState& state = *it->second;
      if (InodeOf(state.fd) != state.inode) {
        ForgetSocket(state);
        it = sockets_.erase(it);
      } else {
        ++it;
      }
    }
  }

  static int SocketCallback(CURL* easy, curl_socket_t fd, int what, void* userp,
                            void* socketp) {
    auto* self = static_cast<Impl*>(userp);
    auto it = self->sockets_.find(fd);
    if (what == CURL_POLL_REMOVE) {
      if (it != self->sockets_.end()) {
        if (it->second->owned) {
          // Idle keep-alive connection: stop caring, keep the descriptor.
          it->second->wanted = 0;
        } else {
          ForgetSocket(*it->second);
          self->sockets_.erase(it);
        }
      }
      return 0;
    }
    if (it != self->sockets_.end() &&
        (it->second->wanted == 0 || !it->second->owned) &&
        InodeOf(fd) != it->second->inode) {
      // Announced anew (a new or idle socket, or one of curl's own) under a
      // number whose file changed: the old one was closed behind our back.
      ForgetSocket(*it->second);
      self->sockets_.erase(it);
      it = self->sockets_.end();
    }
    if (it == self->sockets_.end()) {
      // Not opened by us (resolver wake-up pipe): watch without owning.
      std::shared_ptr<SocketState> state =
          WatchDescriptor(self->io_, fd, /*owned=*/false);
      if (state == nullptr) return -1;
      it = self->sockets_.emplace(fd, std::move(state)).first;
    }
    SocketState& state = *it->second;
    state.wanted = what;
    if (!self->closing()) self->ArmWaits(it->second);
    return 0;
  }

  void ArmWaits(const std::shared_ptr<SocketState>& state) {
    if (state->closed) return;
    short missed = 0;
    if ((state->wanted & CURL_POLL_IN) && !state->read_pending) {
      state->read_pending = true;
      StartWait(state, /*read=*/true);
      missed |= POLLIN;
    }
    if ((state->wanted & CURL_POLL_OUT) && !state->write_pending) {
      state->write_pending = true;
      StartWait(state, /*read=*/false);
      missed |= POLLOUT;
    }
    // Asio's epoll registration is edge-triggered: readiness that arrived
    // while no wait was queued (another io thread ran the reactor) would be
    // lost. Check once after queueing and kick curl if already ready.
    if (missed != 0) {
      pollfd p{state->descriptor.native_handle(), missed, 0};
      if (::poll(&p, 1, 0) > 0 && (p.revents & (missed | POLLERR | POLLHUP))) {
        int events = 0;
        if (p.revents & (POLLIN | POLLHUP)) events |= CURL_CSELECT_IN;
        if (p.revents & POLLOUT) events |= CURL_CSELECT_OUT;
        if (p.revents & POLLERR) events |= CURL_CSELECT_ERR;
        boost::asio::post(strand_, [self = shared_from_this(), state, events] {
          self->OnKick(state, events);
        });
      }
    }
  }

  void StartWait(const std::shared_ptr<SocketState>& state, bool read) {
    state->descriptor.async_wait(
        read ? boost::asio::posix::descriptor_base::wait_read
             : boost::asio::posix::descriptor_base::wait_write,
        boost::asio::bind_executor(strand_,
                                   [self = shared_from_this(), state,
                                    read](const boost::system::error_code& ec) {
                                     self->OnWaitDone(state, read, ec);
                                   }));
  }

  void OnWaitDone(const std::shared_ptr<SocketState>& state, bool read,
                  const boost::system::error_code& ec) {
    HandlerScope scope(this);
    if (!scope.live()) return;  // Shutdown owns the state now
    (read ? state->read_pending : state->write_pending) = false;
    if (state->closed || ec == boost::asio::error::operation_aborted) return;
    int want = read ? CURL_POLL_IN : CURL_POLL_OUT;
    if (!(state->wanted & want)) return;  // curl lost interest meanwhile
    int events = read ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
    if (ec) events |= CURL_CSELECT_ERR;
    SocketAction(state->fd, events);
    if (closing()) return;
    ArmWaits(state);
    ProcessDone();
  }

  void OnKick(const std::shared_ptr<SocketState>& state, int events) {
    HandlerScope scope(this);
    if (!scope.live() || state->closed || state->wanted == 0) return;
    SocketAction(state->fd, events);
    if (closing()) return;
    ArmWaits(state);
    ProcessDone();
  }

  // --- Timer ---------------------------------------------------------------

  // curl asks for a 0 ms timeout after nearly every call (each new request,
  // each finished one), and re-arming a steady_timer is a timerfd_settime
  // each time (17% of the gateway's CPU in send-max). So: 0 ms is one posted
  // socket action (at most one pending); a later expiry than the armed one
  // keeps the armed one (firing early is harmless: curl re-arms); only an
  // earlier one re-arms, and -1 disarms.
  static int TimerCallback(CURLM* multi, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (timeout_ms < 0 || self->closing()) {
      self->DisarmTimer();
      return 0;
    }
    if (timeout_ms == 0) {
      if (!self->timeout_posted_) {
        self->timeout_posted_ = true;
        boost::asio::post(self->strand_, [self = self->shared_from_this()] {
          self->OnTimeoutNow();
        });
      }
      return 0;
    }
    const Clock::time_point expiry =
        Clock::now() + std::chrono::milliseconds(timeout_ms);
    if (expiry >= self->timer_expiry_) return 0;
    self->timer_expiry_ = expiry;
    const uint64_t generation = ++self->timer_generation_;
    self->timer_.expires_at(expiry);  // aborts the wait queued before
    self->timer_.async_wait(boost::asio::bind_executor(
        self->strand_, [self = self->shared_from_this(),
                        generation](const boost::system::error_code& ec) {
          self->OnTimer(ec, generation);
        }));
    return 0;
  }

  void DisarmTimer() {
    if (timer_expiry_ == Clock::time_point::max()) return;
    timer_expiry_ = Clock::time_point::max();
    ++timer_generation_;
    timer_.cancel();
  }

  void OnTimer(const boost::system::error_code& ec, uint64_t generation) {
    if (ec == boost::asio::error::operation_aborted) return;
    HandlerScope scope(this);
    if (!scope.live()) return;
    // A wait that fired just before it was replaced: the new one is armed.
    if (generation != timer_generation_) return;
    timer_expiry_ = Clock::time_point::max();
    SocketAction(CURL_SOCKET_TIMEOUT, 0);
    if (closing()) return;
    ProcessDone();
  }

  void OnTimeoutNow() {
    HandlerScope scope(this);
    if (!scope.live()) return;
    timeout_posted_ = false;  // a 0 ms request from here on posts again
    SocketAction(CURL_SOCKET_TIMEOUT, 0);
    if (closing()) return;
    ProcessDone();
  }

  // --- Response callbacks --------------------------------------------------

  static size_t WriteCallback(char* data, size_t size, size_t count,
                              void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const size_t n = size * count;
    if (t->request.body_sink) {
      long status = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
      if (status >= 200 && status < 300) {
        if (t->request.control != nullptr && t->request.control->aborted()) {
          return 0;  // fails the transfer (CURLE_WRITE_ERROR)
        }
        if (!t->request.body_sink(absl::string_view(data, n))) {
          return CURL_WRITEFUNC_PAUSE;  // curl keeps the bytes for later
        }
        return n;
      }
    }
    t->response.body.append(data, n);
    return n;
  }

  static size_t ReadCallback(char* buffer, size_t size, size_t count,
                             void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    if (!t->request.body_source) return 0;
    if (t->request.control != nullptr && t->request.control->aborted()) {
      return CURL_READFUNC_ABORT;
    }
    size_t n = t->request.body_source(buffer, size * count);
    if (n == kPauseBody) return CURL_READFUNC_PAUSE;
    if (n == kAbortBody) {
      if (t->request.control != nullptr) t->request.control->aborted_ = true;
      return CURL_READFUNC_ABORT;
    }
    return std::min(n, size * count);
  }

  // --- Streaming control ---------------------------------------------------

  // Lets the request's StreamControl reach this transfer while it runs.
  void BindStream(Transfer* t) {
    const std::shared_ptr<StreamControl>& control = t->request.control;
    if (control == nullptr) return;
    t->serial = ++next_serial_;
    streaming_[t->serial] = t;
    std::weak_ptr<Impl> weak = shared_from_this();
    const uint64_t serial = t->serial;
    absl::MutexLock lock(&control->mu_);
    control->wake_ = [weak, serial](bool abort) {
      std::shared_ptr<Impl> self = weak.lock();
      if (self == nullptr) return;
      boost::asio::post(self->strand_, [self, serial, abort] {
        HandlerScope scope(self.get());
        if (!scope.live()) return;
        auto it = self->streaming_.find(serial);
        if (it == self->streaming_.end()) return;  // finished meanwhile
        if (abort) {
          self->AbortTransfer(it->second);
          return;
        }
        // May call the sink or source right away, and pause again.
        curl_easy_pause(it->second->easy, CURLPAUSE_CONT);
        if (self->closing()) return;
        self->ProcessDone();
      });
    };
  }

  // Ends a running transfer now with CANCELLED: a paused transfer would
  // otherwise only notice the abort at its next callback.
  void AbortTransfer(Transfer* t) {
    curl_multi_remove_handle(multi_, t->easy);
    SweepClosedSockets();
    Unlink(t);
    UnbindStream(t);
    absl::Status status = absl::CancelledError(
        absl::StrCat(t->request.method, " ", HostAndPath(t->request.url),
                     ": aborted by the caller"));
    if (WasRequestStarted(t->easy)) status = MarkMayHaveBeenSent(status);
    ClientCallback done = std::move(t->done);
    ReleaseTransfer(t);
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (done) done(std::move(status));
  }

  void UnbindStream(Transfer* t) {
    const std::shared_ptr<StreamControl>& control = t->request.control;
    if (control == nullptr || t->serial == 0) return;
    streaming_.erase(t->serial);
    t->serial = 0;
    absl::MutexLock lock(&control->mu_);
    control->wake_ = nullptr;
  }

  static size_t HeaderCallback(char* data, size_t size, size_t count,
                               void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t length = size * count;
    absl::string_view line(data, length);
    if (absl::StartsWith(line, "HTTP/")) {
      // A new status line (after 100 Continue): start over.
      t->response.headers.clear();
      return length;
    }
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) return length;  // blank line
    absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, colon));
    absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (name.empty()) return length;
    if (absl::EqualsIgnoreCase(name, "Content-Length")) {
      size_t expected = 0;
      if (absl::SimpleAtoi(value, &expected) && expected <= (16u << 20)) {
        t->response.body.reserve(expected);
      }
    }
    t->response.headers.emplace_back(std::string(name), std::string(value));
    return length;
  }

  boost::asio::io_context& io_;
  const ClientOptions options_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;  // strand only
  // When timer_ fires; max() when disarmed. Strand only.
  Clock::time_point timer_expiry_ = Clock::time_point::max();
  uint64_t timer_generation_ = 0;  // strand only; the live wait's number
  bool timeout_posted_ = false;    // strand only; an OnTimeoutNow is queued
  CURLM* multi_ = nullptr;         // strand only
  std::unordered_map<curl_socket_t, std::shared_ptr<SocketState>>
      sockets_;                 // strand only
  Transfer* active_ = nullptr;  // strand only; intrusive list
  std::unordered_map<uint64_t, Transfer*> streaming_;  // strand only
  uint64_t next_serial_ = 0;                           // strand only
  std::vector<Transfer*> pool_;                        // strand only
  std::atomic<bool> closing_{false};
  std::atomic<int> active_handlers_{0};
};

void StreamControl::Resume() {
  std::function<void(bool)> wake;
  {
    absl::MutexLock lock(&mu_);
    wake = wake_;
  }
  if (wake) wake(false);
}

void StreamControl::Abort() {
  aborted_.store(true);
  std::function<void(bool)> wake;
  {
    absl::MutexLock lock(&mu_);
    wake = wake_;
  }
  if (wake) wake(true);
}

Client::Client(boost::asio::io_context& io, ClientOptions options)
    : impl_(std::make_shared<Impl>(io, options)) {}

Client::~Client() { impl_->Shutdown(); }

void Client::Send(ClientRequest request, ClientCallback done) {
  impl_->Send(std::move(request), std::move(done));
}

size_t Client::in_flight() const {
  return impl_->in_flight.load(std::memory_order_relaxed);
}

}  // namespace wagate::http
