// The gateway's durable store: the webhook event log, consumer-group state and
// Send's idempotency keys (idempotency_keys.h), behind one backend-neutral
// interface (SQLite, Redis Streams). One Store per gateway, selected by
// `--store`.
//
// Invariants:
//  - Append's `done` runs only after the batch is durable (committed and
//    fsynced); a batch is stored atomically or not at all.
//  - An event id is stored once: a redelivery within the dedupe window
//    (RetentionPolicy::max_age) is reported as a duplicate and not stored.
//  - Cursors are opaque, and the cursors of one store compare as byte strings
//    in log order (so `a < b` means `a` was appended before `b`).
//  - Every method is thread-safe and returns errors as values: UNAVAILABLE
//    when the backend cannot take the work now (queue full, disk full,
//    locked, I/O error) — retry later; INVALID_ARGUMENT for bad input.
//
// Usage:
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
//                    OpenStore("sqlite:./wagate-data/events.db"));
//   store->Append(std::move(records), [](absl::StatusOr<AppendResult> r) {
//     // Runs on the store's writer thread once durable: answer 200 or 503.
//   });
//   ASSIGN_OR_RETURN(auto page, store->ReadAfter(cursor, 100, Filter{}));
#ifndef WAGATE_SERVICE_EVENTS_STORE_H_
#define WAGATE_SERVICE_EVENTS_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/events/idempotency_keys.h"

namespace wagate::events {

// One stored event: indexed metadata plus the serialized Event proto.
struct EventRecord {
  std::string id;               // stable dedupe key (message id, id+status...)
  std::string kind;             // event kind, for filters
  std::string phone_number_id;  // for filters
  std::string waba_id;
  absl::Time received_at;  // when the gateway received the webhook
  std::string payload;     // serialized wagate.v1.Event (opaque here)
  std::string cursor;      // assigned by the store; ignored on Append
};

// Per-event outcome of an Append, in the order of the appended vector.
struct AppendResult {
  struct Item {
    // The stored event's cursor; for a duplicate, empty (the first copy may
    // already have been pruned by size, so there is no reliable cursor).
    std::string cursor;
    bool duplicate = false;
  };
  std::vector<Item> items;
};

// Selects events; an empty list means "any". Fields are ANDed, list entries
// ORed.
struct Filter {
  std::vector<std::string> phone_number_ids;
  std::vector<std::string> kinds;

