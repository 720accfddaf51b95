// The Redis Streams backend of the event store (`--store redis://HOST:PORT`),
// so several gateway replicas share one event log, one set of consumer
// groups and one set of idempotency keys.
//
// Design, in short:
//  - Every key of a store carries one hash tag, `{PREFIX}` (default
//    `{wagate}`, `?prefix=NAME` in the URL), so a Redis Cluster keeps them in
//    one slot and the Lua scripts may touch them together:
//      {wagate}:events        the stream: one entry per event (fields i k p w
//                             r t d: id, kind, phone number, WABA, received
//                             and stored micros, payload)
//      {wagate}:seen          dedupe ids → stored_at micros (sorted set)
//      {wagate}:last          id of the newest entry ever added
//      {wagate}:bytes         payload bytes in the stream (the size budget)
//      {wagate}:pruned        id of the newest entry retention removed
//      {wagate}:dl:GROUP      a group's pending ids → ack deadline micros
//      {wagate}:groupfilters  group → its filter (Filter::Key)
//      {wagate}:idem:KEY      an idempotency key (hash: state, result, ttl,
//                             expiry, fingerprint), and {wagate}:idemx its
//                             expiry index
//  - Append is one Lua script per group of queued batches, run by a writer
//    thread: it checks and records dedupe ids and XADDs the new events, all
//    or nothing (scripts are atomic; the `#!lua` shebang makes Redis refuse
//    the whole script up front when out of memory). `done` runs once the
//    batch is durable: with Redis 7.2+ after WAITAOF confirmed the fsync of
//    the append-only file, before 7.2 because Redis runs with appendonly
//    yes + appendfsync always, which Open checks (DecideRedisDurability).
//  - Idempotency keys (idempotency_keys.h): callers queue operations and
//    are called back, never waiting for Redis. A worker thread with its own
//    connection runs what waits as one Lua script, in call order, so under
//    load many operations share a round trip and an fsync.
//  - Cursors are "r1" + the 16-hex-digit milliseconds + the 16-hex-digit
//    sequence of the stream id, so they compare as strings in log order.
//  - Listeners are fed by a tail thread blocked in XREAD on the stream: they
//    see the events of every replica, in stream order, each once. The writer
//    waits (briefly) until the tail has passed what it appended before
//    running `done`, so a local Append's events reach listeners first.
//  - Consumer groups are Redis consumer groups (XGROUP, XREADGROUP, XCLAIM,
//    XACK; the pending list holds owner and delivery count), plus a sorted
//    set of ack deadlines so each claim's own ack timeout and the store's
//    clock decide redelivery, and the group's filter in a hash checked by
//    the same scripts. A group spans replicas.
//  - Filters apply as entries are read (ReadPage in this process, claims in
//    their script), at most StoreOptions::max_scanned_per_call entries per
//    call, so a sparse filter over a long stream costs many short calls,
//    not one that holds a thread or Redis.
//  - Time: with no StoreOptions::clock, the scripts use Redis's clock (TIME)
//    for stored_at, retention, deadlines and idempotency expiry, so replicas
//    with skewed clocks agree. Tests inject a clock; it is passed in.
//  - Redis unreachable, timing out or out of memory → UNAVAILABLE (webhooks
//    answer 503 and Meta redelivers); the client reconnects with backoff.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
//                    OpenRedisStore("redis://10.0.0.5:6379/0", {}));
#ifndef WAGATE_SERVICE_EVENTS_REDIS_STORE_H_
#define WAGATE_SERVICE_EVENTS_REDIS_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/events/store.h"

namespace wagate::events {

// Opens the store at `url`
// (redis://HOST[:PORT][/DB][?prefix=NAME][&durability=relaxed]). A
// password (and Redis 6 ACL user) comes from WAGATE_REDIS_PASSWORD (and
// WAGATE_REDIS_USERNAME) in the environment.
// INVALID_ARGUMENT for a bad URL; UNAVAILABLE if Redis does not answer now;
// FAILED_PRECONDITION, saying what to change, if Redis's persistence cannot
// make an acknowledged append durable (DecideRedisDurability) and the URL
// does not say durability=relaxed (then a loud warning is logged).
// StoreOptions::lock_timeout is the Redis command timeout.
absl::StatusOr<std::unique_ptr<Store>> OpenRedisStore(
    absl::string_view url, const StoreOptions& options);

// How the store makes an acknowledged append durable.
enum class RedisDurability {
  // Redis 7.2+ with the append-only file on: after each append script,
  // WAITAOF waits for the local fsync (any appendfsync); unconfirmed, the
  // batch fails (the webhook answers 503).
  kWaitAof,
  // appendonly yes + appendfsync always: durable once the script returned.
  kFsyncAlways,
  // durability=relaxed: nothing is waited for.
  kRelaxed,
};

// Decides from INFO server's redis_version ("7.0.15") and CONFIG GET
// appendonly / appendfsync ("" when unknown, e.g. CONFIG renamed on a
// managed Redis): kWaitAof or kFsyncAlways, else FAILED_PRECONDITION saying
// what is wrong and how to fix it (AOF off; appendfsync everysec or no
// before 7.2; settings unknown).
absl::StatusOr<RedisDurability> DecideRedisDurability(
    absl::string_view version, absl::string_view appendonly,
    absl::string_view appendfsync);

// A stream id "MS-SEQ".
struct RedisStreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  bool operator<(const RedisStreamId& o) const {
    return ms != o.ms ? ms < o.ms : seq < o.seq;
  }
  std::string ToString() const;  // "MS-SEQ"
};

// Cursor encoding of the Redis backend, exposed for tests. "" parses as 0-0
// (before the oldest event); anything else malformed is INVALID_ARGUMENT.
std::string EncodeRedisCursor(RedisStreamId id);
absl::StatusOr<RedisStreamId> ParseRedisCursor(absl::string_view cursor);
// Parses Redis's "MS-SEQ".
absl::StatusOr<RedisStreamId> ParseRedisStreamId(absl::string_view id);

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_REDIS_STORE_H_
