#include "service/events/redis_store.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/redis/client.h"

namespace wagate::events {
namespace {

constexpr absl::string_view kCursorPrefix = "r1";
constexpr size_t kCursorHexDigits = 16;
// One Append script carries at most about this much (whole batches; a bigger
// single batch goes alone), so Redis is never blocked long by one script.
constexpr size_t kMaxEventsPerScript = 1000;
constexpr size_t kMaxBytesPerScript = 4 << 20;
// Entries examined per retention script.
constexpr int kRetentionChunk = 5000;
// Entries per XRANGE page of ReadAfter and per XREAD of the tail.
constexpr int kPage = 1000;
// How long the tail blocks in XREAD before asking again.
constexpr int kTailBlockMs = 1000;
// How many idempotency key operations may wait before new ones are
// refused, and how much one script takes.
constexpr size_t kMaxQueuedIdempotency = 20000;
constexpr size_t kMaxIdempotencyBatch = 500;
constexpr size_t kMaxIdempotencyBatchBytes = 1 << 20;
// How long the writer waits for the tail to reach what it appended before
// running `done` anyway (the tail is behind or reconnecting).
constexpr absl::Duration kTailWait = absl::Seconds(1);

// Every script starts with this: the shebang (Redis 7) makes Redis check for
// OOM before the script runs, so a script fails whole or not at all. ARGV[1]
// is "now" in Unix micros from the injected clock, or "" for Redis's clock.
constexpr absl::string_view kPrelude = R"lua(#!lua
local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- Numbers go to Redis as exact integers (tostring would give 1.7e+15).
local function fmt(n) return string.format('%.0f', n) end
-- A stream id "MS-SEQ" as two numbers, for comparing in log order.
local function id_key(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)),
         tonumber(string.sub(id, dash + 1))
end
)lua";

// KEYS: stream, seen, last, bytes. ARGV: now, max_age_us, then 6 per event:
// id, kind, phone, waba, received_us, payload. Returns one element per event
// (its stream id, or "" for a duplicate), then the stream's payload bytes.
constexpr absl::string_view kAppendLua = R"lua(
local now = now_us()
local cutoff = now - tonumber(ARGV[2])
local nows = fmt(now)
local out = {}
local added = 0
local last = nil
for pos = 3, #ARGV, 6 do
  local id = ARGV[pos]
  local seen = redis.call('ZSCORE', KEYS[2], id)
  if seen and tonumber(seen) >= cutoff then
    out[#out + 1] = ''
  else
    redis.call('ZADD', KEYS[2], nows, id)
    last = redis.call('XADD', KEYS[1], '*', 'i', id, 'k', ARGV[pos + 1],
                      'p', ARGV[pos + 2], 'w', ARGV[pos + 3],
                      'r', ARGV[pos + 4], 't', nows, 'd', ARGV[pos + 5])
    added = added + #ARGV[pos + 5]
    out[#out + 1] = last
  end
end
if last then redis.call('SET', KEYS[3], last) end
out[#out + 1] = redis.call('INCRBY', KEYS[4], added)
return out
)lua";

// KEYS: stream, seen, bytes, idemx, pruned. ARGV: now, max_age_us, max_bytes,
// limit,
// idempotency key prefix, consumer idle limit (ms). Prunes the oldest events
// that are too old or over the size budget, dedupe ids older than max_age and
// expired idempotency keys, at most `limit` of each. Returns {events, ids,
// keys, more, bytes}.
constexpr absl::string_view kRetentionLua = R"lua(
local now = now_us()
local cutoff = now - tonumber(ARGV[2])
local max_bytes = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local bytes = tonumber(redis.call('GET', KEYS[3]) or '0')
local pruned, freed, examined = 0, 0, 0
local keep, last_pruned = nil, nil
local start = '-'
while examined < limit and not keep do
  local page = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT',
                          math.min(500, limit - examined))
  if #page == 0 then break end
  for _, e in ipairs(page) do
    examined = examined + 1
    local f = e[2]
    local t, size = 0, 0
    for j = 1, #f, 2 do
      if f[j] == 't' then t = tonumber(f[j + 1])
      elseif f[j] == 'd' then size = #f[j + 1] end
    end
    local over = max_bytes > 0 and bytes - freed > max_bytes
    if t >= cutoff and not over then keep = e[1] break end
    last_pruned = e[1]
    freed = freed + size
    pruned = pruned + 1
  end
  start = '(' .. page[#page][1]
end
local more = 0
if pruned > 0 then
  local minid = keep
  if not minid then
    local dash = string.find(last_pruned, '-', 1, true)
    minid = string.sub(last_pruned, 1, dash) ..
            fmt(tonumber(string.sub(last_pruned, dash + 1)) + 1)
    more = 1
  end
  redis.call('XTRIM', KEYS[1], 'MINID', minid)
  bytes = redis.call('DECRBY', KEYS[3], freed)
  -- The retention watermark moves in the same atomic step, never back.
  local old = redis.call('GET', KEYS[5])
  local lm, ls = id_key(last_pruned)
  local om, os = 0, 0
  if old then om, os = id_key(old) end
  if lm > om or (lm == om and ls > os) then
    redis.call('SET', KEYS[5], last_pruned)
  end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. fmt(cutoff),
                       'LIMIT', 0, limit)
for i = 1, #ids, 1000 do
  redis.call('ZREM', KEYS[2], unpack(ids, i, math.min(i + 999, #ids)))
end
if #ids >= limit then more = 1 end
local keys = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', fmt(now),
                        'LIMIT', 0, limit)
for _, k in ipairs(keys) do
  local h = ARGV[5] .. k
  local x = redis.call('HGET', h, 'x')
  if not x or tonumber(x) <= now then redis.call('DEL', h) end
  redis.call('ZREM', KEYS[4], k)
end
if #keys >= limit then more = 1 end
-- Every Subscribe stream of a group is a Redis consumer; forget those idle
-- for a day with nothing pending, so the group's consumer list stays small.
if redis.call('EXISTS', KEYS[1]) == 1 then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local name
    for j = 1, #g, 2 do if g[j] == 'name' then name = g[j + 1] end end
    for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], name)) do
      local cname, pending, idle
      for j = 1, #c, 2 do
        if c[j] == 'name' then cname = c[j + 1]
        elseif c[j] == 'pending' then pending = c[j + 1]
        elseif c[j] == 'idle' then idle = c[j + 1] end
      end
      if pending == 0 and idle > tonumber(ARGV[6]) then
        redis.call('XGROUP', 'DELCONSUMER', KEYS[1], name, cname)
      end
    end
  end
