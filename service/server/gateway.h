// The gateway process's parts, assembled: the durable store, the shared HTTP
// server (webhooks, /healthz; /metrics too when it listens on loopback), the
// admin HTTP server (/metrics, /healthz), the Graph client and the gRPC
// server with every wagate.v1 service, health and reflection.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Gateway> gateway,
//   Gateway::Start(options));
//   ... wait for SIGTERM ...
//   gateway->Shutdown();  // graceful: in-flight calls finish within the grace
//
// Threads: gRPC runs the callback reactors on its own pool; one Asio
// io_context, run by `io_threads` threads, serves HTTP and drives libcurl.
#ifndef WAGATE_SERVICE_SERVER_GATEWAY_H_
#define WAGATE_SERVICE_SERVER_GATEWAY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/config/accounts.h"
#include "wagate/config/v1/config.pb.h"

namespace wagate::server {

struct GatewayOptions {
  std::string grpc_address = "127.0.0.1:50051";
  // Webhooks and /healthz; /metrics as well only on a loopback address (a
  // public webhook listener does not publish the gateway's metrics).
  std::string http_address = "127.0.0.1:8080";
  // /metrics and /healthz for operators ("" = no admin listener; main's
  // --admin_address defaults to 127.0.0.1:9464).
  std::string admin_address;
  // With client API keys and no tls.grpc, a non-loopback grpc_address is
  // refused (the keys would cross the network in plaintext) unless this is
  // set, e.g. when a proxy or mesh terminates TLS in front of wagate.
  bool allow_insecure_grpc = false;
  std::string graph_base_url = "https://graph.facebook.com";
  std::string graph_api_version = "v24.0";
  std::string store = "sqlite:wagate-data/wagate.db";
  config::v1::Config config;
  // Where secrets (access tokens, app secrets, verify token) are read from.
  config::EnvLookup env = config::SystemEnv;
  int io_threads = 2;
  // How long Shutdown lets in-flight calls and streams finish.
  absl::Duration shutdown_grace = absl::Seconds(10);
};

// The outcome of reloading one listener's TLS certificate.
struct TlsReload {
  std::string listener;  // "grpc" or "http"
  absl::Status status;   // names the config key and path on error
};

class Gateway {
 public:
  // Opens the store, binds both listeners and starts serving. Errors name
  // what failed (e.g. the address in use).
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(GatewayOptions options);

  ~Gateway();  // Shutdown() if not done
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  int grpc_port() const;
  int http_port() const;
  int admin_port() const;  // 0 without an admin listener

  // Re-reads the TLS files of each listener that has TLS (main calls this on
  // SIGHUP): connections accepted afterwards get the new certificate (gRPC
  // within auth::kGrpcTlsRefreshSeconds), open ones keep theirs; a listener
  // whose files fail keeps its old certificate. Empty when neither has TLS.
  std::vector<TlsReload> ReloadTls();

  // Stops accepting, lets in-flight calls finish within the grace period,
  // then cancels what remains and closes the store. Idempotent.
  void Shutdown();

 private:
  class Impl;
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wagate::server

#endif  // WAGATE_SERVICE_SERVER_GATEWAY_H_
