#include "tests/integration/util/sandbox_gateway.h"

#include "absl/strings/str_cat.h"
#include "tests/integration/util/subprocess.h"

namespace wagate::testing {

absl::StatusOr<std::unique_ptr<SandboxGateway>> SandboxGateway::Start(
    SandboxGatewayOptions options) {
  std::unique_ptr<SandboxGateway> self(new SandboxGateway());
  // The emulator posts webhooks to the gateway, so the gateway's HTTP port
  // is picked before either starts.
  self->http_address_ = absl::StrCat("127.0.0.1:", FreeLoopbackPort());
  absl::StatusOr<std::unique_ptr<server::Sandbox>> sandbox =
      server::Sandbox::Start(self->http_address_);
  if (!sandbox.ok()) return sandbox.status();
  self->sandbox_ = *std::move(sandbox);
  self->db_path_ = MakeTempDir(options.name) + "/w.db";
  server::GatewayOptions gateway_options;
  gateway_options.grpc_address = "127.0.0.1:0";
  gateway_options.http_address = self->http_address_;
  gateway_options.store = "sqlite:" + self->db_path_;
  gateway_options.graph_base_url = self->sandbox_->graph_base_url();
  gateway_options.config = std::move(options.config);
  gateway_options.env =
      self->sandbox_->Env([](absl::string_view) { return absl::nullopt; });
  gateway_options.shutdown_grace = options.shutdown_grace;
  absl::StatusOr<std::unique_ptr<server::Gateway>> gateway =
      server::Gateway::Start(std::move(gateway_options));
  if (!gateway.ok()) return gateway.status();
  self->gateway_ = *std::move(gateway);
  self->channel_ = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", self->gateway_->grpc_port()),
      grpc::InsecureChannelCredentials());
  return self;
}

SandboxGateway::~SandboxGateway() {
  if (gateway_ != nullptr) gateway_->Shutdown();
  gateway_.reset();
  sandbox_.reset();
}

int SandboxGateway::http_port() const { return PortOf(http_address_); }

}  // namespace wagate::testing
