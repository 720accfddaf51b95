#include "service/events/subscribe_executor.h"

namespace wagate::events {

SubscribeExecutor::SubscribeExecutor(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

SubscribeExecutor::~SubscribeExecutor() { Shutdown(); }

bool SubscribeExecutor::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  ready_.push_back(std::move(task));
  cv_.Signal();
  return true;
}

bool SubscribeExecutor::PostAfter(absl::Duration delay,
                                  std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  delayed_.emplace(std::make_pair(absl::Now() + delay, next_seq_++),
                   std::move(task));
  // Wake everyone: a sleeping thread may be waiting for a later deadline.
  cv_.SignalAll();
  return true;
}

void SubscribeExecutor::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    delayed_.clear();
    cv_.SignalAll();
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void SubscribeExecutor::Loop() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        absl::Time now = absl::Now();
        while (!delayed_.empty() && delayed_.begin()->first.first <= now) {
          ready_.push_back(std::move(delayed_.begin()->second));
          delayed_.erase(delayed_.begin());
        }
        if (!ready_.empty()) {
          task = std::move(ready_.front());
          ready_.pop_front();
          break;
        }
        if (stopping_) return;
        if (delayed_.empty()) {
          cv_.Wait(&mu_);
        } else {
          cv_.WaitWithDeadline(&mu_, delayed_.begin()->first.first);
        }
      }
    }
    task();
  }
}

}  // namespace wagate::events