end
return {pruned, #ids, #keys, more, bytes}
)lua";

// KEYS: stream, filters. ARGV: now (unused), group, start id, filter key.
// Creates the group at the start id unless it exists. Returns 0, or 1 if the
// group has another filter (then nothing changed).
constexpr absl::string_view kEnsureGroupLua = R"lua(
local f = redis.call('HGET', KEYS[2], ARGV[2])
if f and f ~= ARGV[4] then return 1 end
local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[2], ARGV[3],
                      'MKSTREAM')
if type(r) == 'table' and r.err and not string.find(r.err, 'BUSYGROUP') then
  return r
end
if not f then redis.call('HSET', KEYS[2], ARGV[2], ARGV[4]) end
return 0
)lua";

// KEYS: stream, deadlines, filters. ARGV: now, group, consumer, max,
// ack_timeout_us, filter key, scan limit, n_phones, phones..., n_kinds,
// kinds... Claims expired pending events (redelivery), then new ones
// (XREADGROUP), up to max matching the filter; new events the filter skips
// are acknowledged at once (the group moves past them), examining at most
// `scan limit` new entries. Returns {0, more, {id, fields, delivery_count}...}
// (more = 1: stopped at the scan limit, claim again), or {1, 0} if the group
// has another filter (then nothing changed).
constexpr absl::string_view kClaimLua = R"lua(
local now = now_us()
local group, consumer, max = ARGV[2], ARGV[3], tonumber(ARGV[4])
local deadline = fmt(now + tonumber(ARGV[5]))
local scan_limit = tonumber(ARGV[7])
local pos = 8
local phones, kinds = nil, nil
local n = tonumber(ARGV[pos]) pos = pos + 1
if n > 0 then
  phones = {}
  for i = 1, n do phones[ARGV[pos]] = true pos = pos + 1 end
end
n = tonumber(ARGV[pos]) pos = pos + 1
if n > 0 then
  kinds = {}
  for i = 1, n do kinds[ARGV[pos]] = true pos = pos + 1 end
end
local function matches(f)
  local p, k = '', ''
  for j = 1, #f, 2 do
    if f[j] == 'p' then p = f[j + 1] elseif f[j] == 'k' then k = f[j + 1] end
  end
  return (not phones or phones[p]) and (not kinds or kinds[k])
end
local f = redis.call('HGET', KEYS[3], group)
if f and f ~= ARGV[6] then return {1, 0} end
redis.pcall('XGROUP', 'CREATE', KEYS[1], group, '0', 'MKSTREAM')
if not f then redis.call('HSET', KEYS[3], group, ARGV[6]) end
local out = {0, 0}
local claimed = 0
-- Expired claims, redelivered in log order (the set orders them by
-- deadline, and equal deadlines as strings: "...-10" before "...-7").
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', fmt(now),
                           'LIMIT', 0, 10 * max + 100)