  bool Matches(const EventRecord& event) const;
  // The same selection with both lists sorted and without duplicates.
  Filter Normalized() const;
  // The normalized filter as canonical JSON
  // ({"phone_number_ids":[...],"kinds":[...]}): equal for filters that
  // select the same events. What a consumer group stores.
  std::string Key() const;
};

// A bounded read of the log (Store::ReadPage).
struct LogPage {
  // Matching events, in cursor order.
  std::vector<EventRecord> events;
  // The cursor of the last event the read examined, matching or not ("" if
  // it examined none): the next read continues after it.
  std::string scanned_through;
  // The read stopped before the end of the log (it found `max` events or
  // reached the backend's scan bound): read again after scanned_through.
  // False: every event stored before the read started was examined.
  bool more = false;
};

// An event handed to a consumer-group member.
struct ClaimedEvent {
  EventRecord event;
  int delivery_count = 1;  // 1 on first delivery, +1 on each redelivery
};

// What one ClaimNext call claimed.
struct ClaimBatch {
  std::vector<ClaimedEvent> events;
  // The claim stopped at its scan bound with newer events left unexamined:
  // claim again now, even if `events` is empty.
  bool more = false;
};

struct RetentionPolicy {
  // Events older than this (by the time they were stored) are pruned, and so
  // are their dedupe ids: a redelivery after max_age is stored again. Meta
  // redelivers for up to 7 days, hence the default.
  absl::Duration max_age = absl::Hours(24 * 7);
  // When the payloads of all stored events exceed this many bytes, the
  // oldest events are pruned. Their dedupe ids stay until max_age. 0 = no
  // size limit.
  int64_t max_payload_bytes = 0;
};

struct RetentionResult {
  int64_t events_pruned = 0;
  int64_t dedupe_ids_pruned = 0;
  int64_t idempotency_keys_pruned = 0;
};

struct StoreOptions {
  // Append fails fast with UNAVAILABLE while more events than this wait to be
  // committed (the webhook answers 503 and Meta redelivers).
  size_t max_queued_events = 100000;
  RetentionPolicy retention;
  // How often the store applies `retention` by itself.
  absl::Duration retention_interval = absl::Minutes(1);
  // How long a write waits for a lock held by another connection or process
  // before failing with UNAVAILABLE.
  absl::Duration lock_timeout = absl::Seconds(5);
  // Source of "now" for stored_at, retention, ack deadlines and idempotency
  // expiry. Tests inject a fake clock; default absl::Now.
  std::function<absl::Time()> clock;
  // Redis: log entries examined at most per ReadPage and per ClaimNext call,
  // so a sparse filter over a long stream never holds a thread (or Redis)
  // for long; the call returns what matched so far and says there is more.
  // (A claim examined up to ~1,160 entries per script before; about one
  // XRANGE page here.)
  size_t max_scanned_per_call = 1024;
};

// Counters for metrics and tests.
struct StoreStats {
  uint64_t transactions = 0;     // committed write transactions
  uint64_t events_appended = 0;  // stored (not duplicates)
  uint64_t duplicates = 0;       // skipped as already stored
  uint64_t rejected_queue_full = 0;
  uint64_t failed_commits = 0;
  uint64_t queued_events = 0;  // waiting for the next commit, now
  int64_t payload_bytes = 0;   // payloads stored (the size budget's measure)
  // SQLite: prepared statements cached over all connections, now (bounded:
  // no statement's text depends on the size of a request).
  uint64_t prepared_statements = 0;
};

class Store {
 public:
  using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;
  using Listener = std::function<void(const std::vector<EventRecord>&)>;
  using ListenerId = uint64_t;

  virtual ~Store() = default;

  // ---- Event log ----

  // Durably appends `events` as one atomic batch, skipping ids already
  // stored (also within the batch: the first copy wins). `done` runs exactly
  // once: on the writer thread after commit+fsync, or inline on the caller's
  // thread if the batch is refused at once (UNAVAILABLE when the queue is
  // full, INVALID_ARGUMENT when an event has an empty id). On failure nothing
  // of the batch is stored. Batches are stored in the order of the Append
  // calls.
  virtual void Append(std::vector<EventRecord> events, AppendCallback done) = 0;

  // Up to `max` events after `cursor` ("" = from the oldest) matching
  // `filter`, in cursor order. INVALID_ARGUMENT for a malformed cursor.
  // May examine the whole log for a sparse filter: readers that page
  // through the log use ReadPage.
  virtual absl::StatusOr<std::vector<EventRecord>> ReadAfter(
      absl::string_view cursor, size_t max, const Filter& filter) = 0;

  // Like ReadAfter, but a backend may stop early after examining a bounded
  // number of events (StoreOptions::max_scanned_per_call), returning what
  // matched so far and where to continue. The default (for backends whose
  // filtered reads are cheap) is one ReadAfter.
  virtual absl::StatusOr<LogPage> ReadPage(absl::string_view cursor, size_t max,
                                           const Filter& filter);

  // The cursor of the newest stored event, "" if the log has always been
  // empty. ReadAfter(LatestCursor()) returns only events appended later.
  virtual absl::StatusOr<std::string> LatestCursor() = 0;

  // OK if `cursor` is a cursor this backend could have issued (or "").
  virtual absl::Status ValidateCursor(absl::string_view cursor) const = 0;

  // The retention watermark: the cursor of the newest event retention has
  // removed, "" if it never removed one. Retention removes events oldest
  // first, so every event at or before the watermark is gone and none after
  // it was removed before the watermark moved past it. Hence a reader whose
  // position is a (non-empty) cursor `c`:
  //   c <  PrunedThrough()  has lost events (some after `c` were pruned);
  //   c >= PrunedThrough()  has lost nothing.
  // Subscribe uses it to refuse a resume point older than the log (instead
  // of silently skipping). Contract for backends: durable (survives a
  // restart and is shared by every replica of the store), never decreases,
  // advanced in the same atomic step that deletes the events, cheap (called
  // once per catch-up page). The default answers UNIMPLEMENTED, which
  // callers treat as "cannot tell" (no check); every backend should
  // override it.
  virtual absl::StatusOr<std::string> PrunedThrough();

