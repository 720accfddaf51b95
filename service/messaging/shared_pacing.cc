#include "service/messaging/shared_pacing.h"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"

namespace wagate::messaging {
namespace {

// Grants, in order, what a number's window and each pair's bucket allow.
// KEYS[1]: in-flight zset (member slot, score lease expiry, µs of Redis's
// clock); KEYS[2]: finished zset (score finish time); KEYS[2+i]: request i's
// pair hash (t: tokens, u: updated) or KEYS[1] when it has no recipient.
// ARGV: mps, window, burst, interval (µs), n, the in-flight key's TTL (ms,
// longer than any lease plus a window), the number of releases, then per
// request: slot, has_pair (0/1), lease (µs); then the slots to release
// (as kRelease, first). Returns per request {1, 0} granted,
// {2, µs} window full until then (and so for every later request: FIFO),
// {3, µs} pair limit until then.
const redis::Script kAcquire(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local mps = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local interval = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
-- This replica's releases first (one round trip for both).
local nrel = tonumber(ARGV[7])
for i = 1, nrel do
  local slot = ARGV[7 + 3 * n + i]
  if redis.call('ZREM', KEYS[1], slot) == 1 then
    redis.call('ZADD', KEYS[2], now, slot)
  end
end
-- Leases that ran out (a crashed or stuck replica): finished at expiry.
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES')
for i = 1, #expired, 2 do
  redis.call('ZADD', KEYS[2], expired[i + 1], expired[i])
  redis.call('ZREM', KEYS[1], expired[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local flying = redis.call('ZCARD', KEYS[1])
local finished = redis.call('ZCARD', KEYS[2])
local used = flying + finished
local out = {}
local full = -1
local max_lease = 0
for i = 1, n do
  local base = 7 + (i - 1) * 3
  local slot = ARGV[base + 1]
  local has_pair = ARGV[base + 2] == '1'
  local lease = tonumber(ARGV[base + 3])
  if used >= mps then
    if full < 0 then
      -- Capacity frees when the (used - mps + 1)th earliest leaver leaves:
      -- finished slots in finish order, then in-flight ones (at best they
      -- finish now).
      local k = used - mps
      full = window
      if k < finished then
        local e = redis.call('ZRANGE', KEYS[2], k, k, 'WITHSCORES')
        full = tonumber(e[2]) + window - now
      end
      full = math.max(1, math.ceil(full)) + 100
    end
    out[i] = {2, full}
  else
    local tokens = burst
    local ok = true
    if has_pair then
      local h = redis.call('HMGET', KEYS[2 + i], 't', 'u')
      if h[1] then
        tokens = math.min(burst, tonumber(h[1]) +
                          (now - tonumber(h[2])) / interval)
      end
      if tokens < 1 then
        ok = false
        out[i] = {3, math.ceil((1 - tokens) * interval) + 100}
      end
    end
    if ok then
      if has_pair then
        redis.call('HSET', KEYS[2 + i], 't', tostring(tokens - 1), 'u',
                   string.format('%d', now))
        redis.call('PEXPIRE', KEYS[2 + i],
                   math.ceil(interval * burst / 1000) + 1000)
      end
      redis.call('ZADD', KEYS[1], now + lease, slot)
      if lease > max_lease then max_lease = lease end
      used = used + 1
      out[i] = {1, 0}
    end
  end
end
-- Idle numbers vanish; a key outlives every lease in it plus a window.
if max_lease > 0 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6])) end
redis.call('PEXPIRE', KEYS[2], math.ceil(2 * window / 1000) + 1000)
return out
)lua");

// Moves released slots (ARGV[2..]) from in flight to finished, now.
// KEYS[1]: in-flight zset, KEYS[2]: finished zset; ARGV[1]: window (µs).
const redis::Script kRelease(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 2, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], now, ARGV[i])
  end
end
redis.call('PEXPIRE', KEYS[2], math.ceil(2 * tonumber(ARGV[1]) / 1000) + 1000)
return 1
)lua");

int64_t Micros(absl::Duration d) { return absl::ToInt64Microseconds(d); }

std::string RandomReplicaId() {
  std::random_device rd;
  return absl::StrFormat("%08x%08x", rd(), rd());
}

}  // namespace

absl::StatusOr<std::shared_ptr<RedisPacing>> RedisPacing::Create(
    absl::string_view url, SharedPacingOptions options) {
  ASSIGN_OR_RETURN(redis::Address address, redis::ParseUrl(url));
  if (options.max_batch < 1) options.max_batch = 1;
  if (options.pair_burst < 1) options.pair_burst = 1;
  redis::CredentialsFromEnvironment(&options.client);
  return std::shared_ptr<RedisPacing>(
      new RedisPacing(std::move(address), std::move(options)));
}

RedisPacing::RedisPacing(redis::Address address, SharedPacingOptions options)
    : address_(std::move(address)),
      options_(std::move(options)),
      tag_(address_.HashTag()),
      replica_(RandomReplicaId()),
      client_(std::make_unique<redis::Client>(address_, options_.client)) {
  worker_ = std::thread([this] { Run(); });
}