table.sort(expired, function(x, y)
  local xm, xs = id_key(x)
  local ym, ys = id_key(y)
  if xm ~= ym then return xm < ym end
  return xs < ys
end)
for _, id in ipairs(expired) do
  if claimed >= max then break end
  local e = redis.call('XRANGE', KEYS[1], id, id)
  if #e == 0 then
    -- Pruned by retention: nothing left to deliver.
    redis.call('XACK', KEYS[1], group, id)
    redis.call('ZREM', KEYS[2], id)
  elseif matches(e[1][2]) then
    local c = redis.call('XCLAIM', KEYS[1], group, consumer, 0, id)
    if #c > 0 then
      local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
      redis.call('ZADD', KEYS[2], deadline, id)
      out[#out + 1] = {id, e[1][2], p[1][4]}
      claimed = claimed + 1
    else
      redis.call('ZREM', KEYS[2], id)
    end
  end
end
local examined = 0
while claimed < max do
  if examined >= scan_limit then
    out[2] = 1
    break
  end
  -- Never more than still wanted: what XREADGROUP returns is delivered.
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT',
                       math.min(max - claimed, scan_limit - examined, 1000),
                       'STREAMS', KEYS[1], '>')
  if not r or #r[1][2] == 0 then break end
  local skipped = {}
  for _, e in ipairs(r[1][2]) do
    examined = examined + 1
    if matches(e[2]) then
      redis.call('ZADD', KEYS[2], deadline, e[1])
      out[#out + 1] = {e[1], e[2], 1}
      claimed = claimed + 1
    else
      skipped[#skipped + 1] = e[1]
    end
  end
  if #skipped > 0 then
    redis.call('XACK', KEYS[1], group, unpack(skipped))
  end
end
return out
)lua";

// KEYS: stream, deadlines. ARGV: now (unused), group, ids... Returns how many
// were pending.
constexpr absl::string_view kAckLua = R"lua(
local n = 0
for i = 3, #ARGV do
  n = n + redis.call('XACK', KEYS[1], ARGV[2], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return n
)lua";

// Idempotency key operations, several per script (what waited while the
// previous script ran), so a busy gateway pays one round trip and one fsync
// for many. KEYS: idemx, then each operation's key hash. ARGV: now, then 4
// per operation: kind, key, and two arguments — 'b' (begin): ttl_us,
// fingerprint; 'c' (complete): result, ''; 'a' (abandon): '', ''. Returns
// one reply per operation, in order: begin {state, result, fingerprint}
// (0 new, reserved now; 1 in progress; 2 done; the fingerprint the key was
// reserved with, '' for keys older than fingerprints); complete 1, or 0 if
// the key is not reserved; abandon 0.
constexpr absl::string_view kIdemBatchLua = R"lua(
local now = now_us()
local out = {}
for i = 2, #KEYS do
  local h = KEYS[i]
  local at = 2 + (i - 2) * 4
  local op, key, a, b = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  if op == 'b' then
    local v = redis.call('HMGET', h, 's', 'r', 'x', 'f')
    if v[1] and tonumber(v[3]) > now then
      if v[1] == '1' then
        out[#out + 1] = {2, v[2] or '', v[4] or ''}
      else
        out[#out + 1] = {1, '', v[4] or ''}
      end
    else
      local ttl = tonumber(a)
      local x = fmt(now + ttl)
      redis.call('DEL', h)
      redis.call('HSET', h, 's', '0', 'ttl', fmt(ttl), 'x', x, 'f', b)
      -- Redis forgets the key by itself too (a backstop for retention).
      redis.call('PEXPIRE', h, fmt(math.max(1, math.ceil(ttl / 1000))))
      redis.call('ZADD', KEYS[1], x, key)
      out[#out + 1] = {0, '', ''}
    end
  elseif op == 'c' then
    local ttl = redis.call('HGET', h, 'ttl')
    if not ttl then
      out[#out + 1] = 0
    else
      ttl = tonumber(ttl)
      local x = fmt(now + ttl)
      redis.call('HSET', h, 's', '1', 'r', a, 'x', x)
      redis.call('PEXPIRE', h, fmt(math.max(1, math.ceil(ttl / 1000))))
      redis.call('ZADD', KEYS[1], x, key)
      out[#out + 1] = 1
    end
  else
    if redis.call('HGET', h, 's') == '0' then
      redis.call('DEL', h)
      redis.call('ZREM', KEYS[1], key)
    end
    out[#out + 1] = 0
  end
end
return out
)lua";

const redis::Script& ScriptFor(absl::string_view body) {
  // One Script (with its SHA1) per body, made on first use.
  static absl::Mutex mu;
  static auto* scripts = new std::map<const char*, redis::Script*>();
  absl::MutexLock lock(&mu);
  auto it = scripts->find(body.data());
  if (it == scripts->end()) {
    it = scripts
             ->emplace(body.data(),
                       new redis::Script(absl::StrCat(kPrelude, body)))
             .first;
  }
  return *it->second;
}

std::string Micros(absl::Time t) { return absl::StrCat(absl::ToUnixMicros(t)); }

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("event store: unexpected reply from redis (", what, ")"));
}

// An entry [id, [field, value, ...]] → EventRecord.
absl::StatusOr<EventRecord> ParseEntry(const redis::Reply& id,
                                       const redis::Reply& fields) {
  ASSIGN_OR_RETURN(RedisStreamId sid, ParseRedisStreamId(id.str));
  if (!fields.is_array()) return Malformed("entry fields");
  EventRecord e;
  e.cursor = EncodeRedisCursor(sid);
  int64_t received = 0;
  for (size_t j = 0; j + 1 < fields.elements.size(); j += 2) {
    const std::string& name = fields.elements[j].str;
    const std::string& value = fields.elements[j + 1].str;
    if (name.size() != 1) continue;
    switch (name[0]) {
      case 'i':
        e.id = value;
        break;
      case 'k':
        e.kind = value;
        break;
      case 'p':
        e.phone_number_id = value;
        break;
      case 'w':
        e.waba_id = value;
        break;
      case 'r':
        if (!absl::SimpleAtoi(value, &received)) return Malformed("received");
        break;
      case 'd':
        e.payload = value;
        break;
    }
  }
  e.received_at = absl::FromUnixMicros(received);
  return e;
}

absl::StatusOr<std::vector<EventRecord>> ParseEntries(
    const redis::Reply& entries) {
  std::vector<EventRecord> out;
  if (entries.is_nil()) return out;
  if (!entries.is_array()) return Malformed("entries");
  out.reserve(entries.elements.size());
  for (const redis::Reply& entry : entries.elements) {
    if (!entry.is_array() || entry.elements.size() != 2) {
      return Malformed("entry");
    }
    ASSIGN_OR_RETURN(EventRecord e,
                     ParseEntry(entry.elements[0], entry.elements[1]));
    out.push_back(std::move(e));
  }
  return out;
}

// Idempotency keys on Redis: a worker thread with its own connection runs
// the operations, so no caller waits for a round trip. It takes every
// operation waiting (up to a bound) into one script, in call order: under
// load the round trips and fsyncs are shared, like the SQLite group commit.
// (Measured at 1000 keyed sends/s: one such worker beats several, and keeps
// the order.)
class RedisIdempotencyKeys : public IdempotencyKeys {
 public:
  RedisIdempotencyKeys(const redis::Address& address,
                       const redis::ClientOptions& client_options,
                       std::string key_prefix, std::string expiry_key,
                       std::function<std::string()> now)
      : key_prefix_(std::move(key_prefix)),
        expiry_key_(std::move(expiry_key)),
        now_(std::move(now)),
        client_(address, client_options),
        thread_([this] { Loop(); }) {}

  // Runs what is queued (every callback runs), then joins.
  ~RedisIdempotencyKeys() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

  void Begin(std::string key, std::string fingerprint, absl::Duration ttl,
             BeginCallback done) override {
    if (key.empty()) {
      done(absl::InvalidArgumentError("idempotency key is empty"));
      return;
    }
    Op op;
    op.kind = 'b';
    op.key = std::move(key);
    op.a = absl::StrCat(std::max<int64_t>(1, absl::ToInt64Microseconds(ttl)));
    op.b = std::move(fingerprint);
    op.begin_done = std::move(done);
    Post(std::move(op));
  }

  void Complete(std::string key, std::string result,
                DoneCallback done) override {
    Op op;
    op.kind = 'c';
    op.key = std::move(key);
    op.a = std::move(result);
    op.done = std::move(done);
    Post(std::move(op));
  }

  void Abandon(std::string key, DoneCallback done) override {
    Op op;
    op.kind = 'a';
    op.key = std::move(key);
    op.done = std::move(done);
    Post(std::move(op));
  }

 private:
  struct Op {
    char kind = 'b';  // kIdemBatchLua's: begin, complete, abandon
    std::string key, a, b;
    BeginCallback begin_done;  // begin
    DoneCallback done;         // complete, abandon

    size_t bytes() const { return key.size() + a.size() + b.size(); }
    void Fail(absl::Status s) {
      if (kind == 'b') {
        begin_done(std::move(s));
      } else {
        done(std::move(s));
      }
    }
  };

  // Queues `op`; refuses it at once (UNAVAILABLE, on this thread) when the
  // store is closing or too much waits already (Redis is slow or down: fail
  // fast rather than pile up sends).
  void Post(Op op) {
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_ && queue_.size() < kMaxQueuedIdempotency) {
        queue_.push_back(std::move(op));
        return;
      }
    }
    op.Fail(absl::UnavailableError(
        "event store: too many idempotency key operations waiting for "
        "redis, or the store is closing"));
  }

  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  }

  void Loop() {
    while (true) {
      std::vector<Op> batch;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &RedisIdempotencyKeys::HasWorkLocked));
        if (queue_.empty()) return;  // stopping, nothing left
        size_t bytes = 0;
        while (!queue_.empty() && batch.size() < kMaxIdempotencyBatch &&
               (batch.empty() ||
                bytes + queue_.front().bytes() <= kMaxIdempotencyBatchBytes)) {
          bytes += queue_.front().bytes();
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      Run(batch);
    }
  }

  void Run(std::vector<Op>& batch) {
    std::vector<std::string> keys;
    std::vector<std::string> args;
    keys.reserve(batch.size() + 1);
    args.reserve(1 + 4 * batch.size());
    keys.push_back(expiry_key_);
    args.push_back(now_());
    for (const Op& op : batch) {
      keys.push_back(key_prefix_ + op.key);
      args.push_back(std::string(1, op.kind));
      args.push_back(op.key);
      args.push_back(op.a);
      args.push_back(op.b);
    }
    absl::StatusOr<redis::Reply> r =
        client_.Eval(ScriptFor(kIdemBatchLua), keys, args);
    if (r.ok() && (!r->is_array() || r->elements.size() != batch.size())) {
      r = Malformed("idempotency batch");
    }
    if (!r.ok()) {
      for (Op& op : batch) op.Fail(r.status());
      return;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      Op& op = batch[i];
      const redis::Reply& reply = r->elements[i];
      if (op.kind == 'b') {
        op.begin_done(ParseBegin(reply));
      } else if (op.kind == 'c' && reply.integer == 0) {
        op.done(absl::NotFoundError(
            "idempotency key was not reserved (or has expired)"));
      } else {
        op.done(absl::OkStatus());
      }
    }
  }

  static absl::StatusOr<IdempotencyResult> ParseBegin(
      const redis::Reply& reply) {
    if (!reply.is_array() || reply.elements.size() != 3) {
      return Malformed("begin");
    }
    IdempotencyResult result;
    switch (reply.elements[0].integer) {
      case 0:
        return result;  // kNew
      case 1:
        result.state = IdempotencyState::kInProgress;
        break;
      default:
        result.state = IdempotencyState::kDone;
        result.result = reply.elements[1].str;
    }
    result.fingerprint = reply.elements[2].str;
    return result;
  }

  const std::string key_prefix_;
  const std::string expiry_key_;
  const std::function<std::string()> now_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Op> queue_ ABSL_GUARDED_BY(mu_);
  redis::Client client_;  // the worker's
  std::thread thread_;    // last: starts once the rest is built
};