  // Calls `listener` on the writer thread after each commit with the newly
  // stored events (never duplicates), in cursor order, before the Append
  // `done` callbacks of that commit. It must be quick and must not call
  // AddListener/RemoveListener or the consumer-group methods (they would
  // wait for the writer thread; they return FAILED_PRECONDITION). Append,
  // ReadAfter and the (asynchronous) idempotency keys are fine.
  //
  // Gap-free catch-up then live tail: add the listener first and buffer what
  // it delivers; page with ReadAfter until a page comes back short; then
  // replay the buffer, skipping events whose cursor is <= the last one read.
  virtual ListenerId AddListener(Listener listener) = 0;
  // After it returns, the listener is not running and will not be called.
  virtual void RemoveListener(ListenerId id) = 0;

  // Applies the retention policy now (it also runs every
  // retention_interval).
  virtual absl::StatusOr<RetentionResult> RunRetention() = 0;

  virtual StoreStats Stats() const = 0;

  // ---- Consumer groups ----
  // A group shares the log among its members: each event is claimed by one
  // member, and is claimed again (by any member) if not acknowledged within
  // its ack timeout. The group's position and pending events are durable.
  //
  // A group has one filter, stored with it (Filter::Key) when it is
  // created: the events the filter skips while the group's position moves
  // past them are never delivered to the group, so a member with another
  // filter would make the others lose events. EnsureGroup and ClaimNext
  // with a filter that differs from the stored one fail with
  // FAILED_PRECONDITION (naming the group) and change nothing. A group
  // stored without a filter (created by an older version) adopts the
  // filter of the first call that names one.

  // Creates `group` with `filter`, positioned after `start_after_cursor`
  // ("" = from the oldest event), if it does not exist; otherwise leaves it
  // where it is and checks the filter.
  virtual absl::Status EnsureGroup(absl::string_view group,
                                   absl::string_view start_after_cursor,
                                   const Filter& filter) = 0;

  // Claims up to `max` events matching `filter` for `consumer`: first
  // pending events of the group whose ack deadline has passed (redelivered,
  // delivery_count+1), then events never delivered to the group, advancing
  // its position past the events the filter skips. Each claimed event must
  // be acknowledged within `ack_timeout`. Creates the group (with `filter`)
  // from the oldest event if it does not exist.
  virtual absl::StatusOr<ClaimBatch> ClaimNext(absl::string_view group,
                                               absl::string_view consumer,
                                               size_t max, const Filter& filter,
                                               absl::Duration ack_timeout) = 0;

  // Acknowledges the group's pending events at `cursors`; returns how many
  // were pending (unknown or already acknowledged cursors are ignored).
  virtual absl::StatusOr<size_t> Ack(
      absl::string_view group, const std::vector<std::string>& cursors) = 0;

  // ---- Idempotency keys (Messaging.Send) ----

  // This store's idempotency keys (idempotency_keys.h): asynchronous, run on
  // a store thread. Owned by the store, valid as long as it is; null only
  // for a store without them (a test fake). Expired keys are pruned by
  // retention.
  virtual IdempotencyKeys* idempotency_keys() = 0;
};

// The FAILED_PRECONDITION of EnsureGroup and ClaimNext when the filter
// differs from the one stored with `group` (one message for every backend).
absl::Status GroupFilterDiffersError(absl::string_view group);

// Opens the store named by `spec`:
//   "sqlite:PATH"   SQLite file at PATH (parent directories are created)
//   "redis://HOST[:PORT][/DB][?prefix=NAME]"   Redis Streams (redis_store.h)
// INVALID_ARGUMENT naming the value for anything else.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(
    absl::string_view spec, const StoreOptions& options = StoreOptions());

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_STORE_H_
