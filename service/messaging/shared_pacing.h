// Shared pacing on Redis: the second gate of the Pacer (pacer.h) when several
// gateway replicas share one Redis (`--store redis://...`), so the per-number
// sliding window and the pair limit hold across all replicas together: two
// replicas never send more than a number's mps between them.
//
// State per number, in keys under the store's hash tag ({prefix}, so one
// Redis Cluster slot): a sorted set of slots in flight (score: lease expiry)
// and one of finished slots (score: finish time, kept one window); per
// (number, recipient) a token bucket. One Lua script grants a batch of
// requests for a number atomically, in order, on Redis's clock (replica
// clocks may differ); another moves released slots to the finished set.
// A slot of a crashed replica leaves "in flight" when its lease (the
// request's time left + a margin) ends, and then counts for one more window.
//
// Redis calls run on one worker thread fed by a queue: no gRPC or Asio
// thread waits for Redis. A request the script cannot grant yet waits on the
// worker's timer until the time the script names (when the slot that must
// leave the window leaves it; at least a window while slots are in flight),
// never in a polling loop. Redis unreachable: UNAVAILABLE, never unpaced.
//
//   ASSIGN_OR_RETURN(auto shared, RedisPacing::Create("redis://host:6379",
//                                                     SharedPacingOptions{}));
//   Pacer::Options o;
//   o.hold_until_finished = true;
//   o.shared = shared;  // the local Pacer stays in front (FIFO, deadlines)
//   auto pacer = Pacer::Create(io.get_executor(), std::move(o));
#ifndef WAGATE_SERVICE_MESSAGING_SHARED_PACING_H_
#define WAGATE_SERVICE_MESSAGING_SHARED_PACING_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/messaging/pacer.h"
#include "service/redis/client.h"

namespace wagate::messaging {

struct SharedPacingOptions {
  // As the Pacer's (SenderOptions::pacer_window, burst 45, 1 per 6 s).
  absl::Duration window = absl::Milliseconds(1010);
  int pair_burst = 45;
  absl::Duration pair_interval = absl::Seconds(6);
  // A slot's lease: the request's time left plus this, at most max_lease.
  absl::Duration lease_margin = absl::Seconds(2);
  absl::Duration max_lease = absl::Minutes(5);
  // Most requests of one number granted by one script call.
  int max_batch = 64;
  // Credentials: from WAGATE_REDIS_USERNAME / WAGATE_REDIS_PASSWORD when
  // these are empty (as the store does).
  redis::ClientOptions client = [] {
    redis::ClientOptions o;
    o.command_timeout = absl::Seconds(2);
    return o;
  }();
};

struct SharedPacingStats {
  uint64_t script_calls = 0;  // acquire scripts run
  uint64_t granted = 0;
  uint64_t denied = 0;       // RESOURCE_EXHAUSTED
  uint64_t unavailable = 0;  // Redis errors
  uint64_t waiting = 0;      // requests queued now
};

class RedisPacing : public SharedPacingGate {
 public:
  // `url`: redis://HOST[:PORT][/DB][?prefix=NAME], as the store's. Does not
  // connect yet (a Redis down at start-up fails sends, not the start).
  static absl::StatusOr<std::shared_ptr<RedisPacing>> Create(
      absl::string_view url, SharedPacingOptions options);
  // Fails what is queued with UNAVAILABLE and stops the worker.
  ~RedisPacing() override;

  void Acquire(absl::string_view phone_number_id, absl::string_view recipient,
               int mps, absl::Time deadline, Callback done) override;
  void Release(absl::string_view phone_number_id,
               absl::string_view slot) override;

  // Fails queued and later requests with UNAVAILABLE (releases still go
  // out); joins the worker once what it runs now returns.
  void Shutdown() override;

  SharedPacingStats Stats() const;

  RedisPacing(const RedisPacing&) = delete;
  RedisPacing& operator=(const RedisPacing&) = delete;

 private:
  struct Request {
    std::string recipient;
    int mps = 0;
    absl::Time deadline;
    absl::Time not_before;  // pair limit: not asked again before
    Callback done;
  };
  struct Number {
    std::deque<Request> queue;                   // FIFO
    absl::Time ready_at = absl::InfinitePast();  // window full until then
    std::vector<std::string> releases;
  };
  using Ready =
      std::pair<Callback,
                std::tuple<absl::Status, absl::Duration, std::string>>;

  RedisPacing(redis::Address address, SharedPacingOptions options);
  void Run();
  // One script call granting what it can of `batch` (a number's requests,
  // in order); answers or requeues them.
  // `releases` (slots of this number) are released first, in the same call.
  void AcquireBatch(const std::string& number_id, std::vector<Request> batch,
                    const std::vector<std::string>& releases,
                    std::vector<Ready>* ready);
  void ReleaseBatch(const std::string& number_id,
                    const std::vector<std::string>& slots);
  std::string InFlightKey(absl::string_view number_id) const;
  std::string FinishedKey(absl::string_view number_id) const;
  std::string PairKey(absl::string_view number_id,
                      absl::string_view recipient) const;
  static void RunReady(std::vector<Ready>& ready);

  const redis::Address address_;
  const SharedPacingOptions options_;
  const std::string tag_;
  const std::string replica_;              // random, names this replica's slots
  std::unique_ptr<redis::Client> client_;  // the worker's only

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, Number> numbers_ ABSL_GUARDED_BY(mu_);
  uint64_t next_slot_ = 0;  // the worker's only, like client_
  SharedPacingStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
};

}  // namespace wagate::messaging

#endif  // WAGATE_SERVICE_MESSAGING_SHARED_PACING_H_