RedisPacing::~RedisPacing() { Shutdown(); }

void RedisPacing::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    cv_.SignalAll();
  }
  if (!worker_.joinable()) return;
  if (worker_.get_id() != std::this_thread::get_id()) {
    worker_.join();
  } else {
    worker_.detach();  // destroyed from its own callback: cannot join
  }
}

std::string RedisPacing::InFlightKey(absl::string_view number_id) const {
  return absl::StrCat(tag_, ":pace:", number_id, ":f");
}
std::string RedisPacing::FinishedKey(absl::string_view number_id) const {
  return absl::StrCat(tag_, ":pace:", number_id, ":w");
}
std::string RedisPacing::PairKey(absl::string_view number_id,
                                 absl::string_view recipient) const {
  return absl::StrCat(tag_, ":pair:", number_id, ":", recipient);
}

void RedisPacing::Acquire(absl::string_view phone_number_id,
                          absl::string_view recipient, int mps,
                          absl::Time deadline, Callback done) {
  {
    absl::MutexLock lock(&mu_);
    if (!shut_down_) {
      Number& n = numbers_[phone_number_id];
      n.queue.push_back(Request{std::string(recipient), std::max(1, mps),
                                deadline, absl::InfinitePast(),
                                std::move(done)});
      ++stats_.waiting;
      cv_.Signal();
      return;
    }
  }
  done(absl::UnavailableError(kPacerShutdownMessage), absl::ZeroDuration(), "");
}

void RedisPacing::Release(absl::string_view phone_number_id,
                          absl::string_view slot) {
  absl::MutexLock lock(&mu_);
  numbers_[phone_number_id].releases.emplace_back(slot);
  cv_.Signal();
}

SharedPacingStats RedisPacing::Stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void RedisPacing::RunReady(std::vector<Ready>& ready) {
  for (auto& [done, result] : ready) {
    done(std::move(std::get<0>(result)), std::get<1>(result),
         std::move(std::get<2>(result)));
  }
  ready.clear();
}

void RedisPacing::Run() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  mu_.Lock();
  while (true) {
    const absl::Time now = absl::Now();
    std::vector<Ready> ready;
    std::vector<std::pair<std::string, std::vector<std::string>>> releases;
    std::vector<std::pair<std::string, std::vector<Request>>> batches;
    absl::Time wake = absl::InfiniteFuture();
    for (auto it = numbers_.begin(); it != numbers_.end();) {
      Number& n = it->second;
      if (!n.releases.empty()) {
        releases.emplace_back(it->first, std::move(n.releases));
        n.releases.clear();
      }
      std::vector<Request> batch;
      for (auto q = n.queue.begin(); q != n.queue.end();) {
        const absl::Time could = std::max(n.ready_at, q->not_before);
        if (shut_down_) {
          ready.emplace_back(
              std::move(q->done),
              std::make_tuple(absl::UnavailableError(kPacerShutdownMessage),
                              absl::ZeroDuration(), std::string()));
        } else if (could > q->deadline || q->deadline < now) {
          ++stats_.denied;
          ready.emplace_back(
              std::move(q->done),
              std::make_tuple(
                  absl::ResourceExhaustedError(absl::StrCat(
                      "shared throughput or pair limit of phone_number_id ",
                      it->first,
                      " (all replicas): no capacity before the "
                      "deadline; retry in ",
                      absl::FormatDuration(
                          absl::Ceil(could - now, absl::Milliseconds(1))))),
                  could - now, std::string()));
        } else if (could <= now &&
                   static_cast<int>(batch.size()) < options_.max_batch) {
          batch.push_back(std::move(*q));
        } else {
          wake = std::min(wake, std::min(could, q->deadline));
          ++q;
          continue;
        }
        --stats_.waiting;
        q = n.queue.erase(q);
      }
      if (!batch.empty()) batches.emplace_back(it->first, std::move(batch));
      if (n.queue.empty() && n.releases.empty() && n.ready_at <= now) {
        numbers_.erase(it++);
      } else {
        ++it;
      }
    }
    if (releases.empty() && batches.empty()) {
      if (!ready.empty()) {
        mu_.Unlock();
        RunReady(ready);
        mu_.Lock();
        continue;
      }
      if (shut_down_) break;
      cv_.WaitWithDeadline(&mu_, wake);
      continue;
    }
    mu_.Unlock();
    RunReady(ready);
    // A number with requests releases in the same script call.
    for (auto& [number_id, batch] : batches) {
      std::vector<std::string> slots;
      // (A structured binding cannot be captured in C++17: name it.)
      const std::string& id = number_id;
      auto r = std::find_if(releases.begin(), releases.end(),
                            [&](const auto& x) { return x.first == id; });
      if (r != releases.end()) slots.swap(r->second);
      AcquireBatch(number_id, std::move(batch), slots, &ready);
      RunReady(ready);
    }
    for (const auto& [number_id, slots] : releases) {
      if (!slots.empty()) ReleaseBatch(number_id, slots);
    }
    mu_.Lock();
  }
  mu_.Unlock();
}

