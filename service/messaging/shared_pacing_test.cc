#include "service/messaging/shared_pacing.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gtest/gtest.h"
#include "service/redis/testing/redis_server.h"

namespace wagate::messaging {
namespace {

constexpr char kNumber[] = "106540352242922";

struct Result {
  absl::Status status;
  absl::Duration retry_delay;
  std::string slot;
  absl::Time at;
};

// Collects answers of asynchronous Acquires.
class Results {
 public:
  SharedPacingGate::Callback Add() {
    absl::MutexLock lock(&mu_);
    ++expected_;
    return [this](absl::Status s, absl::Duration d, std::string slot) {
      absl::MutexLock lock(&mu_);
      results_.push_back({std::move(s), d, std::move(slot), absl::Now()});
    };
  }
  // Waits until every Acquire answered (at most 20 s).
  std::vector<Result> Wait() {
    absl::MutexLock lock(&mu_);
    auto all = [this] { return results_.size() >= expected_; };
    mu_.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(20));
    return results_;
  }

 private:
  absl::Mutex mu_;
  size_t expected_ = 0;
  std::vector<Result> results_;
};

int Count(const std::vector<Result>& results, absl::StatusCode code) {
  int n = 0;
  for (const Result& r : results) n += r.status.code() == code;
  return n;
}

Result AcquireOne(RedisPacing& gate, absl::string_view recipient, int mps,
                  absl::Time deadline) {
  Results results;
  gate.Acquire(kNumber, recipient, mps, deadline, results.Add());
  std::vector<Result> r = results.Wait();
  EXPECT_EQ(r.size(), 1u);
  if (r.empty()) {
    Result none;
    none.status = absl::DeadlineExceededError("no answer");
    return none;
  }
  return r[0];
}

class SharedPacingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!redis::TestRedisServer::Installed()) {
      GTEST_SKIP() << redis::TestRedisServer::kBinary << " is not installed";
    }
    ASSERT_TRUE(redis_.Start().ok());
  }

  std::shared_ptr<RedisPacing> Gate(SharedPacingOptions options = {}) {
    auto gate = RedisPacing::Create(redis_.Url(), std::move(options));
    EXPECT_TRUE(gate.ok()) << gate.status();
    return gate.ok() ? *gate : nullptr;
  }

  redis::TestRedisServer redis_;
};

TEST_F(SharedPacingTest, WindowLimitHoldsAcrossTwoInstances) {
  auto a = Gate();
  auto b = Gate();
  Results results;
  // Nothing is released: the slots stay taken past the deadline.
  const absl::Time deadline = absl::Now() + absl::Milliseconds(400);
  for (int i = 0; i < 5; ++i) {
    a->Acquire(kNumber, "", 5, deadline, results.Add());
    b->Acquire(kNumber, "", 5, deadline, results.Add());
  }
  std::vector<Result> r = results.Wait();
  ASSERT_EQ(r.size(), 10u);
  EXPECT_EQ(Count(r, absl::StatusCode::kOk), 5);
  EXPECT_EQ(Count(r, absl::StatusCode::kResourceExhausted), 5);
  for (const Result& x : r) {
    if (!x.status.ok()) {
      EXPECT_GT(x.retry_delay, absl::ZeroDuration());
    }
  }
}

