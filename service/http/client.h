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
// Errors: any HTTP status is a response (not an error). Transport failures
// are statuses, and say whether the request may have reached the server:
//   - UNAVAILABLE with RequestMayHaveBeenSent() == false: nothing was sent
//     (DNS failure, connection refused, TLS handshake failed). Safe to retry.
//   - UNAVAILABLE or DEADLINE_EXCEEDED with RequestMayHaveBeenSent() == true:
//     the connection broke or timed out after the request was written; the
//     outcome is unknown and a retry could duplicate the effect.
#ifndef WAGATE_SERVICE_HTTP_CLIENT_H_
#define WAGATE_SERVICE_HTTP_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "service/http/message.h"

namespace wagate::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // absolute: http(s)://host:port/path?query
  HeaderList headers;
  std::string body;
  absl::Duration timeout = absl::Seconds(30);  // whole exchange
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
  size_t max_connections_per_host = 64;
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
