// Lets callbacks that run later on io_context threads (timers, HTTP client
// completions) touch their owner only while it lives. The owner's destructor
// calls Kill(), which waits for callbacks already running and makes later
// ones no-ops. Callbacks hold the guard by shared_ptr, so it outlives the
// owner.
//
//   auto guard = guard_;  // std::shared_ptr<LifeGuard>
//   timer->async_wait([this, guard](auto ec) {
//     guard->Run([&] { OnTimer(ec); });
//   });
#ifndef WAGATE_EMULATOR_LIFE_GUARD_H_
#define WAGATE_EMULATOR_LIFE_GUARD_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace wagate::emulator {

class LifeGuard {
 public:
  // Runs `fn` unless Kill() was called. Nested Runs are fine: no lock is held
  // while `fn` runs. Must not be called from a thread inside Kill().
  template <typename F>
  bool Run(F&& fn) {
    {
      absl::MutexLock lock(&mu_);
      if (!alive_) return false;
      ++running_;
    }
    fn();
    absl::MutexLock lock(&mu_);
    --running_;
    return true;
  }

  // Stops later Runs and waits for running ones. Not from inside a Run.
  void Kill() {
    absl::MutexLock lock(&mu_);
    alive_ = false;
    mu_.Await(absl::Condition(
        +[](int* running) { return *running == 0; }, &running_));
  }

 private:
  absl::Mutex mu_;
  bool alive_ ABSL_GUARDED_BY(mu_) = true;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_LIFE_GUARD_H_