class RedisStore : public Store {
 public:
  RedisStore(redis::Address address, StoreOptions options)
      : address_(std::move(address)), options_(std::move(options)) {
    const std::string tag = address_.HashTag();
    stream_key_ = tag + ":events";
    seen_key_ = tag + ":seen";
    last_key_ = tag + ":last";
    bytes_key_ = tag + ":bytes";
    pruned_key_ = tag + ":pruned";
    idem_prefix_ = tag + ":idem:";
    idem_expiry_key_ = tag + ":idemx";
    deadline_prefix_ = tag + ":dl:";
    group_filters_key_ = tag + ":groupfilters";
    client_options_.command_timeout = options_.lock_timeout;
    redis::CredentialsFromEnvironment(&client_options_);
  }

  ~RedisStore() override {
    idempotency_.reset();  // its callbacks run before the rest goes
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (writer_thread_.joinable()) writer_thread_.join();
    {
      absl::MutexLock lock(&tail_mu_);
      tail_stopping_ = true;
    }
    if (tail_client_) tail_client_->Shutdown();
    if (tail_thread_.joinable()) tail_thread_.join();
  }

  absl::Status Init() {
    writer_client_ = NewClient();
    tail_client_ = NewClient();
    RETURN_IF_ERROR(CheckDurability());
    ASSIGN_OR_RETURN(redis::Reply last,
                     writer_client_->Command({"GET", last_key_}));
    RedisStreamId tail;
    if (last.is_string()) {
      ASSIGN_OR_RETURN(tail, ParseRedisStreamId(last.str));
    }
    ASSIGN_OR_RETURN(redis::Reply bytes,
                     writer_client_->Command({"GET", bytes_key_}));
    int64_t b = 0;
    if (bytes.is_string() && absl::SimpleAtoi(bytes.str, &b)) {
      payload_bytes_.store(b, std::memory_order_relaxed);
    }
    {
      absl::MutexLock lock(&tail_mu_);
      tail_pos_ = tail;
    }
    {
      absl::MutexLock lock(&mu_);
      next_retention_ = absl::Now() + options_.retention_interval;
    }
    tail_thread_ = std::thread([this] { TailLoop(); });
    tail_thread_id_ = tail_thread_.get_id();
    writer_thread_ = std::thread([this] { WriterLoop(); });
    writer_thread_id_ = writer_thread_.get_id();
    idempotency_ = std::make_unique<RedisIdempotencyKeys>(
        address_, client_options_, idem_prefix_, idem_expiry_key_,
        [this] { return Now(); });
    return absl::OkStatus();
  }

  // ---- Event log ----

  void Append(std::vector<EventRecord> events, AppendCallback done) override {
    if (events.empty()) {
      done(AppendResult{});
      return;
    }
    for (const EventRecord& e : events) {
      if (e.id.empty()) {
        done(absl::InvalidArgumentError(
            absl::StrCat("event store: event of kind \"", e.kind,
                         "\" has no id; nothing of the batch was stored")));
        return;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_ &&
          queued_events_ + events.size() <= options_.max_queued_events) {
        queued_events_ += events.size();
        appends_.push_back(AppendJob{std::move(events), std::move(done)});
        return;
      }
    }
    rejected_queue_full_.fetch_add(1, std::memory_order_relaxed);
    done(absl::UnavailableError(
        "event store: too many events waiting to be written; retry later"));
  }

  absl::StatusOr<std::vector<EventRecord>> ReadAfter(
      absl::string_view cursor, size_t max, const Filter& filter) override {
    RETURN_IF_ERROR(ParseRedisCursor(cursor).status());
    std::vector<EventRecord> out;
    std::string from(cursor);
    while (out.size() < max) {
      ASSIGN_OR_RETURN(LogPage page, ReadPage(from, max - out.size(), filter));
      for (auto& e : page.events) out.push_back(std::move(e));
      if (!page.more || page.scanned_through.empty()) break;
      from = std::move(page.scanned_through);
    }
    return out;
  }