void RedisPacing::ReleaseBatch(const std::string& number_id,
                               const std::vector<std::string>& slots) {
  std::vector<std::string> args;
  args.reserve(slots.size() + 1);
  args.push_back(absl::StrCat(Micros(options_.window)));
  args.insert(args.end(), slots.begin(), slots.end());
  absl::StatusOr<redis::Reply> r = client_->Eval(
      kRelease, {InFlightKey(number_id), FinishedKey(number_id)}, args);
  if (!r.ok()) {
    // The slots stay "in flight" until their leases end: slower, never
    // over the limit.
    log::Warning("messaging", "shared pacing: release failed",
                 {{"phone_number_id", number_id},
                  {"error", std::string(r.status().message())}});
  }
}

void RedisPacing::AcquireBatch(const std::string& number_id,
                               std::vector<Request> batch,
                               const std::vector<std::string>& releases,
                               std::vector<Ready>* ready) {
  const absl::Time now = absl::Now();
  std::vector<std::string> keys = {InFlightKey(number_id),
                                   FinishedKey(number_id)};
  // The newest limit wins (SetThroughput may have changed it).
  const int mps = batch.back().mps;
  std::vector<std::string> args = {
      absl::StrCat(mps),
      absl::StrCat(Micros(options_.window)),
      absl::StrCat(options_.pair_burst),
      absl::StrCat(Micros(options_.pair_interval)),
      absl::StrCat(batch.size()),
      absl::StrCat(absl::ToInt64Milliseconds(
          options_.max_lease + options_.lease_margin + options_.window * 2)),
      absl::StrCat(releases.size())};
  std::vector<std::string> slots;
  for (const Request& r : batch) {
    keys.push_back(r.recipient.empty() ? keys[0]
                                       : PairKey(number_id, r.recipient));
    slots.push_back(absl::StrCat(replica_, ":", next_slot_++));
    args.push_back(slots.back());
    args.push_back(r.recipient.empty() ? "0" : "1");
    absl::Duration lease =
        r.deadline == absl::InfiniteFuture()
            ? options_.max_lease
            : std::min(options_.max_lease,
                       std::max(absl::ZeroDuration(), r.deadline - now) +
                           options_.lease_margin);
    args.push_back(absl::StrCat(std::max<int64_t>(1, Micros(lease))));
  }
  args.insert(args.end(), releases.begin(), releases.end());
  absl::StatusOr<redis::Reply> reply = client_->Eval(kAcquire, keys, args);
  if (reply.ok() &&
      (!reply->is_array() || reply->elements.size() != batch.size())) {
    reply = absl::InternalError("unexpected reply of the pacing script");
  }
  absl::MutexLock lock(&mu_);
  ++stats_.script_calls;
  if (!reply.ok()) {
    if (!releases.empty()) {
      log::Warning("messaging", "shared pacing: release failed",
                   {{"phone_number_id", number_id},
                    {"error", std::string(reply.status().message())}});
    }
    // Never send unpaced: the caller retries later (UNAVAILABLE).
    stats_.unavailable += batch.size();
    const absl::StatusCode code =
        reply.status().code() == absl::StatusCode::kUnavailable
            ? absl::StatusCode::kUnavailable
            : absl::StatusCode::kInternal;
    for (Request& r : batch) {
      ready->emplace_back(
          std::move(r.done),
          std::make_tuple(
              absl::Status(code, absl::StrCat("shared pacing (Redis): ",
                                              reply.status().message())),
              absl::ZeroDuration(), std::string()));
    }
    return;
  }
  std::vector<Request> requeue;
  Number* number = nullptr;
  for (size_t i = 0; i < batch.size(); ++i) {
    const redis::Reply& e = reply->elements[i];
    int64_t code = 0, micros = 0;
    if (e.is_array() && e.elements.size() == 2) {
      code = e.elements[0].integer;
      micros = e.elements[1].integer;
    }
    Request& r = batch[i];
    if (code == 1) {
      ++stats_.granted;
      ready->emplace_back(
          std::move(r.done),
          std::make_tuple(absl::OkStatus(), absl::ZeroDuration(),
                          std::move(slots[i])));
      continue;
    }
    if (number == nullptr) number = &numbers_[number_id];
    const absl::Time at = now + absl::Microseconds(micros);
    if (code == 2) {
      number->ready_at = std::max(number->ready_at, at);
    } else if (code == 3) {
      r.not_before = at;
    } else {
      ready->emplace_back(
          std::move(r.done),
          std::make_tuple(
              absl::InternalError("unexpected reply of the pacing script"),
              absl::ZeroDuration(), std::string()));
      continue;
    }
    requeue.push_back(std::move(r));  // the loop fails it if past deadline
  }
  if (!requeue.empty()) {
    stats_.waiting += requeue.size();
    number->queue.insert(number->queue.begin(),
                         std::make_move_iterator(requeue.begin()),
                         std::make_move_iterator(requeue.end()));
    cv_.Signal();
  }
}

}  // namespace wagate::messaging
