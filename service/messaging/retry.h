// Retry policy of the send path: resend only what cannot deliver a duplicate
// (graph::IsSafeToRetry: rate limits 4/80007/130429/131056, explicit
// unavailability, a transport failure that sent nothing), after the
// documented backoff (graph::RetryBackoff: 131056 → 4^X s) with ±jitter,
// and only if the wait still fits before the request's deadline. An
// ambiguous failure (outcome_unknown) is never retried.
//
//   absl::optional<absl::Duration> wait =
//       NextRetryDelay(error, attempt, now, deadline, policy, unit_random);
//   if (!wait) return fail(error);   // permanent, ambiguous, or out of time
#ifndef WAGATE_SERVICE_MESSAGING_RETRY_H_
#define WAGATE_SERVICE_MESSAGING_RETRY_H_

#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "wagate/v1/errors.pb.h"

namespace wagate::messaging {

struct RetryPolicy {
  int max_retries = 4;  // resends after the first attempt
  double jitter = 0.2;  // the delay is scaled by [1 - jitter, 1 + jitter)
  // Waits shorter than this are not worth a timer round-trip to skip; the
  // HTTP exchange itself needs time too, so a retry must leave this much
  // before the deadline.
  absl::Duration min_time_for_attempt = absl::Milliseconds(50);
};

// The delay before retry number `attempt` (0-based) of a request that failed
// with `error`, or nullopt if it must not be retried. `unit_random` is a
// uniform value in [0, 1) (injected for tests).
absl::optional<absl::Duration> NextRetryDelay(const v1::GraphError& error,
                                              int attempt, absl::Time now,
                                              absl::Time deadline,
                                              const RetryPolicy& policy,
                                              double unit_random);

}  // namespace wagate::messaging

#endif  // WAGATE_SERVICE_MESSAGING_RETRY_H_
