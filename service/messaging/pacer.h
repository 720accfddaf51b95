// Pacer: keeps sends within Meta's rate limits before they reach Graph
// (CLOUD_API.md §5), so a burst is smoothed here instead of being refused
// with 130429 / 131056.
//
// Two limits, both enforced:
//  - per phone number: never more than its mps grants in ANY sliding window
//    of one second (a log of the last mps grant times, not a token bucket:
//    a bucket would allow 2×mps across a window boundary, and both Meta and
//    the emulator count a sliding window);
//  - per (phone number, recipient) pair: a token bucket of 45 refilled at one
//    token per 6 s (burst 45, then 1 per 6 s).
//
// Graph counts a message when it accepts it, somewhere between our dispatch
// and its answer; network and load jitter can bunch dispatches spaced a
// window apart into fewer than a window at Graph. With
// `hold_until_finished`, a grant keeps its slot until the caller reports the
// answer with Finished(), and the window starts then: no window at Graph can
// then hold more than mps, whatever the latency.
//
// Acquire grants at once, or later from a timer when capacity frees (FIFO
// per number among requests whose pair limit allows them; no thread is
// blocked and nothing polls), or fails at once with RESOURCE_EXHAUSTED and a
// retry delay when the wait would pass the request's deadline.
//
// Usage:
//   auto pacer = Pacer::Create(io.get_executor(), Pacer::Options{});
//   pacer->SetThroughput("106540352242922", 1000);
//   pacer->Acquire("106540352242922", "16505551234", deadline,
//                  [](absl::Status s, absl::Duration retry_delay) {
//                    if (s.ok()) { /* send now */ }
//                  });
//
// Thread-safe. Callbacks run without the pacer's lock held: inline on the
// caller's thread for an immediate answer, else on the scheduler (the Asio
// executor by default).
//
// Several replicas: with Options::shared (e.g. shared_pacing.h, on Redis) a
// local grant is only a ticket to ask the shared gate, which enforces the
// same two limits across all replicas together; the request's callback then
// runs on the executor once the shared gate answers. The local pacer stays
// in front: it keeps this replica's FIFO and deadlines, and never asks the
// shared gate for more than the number's mps at once.
#ifndef WAGATE_SERVICE_MESSAGING_PACER_H_
#define WAGATE_SERVICE_MESSAGING_PACER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/any_io_executor.hpp"

namespace wagate::messaging {

// The message of the UNAVAILABLE a pacer (and the shared gate) answers
// waiting sends with when the gateway shuts down.
inline constexpr char kPacerShutdownMessage[] = "the gateway is shutting down";

// Why the pacer refused a send, for the wagate_pacer_rejections_total label:
// "deadline" (no capacity before the send's deadline), "shutdown", or
// "gate_unavailable" (the shared pacing gate on Redis could not be asked, so
// the send was not made unpaced).
absl::string_view PacerRejectionReason(const absl::Status& status);

struct PacerStats {
  uint64_t granted = 0;         // all grants
  uint64_t granted_waited = 0;  // grants that had to wait
  uint64_t denied = 0;          // RESOURCE_EXHAUSTED (deadline too close)
  absl::Duration total_wait;    // summed wait of granted_waited
  uint64_t waiting = 0;         // requests waiting now
  // Per-number and per-pair state held now. Idle entries are pruned (a
  // number's only while its limit is the default), so both follow the
  // numbers and recipients in use, not every value ever seen.
  uint64_t numbers = 0;
  uint64_t pairs = 0;
};

// A second gate shared by all replicas (implemented on Redis by
// shared_pacing.h). Implementations must not block the caller.
class SharedPacingGate {
 public:
  // OK: granted, `slot` names the grant for Release. RESOURCE_EXHAUSTED:
  // not within the deadline (retry_delay: when capacity is expected).
  // UNAVAILABLE: the shared state cannot be reached (never send unpaced).
  using Callback = std::function<void(absl::Status, absl::Duration retry_delay,
                                      std::string slot)>;
  virtual ~SharedPacingGate() = default;
  // `recipient` empty: no pair limit. `done` runs exactly once, on any
  // thread (inline only once shut down).
  virtual void Acquire(absl::string_view phone_number_id,
                       absl::string_view recipient, int mps,
                       absl::Time deadline, Callback done) = 0;
  // The granted request got its answer: its slot leaves the window one
  // window from now.
  virtual void Release(absl::string_view phone_number_id,
                       absl::string_view slot) = 0;
  // The pacer shut down: fail what waits with UNAVAILABLE, soon.
  virtual void Shutdown() {}
};

class Pacer : public std::enable_shared_from_this<Pacer> {
 public:
  // OK: send now. RESOURCE_EXHAUSTED: not within the deadline; retry_delay
  // says when capacity is expected. UNAVAILABLE: the pacer shut down.
  using Callback =
      std::function<void(absl::Status, absl::Duration retry_delay)>;
  // Runs `fn` after `delay` (not before). The default uses an Asio timer.
  using Scheduler =
      std::function<void(absl::Duration delay, std::function<void()> fn)>;

