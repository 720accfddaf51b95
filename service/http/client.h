// An asynchronous HTTP client: libcurl's multi interface driven by
// multi_socket_action on an Asio io_context, so no thread blocks per request.
// Connections are reused and HTTP/2 is multiplexed where the server offers it
// (TLS with ALPN); plain http:// uses HTTP/1.1 keep-alive.
//
// The Graph client (service/graph) and the emulator's webhook sender use it.
//
//   http::Client client(io, http::ClientOptions{});
//   client.Send({.method = "POST", .url = url, .headers = {...}, .body = json,
//                .timeout = absl::Seconds(5)},
//               [](absl::StatusOr<http::ClientResponse> r) { ... });
//
// Streaming (media upload and download): a request may pull its body from
// `body_source` and push a 2xx response body to `body_sink` instead of
// holding either whole in memory; both may pause the transfer, and the
// caller wakes it with StreamControl::Resume:
//
//   auto control = std::make_shared<http::StreamControl>();
//   request.control = control;
//   request.body_source = [&](char* buf, size_t max) -> size_t {
//     if (pipe.empty()) return pipe.closed() ? 0 : http::kPauseBody;
//     return pipe.Take(buf, max);
//   };
//   ... later, after pushing into the pipe: control->Resume();
//
// Errors: any HTTP status is a response (not an error). Transport failures
// are statuses, and say whether the request may have reached the server:
//   - UNAVAILABLE with RequestMayHaveBeenSent() == false: nothing was sent
//     (DNS failure, connection refused, TLS handshake failed). Safe to retry.
//   - UNAVAILABLE or DEADLINE_EXCEEDED with RequestMayHaveBeenSent() == true:
//     the connection broke or timed out after the request was written; the
//     outcome is unknown and a retry could duplicate the effect.
#ifndef WAGATE_SERVICE_HTTP_CLIENT_H_
#define WAGATE_SERVICE_HTTP_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "service/http/message.h"

namespace wagate::http {

// Returned by a body_source to pause the upload until Resume().
inline constexpr size_t kPauseBody = static_cast<size_t>(-1);
// Returned by a body_source to fail the request (CANCELLED).
inline constexpr size_t kAbortBody = static_cast<size_t>(-2);

// Wakes a streamed request paused by its body_source or body_sink. Create
// one per request and keep it as long as you may call Resume.
class StreamControl {
 public:
  StreamControl() = default;
  StreamControl(const StreamControl&) = delete;
  StreamControl& operator=(const StreamControl&) = delete;

  // Thread-safe, cheap, and a no-op when the transfer is not paused, not
  // started yet or already finished.
  void Resume();
  // Fails the request with CANCELLED: at once if it is running (the
  // connection is closed), else when it starts. Thread-safe.
  void Abort();
  bool aborted() const { return aborted_.load(); }

 private:
  friend class Client;
  absl::Mutex mu_;
  // Set by the client while the transfer runs; posts the unpause (false) or
  // the cancellation (true) to its strand.
  std::function<void(bool abort)> wake_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> aborted_{false};
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // absolute: http(s)://host:port/path?query
  HeaderList headers;
  std::string body;
  absl::Duration timeout = absl::Seconds(30);  // whole exchange

  // Streamed request body, used instead of `body` when set: copies up to
  // `max` bytes into `buf` and returns how many (> 0), 0 at the end of the
  // body, kPauseBody to pause until control->Resume(), or kAbortBody.
  // Called on the client's io strand; must not block.
  std::function<size_t(char* buf, size_t max)> body_source;
  // Total length of the streamed body (Content-Length), or -1 (chunked).
  int64_t body_source_size = -1;
  // Streamed 2xx response body, used instead of ClientResponse::body when
  // set (other statuses still fill ClientResponse::body): returns true when
  // it took `piece`, false to pause the transfer without taking it — the
  // same bytes come again after control->Resume(). Called on the client's
  // io strand; must not block.
  std::function<bool(absl::string_view piece)> body_sink;
  // Needed to Resume a paused source or sink.
  std::shared_ptr<StreamControl> control;
};

struct ClientResponse {
  int status = 0;
  HeaderList headers;
  std::string body;
  absl::Duration elapsed;  // from Send to the last byte

  absl::string_view Header(absl::string_view name) const {
    return FindHeader(headers, name);
  }
};

using ClientCallback = std::function<void(absl::StatusOr<ClientResponse>)>;

struct ClientOptions {
  // As many as the total: the Graph client talks to one host, and a request
  // over the per-host limit waits in curl's pending queue, which curl
  // rescans on every transfer (12% more CPU per send in send-max at 64).
  size_t max_connections_per_host = 256;
  size_t max_total_connections = 256;
  absl::Duration connect_timeout = absl::Seconds(5);
  bool http2 = true;  // negotiate HTTP/2 over TLS
};

// True if a transport error may have happened after the request was sent.
bool RequestMayHaveBeenSent(const absl::Status& status);

class Client {
 public:
  explicit Client(boost::asio::io_context& io, ClientOptions options = {});
  ~Client();  // fails requests still in flight with CANCELLED
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts `request`; `done` is called exactly once, on an io_context thread.
  // Thread-safe.
  void Send(ClientRequest request, ClientCallback done);

  // Requests started and not finished.
  size_t in_flight() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace wagate::http

#endif  // WAGATE_SERVICE_HTTP_CLIENT_H_