  // The filter applies here, not in Redis (which would spend its single
  // thread on it), so a sparse filter reads many entries it drops: at most
  // max_scanned_per_call of them per call.
  absl::StatusOr<LogPage> ReadPage(absl::string_view cursor, size_t max,
                                   const Filter& filter) override {
    ASSIGN_OR_RETURN(RedisStreamId after, ParseRedisCursor(cursor));
    LogPage out;
    if (max == 0) return out;
    const bool filtered =
        !filter.phone_number_ids.empty() || !filter.kinds.empty();
    const size_t scan_limit =
        std::max<size_t>(1, options_.max_scanned_per_call);
    std::string start =
        cursor.empty() ? std::string("-") : "(" + after.ToString();
    size_t scanned = 0;
    ClientLease client = Acquire();
    while (true) {
      const size_t want =
          filtered ? std::min<size_t>(kPage, scan_limit - scanned)
                   : std::min<size_t>(kPage, max - out.events.size());
      ASSIGN_OR_RETURN(redis::Reply page,
                       client->Command({"XRANGE", stream_key_, start, "+",
                                        "COUNT", absl::StrCat(want)}));
      ASSIGN_OR_RETURN(std::vector<EventRecord> events, ParseEntries(page));
      for (auto& e : events) {
        ++scanned;
        out.scanned_through = e.cursor;
        if (filter.Matches(e)) out.events.push_back(std::move(e));
        if (out.events.size() >= max) {
          out.more = true;  // perhaps: the next read will tell
          return out;
        }
      }
      if (events.size() < want) return out;  // the end of the stream
      if (filtered && scanned >= scan_limit) {
        out.more = true;
        return out;
      }
      start = "(" + page.elements.back().elements[0].str;
    }
  }

  absl::StatusOr<std::string> LatestCursor() override {
    ClientLease client = Acquire();
    ASSIGN_OR_RETURN(redis::Reply last, client->Command({"GET", last_key_}));
    if (!last.is_string()) return std::string();
    ASSIGN_OR_RETURN(RedisStreamId id, ParseRedisStreamId(last.str));
    return EncodeRedisCursor(id);
  }

  absl::Status ValidateCursor(absl::string_view cursor) const override {
    return ParseRedisCursor(cursor).status();
  }

  absl::StatusOr<std::string> PrunedThrough() override {
    ClientLease client = Acquire();
    ASSIGN_OR_RETURN(redis::Reply pruned,
                     client->Command({"GET", pruned_key_}));
    if (!pruned.is_string()) return std::string();
    ASSIGN_OR_RETURN(RedisStreamId id, ParseRedisStreamId(pruned.str));
    return EncodeRedisCursor(id);
  }

  ListenerId AddListener(Listener listener) override {
    absl::MutexLock lock(&listeners_mu_);
    ListenerId id = ++last_listener_id_;
    listeners_.emplace(id, std::move(listener));
    return id;
  }

  void RemoveListener(ListenerId id) override {
    // Listeners run under listeners_mu_: once we hold it none is running.
    absl::MutexLock lock(&listeners_mu_);
    listeners_.erase(id);
  }

  absl::StatusOr<RetentionResult> RunRetention() override {
    RETURN_IF_ERROR(CheckThread());
    ClientLease client = Acquire();
    RetentionResult total;
    bool more = true;
    while (more) {
      RETURN_IF_ERROR(RetentionStep(*client, &total, &more));
    }
    return total;
  }

  StoreStats Stats() const override {
    StoreStats s;
    s.transactions = transactions_.load(std::memory_order_relaxed);
    s.events_appended = events_appended_.load(std::memory_order_relaxed);
    s.duplicates = duplicates_.load(std::memory_order_relaxed);
    s.rejected_queue_full =
        rejected_queue_full_.load(std::memory_order_relaxed);
    s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    s.payload_bytes = payload_bytes_.load(std::memory_order_relaxed);
    absl::MutexLock lock(&mu_);
    s.queued_events = queued_events_;
    return s;
  }

  // ---- Consumer groups ----

  absl::Status EnsureGroup(absl::string_view group,
                           absl::string_view start_after_cursor,
                           const Filter& filter) override {
    if (group.empty()) return absl::InvalidArgumentError("group is empty");
    ASSIGN_OR_RETURN(RedisStreamId start, ParseRedisCursor(start_after_cursor));
    RETURN_IF_ERROR(CheckThread());
    ClientLease client = Acquire();
    ASSIGN_OR_RETURN(
        redis::Reply r,
        client->Eval(ScriptFor(kEnsureGroupLua),
                     {stream_key_, group_filters_key_},
                     {"", std::string(group), start.ToString(), filter.Key()}));
    if (r.integer != 0) return GroupFilterDiffersError(group);
    return absl::OkStatus();
  }

  absl::StatusOr<ClaimBatch> ClaimNext(absl::string_view group,
                                       absl::string_view consumer, size_t max,
                                       const Filter& filter,
                                       absl::Duration ack_timeout) override {
    if (group.empty()) return absl::InvalidArgumentError("group is empty");
    ClaimBatch batch;
    if (max == 0) return batch;
    RETURN_IF_ERROR(CheckThread());
    std::vector<std::string> args = {
        Now(),
        std::string(group),
        consumer.empty() ? std::string("-") : std::string(consumer),
        absl::StrCat(max),
        absl::StrCat(
            std::max<int64_t>(0, absl::ToInt64Microseconds(ack_timeout))),
        filter.Key(),
        absl::StrCat(std::max<size_t>(1, options_.max_scanned_per_call))};
    args.push_back(absl::StrCat(filter.phone_number_ids.size()));
    args.insert(args.end(), filter.phone_number_ids.begin(),
                filter.phone_number_ids.end());
    args.push_back(absl::StrCat(filter.kinds.size()));
    args.insert(args.end(), filter.kinds.begin(), filter.kinds.end());
    ClientLease client = Acquire();
    ASSIGN_OR_RETURN(
        redis::Reply reply,
        client->Eval(ScriptFor(kClaimLua),
                     {stream_key_, DeadlineKey(group), group_filters_key_},
                     args));
    if (!reply.is_array() || reply.elements.size() < 2) {
      return Malformed("claim");
    }
    if (reply.elements[0].integer != 0) return GroupFilterDiffersError(group);
    batch.more = reply.elements[1].integer != 0;
    for (size_t i = 2; i < reply.elements.size(); ++i) {
      const redis::Reply& item = reply.elements[i];
      if (!item.is_array() || item.elements.size() != 3) {
        return Malformed("claimed event");
      }
      ClaimedEvent c;
      ASSIGN_OR_RETURN(c.event, ParseEntry(item.elements[0], item.elements[1]));
      c.delivery_count = static_cast<int>(item.elements[2].integer);
      batch.events.push_back(std::move(c));
    }
    return batch;
  }

