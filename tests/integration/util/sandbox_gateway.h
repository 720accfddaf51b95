// The gateway in-process against an in-process emulator (sandbox mode), on
// free loopback ports with a fresh SQLite store: what most gateway-level
// integration tests start from.
//
//   ASSERT_OK_AND_ASSIGN-style:
//   auto started = SandboxGateway::Start({.config = config});
//   ASSERT_TRUE(started.ok()) << started.status();
//   std::unique_ptr<SandboxGateway> gw = *std::move(started);
//   auto stub = v1::Messaging::NewStub(gw->channel());
#ifndef WAGATE_TESTS_INTEGRATION_UTIL_SANDBOX_GATEWAY_H_
#define WAGATE_TESTS_INTEGRATION_UTIL_SANDBOX_GATEWAY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/server/gateway.h"
#include "service/server/sandbox.h"

namespace wagate::testing {

struct SandboxGatewayOptions {
  config::v1::Config config;
  // Names the temp dir of the store.
  std::string name = "sandbox_gateway";
  absl::Duration shutdown_grace = absl::Seconds(2);
};

class SandboxGateway {
 public:
  static absl::StatusOr<std::unique_ptr<SandboxGateway>> Start(
      SandboxGatewayOptions options = {});
  ~SandboxGateway();  // the gateway first, then the emulator

  server::Sandbox& sandbox() { return *sandbox_; }
  server::Gateway& gateway() { return *gateway_; }
  // "127.0.0.1:PORT" of the gateway's HTTP listener (webhooks, /metrics).
  const std::string& http_address() const { return http_address_; }
  int http_port() const;
  // The SQLite file of the event log.
  const std::string& db_path() const { return db_path_; }
  // A plaintext channel to the gateway's gRPC port.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  SandboxGateway() = default;

  std::string http_address_;
  std::string db_path_;
  std::unique_ptr<server::Sandbox> sandbox_;
  std::unique_ptr<server::Gateway> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace wagate::testing

#endif  // WAGATE_TESTS_INTEGRATION_UTIL_SANDBOX_GATEWAY_H_
