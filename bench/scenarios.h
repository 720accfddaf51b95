// wagate-bench's scenarios (send-rate, send-max, webhook-max, e2e, soak,
// smoke) and their result: a human table on stdout and a JSON document with
// the keys bench/README.md documents. Each scenario measures its same-run
// reference first, then the system under test, and reports ratios.
//
//   ScenarioFlags flags;  flags.rate = 1000;  flags.duration =
//   absl::Seconds(60); absl::StatusOr<Result> r = RunScenario("send-rate",
//   flags); std::cout << r->Table();  WriteFile(path, r->Json());
#ifndef WAGATE_BENCH_SCENARIOS_H_
#define WAGATE_BENCH_SCENARIOS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/histogram.h"

namespace wagate::bench {

struct ScenarioFlags {
  double rate = 1000;
  absl::Duration duration = absl::Seconds(60);
  // Reference phases (echo, emulator-direct, static HTTP); 0: min(duration,
  // 15s).
  absl::Duration ref_duration = absl::ZeroDuration();
  int subscribers = 100;
  int in_flight = 0;     // closed loop; 0: the scenario's default
  int connections = 64;  // HTTP connections (webhook-max)
  int channels = 4;      // gRPC connections
  int numbers = 0;       // phone numbers; 0: the scenario's default
  int webhook_batch = 1;
  int status_batch = 20;        // webhook-max: statuses per batched envelope
  double max_rss_mb = 2000;     // e2e/soak abort past this (0: no limit)
  std::string gateway_address;  // external gateway (gRPC host:port)
  bool peer = false;            // also measure whatsapp-api-js (needs node)
  // e2e: first measure the gRPC fan-out floor (bench/fanout_reference.h)
  // with the same subscribers and rate, for ref_duration.
  bool fanout_reference = true;
  std::string peer_script;  // default: <source>/bench/peer/peer.mjs
  std::string target_url;   // webhook-max: post to this URL instead (a peer)
  std::vector<std::string> phone_number_ids;
  // The gateway's event log: "sqlite" (a file in a temp dir) or "redis" (a
  // private redis-server on loopback, started for the run).
  std::string store = "sqlite";
  // send-rate, send-max: every request carries a fresh idempotency_key, so
  // each send also reserves and completes a key in the store.
  bool idempotency_keys = false;
};

struct Result {
  std::string scenario;
  std::string unit = "msg/s";
  double offered_rate = 0;  // open loop; 0 for closed loop
  double achieved_rate = 0;
  double duration_s = 0;
  uint64_t total = 0;
  std::map<std::string, uint64_t> errors;
  Histogram latency;
  bool has_added_latency = false;
  Percentiles added_latency;
  uint64_t lost = 0;
  uint64_t duplicates = 0;
  double rss_mb = 0;
  double rss_peak_mb = 0;
  // Reference name → its rate (same unit) and latency; ratio name → value.
  std::vector<std::pair<std::string, double>> references;
  std::vector<std::pair<std::string, Percentiles>> reference_latency;
  std::vector<std::pair<std::string, double>> ratios;
  std::vector<std::pair<std::string, double>> extra;  // scenario specifics
  std::vector<uint64_t> per_second;                   // completions per second
  std::vector<double> rss_series;  // MB, one per second (soak)
  std::string notes;

  uint64_t error_count() const;
  std::string Json() const;
  std::string Table() const;
};

// Runs `name`; errors are set-up failures (a bench that ran reports its
// errors in the Result instead).
absl::StatusOr<Result> RunScenario(const std::string& name,
                                   const ScenarioFlags& flags);

}  // namespace wagate::bench

#endif  // WAGATE_BENCH_SCENARIOS_H_
