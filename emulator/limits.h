// Meta's send limits as small clocks-in, answer-out objects:
//   - ThroughputLimiter: messages per number in any 1-second window
//     (130429);
//   - PairLimiter: a token bucket per business/user pair, 1 per 6 s with a
//     burst of 45 (131056);
//   - LatencyModel: the answer delay drawn from --latency.
// Not thread-safe; the emulator's state guards them.
//
//   ThroughputLimiter t(80);
//   if (!t.TryAcquire(now)) return Error(130429);
#ifndef WAGATE_EMULATOR_LIMITS_H_
#define WAGATE_EMULATOR_LIMITS_H_

#include <cstdint>
#include <deque>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wagate::emulator {

// At most `limit` acquisitions in any sliding window of one second.
class ThroughputLimiter {
 public:
  explicit ThroughputLimiter(double limit_per_second)
      : limit_(limit_per_second) {}
  // Records one message at `now` and returns true, or returns false if the
  // window is full. A limit <= 0 never refuses.
  bool TryAcquire(absl::Time now);
  void set_limit(double limit_per_second) { limit_ = limit_per_second; }
  double limit() const { return limit_; }

 private:
  double limit_;
  std::deque<int64_t> stamps_;  // unix nanos of accepted messages, < 1 s old
};

// Token bucket: starts with `burst` tokens, regains one per `interval`.
class PairLimiter {
 public:
  PairLimiter(int burst, absl::Duration interval, absl::Time now)
      : burst_(burst), interval_(interval), tokens_(burst), last_(now) {}
  bool TryAcquire(absl::Time now);

 private:
  int burst_;
  absl::Duration interval_;
  double tokens_;
  absl::Time last_;
};

// Answer delays: a constant ("0", "5ms", "1.5s") or a log-normal given by
// its median and 99th percentile ("lognormal:median=200ms,p99=2s").
class LatencyModel {
 public:
  static absl::StatusOr<LatencyModel> Parse(absl::string_view spec);
  LatencyModel() = default;
  absl::Duration Sample(std::mt19937_64& rng) const;
  bool is_zero() const {
    return !lognormal_ && constant_ == absl::ZeroDuration();
  }

 private:
  bool lognormal_ = false;
  absl::Duration constant_ = absl::ZeroDuration();
  double mu_ = 0, sigma_ = 0;  // of ln(seconds)
};

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_LIMITS_H_
