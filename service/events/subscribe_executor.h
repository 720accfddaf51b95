// A small fixed thread pool with delayed tasks, for the Subscribe/Ack work
// that may block (log reads, consumer-group claims and acks wait for the
// store), so gRPC reactor callbacks never block.
//
//   SubscribeExecutor executor(4);
//   executor.Post([] { /* may block briefly */ });
//   executor.PostAfter(absl::Seconds(1), [] { /* poll again */ });
//   executor.Shutdown();  // runs the queued tasks, drops delayed ones, joins
#ifndef WAGATE_SERVICE_EVENTS_SUBSCRIBE_EXECUTOR_H_
#define WAGATE_SERVICE_EVENTS_SUBSCRIBE_EXECUTOR_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace wagate::events {

class SubscribeExecutor {
 public:
  explicit SubscribeExecutor(int threads);
  ~SubscribeExecutor();  // Shutdown()

  SubscribeExecutor(const SubscribeExecutor&) = delete;
  SubscribeExecutor& operator=(const SubscribeExecutor&) = delete;

  // Runs `task` on a pool thread soon. false (and `task` dropped) after
  // Shutdown began.
  bool Post(std::function<void()> task);
  // Runs `task` after `delay`. false after Shutdown began; delayed tasks
  // still waiting at Shutdown are dropped.
  bool PostAfter(absl::Duration delay, std::function<void()> task);

  // Runs the tasks already queued (so a reactor waiting on one still
  // finishes), drops delayed ones, and joins the threads. Idempotent; must
  // not be called from a pool thread.
  void Shutdown();

 private:
  void Loop();

  absl::Mutex mu_;
  absl::CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::function<void()>> ready_ ABSL_GUARDED_BY(mu_);
  // Keyed by (due time, sequence) so equal due times keep post order.
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> delayed_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
};

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_SUBSCRIBE_EXECUTOR_H_
