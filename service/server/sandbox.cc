#include "service/server/sandbox.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "service/auth/api_keys.h"

namespace wagate::server {

absl::Status Sandbox::CheckLoopbackOnly(
    const std::vector<std::pair<std::string, std::string>>& listeners) {
  for (const auto& [flag, address] : listeners) {
    if (address.empty() || auth::IsLoopbackAddress(address)) continue;
    return absl::FailedPreconditionError(absl::StrCat(
        "--sandbox serves a demo account whose token and secrets are "
        "published: ",
        flag, " ", address,
        " is not a loopback address (use 127.0.0.1, [::1] or localhost)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Start(
    const std::string& gateway_http_address) {
  size_t colon = gateway_http_address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(gateway_http_address.substr(colon + 1), &port) ||
      port == 0) {
    return absl::InvalidArgumentError(
        "--sandbox needs a fixed --http_address port (the emulator posts "
        "webhooks there)");
  }
  std::string host = gateway_http_address.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "*" || host == "[::]") {
    host = "127.0.0.1";
  }
  std::unique_ptr<Sandbox> sandbox(new Sandbox());
  emulator::EmulatorOptions& options = sandbox->options_;
  options.address = "127.0.0.1:0";
  options.webhook_url = absl::StrCat("http://", host, ":", port, "/webhook");
  options.app_secret = kAppSecret;
  options.access_tokens = {kAccessToken};
  // Statuses arrive at a pace a person can watch.
  options.sent_delay = absl::Milliseconds(200);
  options.delivered_delay = absl::Milliseconds(500);
  options.read_delay = absl::Seconds(1);
  sandbox->emulator_ =
      std::make_unique<emulator::Emulator>(sandbox->io_, options);
  absl::Status started = sandbox->emulator_->Start();
  if (!started.ok()) {
    return absl::Status(started.code(),
                        absl::StrCat("sandbox emulator: ", started.message()));
  }
  sandbox->thread_ = std::thread([s = sandbox.get()] { s->io_.run(); });
  return sandbox;
}

Sandbox::~Sandbox() {
  if (emulator_ != nullptr) emulator_->Stop();
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

config::EnvLookup Sandbox::Env(config::EnvLookup fallback) const {
  return [fallback](absl::string_view name) -> absl::optional<std::string> {
    if (absl::optional<std::string> value = fallback(name)) return value;
    if (name == "WAGATE_ACCESS_TOKEN") return std::string(kAccessToken);
    if (name == "WAGATE_APP_SECRET") return std::string(kAppSecret);
    if (name == "WAGATE_VERIFY_TOKEN") return std::string(kVerifyToken);
    return absl::nullopt;
  };
}

std::string Sandbox::NextSteps(const std::string& grpc_address,
                               const std::string& http_address) const {
  std::string text = R"(
wagate is running in sandbox mode: the Graph API is the embedded emulator at
GRAPH, with a demo account: waba_id WABA_ID, phone_number_id PNID,
an approved template hello_world (en_US).

Send a message (grpcurl, from another terminal):
  grpcurl -plaintext -d '{"phone_number_id":"PNID","to":"16505551234","text":{"body":"Hello from wagate"}}' \
    GRPC wagate.v1.Messaging/Send

Watch its sent / delivered / read statuses stream back:
  grpcurl -plaintext -d '{"from_oldest":true}' GRPC wagate.v1.Events/Subscribe

Or with the clients in this repository:
  build/release/clients/cli/wagate-cli --address GRPC send --from PNID --to 16505551234 --text "Hello"
  build/release/clients/cli/wagate-cli --address GRPC subscribe --from_oldest --limit 3
  /usr/bin/python3 clients/python/examples/send_text.py --address GRPC --from PNID --to 16505551234 --text "Hello"
  node clients/node/examples/subscribe.mjs --address GRPC --from-oldest --limit 3

Explore the API (every field is documented):
  grpcurl -plaintext GRPC list
  grpcurl -plaintext GRPC describe wagate.v1.SendRequest

Health: curl http://HTTP/healthz     Stop: Ctrl-C
)";
  return absl::StrReplaceAll(text, {{"GRAPH", emulator_->base_url()},
                                    {"WABA_ID", options_.waba_id},
                                    {"PNID", phone_number_id()},
                                    {"GRPC", grpc_address},
                                    {"HTTP", http_address}});
}

}  // namespace wagate::server