  absl::StatusOr<size_t> Ack(absl::string_view group,
                             const std::vector<std::string>& cursors) override {
    std::vector<std::string> args = {"", std::string(group)};
    for (const auto& c : cursors) {
      ASSIGN_OR_RETURN(RedisStreamId id, ParseRedisCursor(c));
      args.push_back(id.ToString());
    }
    if (cursors.empty()) return size_t{0};
    RETURN_IF_ERROR(CheckThread());
    ClientLease client = Acquire();
    ASSIGN_OR_RETURN(redis::Reply n,
                     client->Eval(ScriptFor(kAckLua),
                                  {stream_key_, DeadlineKey(group)}, args));
    return static_cast<size_t>(n.integer);
  }

  // ---- Idempotency keys ----

  IdempotencyKeys* idempotency_keys() override { return idempotency_.get(); }

 private:
  struct AppendJob {
    std::vector<EventRecord> events;
    AppendCallback done;
  };

  // A pooled connection, returned on destruction.
  class ClientLease {
   public:
    ClientLease(RedisStore* store, std::unique_ptr<redis::Client> client)
        : store_(store), client_(std::move(client)) {}
    ClientLease(ClientLease&&) = default;
    ~ClientLease() {
      if (client_) store_->Release(std::move(client_));
    }
    redis::Client* operator->() const { return client_.get(); }
    redis::Client& operator*() const { return *client_; }

   private:
    RedisStore* store_;
    std::unique_ptr<redis::Client> client_;
  };

  std::unique_ptr<redis::Client> NewClient() {
    return std::make_unique<redis::Client>(address_, client_options_);
  }

  ClientLease Acquire() {
    {
      absl::MutexLock lock(&pool_mu_);
      if (!pool_.empty()) {
        auto c = std::move(pool_.back());
        pool_.pop_back();
        return ClientLease(this, std::move(c));
      }
    }
    return ClientLease(this, NewClient());
  }

  void Release(std::unique_ptr<redis::Client> client) {
    absl::MutexLock lock(&pool_mu_);
    if (pool_.size() < 8) pool_.push_back(std::move(client));
  }

  // The same rule as the SQLite store: listeners and Append callbacks must
  // stay quick, so they may not run consumer-group or idempotency calls.
  absl::Status CheckThread() const {
    const auto self = std::this_thread::get_id();
    if (self == writer_thread_id_ || self == tail_thread_id_) {
      return absl::FailedPreconditionError(
          "event store: called from an Append callback or listener");
    }
    return absl::OkStatus();
  }

  std::string Now() const {
    return options_.clock ? Micros(options_.clock()) : std::string();
  }

