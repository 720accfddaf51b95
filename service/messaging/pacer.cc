#include "service/messaging/pacer.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"

namespace wagate::messaging {

absl::string_view PacerRejectionReason(const absl::Status& status) {
  if (absl::IsDeadlineExceeded(status)) return "deadline";
  if (absl::IsUnavailable(status) &&
      status.message() == kPacerShutdownMessage) {
    return "shutdown";
  }
  return "gate_unavailable";
}

namespace {

// Pair buckets untouched for this long are full again and can be forgotten.
constexpr uint64_t kPruneEvery = 4096;

}  // namespace

std::shared_ptr<Pacer> Pacer::Create(boost::asio::any_io_executor executor,
                                     Options options) {
  return std::shared_ptr<Pacer>(
      new Pacer(std::move(executor), std::move(options)));
}

Pacer::Pacer(boost::asio::any_io_executor executor, Options options)
    : options_([&] {
        if (!options.clock) options.clock = [] { return absl::Now(); };
        if (options.default_mps < 1) options.default_mps = 1;
        if (options.pair_burst < 1) options.pair_burst = 1;
        return std::move(options);
      }()),
      executor_(std::move(executor)) {}

Pacer::~Pacer() = default;

Pacer::Number& Pacer::NumberLocked(absl::string_view id) {
  auto [it, inserted] = numbers_.try_emplace(id);
  if (inserted) it->second.mps = options_.default_mps;
  return it->second;
}

absl::Time Pacer::EstimateGrantLocked(const Number& n, size_t position,
                                      absl::Time now) const {
  // Grant g_k (k = 0 for the next one) may happen once the grant mps
  // earlier is out of the window: g_k = max(now, g_{k-mps} + window), where
  // negative indexes are the logged grants, then the ones in flight (taken
  // as finishing now: the best case).
  const int64_t mps = n.mps;
  const int64_t logged = static_cast<int64_t>(n.grants.size());
  const int64_t size = logged + n.in_flight;
  int64_t k = static_cast<int64_t>(position);
  absl::Duration add;
  int64_t idx = size + k - mps;
  if (idx >= size) {
    int64_t rounds = (idx - size) / mps + 1;
    idx -= rounds * mps;
    add = options_.window * rounds;
  }
  absl::Time base = idx < 0        ? now
                    : idx < logged ? n.grants[idx] + options_.window
                                   : now + options_.window;
  return std::max(now, base + add);
}

Pacer::Pair& Pacer::PairLocked(const std::string& key, absl::Time now) {
  auto [it, inserted] = pairs_.try_emplace(key);
  Pair& p = it->second;
  if (inserted) {
    p.tokens = options_.pair_burst;
    p.updated = now;
    return p;
  }
  if (now > p.updated) {
    p.tokens = std::min<double>(
        options_.pair_burst,
        p.tokens + absl::FDivDuration(now - p.updated, options_.pair_interval));
    p.updated = now;
  }
  return p;
}

void Pacer::PruneNumbersLocked(absl::Time now) {
  // A number nobody sends from keeps nothing worth keeping: its window has
  // passed and its limit is the default. (A learned or configured limit is
  // kept: SetThroughput's value must survive idle spells.)
  for (auto it = numbers_.begin(); it != numbers_.end();) {
    const Number& n = it->second;
    const bool idle =
        n.queue.empty() && n.in_flight == 0 && n.shared_slots.empty() &&
        n.wake_at == absl::InfiniteFuture() &&
        (n.grants.empty() || now - n.grants.back() > options_.window);
    if (idle && n.mps == options_.default_mps) {
      numbers_.erase(it++);
    } else {
      ++it;
    }
  }
}

void Pacer::PrunePairsLocked(absl::Time now) {
  const absl::Duration full = options_.pair_interval * options_.pair_burst;
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    if (it->second.tokens >= 0 && now - it->second.updated > full) {
      pairs_.erase(it++);
    } else {
      ++it;
    }
  }
}

