#include "service/messaging/retry.h"

#include "service/graph/graph_error.h"

namespace wagate::messaging {

absl::optional<absl::Duration> NextRetryDelay(const v1::GraphError& error,
                                              int attempt, absl::Time now,
                                              absl::Time deadline,
                                              const RetryPolicy& policy,
                                              double unit_random) {
  if (attempt >= policy.max_retries) return absl::nullopt;
  if (!graph::IsSafeToRetry(error)) return absl::nullopt;
  absl::Duration base = graph::RetryBackoff(error, attempt);
  double scale = 1.0 + policy.jitter * (2.0 * unit_random - 1.0);
  absl::Duration delay = base * scale;
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  if (now + delay + policy.min_time_for_attempt > deadline) {
    return absl::nullopt;
  }
  return delay;
}

}  // namespace wagate::messaging