  // Reads how Redis persists writes and decides how an append becomes
  // durable (DecideRedisDurability); refuses to open when it cannot, unless
  // the URL says durability=relaxed.
  absl::Status CheckDurability() {
    std::string version;
    {
      absl::StatusOr<redis::Reply> info =
          writer_client_->Command({"INFO", "server"});
      if (absl::IsUnavailable(info.status())) return info.status();
      if (info.ok()) {
        for (absl::string_view line : absl::StrSplit(info->str, '\n')) {
          if (absl::ConsumePrefix(&line, "redis_version:")) {
            version = std::string(absl::StripAsciiWhitespace(line));
          }
        }
      }
    }
    std::string settings[2];  // appendonly, appendfsync; "" if unknown
    std::string config_error;
    const char* names[2] = {"appendonly", "appendfsync"};
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<redis::Reply> r =
          writer_client_->Command({"CONFIG", "GET", names[i]});
      if (absl::IsUnavailable(r.status())) return r.status();
      if (!r.ok()) {
        // Renamed or not allowed (managed Redis, ACL).
        config_error = std::string(r.status().message());
        settings[0].clear();
        break;
      }
      if (r->is_array() && r->elements.size() == 2) {
        settings[i] = r->elements[1].str;
      }
    }
    absl::StatusOr<RedisDurability> decided =
        DecideRedisDurability(version, settings[0], settings[1]);
    const std::string where = address_.ToString();
    if (decided.ok()) {
      durability_ = *decided;
      log::Info("events", "redis durability",
                {{"address", where},
                 {"redis_version", version},
                 {"mode", durability_ == RedisDurability::kWaitAof
                              ? "WAITAOF after each append"
                              : "appendfsync always"}});
      return absl::OkStatus();
    }
    std::string why(decided.status().message());
    if (!config_error.empty()) {
      absl::StrAppend(&why, " (CONFIG GET failed: ", config_error, ")");
    }
    if (address_.relaxed_durability) {
      durability_ = RedisDurability::kRelaxed;
      log::Warning("events",
                   "REDIS DURABILITY RELAXED (durability=relaxed in the store "
                   "URL): webhooks answered 200 can be lost on a Redis crash "
                   "or power loss, and Meta will not redeliver them",
                   {{"address", where}, {"reason", why}});
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "event store redis at ", where, ": ", why,
        ". Fix the Redis configuration, or add ?durability=relaxed to the "
        "store URL to accept losing acknowledged webhooks on a Redis crash"));
  }

  // Waits until Redis has fsynced the append-only file up to the writer's
  // last append (Redis 7.2+). WAITAOF counts the writes of its own
  // connection: if the connection changed since the append, nothing is
  // known, so the batch fails (Meta redelivers).
  absl::Status WaitForAof() {
    const uint64_t connection = writer_client_->connections();
    const int64_t timeout_ms =
        std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.lock_timeout));
    absl::StatusOr<redis::Reply> r =
        writer_client_->Command({"WAITAOF", "1", "0", absl::StrCat(timeout_ms)},
                                options_.lock_timeout + absl::Seconds(1));
    if (!r.ok()) return r.status();
    if (writer_client_->connections() != connection || !r->is_array() ||
        r->elements.empty() || r->elements[0].integer < 1) {
      return absl::UnavailableError(absl::StrCat(
          "event store: redis did not confirm the fsync of its append-only "
          "file within ",
          timeout_ms, " ms"));
    }
    return absl::OkStatus();
  }

  std::string DeadlineKey(absl::string_view group) const {
    return absl::StrCat(deadline_prefix_, group);
  }

  absl::Status RetentionStep(redis::Client& client, RetentionResult* total,
                             bool* more) {
    ASSIGN_OR_RETURN(
        redis::Reply r,
        client.Eval(
            ScriptFor(kRetentionLua),
            {stream_key_, seen_key_, bytes_key_, idem_expiry_key_, pruned_key_},
            {Now(),
             absl::StrCat(
                 absl::ToInt64Microseconds(options_.retention.max_age)),
             absl::StrCat(options_.retention.max_payload_bytes),
             absl::StrCat(kRetentionChunk), idem_prefix_,
             absl::StrCat(absl::ToInt64Milliseconds(consumer_idle_limit_))}));
    if (!r.is_array() || r.elements.size() != 5) return Malformed("retention");
    total->events_pruned += r.elements[0].integer;
    total->dedupe_ids_pruned += r.elements[1].integer;
    total->idempotency_keys_pruned += r.elements[2].integer;
    *more = r.elements[3].integer != 0;
    payload_bytes_.store(r.elements[4].integer, std::memory_order_relaxed);
    if (r.elements[0].integer > 0 || r.elements[1].integer > 0) {
      log::Info(
          "events", "retention",
          {{"events_pruned", absl::StrCat(r.elements[0].integer)},
           {"dedupe_ids_pruned", absl::StrCat(r.elements[1].integer)},
           {"idempotency_keys_pruned", absl::StrCat(r.elements[2].integer)}});
    }
    return absl::OkStatus();
  }

  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !appends_.empty();
  }

  bool RetentionDue() const {
    absl::MutexLock lock(&mu_);
    return absl::Now() >= next_retention_;
  }

  void WriterLoop() {
    while (true) {
      std::deque<AppendJob> jobs;
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithDeadline(absl::Condition(this, &RedisStore::HasWorkLocked),
                              next_retention_);
        if (stopping_ && appends_.empty()) break;
        // Whole batches up to the per-script budget (at least one).
        size_t events = 0, bytes = 0;
        while (!appends_.empty()) {
          const AppendJob& next = appends_.front();
          size_t next_bytes = 0;
          for (const auto& e : next.events) next_bytes += e.payload.size();
          if (!jobs.empty() &&
              (events + next.events.size() > kMaxEventsPerScript ||
               bytes + next_bytes > kMaxBytesPerScript)) {
            break;
          }
          events += next.events.size();
          bytes += next_bytes;
          jobs.push_back(std::move(appends_.front()));
          appends_.pop_front();
        }
        queued_events_ -= events;
      }
      if (!jobs.empty()) WriteJobs(std::move(jobs));
      if (RetentionDue()) AutoRetention();
    }
  }

  void WriteJobs(std::deque<AppendJob> jobs) {
    std::vector<std::string> args = {
        Now(),
        absl::StrCat(absl::ToInt64Microseconds(options_.retention.max_age))};
    size_t total = 0;
    for (const auto& job : jobs) {
      for (const auto& e : job.events) {
        args.push_back(e.id);
        args.push_back(e.kind);
        args.push_back(e.phone_number_id);
        args.push_back(e.waba_id);
        args.push_back(Micros(e.received_at));
        args.push_back(e.payload);
        ++total;
      }
    }
    absl::StatusOr<redis::Reply> reply = writer_client_->Eval(
        ScriptFor(kAppendLua), {stream_key_, seen_key_, last_key_, bytes_key_},
        args);
    if (reply.ok() &&
        (!reply->is_array() || reply->elements.size() != total + 1)) {
      reply = Malformed("append");
    }
    if (reply.ok() && durability_ == RedisDurability::kWaitAof) {
      absl::Status synced = WaitForAof();
      if (!synced.ok()) reply = synced;
    }
    if (!reply.ok()) {
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
      log::Warning("events", "write to redis failed",
                   {{"error", std::string(reply.status().message())},
                    {"appends", absl::StrCat(jobs.size())}});
      for (auto& job : jobs) job.done(reply.status());
      return;
    }
    transactions_.fetch_add(1, std::memory_order_relaxed);
    payload_bytes_.store(reply->elements.back().integer,
                         std::memory_order_relaxed);
    std::vector<AppendResult> results(jobs.size());
    size_t k = 0, stored = 0, dups = 0;
    RedisStreamId newest;
    for (size_t j = 0; j < jobs.size(); ++j) {
      results[j].items.resize(jobs[j].events.size());
      for (auto& item : results[j].items) {
        const std::string& id = reply->elements[k++].str;
        if (id.empty()) {
          item.duplicate = true;
          ++dups;
          continue;
        }
        absl::StatusOr<RedisStreamId> sid = ParseRedisStreamId(id);
        if (sid.ok()) {
          item.cursor = EncodeRedisCursor(*sid);
          newest = std::max(newest, *sid);
        }
        ++stored;
      }
    }
    events_appended_.fetch_add(stored, std::memory_order_relaxed);
    duplicates_.fetch_add(dups, std::memory_order_relaxed);
    bool listening;
    {
      absl::MutexLock lock(&listeners_mu_);
      listening = !listeners_.empty();
    }
    if (stored > 0 && listening) WaitForTail(newest);
    for (size_t j = 0; j < jobs.size(); ++j) {
      jobs[j].done(std::move(results[j]));
    }
  }

  // Listeners see a local Append's events before its `done` runs, as with
  // the SQLite store, unless the tail is more than kTailWait behind.
  void WaitForTail(RedisStreamId target) {
    absl::MutexLock lock(&tail_mu_);
    const absl::Time deadline = absl::Now() + kTailWait;
    while (tail_pos_ < target && !tail_stopping_) {
      if (tail_cv_.WaitWithDeadline(&tail_mu_, deadline)) break;
    }
  }

  void AutoRetention() {
    RetentionResult result;
    bool more = false;
    absl::Status status = RetentionStep(*writer_client_, &result, &more);
    if (!status.ok()) {
      log::Warning("events", "retention failed",
                   {{"error", std::string(status.message())}});
      more = false;
    }
    absl::MutexLock lock(&mu_);
    next_retention_ = absl::Now() + (more ? absl::ZeroDuration()
                                          : options_.retention_interval);
  }

  void TailLoop() {
    RedisStreamId pos;
    {
      absl::MutexLock lock(&tail_mu_);
      pos = tail_pos_;
    }
    while (true) {
      {
        absl::MutexLock lock(&tail_mu_);
        if (tail_stopping_) return;
      }
      absl::StatusOr<redis::Reply> r = tail_client_->Command(
          {"XREAD", "COUNT", absl::StrCat(kPage), "BLOCK",
           absl::StrCat(kTailBlockMs), "STREAMS", stream_key_, pos.ToString()},
          options_.lock_timeout + absl::Milliseconds(kTailBlockMs));
      absl::StatusOr<std::vector<EventRecord>> events;
      if (r.ok() && r->is_array()) {
        // [[stream, [entries...]]]
        if (r->elements.size() != 1 || r->elements[0].elements.size() != 2) {
          events = Malformed("xread");
        } else {
          events = ParseEntries(r->elements[0].elements[1]);
        }
      } else if (r.ok()) {
        continue;  // nil: nothing new within the block time
      } else {
        events = r.status();
      }
      if (!events.ok()) {
        // Redis down or restarting: the client backs off; don't spin.
        absl::MutexLock lock(&tail_mu_);
        tail_mu_.AwaitWithTimeout(absl::Condition(&tail_stopping_),
                                  absl::Milliseconds(100));
        continue;
      }
      if (events->empty()) continue;
      pos = ParseRedisCursor(events->back().cursor).value();
      {
        absl::MutexLock lock(&listeners_mu_);
        for (auto& [id, listener] : listeners_) listener(*events);
      }
      absl::MutexLock lock(&tail_mu_);
      tail_pos_ = pos;
      tail_cv_.SignalAll();
    }
  }

  const redis::Address address_;
  StoreOptions options_;
  redis::ClientOptions client_options_;
  // Group consumers idle this long (Redis's clock) with nothing pending are
  // deleted by retention.
  absl::Duration consumer_idle_limit_ = absl::Hours(24);
  std::string stream_key_, seen_key_, last_key_, bytes_key_, pruned_key_,
      idem_prefix_, idem_expiry_key_, deadline_prefix_, group_filters_key_;
  // Decided once in Init, before the writer thread starts.
  RedisDurability durability_ = RedisDurability::kFsyncAlways;

  std::unique_ptr<RedisIdempotencyKeys> idempotency_;
  std::unique_ptr<redis::Client> writer_client_;  // writer thread only
  std::unique_ptr<redis::Client> tail_client_;    // tail thread (+Shutdown)
  std::thread writer_thread_;
  std::thread tail_thread_;
  std::thread::id writer_thread_id_;
  std::thread::id tail_thread_id_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<AppendJob> appends_ ABSL_GUARDED_BY(mu_);
  size_t queued_events_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_retention_ ABSL_GUARDED_BY(mu_);

  absl::Mutex tail_mu_;
  absl::CondVar tail_cv_;
  RedisStreamId tail_pos_ ABSL_GUARDED_BY(tail_mu_);
  bool tail_stopping_ ABSL_GUARDED_BY(tail_mu_) = false;

  absl::Mutex listeners_mu_;
  ListenerId last_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 0;
  std::map<ListenerId, Listener> listeners_ ABSL_GUARDED_BY(listeners_mu_);

  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<redis::Client>> pool_ ABSL_GUARDED_BY(pool_mu_);

  std::atomic<uint64_t> transactions_{0};
  std::atomic<uint64_t> events_appended_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> rejected_queue_full_{0};
  std::atomic<uint64_t> failed_commits_{0};
  std::atomic<int64_t> payload_bytes_{0};
};