void Pacer::Acquire(absl::string_view phone_number_id,
                    absl::string_view recipient, absl::Time deadline,
                    Callback done) {
  std::vector<Ready> ready;
  std::vector<Ask> asks;
  absl::Duration pair_wait;
  std::string number_id(phone_number_id);
  Waiter waiter;
  uint64_t waiter_id = 0;
  {
    absl::ReleasableMutexLock lock(&mu_);
    if (shut_down_) {
      lock.Release();
      done(absl::UnavailableError(kPacerShutdownMessage), absl::ZeroDuration());
      return;
    }
    const absl::Time now = options_.clock();
    if (++acquires_since_prune_ >= kPruneEvery) {
      acquires_since_prune_ = 0;
      PrunePairsLocked(now);
      PruneNumbersLocked(now);
    }
    Number& n = NumberLocked(number_id);
    // An empty recipient (read receipts) has no pair limit.
    Pair* pair = nullptr;
    absl::Time pair_ready = now;
    if (!recipient.empty()) {
      waiter.recipient = std::string(recipient);
      waiter.pair_key = absl::StrCat(number_id, "/", recipient);
      pair = &PairLocked(waiter.pair_key, now);
      if (pair->tokens < 1) {
        pair_ready = now + options_.pair_interval * (1.0 - pair->tokens);
      }
    }
    absl::Time number_ready = EstimateGrantLocked(n, n.queue.size(), now);
    absl::Time grant = std::max(pair_ready, number_ready);
    if (grant > deadline) {
      ++stats_.denied;
      absl::Duration delay = grant - now;
      bool pair_limited = pair_ready > deadline;
      lock.Release();
      done(absl::ResourceExhaustedError(absl::StrCat(
               pair_limited
                   ? "pair rate limit: too many messages to this recipient "
                     "from phone_number_id "
                   : "throughput limit of phone_number_id ",
               number_id, "; retry in ",
               absl::FormatDuration(absl::Ceil(delay, absl::Milliseconds(1))))),
           delay);
      return;
    }
    if (pair != nullptr)
      pair->tokens -= 1;  // reserved (may go into debt: the wait below pays it)
    waiter.deadline = deadline;
    waiter.enqueued = now;
    waiter.done = std::move(done);
    pair_wait = pair_ready - now;
    if (pair_wait <= absl::ZeroDuration()) {
      n.queue.push_back(std::move(waiter));
      PumpLocked(number_id, n, now, &ready, &asks);
    } else {
      waiter_id = next_pair_waiter_++;
      pair_waiters_.emplace(waiter_id,
                            std::make_pair(number_id, std::move(waiter)));
    }
  }
  if (pair_wait > absl::ZeroDuration()) {
    std::weak_ptr<Pacer> weak = weak_from_this();
    auto fn = [weak, waiter_id] {
      auto self = weak.lock();
      if (!self) return;
      std::string id;
      Waiter w;
      {
        absl::MutexLock lock(&self->mu_);
        auto it = self->pair_waiters_.find(waiter_id);
        if (it == self->pair_waiters_.end()) return;  // failed by Shutdown
        id = std::move(it->second.first);
        w = std::move(it->second.second);
        self->pair_waiters_.erase(it);
      }
      self->Enqueue(id, std::move(w));
    };
    if (options_.scheduler) {
      options_.scheduler(pair_wait, std::move(fn));
    } else {
      auto timer = std::make_shared<boost::asio::steady_timer>(executor_);
      timer->expires_after(absl::ToChronoNanoseconds(pair_wait));
      timer->async_wait([timer, fn = std::move(fn)](
                            const boost::system::error_code&) { fn(); });
    }
  }
  AskShared(asks);
  RunReady(ready);
}

void Pacer::Enqueue(const std::string& number_id, Waiter waiter) {
  std::vector<Ready> ready;
  std::vector<Ask> asks;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      ready.emplace_back(std::move(waiter.done),
                         absl::UnavailableError(kPacerShutdownMessage));
    } else {
      Number& n = NumberLocked(number_id);
      n.queue.push_back(std::move(waiter));
      PumpLocked(number_id, n, options_.clock(), &ready, &asks);
    }
  }
  AskShared(asks);
  RunReady(ready);
}

void Pacer::Wake(const std::string& number_id) {
  std::vector<Ready> ready;
  std::vector<Ask> asks;
  {
    absl::MutexLock lock(&mu_);
    auto it = numbers_.find(number_id);
    if (it == numbers_.end()) return;
    it->second.wake_at = absl::InfiniteFuture();
    PumpLocked(number_id, it->second, options_.clock(), &ready, &asks);
  }
  AskShared(asks);
  RunReady(ready);
}

