#include "service/messaging/pacer.h"

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::messaging {
namespace {

// A fake clock with a manual scheduler: timers run when the test advances
// time past their due time.
class FakeTime {
 public:
  absl::Time Now() const { return now_; }
  void Schedule(absl::Duration delay, std::function<void()> fn) {
    timers_.emplace(now_ + delay, std::move(fn));
  }
  // Advances to `t`, running due timers in due order at their due time.
  void AdvanceTo(absl::Time t) {
    while (!timers_.empty() && timers_.begin()->first <= t) {
      auto node = timers_.extract(timers_.begin());
      now_ = std::max(now_, node.key());
      node.mapped()();
    }
    now_ = std::max(now_, t);
  }
  void Advance(absl::Duration d) { AdvanceTo(now_ + d); }
  size_t pending() const { return timers_.size(); }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  std::multimap<absl::Time, std::function<void()>> timers_;
};

struct Outcome {
  bool done = false;
  absl::Status status;
  absl::Duration retry_delay;
  absl::Time at;
};

class PacerTest : public ::testing::Test {
 protected:
  std::shared_ptr<Pacer> MakePacer(int default_mps = 80,
                                   bool hold_until_finished = false) {
    Pacer::Options options;
    options.default_mps = default_mps;
    options.hold_until_finished = hold_until_finished;
    options.clock = [this] { return time_.Now(); };
    options.scheduler = [this](absl::Duration d, std::function<void()> fn) {
      time_.Schedule(d, std::move(fn));
    };
    return Pacer::Create(io_.get_executor(), options);
  }

  // Starts an Acquire whose outcome lands in outcomes_[index].
  void Acquire(Pacer& pacer, absl::string_view number, absl::string_view to,
               absl::Duration timeout) {
    size_t index = outcomes_.size();
    outcomes_.emplace_back();
    pacer.Acquire(number, to, time_.Now() + timeout,
                  [this, index](absl::Status s, absl::Duration delay) {
                    Outcome& o = outcomes_[index];
                    EXPECT_FALSE(o.done) << "callback ran twice";
                    o.done = true;
                    o.status = s;
                    o.retry_delay = delay;
                    o.at = time_.Now();
                  });
  }

  std::vector<absl::Time> GrantTimes() const {
    std::vector<absl::Time> times;
    for (const Outcome& o : outcomes_) {
      if (o.done && o.status.ok()) times.push_back(o.at);
    }
    std::sort(times.begin(), times.end());
    return times;
  }

  // The most grants in any half-open window [t, t + 1 s).
  int MaxInAnyWindow(std::vector<absl::Time> times) const {
    std::sort(times.begin(), times.end());
    int best = 0;
    size_t lo = 0;
    for (size_t hi = 0; hi < times.size(); ++hi) {
      while (times[hi] - times[lo] >= absl::Seconds(1)) ++lo;
      best = std::max(best, static_cast<int>(hi - lo + 1));
    }
    return best;
  }

  boost::asio::io_context io_;
  FakeTime time_;
  std::deque<Outcome> outcomes_;
};

TEST_F(PacerTest, GrantsUpToMpsAtOnceThenWaits) {
  auto pacer = MakePacer();
  pacer->SetThroughput("1", 10);
  for (int i = 0; i < 12; ++i) {
    Acquire(*pacer, "1", absl::StrCat("r", i), absl::Seconds(10));
  }
  int done = 0;
  for (const Outcome& o : outcomes_) done += o.done;
  EXPECT_EQ(done, 10);
  time_.Advance(absl::Milliseconds(999));
  done = 0;
  for (const Outcome& o : outcomes_) done += o.done;
  EXPECT_EQ(done, 10) << "granted before the first grants left the window";
  time_.Advance(absl::Milliseconds(2));
  for (const Outcome& o : outcomes_) EXPECT_TRUE(o.done && o.status.ok());
}

TEST_F(PacerTest, HeldSlotsFreeOneWindowAfterTheAnswer) {
  auto pacer = MakePacer(80, /*hold_until_finished=*/true);
  pacer->SetThroughput("1", 3);
  for (int i = 0; i < 5; ++i) {
    Acquire(*pacer, "1", absl::StrCat("r", i), absl::Seconds(30));
  }
  auto done = [&] {
    int d = 0;
    for (const Outcome& o : outcomes_) d += o.done;
    return d;
  };
  EXPECT_EQ(done(), 3);
  // Graph is slow: nothing frees while the three are in flight, however
  // long it takes, and no timer is needed for that.
  time_.Advance(absl::Seconds(5));
  EXPECT_EQ(done(), 3);
  EXPECT_EQ(time_.pending(), 0u);
  // The first answer starts its window now: one more grant a window later.
  pacer->Finished("1");
  const absl::Time answered = time_.Now();
  time_.Advance(absl::Milliseconds(999));
  EXPECT_EQ(done(), 3);
  time_.Advance(absl::Milliseconds(2));
  EXPECT_EQ(done(), 4);
  EXPECT_GE(outcomes_[3].at, answered + absl::Seconds(1));
  // A deadline estimate counts in-flight slots as finishing now at best.
  Acquire(*pacer, "1", "late", absl::Milliseconds(500));
  EXPECT_TRUE(outcomes_.back().done);
  EXPECT_EQ(outcomes_.back().status.code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_GE(outcomes_.back().retry_delay, absl::Seconds(1));
  // Finished() for an unknown number or more often than granted is ignored.
  pacer->Finished("nope");
  for (int i = 0; i < 10; ++i) pacer->Finished("1");
  time_.Advance(absl::Seconds(2));
  EXPECT_EQ(done(), 6);
}

TEST_F(PacerTest, NeverMoreThanMpsInAnySlidingWindow) {
  auto pacer = MakePacer();
  pacer->SetThroughput("1", 10);
  // Irregular arrivals: a token bucket would let 2×mps through across a
  // window boundary; the sliding log must not.
  for (int step = 0; step < 400; ++step) {
    int n = (step % 7 == 0) ? 9 : (step % 3);
    for (int i = 0; i < n; ++i) {
      Acquire(*pacer, "1", absl::StrCat("r", step, "_", i), absl::Hours(1));
    }
    time_.Advance(absl::Milliseconds(37));
  }
  time_.Advance(absl::Seconds(200));
  std::vector<absl::Time> granted = GrantTimes();
  EXPECT_EQ(granted.size(), outcomes_.size());
  EXPECT_LE(MaxInAnyWindow(granted), 10);
  EXPECT_EQ(MaxInAnyWindow(granted), 10);  // and it does use the capacity
}

TEST_F(PacerTest, TokenBucketBoundaryBurstIsRefused) {
  auto pacer = MakePacer();
  pacer->SetThroughput("1", 10);
  time_.Advance(absl::Milliseconds(900));
  for (int i = 0; i < 10; ++i) Acquire(*pacer, "1", "a", absl::Seconds(5));
  time_.Advance(absl::Milliseconds(150));  // a bucket would have refilled
  for (int i = 0; i < 10; ++i) Acquire(*pacer, "1", "b", absl::Seconds(5));
  int done = 0;
  for (const Outcome& o : outcomes_) done += o.done;
  EXPECT_EQ(done, 10);
  time_.Advance(absl::Seconds(1));
  EXPECT_LE(MaxInAnyWindow(GrantTimes()), 10);
  EXPECT_EQ(GrantTimes().size(), 20u);
}

TEST_F(PacerTest, FifoPerNumber) {
  auto pacer = MakePacer();
  pacer->SetThroughput("1", 1);
  for (int i = 0; i < 5; ++i) {
    Acquire(*pacer, "1", absl::StrCat("r", i), absl::Seconds(30));
  }
  time_.Advance(absl::Seconds(10));
  for (int i = 1; i < 5; ++i) {
    ASSERT_TRUE(outcomes_[i].done);
    EXPECT_GT(outcomes_[i].at, outcomes_[i - 1].at) << i;
  }
}

TEST_F(PacerTest, DeadlineTooCloseFailsAtOnceWithRetryDelay) {
  auto pacer = MakePacer();
  pacer->SetThroughput("1", 2);
  Acquire(*pacer, "1", "a", absl::Seconds(1));
  Acquire(*pacer, "1", "b", absl::Seconds(1));
  Acquire(*pacer, "1", "c", absl::Milliseconds(500));
  ASSERT_TRUE(outcomes_[2].done);
  EXPECT_EQ(outcomes_[2].status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(outcomes_[2].status.message()),
              ::testing::HasSubstr("throughput"));
  EXPECT_EQ(outcomes_[2].retry_delay, absl::Seconds(1));
  // A later deadline waits instead.
  Acquire(*pacer, "1", "d", absl::Seconds(2));
  EXPECT_FALSE(outcomes_[3].done);
  time_.Advance(absl::Milliseconds(1001));
  EXPECT_TRUE(outcomes_[3].done && outcomes_[3].status.ok());
  EXPECT_EQ(pacer->Stats().denied, 1u);
}

TEST_F(PacerTest, PairBurstOf45ThenOnePerSixSeconds) {
  auto pacer = MakePacer(1000);
  for (int i = 0; i < 45; ++i)
    Acquire(*pacer, "1", "16505551234", absl::Seconds(1));
  for (int i = 0; i < 45; ++i) {
    ASSERT_TRUE(outcomes_[i].done && outcomes_[i].status.ok()) << i;
  }
  // The 46th to the same recipient: its token comes in 6 s.
  Acquire(*pacer, "1", "16505551234", absl::Seconds(1));
  ASSERT_TRUE(outcomes_[45].done);
  EXPECT_EQ(outcomes_[45].status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(outcomes_[45].status.message()),
              ::testing::HasSubstr("pair"));
  EXPECT_EQ(outcomes_[45].retry_delay, absl::Seconds(6));
  // Another recipient of the same number is not affected.
  Acquire(*pacer, "1", "16505550000", absl::Seconds(1));
  EXPECT_TRUE(outcomes_[46].done && outcomes_[46].status.ok());
  // With a long deadline it waits for the token.
  Acquire(*pacer, "1", "16505551234", absl::Seconds(20));
  EXPECT_FALSE(outcomes_[47].done);
  time_.Advance(absl::Milliseconds(5990));
  EXPECT_FALSE(outcomes_[47].done);
  time_.Advance(absl::Milliseconds(20));
  EXPECT_TRUE(outcomes_[47].done && outcomes_[47].status.ok());
  // And the next one 6 s after that.
  Acquire(*pacer, "1", "16505551234", absl::Seconds(20));
  time_.Advance(absl::Milliseconds(5900));
  EXPECT_FALSE(outcomes_[48].done);
  time_.Advance(absl::Milliseconds(200));
  EXPECT_TRUE(outcomes_[48].done && outcomes_[48].status.ok());
}

TEST_F(PacerTest, PairWaiterDoesNotBlockOtherRecipients) {
  auto pacer = MakePacer(1000);
  for (int i = 0; i < 45; ++i) Acquire(*pacer, "1", "x", absl::Seconds(1));
  Acquire(*pacer, "1", "x", absl::Seconds(60));  // waits 6 s
  Acquire(*pacer, "1", "y", absl::Seconds(1));
  EXPECT_FALSE(outcomes_[45].done);
  EXPECT_TRUE(outcomes_[46].done && outcomes_[46].status.ok());
}

TEST_F(PacerTest, PairBucketRefillsToBurst) {
  auto pacer = MakePacer(1000);
  for (int i = 0; i < 45; ++i) Acquire(*pacer, "1", "x", absl::Seconds(1));
  time_.Advance(absl::Seconds(45 * 6));
  for (int i = 0; i < 45; ++i) Acquire(*pacer, "1", "x", absl::Seconds(1));
  for (const Outcome& o : outcomes_) EXPECT_TRUE(o.done && o.status.ok());
  Acquire(*pacer, "1", "x", absl::Seconds(1));
  EXPECT_FALSE(outcomes_.back().status.ok());
}

TEST_F(PacerTest, NumbersAreIndependent) {
  auto pacer = MakePacer();
  pacer->SetThroughput("1", 1);
  pacer->SetThroughput("2", 1);
  Acquire(*pacer, "1", "a", absl::Seconds(5));
  Acquire(*pacer, "2", "a", absl::Seconds(5));
  EXPECT_TRUE(outcomes_[0].done && outcomes_[1].done);
  EXPECT_EQ(pacer->Throughput("1"), 1);
  EXPECT_EQ(pacer->Throughput("3"), 80);
}

// In single-account mode any digits reach the pacer: numbers and pairs
// nobody uses any more are pruned, so 20,000 distinct numbers leave little
// behind; a number whose limit was set keeps it.
TEST_F(PacerTest, IdleNumbersAndPairsArePruned) {
  auto pacer = MakePacer();
  pacer->SetThroughput("1", 1000);
  for (int i = 0; i < 20000; ++i) {
    Acquire(*pacer, absl::StrCat(100000 + i), absl::StrCat(5550000 + i),
            absl::Seconds(5));
    if (i % 1000 == 999) time_.Advance(absl::Minutes(5));
  }
  PacerStats stats = pacer->Stats();
  EXPECT_LT(stats.numbers, 5000u) << stats.numbers;
  EXPECT_LT(stats.pairs, 5000u) << stats.pairs;
  EXPECT_EQ(pacer->Throughput("1"), 1000);
  for (const Outcome& o : outcomes_) EXPECT_TRUE(o.done && o.status.ok());
}

TEST_F(PacerTest, RaisingThroughputReleasesWaiters) {
  auto pacer = MakePacer();
  pacer->SetThroughput("1", 1);
  for (int i = 0; i < 5; ++i) {
    Acquire(*pacer, "1", absl::StrCat("r", i), absl::Seconds(30));
  }
  EXPECT_EQ(pacer->Stats().waiting, 4u);
  time_.Advance(absl::Milliseconds(100));
  pacer->SetThroughput("1", 1000);
  for (const Outcome& o : outcomes_) EXPECT_TRUE(o.done && o.status.ok());
  EXPECT_EQ(pacer->Stats().waiting, 0u);
  EXPECT_EQ(pacer->Stats().granted_waited, 4u);
}

TEST_F(PacerTest, ShutdownFailsWaiters) {
  auto pacer = MakePacer();
  pacer->SetThroughput("1", 1);
  Acquire(*pacer, "1", "a", absl::Seconds(30));
  Acquire(*pacer, "1", "b", absl::Seconds(30));
  pacer->Shutdown();
  ASSERT_TRUE(outcomes_[1].done);
  EXPECT_EQ(outcomes_[1].status.code(), absl::StatusCode::kUnavailable);
  Acquire(*pacer, "1", "c", absl::Seconds(30));
  EXPECT_EQ(outcomes_[2].status.code(), absl::StatusCode::kUnavailable);
}

TEST_F(PacerTest, ShutdownFailsPairWaitersAtOnce) {
  auto pacer = MakePacer();
  for (int i = 0; i < 47; ++i) Acquire(*pacer, "1", "same", absl::Minutes(1));
  EXPECT_FALSE(outcomes_[45].done);  // waiting 6 s for the pair limit
  EXPECT_FALSE(outcomes_[46].done);  // 12 s
  pacer->Shutdown();
  for (int i : {45, 46}) {
    ASSERT_TRUE(outcomes_[i].done) << i;
    EXPECT_EQ(outcomes_[i].status.code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(pacer->Stats().waiting, 0u);
  time_.Advance(absl::Seconds(20));  // their timers fire and find nothing
}

// The default scheduler: real Asio timers and the real clock.
TEST(PacerAsioTest, WaitsOnAsioTimers) {
  boost::asio::io_context io;
  auto pacer = Pacer::Create(io.get_executor(), Pacer::Options{});
  pacer->SetThroughput("1", 20);
  std::vector<absl::Time> grants;
  int failures = 0;
  for (int i = 0; i < 30; ++i) {
    pacer->Acquire("1", absl::StrCat("r", i), absl::Now() + absl::Seconds(10),
                   [&](absl::Status s, absl::Duration) {
                     if (s.ok()) {
                       grants.push_back(absl::Now());
                     } else {
                       ++failures;
                     }
                   });
  }
  EXPECT_EQ(grants.size(), 20u);
  io.run();  // returns when no timer is left: every waiter was granted
  EXPECT_EQ(grants.size(), 30u);
  EXPECT_EQ(failures, 0);
  EXPECT_GE(grants[20] - grants[0], absl::Seconds(1));
}

// Many threads acquiring at once (real clock, Asio timers on two threads):
// every request is granted exactly once and no window is exceeded.
TEST(PacerAsioTest, ConcurrentAcquiresStayWithinTheWindow) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::thread> io_threads;
  for (int i = 0; i < 2; ++i) io_threads.emplace_back([&] { io.run(); });
  auto pacer = Pacer::Create(io.get_executor(), Pacer::Options{});
  pacer->SetThroughput("1", 100);
  absl::Mutex mu;
  std::vector<absl::Time> grants;
  int failures = 0;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        pacer->Acquire("1", absl::StrCat("r", t, "_", i),
                       absl::Now() + absl::Seconds(30),
                       [&](absl::Status s, absl::Duration) {
                         absl::MutexLock lock(&mu);
                         if (s.ok()) {
                           grants.push_back(absl::Now());
                         } else {
                           ++failures;
                         }
                       });
      }
    });
  }
  for (auto& c : callers) c.join();
  {
    absl::MutexLock lock(&mu);
    auto all = [&] { return grants.size() + failures == 240; };
    mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(20));
    EXPECT_EQ(failures, 0);
    ASSERT_EQ(grants.size(), 240u);
    std::sort(grants.begin(), grants.end());
    for (size_t i = 100; i < grants.size(); ++i) {
      // Callbacks run a little after their grant (recorded here), so allow
      // scheduling slack; a bucket or a race would show ~0 here.
      EXPECT_GE(grants[i] - grants[i - 100], absl::Milliseconds(950)) << i;
    }
  }
  work.reset();
  for (auto& t : io_threads) t.join();
}

