// The shared HTTP/1.1 server (Boost.Beast on Asio) behind the webhook ingress,
// /metrics, /healthz and the emulator's Graph API.
//
// Handlers are asynchronous: a handler receives the request and a Responder,
// and may answer later from any thread (the webhook ingress answers after the
// event log has committed). The Responder must be called exactly once; if it
// is destroyed uncalled the connection answers 500.
//
//   http::Server server(io, http::ServerOptions{});
//   server.Handle("GET", "/healthz", [](http::Request req, http::Responder r) {
//     r(http::TextResponse(200, "ok\n"));
//   });
//   absl::Status s = server.Listen("127.0.0.1:0");  // server.port() is bound
//
// Limits and timeouts: a body over max_body_bytes gets 413, a header block
// over max_header_bytes 431, a malformed request 400, and a client that does
// not finish its headers (or body) in time is disconnected. Connections past
// max_connections are closed at accept. Keep-alive is on.
#ifndef WAGATE_SERVICE_HTTP_SERVER_H_
#define WAGATE_SERVICE_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "service/http/message.h"

namespace wagate::http {

// Answers a request; call exactly once, from any thread.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request, Responder)>;

struct ServerOptions {
  size_t max_body_bytes = 4 << 20;     // 4 MiB; more gets 413
  size_t max_header_bytes = 16 << 10;  // whole header block; more gets 431
  size_t max_connections = 4096;       // more are closed at accept
  absl::Duration header_timeout = absl::Seconds(10);  // headers must arrive
  absl::Duration body_timeout = absl::Seconds(30);    // body must arrive
  absl::Duration idle_timeout = absl::Seconds(60);    // between requests
  absl::Duration write_timeout = absl::Seconds(30);
};

struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections
  uint64_t connections_open = 0;
  uint64_t requests = 0;
};

class Server {
 public:
  // `io` runs the sockets; it may be run by several threads.
  Server(boost::asio::io_context& io, ServerOptions options);
  ~Server();  // stops if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes a method ("" for any) and exact path. Register before Listen.
  void Handle(absl::string_view method, absl::string_view path,
              Handler handler);
  // Routes every path under `prefix` ("/_emulator/"); exact routes win, then
  // the longest prefix. Unrouted paths get 404, wrong methods 405.
  void HandlePrefix(absl::string_view method, absl::string_view prefix,
                    Handler handler);

  // Binds "host:port" (port 0 picks a free one) and starts accepting.
  absl::Status Listen(absl::string_view address);
  // The bound port, after Listen.
  int port() const;

  // Stops accepting and closes idle connections; requests being handled are
  // answered, then their connections close. Safe to call twice.
  void Stop();

  ServerStats stats() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace wagate::http

#endif  // WAGATE_SERVICE_HTTP_SERVER_H_