void Pacer::PumpLocked(const std::string& number_id, Number& n, absl::Time now,
                       std::vector<Ready>* ready, std::vector<Ask>* asks) {
  const absl::Time window_start = now - options_.window;
  while (!n.grants.empty() && n.grants.front() <= window_start) {
    n.grants.pop_front();
  }
  while (!n.queue.empty()) {
    Waiter& w = n.queue.front();
    if (w.deadline < now) {
      // The estimate at Acquire was too optimistic (e.g. the limit was
      // lowered); give the pair token back, nothing was sent.
      if (!w.pair_key.empty()) {
        auto pit = pairs_.find(w.pair_key);
        if (pit != pairs_.end()) pit->second.tokens += 1;
      }
      ++stats_.denied;
      ready->emplace_back(std::move(w.done),
                          absl::ResourceExhaustedError(absl::StrCat(
                              "throughput limit of phone_number_id ", number_id,
                              ": no capacity before the deadline")));
      n.queue.pop_front();
      continue;
    }
    if (static_cast<int>(n.grants.size()) + n.in_flight >= n.mps) break;
    if (options_.shared != nullptr) {
      // The local slot is held while the shared gate decides (OnShared
      // gives it back if the gate refuses).
      ++n.in_flight;
      ++stats_.granted;
      if (now != w.enqueued) {
        ++stats_.granted_waited;
        stats_.total_wait += now - w.enqueued;
      }
      asks->push_back(Ask{number_id, std::move(w.recipient), n.mps, w.deadline,
                          std::move(w.done)});
      n.queue.pop_front();
      continue;
    }
    if (options_.hold_until_finished) {
      ++n.in_flight;
    } else {
      n.grants.push_back(now);
    }
    ++stats_.granted;
    if (now != w.enqueued) {
      ++stats_.granted_waited;
      stats_.total_wait += now - w.enqueued;
    }
    ready->emplace_back(std::move(w.done), absl::OkStatus());
    n.queue.pop_front();
  }
  // Keep the log at most mps long: older grants cannot matter.
  while (static_cast<int>(n.grants.size()) > n.mps) n.grants.pop_front();
  // All slots in flight: Finished() pumps again, no timer needed.
  if (n.queue.empty() || n.grants.empty()) return;
  const absl::Time next = n.grants.front() + options_.window;
  if (next >= n.wake_at) return;  // an earlier timer is already armed
  n.wake_at = next;
  std::weak_ptr<Pacer> weak = weak_from_this();
  auto fn = [weak, number_id] {
    if (auto self = weak.lock()) self->Wake(number_id);
  };
  // A grant exactly at the window edge is allowed once strictly past it;
  // wake a hair later so the front grant has left the window.
  const absl::Duration delay =
      std::max(absl::ZeroDuration(), next - now) + absl::Microseconds(50);
  if (options_.scheduler) {
    options_.scheduler(delay, std::move(fn));
  } else {
    auto timer = std::make_shared<boost::asio::steady_timer>(executor_);
    timer->expires_after(absl::ToChronoNanoseconds(delay));
    timer->async_wait([timer, fn = std::move(fn)](
                          const boost::system::error_code&) { fn(); });
  }
}

void Pacer::Finished(absl::string_view phone_number_id) {
  if (!options_.hold_until_finished) return;
  std::vector<Ready> ready;
  std::vector<Ask> asks;
  std::string slot;
  {
    absl::MutexLock lock(&mu_);
    auto it = numbers_.find(phone_number_id);
    if (it == numbers_.end() || it->second.in_flight == 0) return;
    Number& n = it->second;
    const absl::Time now = options_.clock();
    --n.in_flight;
    if (!n.shared_slots.empty()) {
      slot = std::move(n.shared_slots.front());
      n.shared_slots.pop_front();
    }
    // Finish times arrive in clock order, except for a clock that stepped
    // back: keep the log ascending.
    n.grants.push_back(n.grants.empty() ? now : std::max(now, n.grants.back()));
    if (!n.queue.empty()) {
      PumpLocked(std::string(phone_number_id), n, now, &ready, &asks);
    } else {
      while (static_cast<int>(n.grants.size()) > n.mps) n.grants.pop_front();
    }
  }
  if (!slot.empty()) options_.shared->Release(phone_number_id, slot);
  AskShared(asks);
  RunReady(ready);
}

void Pacer::Post(std::function<void()> fn) {
  boost::asio::post(executor_, std::move(fn));
}

