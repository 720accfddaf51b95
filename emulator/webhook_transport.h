// A lean HTTP/1.1 keep-alive client for the webhook sender's plain http://
// URLs: a fixed pool of persistent connections to one host, one request in
// flight per connection, requests queued while every connection is busy.
// libcurl's multi interface costs tens of µs per transfer (timers, handle
// bookkeeping); this costs one write and one read. https:// stays on
// http::Client.
//
//   ASSIGN_OR_RETURN(HttpTarget target,
//                    ParseHttpUrl("http://127.0.0.1:8080/webhook"));
//   WebhookTransport transport(io, target, {.connections = 64});
//   transport.Post(body, {{"Content-Type", "application/json"}},
//                  [](absl::StatusOr<int> status) { ... });
//
// A connection that breaks is reopened by its next request. A request that
// fails on a reused connection before any answer byte arrived (the receiver
// closed it while idle) is sent once more on a fresh connection, as libcurl
// does. Each request has a deadline (connect, write and answer); when it
// passes the connection is closed and the request fails DEADLINE_EXCEEDED.
// Other transport failures are UNAVAILABLE. Any HTTP status is a result.
#ifndef WAGATE_EMULATOR_WEBHOOK_TRANSPORT_H_
#define WAGATE_EMULATOR_WEBHOOK_TRANSPORT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "service/http/message.h"

namespace wagate::emulator {

// Where an http:// URL points.
struct HttpTarget {
  std::string host;    // "127.0.0.1", "localhost", "::1" (no brackets)
  std::string port;    // "80" when absent
  std::string target;  // "/webhook?x=1"; "/" when absent
};

// Parses "http://host[:port][/path][?query]"; INVALID_ARGUMENT for any
// other scheme (https:// included) or a malformed authority.
absl::StatusOr<HttpTarget> ParseHttpUrl(absl::string_view url);

struct WebhookTransportOptions {
  int connections = 64;                        // persistent connections
  absl::Duration timeout = absl::Seconds(10);  // per request, all included
  size_t max_response_bytes = 1 << 20;         // a longer answer is an error
};

struct WebhookTransportStats {
  uint64_t requests = 0;  // finished, whatever the result
  uint64_t connects = 0;  // connections opened (first use and reconnects)
  uint64_t resent = 0;    // sent again after a stale keep-alive connection
  uint64_t timeouts = 0;  // failed DEADLINE_EXCEEDED
  uint64_t failures = 0;  // failed otherwise
};

class WebhookTransport {
 public:
  // The answer's HTTP status, or why there is none.
  using Callback = std::function<void(absl::StatusOr<int>)>;

  // `io` may be run by several threads.
  WebhookTransport(boost::asio::io_context& io, HttpTarget target,
                   WebhookTransportOptions options);
  ~WebhookTransport();  // Stop()
  WebhookTransport(const WebhookTransport&) = delete;
  WebhookTransport& operator=(const WebhookTransport&) = delete;

  // POSTs `body` with `headers` (Host and Content-Length are added).
  // `done` runs exactly once, on an io thread. Thread-safe.
  void Post(std::string body, const http::HeaderList& headers, Callback done);

  // Closes every connection: requests in flight or queued fail CANCELLED,
  // later ones too. Safe to call twice.
  void Stop();

  WebhookTransportStats stats() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_WEBHOOK_TRANSPORT_H_