void AppendHex(uint64_t v, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t at = out->size();
  out->resize(at + kCursorHexDigits);
  for (size_t i = 0; i < kCursorHexDigits; ++i) {
    (*out)[at + kCursorHexDigits - 1 - i] = kHex[v & 0xf];
    v >>= 4;
  }
}

bool ParseHex(absl::string_view s, uint64_t* v) {
  *v = 0;
  for (char c : s) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return false;
    }
    *v = (*v << 4) | static_cast<uint64_t>(digit);
  }
  return true;
}

}  // namespace

absl::StatusOr<RedisDurability> DecideRedisDurability(
    absl::string_view version, absl::string_view appendonly,
    absl::string_view appendfsync) {
  int major = 0, minor = 0;
  std::vector<absl::string_view> parts = absl::StrSplit(version, '.');
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[0], &major) ||
      !absl::SimpleAtoi(parts[1], &minor)) {
    major = minor = 0;  // unknown: no WAITAOF
  }
  const bool has_waitaof = major > 7 || (major == 7 && minor >= 2);
  const std::string redis =
      version.empty() ? std::string("Redis") : absl::StrCat("Redis ", version);
  if (appendonly.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read ", redis,
        "'s appendonly / appendfsync settings, so wagate cannot tell "
        "whether a webhook answered 200 survives a Redis crash; allow CONFIG "
        "GET for wagate's Redis user"));
  }
  if (appendonly != "yes") {
    return absl::FailedPreconditionError(absl::StrCat(
        redis, " has appendonly ", appendonly,
        ": events live in Redis memory only and a Redis crash loses "
        "webhooks already answered 200; set appendonly yes and appendfsync "
        "always (redis.conf, or CONFIG SET)"));
  }
  if (has_waitaof) return RedisDurability::kWaitAof;
  if (appendfsync == "always") return RedisDurability::kFsyncAlways;
  return absl::FailedPreconditionError(absl::StrCat(
      redis, " has appendfsync ",
      appendfsync.empty() ? "(unknown)" : appendfsync,
      ": a crash or power loss loses the writes not yet fsynced, webhooks "
      "already answered 200; set appendfsync always, or use Redis 7.2+ "
      "(wagate then waits for the fsync with WAITAOF)"));
}

std::string RedisStreamId::ToString() const {
  return absl::StrCat(ms, "-", seq);
}

std::string EncodeRedisCursor(RedisStreamId id) {
  std::string out(kCursorPrefix);
  AppendHex(id.ms, &out);
  AppendHex(id.seq, &out);
  return out;
}

absl::StatusOr<RedisStreamId> ParseRedisCursor(absl::string_view cursor) {
  RedisStreamId id;
  if (cursor.empty()) return id;
  if (cursor.size() != kCursorPrefix.size() + 2 * kCursorHexDigits ||
      cursor.substr(0, kCursorPrefix.size()) != kCursorPrefix ||
      !ParseHex(cursor.substr(kCursorPrefix.size(), kCursorHexDigits),
                &id.ms) ||
      !ParseHex(cursor.substr(kCursorPrefix.size() + kCursorHexDigits),
                &id.seq)) {
    return absl::InvalidArgumentError("malformed cursor");
  }
  return id;
}

absl::StatusOr<RedisStreamId> ParseRedisStreamId(absl::string_view text) {
  RedisStreamId id;
  size_t dash = text.find('-');
  if (dash == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(0, dash), &id.ms) ||
      !absl::SimpleAtoi(text.substr(dash + 1), &id.seq)) {
    return absl::InternalError(
        absl::StrCat("event store: bad stream id from redis: ", text));
  }
  return id;
}

absl::StatusOr<std::unique_ptr<Store>> OpenRedisStore(
    absl::string_view url, const StoreOptions& options) {
  ASSIGN_OR_RETURN(redis::Address address, redis::ParseUrl(url));
  auto store = std::make_unique<RedisStore>(std::move(address), options);
  RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace wagate::events