void Pacer::AskShared(std::vector<Ask>& asks) {
  for (Ask& ask : asks) {
    std::weak_ptr<Pacer> weak = weak_from_this();
    // Weak: the last owner of the gate must not be its own worker's callback.
    std::weak_ptr<SharedPacingGate> gate = options_.shared;
    std::string number_id = ask.number_id;
    options_.shared->Acquire(
        ask.number_id, ask.recipient, ask.mps, ask.deadline,
        [weak, gate, number_id, recipient = ask.recipient,
         done = std::move(ask.done)](absl::Status status,
                                     absl::Duration retry_delay,
                                     std::string slot) mutable {
          auto self = weak.lock();
          if (!self) {
            // Nobody left to send: free the slot at once.
            auto g = gate.lock();
            if (status.ok() && g) g->Release(number_id, slot);
            return;
          }
          // The gate answers on its own thread; callers expect the
          // executor (as for the pacer's timers).
          self->Post([weak, gate, number_id = std::move(number_id),
                      recipient = std::move(recipient), done = std::move(done),
                      status = std::move(status), retry_delay,
                      slot = std::move(slot)]() mutable {
            auto self = weak.lock();
            if (!self) {
              auto g = gate.lock();
              if (status.ok() && g) g->Release(number_id, slot);
              return;
            }
            self->OnShared(number_id, recipient, std::move(done),
                           std::move(status), retry_delay, std::move(slot));
          });
        });
  }
}

void Pacer::OnShared(const std::string& number_id, const std::string& recipient,
                     Callback done, absl::Status status,
                     absl::Duration retry_delay, std::string slot) {
  std::vector<Ready> ready;
  std::vector<Ask> asks;
  bool release = false;
  {
    absl::MutexLock lock(&mu_);
    Number& n = NumberLocked(number_id);
    const absl::Time now = options_.clock();
    if (status.ok() && shut_down_) {
      release = true;
      status = absl::UnavailableError(kPacerShutdownMessage);
    }
    if (status.ok()) {
      if (options_.hold_until_finished) {
        n.shared_slots.push_back(slot);
      } else {
        // Counted from now, as a local grant.
        release = true;
        if (n.in_flight > 0) --n.in_flight;
        n.grants.push_back(n.grants.empty() ? now
                                            : std::max(now, n.grants.back()));
      }
    } else {
      // Nothing was sent: the local slot and pair token go back unused.
      if (n.in_flight > 0) --n.in_flight;
      if (!recipient.empty()) {
        auto pit = pairs_.find(absl::StrCat(number_id, "/", recipient));
        if (pit != pairs_.end()) pit->second.tokens += 1;
      }
      if (stats_.granted > 0) --stats_.granted;
      ++stats_.denied;
    }
    if (!shut_down_) PumpLocked(number_id, n, now, &ready, &asks);
  }
  if (release) options_.shared->Release(number_id, slot);
  AskShared(asks);
  RunReady(ready);
  done(std::move(status), retry_delay);
}

void Pacer::RunReady(std::vector<Ready>& ready) {
  for (auto& [done, status] : ready) done(status, absl::ZeroDuration());
}

void Pacer::SetThroughput(absl::string_view phone_number_id, int mps) {
  std::vector<Ready> ready;
  std::vector<Ask> asks;
  {
    absl::MutexLock lock(&mu_);
    std::string id(phone_number_id);
    Number& n = NumberLocked(id);
    n.mps = std::max(1, mps);
    n.wake_at = absl::InfiniteFuture();  // re-arm for the new limit
    PumpLocked(id, n, options_.clock(), &ready, &asks);
  }
  AskShared(asks);
  RunReady(ready);
}

int Pacer::Throughput(absl::string_view phone_number_id) const {
  absl::MutexLock lock(&mu_);
  auto it = numbers_.find(phone_number_id);
  return it == numbers_.end() ? options_.default_mps : it->second.mps;
}

void Pacer::Shutdown() {
  std::vector<Ready> ready;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (auto& [id, n] : numbers_) {
      for (Waiter& w : n.queue) {
        ready.emplace_back(std::move(w.done),
                           absl::UnavailableError(kPacerShutdownMessage));
      }
      n.queue.clear();
    }
    for (auto& [id, number_and_waiter] : pair_waiters_) {
      ready.emplace_back(std::move(number_and_waiter.second.done),
                         absl::UnavailableError(kPacerShutdownMessage));
    }
    pair_waiters_.clear();
  }
  RunReady(ready);
  // Asks still at the shared gate come back UNAVAILABLE (OnShared).
  if (options_.shared != nullptr) options_.shared->Shutdown();
}

PacerStats Pacer::Stats() const {
  absl::MutexLock lock(&mu_);
  PacerStats s = stats_;
  s.numbers = numbers_.size();
  s.pairs = pairs_.size();
  s.waiting = pair_waiters_.size();
  for (const auto& [id, n] : numbers_) s.waiting += n.queue.size();
  return s;
}

}  // namespace wagate::messaging
