// Messaging.Send's idempotency keys, as the send path sees the store: an
// asynchronous reserve → complete (or abandon) protocol. Both backends
// implement it (Store::idempotency_keys()) and do the blocking work — the
// SQLite group commit and fsync, a Redis round trip — on a thread the store
// owns, never on the caller's: a gRPC callback thread or an io_context
// thread calling Begin only queues the work.
//
// Invariants:
//  - A key is reserved by at most one caller at a time, across every
//    process sharing the store; the reservation and the result are durable.
//  - The store keeps the fingerprint given to the Begin that reserved a key
//    and reports it to later Begins (kInProgress, kDone); comparing it is
//    the caller's business (the same key with a different request).
//  - Callbacks run exactly once, on a store thread (or inline on the
//    caller's thread when the store refuses at once: closing, queue full).
//    They must be quick and must not block: post real work elsewhere.
//  - Errors are values: UNAVAILABLE when the backend cannot take the work
//    now; INVALID_ARGUMENT for an empty key.
//
//   keys->Begin(scoped_key, Sha256(request), absl::Hours(24),
//               [](absl::StatusOr<IdempotencyResult> r) { post(...); });
//   ... send ...
//   keys->Complete(scoped_key, encoded_result, [](absl::Status s) { ... });
#ifndef WAGATE_SERVICE_EVENTS_IDEMPOTENCY_KEYS_H_
#define WAGATE_SERVICE_EVENTS_IDEMPOTENCY_KEYS_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wagate::events {

enum class IdempotencyState {
  kNew,         // the key is now reserved by this caller: send, then Complete
  kInProgress,  // another caller holds the key and has not finished
  kDone,        // finished before: `result` holds the stored result
};

struct IdempotencyResult {
  IdempotencyState state = IdempotencyState::kNew;
  std::string result;  // set when state == kDone
  // kInProgress, kDone: the fingerprint the key was reserved with ("" for
  // a key stored before fingerprints existed).
  std::string fingerprint;
};

class IdempotencyKeys {
 public:
  using BeginCallback = std::function<void(absl::StatusOr<IdempotencyResult>)>;
  using DoneCallback = std::function<void(absl::Status)>;

  virtual ~IdempotencyKeys() = default;

  // Reserves `key` with `fingerprint` for `ttl` if it is unknown or expired
  // (kNew), else reports kInProgress or kDone with the stored fingerprint
  // (and result). A caller that got kInProgress may poll again later. A key
  // whose holder crashed stays kInProgress until `ttl` passes: the request
  // may have reached Meta, so resending would risk a duplicate. Keys are
  // global to the store: scope them with the client's identity.
  virtual void Begin(std::string key, std::string fingerprint,
                     absl::Duration ttl, BeginCallback done) = 0;

  // Stores the result of a key reserved with kNew; it is returned to repeats
  // for `ttl` (from Begin) counted from now. NOT_FOUND if the key is not
  // reserved (never was, or expired).
  virtual void Complete(std::string key, std::string result,
                        DoneCallback done) = 0;

  // Releases a key reserved with kNew whose request was never sent, so a
  // retry may send. Does nothing for a completed key.
  virtual void Abandon(std::string key, DoneCallback done) = 0;
};

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_IDEMPOTENCY_KEYS_H_
