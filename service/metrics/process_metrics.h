// Process metrics read from /proc at scrape time (Linux), with the names
// operators' dashboards expect under the wagate_ prefix:
//   wagate_process_resident_memory_bytes  RSS, from /proc/self/statm
//   wagate_process_virtual_memory_bytes   VSZ, from /proc/self/statm
//   wagate_process_start_time_seconds     Unix time the process started
//   wagate_process_open_fds               entries in /proc/self/fd
//   wagate_process_max_fds                RLIMIT_NOFILE soft limit
//
//   metrics::RegisterProcessMetrics(metrics::Registry::Global());
//
// A value that cannot be read renders as 0 (start time falls back to the
// time of registration).
#ifndef WAGATE_SERVICE_METRICS_PROCESS_METRICS_H_
#define WAGATE_SERVICE_METRICS_PROCESS_METRICS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "service/metrics/registry.h"

namespace wagate::metrics {

// Adds the process gauges to `registry`; calling it again is harmless.
void RegisterProcessMetrics(Registry& registry);

// The readings behind the gauges, for tests and logs.
absl::StatusOr<uint64_t> ResidentMemoryBytes();
absl::StatusOr<uint64_t> VirtualMemoryBytes();
absl::StatusOr<double> ProcessStartTimeSeconds();
absl::StatusOr<uint64_t> OpenFds();

}  // namespace wagate::metrics

#endif  // WAGATE_SERVICE_METRICS_PROCESS_METRICS_H_
