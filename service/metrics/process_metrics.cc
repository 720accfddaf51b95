#include "service/metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace wagate::metrics {
namespace {

absl::StatusOr<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return absl::UnavailableError(std::string("cannot read ") + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Field `index` (0-based) of /proc/self/statm, in pages, as bytes.
absl::StatusOr<uint64_t> StatmBytes(int index) {
  absl::StatusOr<std::string> statm = ReadFile("/proc/self/statm");
  if (!statm.ok()) return statm.status();
  std::vector<absl::string_view> fields =
      absl::StrSplit(*statm, ' ', absl::SkipWhitespace());
  uint64_t pages = 0;
  if (static_cast<int>(fields.size()) <= index ||
      !absl::SimpleAtoi(fields[index], &pages)) {
    return absl::InternalError("unexpected /proc/self/statm");
  }
  return pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

double ValueOrZero(const absl::StatusOr<uint64_t>& v) {
  return v.ok() ? static_cast<double>(*v) : 0;
}

}  // namespace

absl::StatusOr<uint64_t> ResidentMemoryBytes() { return StatmBytes(1); }

absl::StatusOr<uint64_t> VirtualMemoryBytes() { return StatmBytes(0); }

absl::StatusOr<double> ProcessStartTimeSeconds() {
  // starttime (field 22 of /proc/self/stat) is in clock ticks since boot;
  // btime in /proc/stat is the boot time in Unix seconds.
  absl::StatusOr<std::string> stat = ReadFile("/proc/self/stat");
  if (!stat.ok()) return stat.status();
  // The command name (field 2) may hold spaces; fields resume after ')'.
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos) {
    return absl::InternalError("unexpected /proc/self/stat");
  }
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(*stat).substr(paren + 1), ' ', absl::SkipWhitespace());
  constexpr int kStartTime = 22 - 3;  // fields after ')' begin at field 3
  uint64_t ticks = 0;
  if (static_cast<int>(fields.size()) <= kStartTime ||
      !absl::SimpleAtoi(fields[kStartTime], &ticks)) {
    return absl::InternalError("unexpected /proc/self/stat");
  }
  absl::StatusOr<std::string> system = ReadFile("/proc/stat");
  if (!system.ok()) return system.status();
  for (absl::string_view line : absl::StrSplit(*system, '\n')) {
    if (!absl::ConsumePrefix(&line, "btime ")) continue;
    uint64_t boot = 0;
    if (!absl::SimpleAtoi(line, &boot)) break;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0) break;
    return static_cast<double>(boot) +
           static_cast<double>(ticks) / static_cast<double>(hz);
  }
  return absl::InternalError("no btime in /proc/stat");
}

absl::StatusOr<uint64_t> OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr)
    return absl::UnavailableError("cannot open /proc/self/fd");
  uint64_t count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  // The directory stream itself holds one descriptor while we count.
  return count > 0 ? count - 1 : 0;
}

void RegisterProcessMetrics(Registry& registry) {
  registry.AddGaugeCallback("wagate_process_resident_memory_bytes",
                            "Resident memory size in bytes.",
                            [] { return ValueOrZero(ResidentMemoryBytes()); });
  registry.AddGaugeCallback("wagate_process_virtual_memory_bytes",
                            "Virtual memory size in bytes.",
                            [] { return ValueOrZero(VirtualMemoryBytes()); });
  absl::StatusOr<double> start = ProcessStartTimeSeconds();
  double start_seconds =
      start.ok() ? *start : absl::ToUnixMicros(absl::Now()) / 1e6;
  registry
      .AddGauge("wagate_process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds.")
      ->Set(start_seconds);
  registry.AddGaugeCallback("wagate_process_open_fds",
                            "Number of open file descriptors.",
                            [] { return ValueOrZero(OpenFds()); });
  registry.AddGaugeCallback("wagate_process_max_fds",
                            "Maximum number of open file descriptors.", [] {
                              rlimit limit{};
                              if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
                                return 0.0;
                              }
                              return static_cast<double>(limit.rlim_cur);
                            });
}

}  // namespace wagate::metrics
