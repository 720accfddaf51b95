#include "service/messaging/retry.h"

#include "gtest/gtest.h"

namespace wagate::messaging {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

v1::GraphError Graph(int code, int http_status = 400) {
  v1::GraphError e;
  e.set_code(code);
  e.set_http_status(http_status);
  e.set_type("OAuthException");
  return e;
}

TEST(RetryTest, RetriesRateLimitsWithinDeadline) {
  RetryPolicy p;
  for (int code : {130429, 131056, 80007, 4}) {
    auto d =
        NextRetryDelay(Graph(code), 0, kNow, kNow + absl::Hours(1), p, 0.5);
    ASSERT_TRUE(d.has_value()) << code;
    EXPECT_GT(*d, absl::ZeroDuration()) << code;
  }
}

TEST(RetryTest, PairLimitBacksOffFourToTheX) {
  RetryPolicy p;
  p.jitter = 0;
  const absl::Time far = kNow + absl::Hours(1);
  EXPECT_EQ(*NextRetryDelay(Graph(131056), 0, kNow, far, p, 0.5),
            absl::Seconds(1));
  EXPECT_EQ(*NextRetryDelay(Graph(131056), 1, kNow, far, p, 0.5),
            absl::Seconds(4));
  EXPECT_EQ(*NextRetryDelay(Graph(131056), 2, kNow, far, p, 0.5),
            absl::Seconds(16));
}

TEST(RetryTest, JitterStaysInBounds) {
  RetryPolicy p;
  p.jitter = 0.2;
  const absl::Time far = kNow + absl::Hours(1);
  auto lo = *NextRetryDelay(Graph(131056), 1, kNow, far, p, 0.0);
  auto hi = *NextRetryDelay(Graph(131056), 1, kNow, far, p, 0.999999);
  EXPECT_EQ(lo, absl::Seconds(4) * 0.8);
  EXPECT_LT(hi, absl::Seconds(4) * 1.2);
  EXPECT_GT(hi, absl::Seconds(4) * 1.19);
}

TEST(RetryTest, NoRetryPastDeadline) {
  RetryPolicy p;
  p.jitter = 0;
  EXPECT_FALSE(
      NextRetryDelay(Graph(131056), 1, kNow, kNow + absl::Seconds(3), p, 0.5)
          .has_value());
}

TEST(RetryTest, NoRetryAfterMaxRetries) {
  RetryPolicy p;
  p.max_retries = 2;
  EXPECT_TRUE(
      NextRetryDelay(Graph(130429), 1, kNow, kNow + absl::Hours(1), p, 0.5));
  EXPECT_FALSE(
      NextRetryDelay(Graph(130429), 2, kNow, kNow + absl::Hours(1), p, 0.5));
}

TEST(RetryTest, NeverRetriesPermanentOrAmbiguous) {
  RetryPolicy p;
  const absl::Time far = kNow + absl::Hours(1);
  for (int code : {100, 131008, 131047, 132001, 190, 10, 131000, 1}) {
    EXPECT_FALSE(NextRetryDelay(Graph(code), 0, kNow, far, p, 0.5)) << code;
  }
  // A dropped connection after the request was written.
  v1::GraphError unknown;
  unknown.set_outcome_unknown(true);
  unknown.mutable_retry_delay()->set_seconds(1);
  EXPECT_FALSE(NextRetryDelay(unknown, 0, kNow, far, p, 0.5));
  // Connection refused: nothing sent → retried.
  v1::GraphError refused;
  refused.mutable_retry_delay()->set_seconds(1);
  EXPECT_TRUE(NextRetryDelay(refused, 0, kNow, far, p, 0.5));
}

}  // namespace
}  // namespace wagate::messaging
