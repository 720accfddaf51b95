// Durable append throughput of the SQLite store per Append batch size, with
// ~1 KB events. Appends are issued asynchronously, as concurrent webhook POSTs
// would be, so group commit folds them into few transactions. The second
// argument bounds the batches in flight (like a bounded number of concurrent
// POSTs, each waiting for its acknowledgement); 0 = all at once. Run:
//   build/<dir>/service/events/events_store_benchmark [--benchmark_filter=...]
// The database goes to $TMPDIR (default /tmp): put it on the disk you mean to
// measure.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "service/events/sqlite_store.h"

namespace wagate::events {
namespace {

constexpr int kEventsPerIteration = 20000;

// Bytes this process caused to be written to storage (Linux), to see the
// write amplification per event independently of the disk's speed.
int64_t StorageBytesWritten() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value) {
    if (key == "write_bytes:") return value;
  }
  return 0;
}

void BM_AppendDurable(benchmark::State& state) {
  const int batch_size = static_cast<int>(state.range(0));
  const int max_in_flight = static_cast<int>(state.range(1));
  const char* tmp = std::getenv("TMPDIR");
  std::filesystem::path dir = std::filesystem::path(tmp ? tmp : "/tmp") /
                              absl::StrCat("wagate_events_bench_", getpid());
  std::filesystem::remove_all(dir);
  StoreOptions options;
  options.max_queued_events = 1 << 20;
  auto store = OpenSqliteStore((dir / "events.db").string(), options);
  if (!store.ok()) {
    state.SkipWithError(std::string(store.status().message()).c_str());
    return;
  }
  const std::string payload(1000, 'x');
  int64_t next_id = 0;
  const uint64_t tx_before = (*store)->Stats().transactions;
  const int64_t written_before = StorageBytesWritten();
  for (auto _ : state) {
    const int batches = kEventsPerIteration / batch_size;
    std::atomic<int> pending{batches};
    std::atomic<int> failed{0};
    absl::Notification done;
    absl::Mutex mu;
    int in_flight = 0;
    auto has_room = [&]() {
      return max_in_flight == 0 || in_flight < max_in_flight;
    };
    for (int b = 0; b < batches; ++b) {
      {
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(&has_room));
        ++in_flight;
      }
      std::vector<EventRecord> batch(batch_size);
      for (auto& e : batch) {
        e.id = absl::StrCat("wamid.HBgLMTU1NTAxMjM0NTY3FQIAEhgg", next_id++);
        e.kind = "message";
        e.phone_number_id = "106540352242922";
        e.waba_id = "102290129340398";
        e.received_at = absl::Now();
        e.payload = payload;
      }
      (*store)->Append(std::move(batch), [&](absl::StatusOr<AppendResult> r) {
        if (!r.ok()) ++failed;
        {
          absl::MutexLock lock(&mu);
          --in_flight;
        }
        if (--pending == 0) done.Notify();
      });
    }
    done.WaitForNotification();
    if (failed.load() > 0) {
      state.SkipWithError("append failed");
      break;
    }
  }
  const uint64_t txs = (*store)->Stats().transactions - tx_before;
  const double events =
      static_cast<double>(state.iterations()) * kEventsPerIteration;
  state.SetItemsProcessed(state.iterations() * kEventsPerIteration);
  state.counters["written_bytes_per_event"] =
      (StorageBytesWritten() - written_before) / events;
  state.counters["events_per_tx"] =
      txs ? static_cast<double>(state.iterations() * kEventsPerIteration) / txs
          : 0;
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendDurable)
    ->ArgNames({"batch", "in_flight"})
    ->Args({1, 0})
    ->Args({10, 0})
    ->Args({100, 0})
    ->Args({1000, 0})
    ->Args({1, 256})
    ->Args({10, 64})
    ->Args({100, 16})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace wagate::events

BENCHMARK_MAIN();
