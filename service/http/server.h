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
// max_connections, or past max_connections_per_ip from one client, are
// closed at accept; max_connections is lowered to what the open-file limit
// allows. Keep-alive is on.
//
// Refused from the header alone, before any body byte is read: an unknown
// path (404), a known path with another method (405 with Allow), a declared
// Content-Length over max_body_bytes (413), a header the route requires
// (RouteOptions). When such a request declared a body, the connection closes
// after the answer instead of reading it:
//
//   http::RouteOptions signed_only;
//   signed_only.required_headers = {"X-Hub-Signature-256"};
//   signed_only.on_missing_header = [](const http::Request&,
//                                      absl::string_view) {
//     return http::TextResponse(401, "Unauthorized\n");
//   };
//   server.Handle("POST", "/webhook", handler, signed_only);
//
// HTTPS: set options.tls (PEM certificate chain and key files, TLS 1.2+).
// Every limit and timeout above applies to TLS connections too, and the
// handshake must finish within header_timeout. ReloadTls() re-reads the files
// (on SIGHUP) for connections accepted afterwards:
//
//   options.tls = {"/etc/wagate/cert.pem", "/etc/wagate/key.pem"};
//   ...
//   absl::Status reloaded = server.ReloadTls();  // old certificate kept on
//   error
#ifndef WAGATE_SERVICE_HTTP_SERVER_H_
#define WAGATE_SERVICE_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "service/http/message.h"

namespace wagate::http {

// Answers a request; call exactly once, from any thread.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request, Responder)>;

// The listener's certificate; an empty cert_file means plaintext HTTP.
struct ServerTls {
  std::string cert_file;  // PEM certificate chain, leaf first
  std::string key_file;   // PEM private key (unencrypted)
  // Names these settings in errors: "tls.http.cert_file: cannot read ...".
  std::string config_key = "tls.http";
};

// What a route asks of a request before its body is read.
struct RouteOptions {
  // Header names (case-insensitive) the request must carry with a non-empty
  // value. A request without one is answered once its header block is read,
  // without reading the body, by on_missing_header (or 400 naming the
  // header if unset).
  std::vector<std::string> required_headers;
  // The answer to a request missing `header`: what the handler would answer,
  // so that its counters and logs see the refusal too. Runs on an io thread;
  // `head` has everything but the body.
  std::function<Response(const Request& head, absl::string_view header)>
      on_missing_header;
};

struct ServerOptions {
  size_t max_body_bytes = 4 << 20;     // 4 MiB; more gets 413
  size_t max_header_bytes = 16 << 10;  // whole header block; more gets 431
  // More are closed at accept. Lowered at Listen (logged) to the open-file
  // limit minus reserved_fds, so accepting never starves the process of
  // descriptors.
  size_t max_connections = 4096;
  // Open connections from one client address (IPv6: one /64); more are
  // closed at accept. 0: no per-client cap.
  size_t max_connections_per_ip = 0;
  // Descriptors max_connections leaves to the rest of the process (store,
  // gRPC, outgoing HTTP).
  size_t reserved_fds = 256;
  // The open-file limit to plan with; 0 reads RLIMIT_NOFILE's soft limit.
  size_t open_files_limit = 0;
  absl::Duration header_timeout = absl::Seconds(10);  // headers must arrive
  absl::Duration body_timeout = absl::Seconds(30);    // body must arrive
  absl::Duration idle_timeout = absl::Seconds(60);    // between requests
  absl::Duration write_timeout = absl::Seconds(30);
  ServerTls tls;  // unset: plaintext
};

struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;         // over max_connections
  uint64_t connections_rejected_per_ip = 0;  // over max_connections_per_ip
  uint64_t connections_open = 0;
  uint64_t requests = 0;
  // Answered from the header alone (404, 405, 413, missing header).
  uint64_t requests_refused_at_header = 0;
};

class Server {
 public:
  // `io` runs the sockets; it may be run by several threads.
  Server(boost::asio::io_context& io, ServerOptions options);
  ~Server();  // stops if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes a method ("" for any) and exact path. Register before Listen.
  void Handle(absl::string_view method, absl::string_view path, Handler handler,
              RouteOptions options = {});
  // Routes every path under `prefix` ("/_emulator/"); exact routes win, then
  // the longest prefix. Unrouted paths get 404, wrong methods 405.
  void HandlePrefix(absl::string_view method, absl::string_view prefix,
                    Handler handler, RouteOptions options = {});

  // Binds "host:port" (port 0 picks a free one) and starts accepting. With
  // options.tls, first loads the certificate: FAILED_PRECONDITION naming the
  // config key and path (never the file's contents) if a file cannot be read,
  // is not PEM, or the key does not match the certificate.
  absl::Status Listen(absl::string_view address);
  // True when serving HTTPS (options.tls set).
  bool tls() const;
  // Re-reads options.tls's files; connections accepted afterwards use the new
  // certificate, open ones keep theirs. On error (as for Listen) the previous
  // certificate stays in use. FAILED_PRECONDITION if TLS is off or the server
  // has not listened yet.
  absl::Status ReloadTls();
  // The bound port, after Listen.
  int port() const;
  // The connection cap in force: options.max_connections, lowered by Listen
  // to the open-file limit if need be.
  size_t max_connections() const;

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
