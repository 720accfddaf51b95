// wagate-bench: the load generator that measures the gateway against
// same-run references. Usage (bench/README.md has the full story):
//
//   wagate-bench send-rate --rate 1000 --duration 60s --json send-rate.json
//   wagate-bench send-max --duration 20s
//   wagate-bench webhook-max | e2e | soak | smoke
//
// Exit status: 0 when the scenario ran with no errors, no lost and no
// duplicated events; 1 otherwise (never because of speed).
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/scenarios.h"
#include "service/common/log.h"

ABSL_FLAG(double, rate, 1000, "open loop: calls per second");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(60), "measured phase");
ABSL_FLAG(absl::Duration, ref_duration, absl::ZeroDuration(),
          "each reference phase; 0 = min(duration, 15s)");
ABSL_FLAG(int, subscribers, 100, "e2e/soak: Subscribe streams");
ABSL_FLAG(int, in_flight, 0, "closed loop: calls outstanding (0: default)");
ABSL_FLAG(int, connections, 64, "webhook-max: HTTP connections");
ABSL_FLAG(int, channels, 4, "gRPC connections");
ABSL_FLAG(int, numbers, 0, "business phone numbers (0: scenario default)");
ABSL_FLAG(int, webhook_batch, 1, "e2e/soak: statuses per emulator POST");
ABSL_FLAG(int, status_batch, 20, "webhook-max: statuses per batched envelope");
ABSL_FLAG(std::string, gateway, "",
          "send-*: an external gateway (gRPC host:port) instead of in-process");
ABSL_FLAG(std::string, phone_number_ids, "",
          "with --gateway: comma-separated numbers it serves");
ABSL_FLAG(std::string, target_url, "",
          "webhook-max: post the envelopes to this URL only (e.g. the peer)");
ABSL_FLAG(bool, peer, false,
          "send-max, webhook-max: also measure the peer (whatsapp-api-js on "
          "node, from the repository's node_modules)");
ABSL_FLAG(bool, fanout_reference, true,
          "e2e: first measure the gRPC fan-out floor (a trivial Subscribe "
          "server feeding the same subscribers at the same rate)");
ABSL_FLAG(std::string, peer_script, "", "path of bench/peer/peer.mjs");
ABSL_FLAG(double, max_rss_mb, 2000,
          "e2e/soak: abort (exit 1) when the process RSS passes this; 0 = "
          "no limit");
ABSL_FLAG(std::string, store, "sqlite",
          "the gateway's event log: sqlite, or redis (a private redis-server)");
ABSL_FLAG(bool, idempotency_keys, false,
          "send-rate, send-max: give every request a unique idempotency_key "
          "(each send then reserves and completes a key in the store)");
ABSL_FLAG(std::string, json, "", "write the result as JSON to this file");
ABSL_FLAG(std::string, log_level, "warning", "gateway log level");

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (gRPC's locks included): a tenth of the send path's CPU in profiles.
  // Tests keep the check on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "wagate-bench SCENARIO [flags]; scenarios: send-rate send-max "
      "webhook-max e2e soak smoke");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: wagate-bench SCENARIO [flags] (--help)\n";
    return 2;
  }
  const std::string level = absl::GetFlag(FLAGS_log_level);
  wagate::log::SetMinLevel(level == "debug"   ? wagate::log::Level::kDebug
                           : level == "info"  ? wagate::log::Level::kInfo
                           : level == "error" ? wagate::log::Level::kError
                                              : wagate::log::Level::kWarning);
  wagate::bench::ScenarioFlags flags;
  flags.rate = absl::GetFlag(FLAGS_rate);
  flags.store = absl::GetFlag(FLAGS_store);
  flags.duration = absl::GetFlag(FLAGS_duration);
  flags.ref_duration = absl::GetFlag(FLAGS_ref_duration);
  flags.subscribers = absl::GetFlag(FLAGS_subscribers);
  flags.in_flight = absl::GetFlag(FLAGS_in_flight);
  flags.connections = absl::GetFlag(FLAGS_connections);
  flags.channels = absl::GetFlag(FLAGS_channels);
  flags.numbers = absl::GetFlag(FLAGS_numbers);
  flags.webhook_batch = absl::GetFlag(FLAGS_webhook_batch);
  flags.status_batch = absl::GetFlag(FLAGS_status_batch);
  flags.gateway_address = absl::GetFlag(FLAGS_gateway);
  flags.target_url = absl::GetFlag(FLAGS_target_url);
  flags.peer = absl::GetFlag(FLAGS_peer);
  flags.fanout_reference = absl::GetFlag(FLAGS_fanout_reference);
  flags.max_rss_mb = absl::GetFlag(FLAGS_max_rss_mb);
  flags.peer_script = absl::GetFlag(FLAGS_peer_script);
  flags.idempotency_keys = absl::GetFlag(FLAGS_idempotency_keys);
  for (absl::string_view id : absl::StrSplit(
           absl::GetFlag(FLAGS_phone_number_ids), ',', absl::SkipEmpty())) {
    flags.phone_number_ids.emplace_back(id);
  }
  absl::StatusOr<wagate::bench::Result> result =
      wagate::bench::RunScenario(args[1], flags);
  if (!result.ok()) {
    std::cerr << "wagate-bench: " << result.status() << "\n";
    return 2;
  }
  std::cout << result->Table() << std::flush;
  const std::string json_path = absl::GetFlag(FLAGS_json);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << result->Json() << "\n";
  }
  bool clean = result->error_count() == 0 && result->lost == 0 &&
               result->duplicates == 0;
  return clean ? 0 : 1;
}
