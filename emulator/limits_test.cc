#include "emulator/limits.h"

#include <random>

#include "gtest/gtest.h"

namespace wagate::emulator {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'750'000'000);

TEST(ThroughputLimiterTest, SlidingOneSecondWindow) {
  ThroughputLimiter t(3);
  EXPECT_TRUE(t.TryAcquire(kT0));
  EXPECT_TRUE(t.TryAcquire(kT0 + absl::Milliseconds(100)));
  EXPECT_TRUE(t.TryAcquire(kT0 + absl::Milliseconds(200)));
  EXPECT_FALSE(t.TryAcquire(kT0 + absl::Milliseconds(999)));
  // The first message leaves the window at kT0 + 1 s.
  EXPECT_TRUE(t.TryAcquire(kT0 + absl::Milliseconds(1000)));
  EXPECT_FALSE(t.TryAcquire(kT0 + absl::Milliseconds(1050)));
  EXPECT_TRUE(t.TryAcquire(kT0 + absl::Milliseconds(1150)));
}

TEST(ThroughputLimiterTest, ZeroIsUnlimitedAndLimitCanChange) {
  ThroughputLimiter t(0);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(t.TryAcquire(kT0));
  ThroughputLimiter u(1);
  EXPECT_TRUE(u.TryAcquire(kT0));
  EXPECT_FALSE(u.TryAcquire(kT0));
  u.set_limit(2);
  EXPECT_TRUE(u.TryAcquire(kT0));
}

TEST(PairLimiterTest, BurstOf45ThenOnePerSixSeconds) {
  PairLimiter p(45, absl::Seconds(6), kT0);
  for (int i = 0; i < 45; ++i) ASSERT_TRUE(p.TryAcquire(kT0)) << i;
  EXPECT_FALSE(p.TryAcquire(kT0));
  EXPECT_FALSE(p.TryAcquire(kT0 + absl::Seconds(5)));
  EXPECT_TRUE(p.TryAcquire(kT0 + absl::Seconds(6)));
  EXPECT_FALSE(p.TryAcquire(kT0 + absl::Seconds(7)));
  EXPECT_TRUE(p.TryAcquire(kT0 + absl::Seconds(12)));
}

TEST(LatencyModelTest, Constants) {
  std::mt19937_64 rng(1);
  auto zero = LatencyModel::Parse("0");
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->is_zero());
  EXPECT_EQ(zero->Sample(rng), absl::ZeroDuration());
  auto five = LatencyModel::Parse("5ms");
  ASSERT_TRUE(five.ok());
  EXPECT_EQ(five->Sample(rng), absl::Milliseconds(5));
}

TEST(LatencyModelTest, LognormalMatchesMedianAndP99) {
  auto m = LatencyModel::Parse("lognormal:median=200ms,p99=2s");
  ASSERT_TRUE(m.ok()) << m.status();
  std::mt19937_64 rng(42);
  std::vector<double> samples;
  for (int i = 0; i < 20000; ++i) {
    samples.push_back(absl::ToDoubleSeconds(m->Sample(rng)));
  }
  std::sort(samples.begin(), samples.end());
  EXPECT_NEAR(samples[10000], 0.2, 0.02);
  EXPECT_NEAR(samples[19800], 2.0, 0.3);
}

TEST(LatencyModelTest, RejectsBadSpecs) {
  for (const char* bad : {"fast", "-5ms", "lognormal:median=200ms",
                          "lognormal:median=2s,p99=1s", "lognormal:x=1"}) {
    EXPECT_FALSE(LatencyModel::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace wagate::emulator