TEST_F(SharedPacingTest, SlotIsHeldUntilReleasedThenOneWindow) {
  SharedPacingOptions options;
  options.window = absl::Milliseconds(500);
  auto a = Gate(options);
  auto b = Gate(options);
  Result first = AcquireOne(*a, "", 1, absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_FALSE(first.slot.empty());

  Results results;
  b->Acquire(kNumber, "", 1, absl::Now() + absl::Seconds(10), results.Add());
  // Held for longer than a window: B must still wait.
  absl::SleepFor(absl::Milliseconds(800));
  const absl::Time released = absl::Now();
  a->Release(kNumber, first.slot);
  std::vector<Result> r = results.Wait();
  ASSERT_EQ(r.size(), 1u);
  ASSERT_TRUE(r[0].status.ok()) << r[0].status;
  // Not before the release plus the window (local clock; small slack for
  // Redis's clock being read a little after `released`).
  EXPECT_GE(r[0].at - released, absl::Milliseconds(450));
}

TEST_F(SharedPacingTest, PairLimitHoldsAcrossTwoInstances) {
  SharedPacingOptions options;
  options.pair_burst = 3;
  options.pair_interval = absl::Seconds(60);
  auto a = Gate(options);
  auto b = Gate(options);
  Results results;
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  a->Acquire(kNumber, "16505551234", 100, deadline, results.Add());
  b->Acquire(kNumber, "16505551234", 100, deadline, results.Add());
  a->Acquire(kNumber, "16505551234", 100, deadline, results.Add());
  b->Acquire(kNumber, "16505551234", 100, deadline, results.Add());
  std::vector<Result> r = results.Wait();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(Count(r, absl::StatusCode::kOk), 3);
  ASSERT_EQ(Count(r, absl::StatusCode::kResourceExhausted), 1);
  for (const Result& x : r) {
    if (!x.status.ok()) {
      EXPECT_GT(x.retry_delay, absl::Seconds(50));
    }
  }
  // Another recipient has its own bucket.
  EXPECT_TRUE(AcquireOne(*b, "16505550000", 100, deadline).status.ok());
}

TEST_F(SharedPacingTest, CrashedHoldersSlotExpiresWithItsLease) {
  SharedPacingOptions options;
  options.window = absl::Milliseconds(300);
  options.lease_margin = absl::Milliseconds(200);
  auto b = Gate(options);
  {
    auto a = Gate(options);
    Result held = AcquireOne(*a, "", 1, absl::Now() + absl::Milliseconds(300));
    ASSERT_TRUE(held.status.ok()) << held.status;
    // `a` goes away without releasing: a crashed replica.
  }
  const absl::Time start = absl::Now();
  Result r = AcquireOne(*b, "", 1, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(r.status.ok()) << r.status;
  // Lease (300 + 200 ms) then a window (300 ms) from the grant, minus the
  // time the first grant took.
  EXPECT_GE(r.at - start, absl::Milliseconds(500));
}

TEST_F(SharedPacingTest, RedisDownIsUnavailableThenRecovers) {
  auto a = Gate();
  redis_.Stop();
  Result down = AcquireOne(*a, "", 5, absl::Now() + absl::Seconds(5));
  EXPECT_EQ(down.status.code(), absl::StatusCode::kUnavailable) << down.status;
  ASSERT_TRUE(redis_.Start().ok());
  absl::Status last;
  for (int i = 0; i < 50; ++i) {
    last = AcquireOne(*a, "", 5, absl::Now() + absl::Seconds(5)).status;
    if (last.ok()) break;
    EXPECT_EQ(last.code(), absl::StatusCode::kUnavailable) << last;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(last.ok()) << last;
}

TEST_F(SharedPacingTest, ShutdownFailsWaitersWithUnavailable) {
  auto a = Gate();
  ASSERT_TRUE(
      AcquireOne(*a, "", 1, absl::Now() + absl::Seconds(5)).status.ok());
  Results results;
  a->Acquire(kNumber, "", 1, absl::Now() + absl::Seconds(30), results.Add());
  absl::SleepFor(absl::Milliseconds(100));
  a->Shutdown();
  std::vector<Result> r = results.Wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status.code(), absl::StatusCode::kUnavailable);
}

// Two local Pacers (two replicas), each in front of its own gate on one
// Redis: grants for one number, counted from grant to Finished() + window,
// never exceed mps together.
TEST_F(SharedPacingTest, TwoPacersTogetherStayWithinMps) {
  constexpr int kMps = 4;
  const absl::Duration window = absl::Milliseconds(300);
  SharedPacingOptions options;
  options.window = window;
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  std::vector<std::shared_ptr<Pacer>> pacers;
  std::vector<std::shared_ptr<RedisPacing>> gates;
  for (int i = 0; i < 2; ++i) {
    gates.push_back(Gate(options));
    Pacer::Options o;
    o.default_mps = kMps;
    o.window = window;
    o.hold_until_finished = true;
    o.shared = gates.back();
    pacers.push_back(Pacer::Create(io.get_executor(), std::move(o)));
  }
  absl::Mutex mu;
  std::vector<std::pair<absl::Time, absl::Time>> held;  // grant, finish
  int answered = 0;
  constexpr int kPerPacer = 12;
  for (int i = 0; i < kPerPacer * 2; ++i) {
    Pacer* pacer = pacers[i % 2].get();
    pacer->Acquire(kNumber, "", absl::Now() + absl::Seconds(20),
                   [&, pacer](absl::Status s, absl::Duration) {
                     EXPECT_TRUE(s.ok()) << s;
                     const absl::Time granted = absl::Now();
                     absl::SleepFor(absl::Milliseconds(5));  // "sending"
                     const absl::Time finished = absl::Now();
                     pacer->Finished(kNumber);
                     absl::MutexLock lock(&mu);
                     held.emplace_back(granted, finished);
                     ++answered;
                   });
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&] { return answered == kPerPacer * 2; };
    mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30));
    ASSERT_EQ(answered, kPerPacer * 2);
  }
  // At each grant, the slots taken [grant, finish + window) that overlap it
  // are at most mps (a little slack on the window for the two clocks).
  for (const auto& [g, f] : held) {
    int overlapping = 0;
    for (const auto& [g2, f2] : held) {
      if (g2 <= g && g < f2 + window - absl::Milliseconds(20)) ++overlapping;
    }
    EXPECT_LE(overlapping, kMps);
  }
  for (auto& p : pacers) p->Shutdown();
  work.reset();
  io.stop();
  io_thread.join();
}

}  // namespace
}  // namespace wagate::messaging