  struct Options {
    int default_mps = 80;  // for numbers without SetThroughput
    int pair_burst = 45;
    absl::Duration pair_interval = absl::Seconds(6);
    absl::Duration window = absl::Seconds(1);
    // Each grant must be followed by exactly one Finished() for its number.
    bool hold_until_finished = false;
    std::function<absl::Time()> clock;  // default absl::Now
    Scheduler scheduler;                // default: Asio timer on the executor
    // Null: this replica alone paces (SQLite store, one replica).
    std::shared_ptr<SharedPacingGate> shared;
  };

  static std::shared_ptr<Pacer> Create(boost::asio::any_io_executor executor,
                                       Options options);
  ~Pacer();

  // Asks to send one message from `phone_number_id` to `recipient`; `done`
  // runs exactly once. An empty `recipient` skips the pair limit (read
  // receipts count toward the number's throughput only).
  void Acquire(absl::string_view phone_number_id, absl::string_view recipient,
               absl::Time deadline, Callback done);

  // With hold_until_finished: the granted request to `phone_number_id` got
  // its answer (or failed); its slot leaves the window one window from now.
  void Finished(absl::string_view phone_number_id);

  // Sets the number's messages-per-second limit (config, the throughput
  // field, THROUGHPUT_UPGRADE). mps < 1 is treated as 1.
  void SetThroughput(absl::string_view phone_number_id, int mps);
  int Throughput(absl::string_view phone_number_id) const;

  // Fails every waiting request with UNAVAILABLE; later Acquires fail too.
  void Shutdown();

  PacerStats Stats() const;

  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

 private:
  struct Waiter {
    std::string pair_key;
    std::string recipient;
    absl::Time deadline;
    absl::Time enqueued;
    Callback done;
  };
  struct Number {
    int mps = 0;
    // The last <= mps grant times (with hold_until_finished: finish times),
    // ascending.
    std::deque<absl::Time> grants;
    int in_flight = 0;         // hold_until_finished: granted, not yet finished
    std::deque<Waiter> queue;  // FIFO, pair limit already satisfied
    absl::Time wake_at = absl::InfiniteFuture();  // pending timer, if any
    // With a shared gate: slots it granted, not yet released. Finished()
    // releases the oldest (all are this replica's in-flight sends).
    std::deque<std::string> shared_slots;
  };
  struct Pair {
    double tokens = 0;
    absl::Time updated;
  };
  using Ready = std::pair<Callback, absl::Status>;
  // A local grant still to be asked of the shared gate.
  struct Ask {
    std::string number_id;
    std::string recipient;
    int mps = 0;
    absl::Time deadline;
    Callback done;
  };

  Pacer(boost::asio::any_io_executor executor, Options options);

  Number& NumberLocked(absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // When the waiter at `position` in the number's queue is expected to be
  // granted, if all ahead of it are granted as early as possible.
  absl::Time EstimateGrantLocked(const Number& n, size_t position,
                                 absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Refills and returns the pair's bucket.
  Pair& PairLocked(const std::string& key, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Grants what the number's window allows now, fails expired waiters, and
  // arms the timer for the rest. Collects callbacks into `ready`.
  void PumpLocked(const std::string& number_id, Number& n, absl::Time now,
                  std::vector<Ready>* ready, std::vector<Ask>* asks)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Enqueue(const std::string& number_id, Waiter waiter);
  void Wake(const std::string& number_id);
  void PrunePairsLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PruneNumbersLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void RunReady(std::vector<Ready>& ready);
  // With a shared gate: asks it for each locally granted waiter in `asks`.
  void AskShared(std::vector<Ask>& asks);
  // The shared gate answered `ask`.
  void OnShared(const std::string& number_id, const std::string& recipient,
                Callback done, absl::Status status, absl::Duration retry_delay,
                std::string slot);
  void Post(std::function<void()> fn);

  const Options options_;
  boost::asio::any_io_executor executor_;

  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, Number> numbers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Pair> pairs_ ABSL_GUARDED_BY(mu_);
  uint64_t acquires_since_prune_ ABSL_GUARDED_BY(mu_) = 0;
  PacerStats stats_ ABSL_GUARDED_BY(mu_);
  // Requests waiting for their pair limit (not yet in a number queue), by
  // id: their timers move them to the number queue; Shutdown fails them at
  // once instead of waiting up to pair_interval × debt.
  absl::flat_hash_map<uint64_t, std::pair<std::string, Waiter>> pair_waiters_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_pair_waiter_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wagate::messaging

#endif  // WAGATE_SERVICE_MESSAGING_PACER_H_
