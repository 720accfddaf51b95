// wagate: the gRPC gateway to the WhatsApp Cloud API.
//
//   wagate                       # loopback, single account from WAGATE_* env
//   wagate --config wagate.json  # accounts, clients, limits from a file
//   wagate --sandbox             # with the embedded Graph API emulator
//
// Every flag can also be set as WAGATE_<FLAG> in the environment.
// SIGHUP re-reads the TLS certificate files (tls.grpc, tls.http) without
// stopping; SIGINT/SIGTERM shut down gracefully.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/log.h"
#include "service/config/config.h"
#include "service/config/env_flags.h"
#include "service/server/gateway.h"
#include "service/server/sandbox.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50051",
          "Where the gRPC API listens (host:port; port 0 picks a free one).");
ABSL_FLAG(std::string, http_address, "127.0.0.1:8080",
          "Where webhooks and /healthz are served (host:port); /metrics too "
          "while this is a loopback address.");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9464",
          "Where /metrics and /healthz are served for operators, in "
          "plaintext (host:port; empty: no admin listener).");
ABSL_FLAG(bool, allow_insecure_grpc, false,
          "Accept client API keys over plaintext gRPC on a non-loopback "
          "--grpc_address (TLS terminated by a proxy or mesh in front).");
ABSL_FLAG(std::string, graph_base_url, "https://graph.facebook.com",
          "Base URL of the Graph API.");
ABSL_FLAG(std::string, graph_api_version, "v24.0", "Graph API version.");
ABSL_FLAG(std::string, store, "sqlite:wagate-data/wagate.db",
          "Event log, consumer groups and idempotency keys: sqlite:PATH or "
          "redis://HOST:PORT.");
ABSL_FLAG(std::string, config, "",
          "JSON config file (schema: protos/wagate/config/v1/config.proto).");
ABSL_FLAG(bool, sandbox, false,
          "Run the Graph API emulator in-process with a demo account and point "
          "the gateway at it: no Meta account needed.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "How long in-flight calls may finish after SIGINT/SIGTERM.");
ABSL_FLAG(int, io_threads, 2,
          "Threads running the HTTP and Graph client loop.");

namespace {

int Fail(absl::string_view what, const absl::Status& status) {
  wagate::log::Error("main", what, {{"error", std::string(status.message())}});
  std::fprintf(stderr, "wagate: %s: %s\n", std::string(what).c_str(),
               std::string(status.message()).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (gRPC's locks included): a tenth of the send path's CPU in profiles.
  // Tests keep the check on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "the gRPC gateway to the WhatsApp Cloud API.\n"
      "Every flag can also be set as WAGATE_<FLAG> in the environment; secrets "
      "come only from the environment (WAGATE_ACCESS_TOKEN, WAGATE_APP_SECRET, "
      "WAGATE_VERIFY_TOKEN) or the variables the config file names.");
  absl::Status env = wagate::config::ApplyFlagEnvironment(
      {"grpc_address", "http_address", "admin_address", "allow_insecure_grpc",
       "graph_base_url", "graph_api_version", "store", "config", "sandbox",
       "log_level", "shutdown_grace", "io_threads"});
  if (!env.ok()) return Fail("bad environment", env);
  absl::ParseCommandLine(argc, argv);

  wagate::log::Level level;
  if (!wagate::log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    return Fail("bad flag",
                absl::InvalidArgumentError("--log_level must be debug, info, "
                                           "warning or error"));
  }
  wagate::log::SetMinLevel(level);

  wagate::server::GatewayOptions options;
  options.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  options.http_address = absl::GetFlag(FLAGS_http_address);
  options.admin_address = absl::GetFlag(FLAGS_admin_address);
  options.allow_insecure_grpc = absl::GetFlag(FLAGS_allow_insecure_grpc);
  options.graph_base_url = absl::GetFlag(FLAGS_graph_base_url);
  options.graph_api_version = absl::GetFlag(FLAGS_graph_api_version);
  options.store = absl::GetFlag(FLAGS_store);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.io_threads = absl::GetFlag(FLAGS_io_threads);
  if (options.io_threads < 1 || options.io_threads > 64) {
    return Fail("bad flag", absl::InvalidArgumentError(
                                "--io_threads must be between 1 and 64"));
  }
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (!config_path.empty()) {
    absl::StatusOr<wagate::config::v1::Config> config =
        wagate::config::LoadConfigFile(config_path);
    if (!config.ok()) return Fail("bad config", config.status());
    options.config = *std::move(config);
  }
  // Signals are taken synchronously by this thread; block them before any
  // other thread starts (the sandbox's too) so none of those receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<wagate::server::Sandbox> sandbox;
  if (absl::GetFlag(FLAGS_sandbox)) {
    absl::Status local = wagate::server::Sandbox::CheckLoopbackOnly(
        {{"--grpc_address", options.grpc_address},
         {"--http_address", options.http_address},
         {"--admin_address", options.admin_address}});
    if (!local.ok()) return Fail("cannot start the sandbox", local);
    absl::StatusOr<std::unique_ptr<wagate::server::Sandbox>> started =
        wagate::server::Sandbox::Start(options.http_address);
    if (!started.ok())
      return Fail("cannot start the sandbox", started.status());
    sandbox = *std::move(started);
    options.graph_base_url = sandbox->graph_base_url();
    options.env = sandbox->Env(options.env);
  }

  absl::StatusOr<std::unique_ptr<wagate::server::Gateway>> gateway =
      wagate::server::Gateway::Start(std::move(options));
  if (!gateway.ok()) return Fail("cannot start", gateway.status());
  if (sandbox != nullptr) {
    const std::string grpc_address =
        absl::StrCat("127.0.0.1:", (*gateway)->grpc_port());
    const std::string http_address =
        absl::StrCat("127.0.0.1:", (*gateway)->http_port());
    std::fputs(sandbox->NextSteps(grpc_address, http_address).c_str(), stdout);
    std::fflush(stdout);
  }

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    std::vector<wagate::server::TlsReload> reloads = (*gateway)->ReloadTls();
    if (reloads.empty()) {
      wagate::log::Info("main", "SIGHUP: no TLS certificate to reload");
    }
    for (const wagate::server::TlsReload& reload : reloads) {
      if (reload.status.ok()) {
        wagate::log::Info("main", "TLS certificate reloaded",
                          {{"listener", reload.listener}});
      } else {
        // The listener keeps serving its previous certificate.
        wagate::log::Error("main", "TLS certificate reload failed",
                           {{"listener", reload.listener},
                            {"error", std::string(reload.status.message())}});
      }
    }
  }
  wagate::log::Info(
      "main", "signal received",
      {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*gateway)->Shutdown();
  sandbox.reset();
  return 0;
}