// A shared gate that answers only when the test says so.
class FakeGate : public SharedPacingGate {
 public:
  struct Ask {
    std::string number, recipient;
    int mps;
    Callback done;
  };
  void Acquire(absl::string_view number, absl::string_view recipient, int mps,
               absl::Time, Callback done) override {
    asks.push_back(
        {std::string(number), std::string(recipient), mps, std::move(done)});
  }
  void Release(absl::string_view number, absl::string_view slot) override {
    released.push_back(absl::StrCat(number, "/", slot));
  }
  std::deque<Ask> asks;
  std::vector<std::string> released;
};

TEST_F(PacerTest, SharedGateIsASecondGateBehindTheLocalWindow) {
  auto gate = std::make_shared<FakeGate>();
  Pacer::Options options;
  options.hold_until_finished = true;
  options.clock = [this] { return time_.Now(); };
  options.scheduler = [this](absl::Duration d, std::function<void()> fn) {
    time_.Schedule(d, std::move(fn));
  };
  options.shared = gate;
  auto pacer = Pacer::Create(io_.get_executor(), options);
  pacer->SetThroughput("1", 2);
  for (int i = 0; i < 3; ++i) Acquire(*pacer, "1", "", absl::Seconds(10));
  // Two local slots: two asks; the third waits locally.
  ASSERT_EQ(gate->asks.size(), 2u);
  EXPECT_EQ(gate->asks[0].mps, 2);
  EXPECT_FALSE(outcomes_[0].done);  // nothing granted before the gate says so

  gate->asks[0].done(absl::OkStatus(), absl::ZeroDuration(), "slot-a");
  io_.poll();
  io_.restart();
  EXPECT_TRUE(outcomes_[0].done && outcomes_[0].status.ok());

  // A refusal frees the local slot (nothing sent): the third is asked.
  gate->asks[1].done(absl::ResourceExhaustedError("shared limit"),
                     absl::Milliseconds(700), "");
  io_.poll();
  io_.restart();
  EXPECT_EQ(outcomes_[1].status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(outcomes_[1].retry_delay, absl::Milliseconds(700));
  ASSERT_EQ(gate->asks.size(), 3u);

  // Finished releases the shared slot the gate named.
  pacer->Finished("1");
  EXPECT_THAT(gate->released, ::testing::ElementsAre("1/slot-a"));

  // Redis down: the gate's UNAVAILABLE reaches the caller.
  gate->asks[2].done(absl::UnavailableError("redis down"), absl::ZeroDuration(),
                     "");
  io_.poll();
  EXPECT_EQ(outcomes_[2].status.code(), absl::StatusCode::kUnavailable);
}

TEST(PacerRejectionReasonTest, NamesEachRefusal) {
  EXPECT_EQ(PacerRejectionReason(absl::DeadlineExceededError("no capacity")),
            "deadline");
  EXPECT_EQ(PacerRejectionReason(absl::UnavailableError(kPacerShutdownMessage)),
            "shutdown");
  // The shared gate on Redis could not be asked: not a shutdown.
  EXPECT_EQ(PacerRejectionReason(absl::UnavailableError(
                "shared pacing (Redis): connection refused")),
            "gate_unavailable");
  EXPECT_EQ(PacerRejectionReason(
                absl::InternalError("shared pacing (Redis): unexpected reply")),
            "gate_unavailable");
}

}  // namespace
}  // namespace wagate::messaging
