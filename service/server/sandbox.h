// Sandbox mode (`wagate --sandbox`): the Graph API emulator runs in-process
// with a demo account (WABA, phone number, approved hello_world template),
// the gateway sends to it, and it posts signed status webhooks back to the
// gateway's /webhook — the whole loop with no Meta account.
//
//   ASSIGN_OR_RETURN(auto sandbox, Sandbox::Start("127.0.0.1:8080"));
//   options.graph_base_url = sandbox->graph_base_url();
//   options.env = sandbox->Env(config::SystemEnv);
#ifndef WAGATE_SERVICE_SERVER_SANDBOX_H_
#define WAGATE_SERVICE_SERVER_SANDBOX_H_

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "emulator/emulator.h"
#include "service/config/accounts.h"

namespace wagate::server {

class Sandbox {
 public:
  // The demo account's secrets. Not secret: they exist only in the sandbox.
  static constexpr char kAccessToken[] = "sandbox-access-token";
  static constexpr char kAppSecret[] = "sandbox-app-secret";
  static constexpr char kVerifyToken[] = "sandbox-verify-token";

  // The sandbox's secrets are published (above), so everything it serves
  // stays on this host: FAILED_PRECONDITION naming the first flag whose
  // address is not loopback. `listeners` pairs a flag ("--grpc_address")
  // with its address; an empty address (a listener turned off) is fine.
  static absl::Status CheckLoopbackOnly(
      const std::vector<std::pair<std::string, std::string>>& listeners);

  // Starts the emulator on a free loopback port, posting webhooks to the
  // gateway at `gateway_http_address` (whose port must not be 0).
  static absl::StatusOr<std::unique_ptr<Sandbox>> Start(
      const std::string& gateway_http_address);
  ~Sandbox();

  std::string graph_base_url() const { return emulator_->base_url(); }
  const std::string& waba_id() const { return options_.waba_id; }
  const std::string& phone_number_id() const {
    return options_.phone_number_ids.front();
  }
  // The environment as the gateway should see it: the sandbox's token and
  // secrets, unless `fallback` sets them.
  config::EnvLookup Env(config::EnvLookup fallback) const;
  // A few lines telling a newcomer what to try next.
  std::string NextSteps(const std::string& grpc_address,
                        const std::string& http_address) const;

 private:
  Sandbox() : work_(boost::asio::make_work_guard(io_)) {}

  emulator::EmulatorOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  std::thread thread_;
  std::unique_ptr<emulator::Emulator> emulator_;
};

}  // namespace wagate::server

#endif  // WAGATE_SERVICE_SERVER_SANDBOX_H_
