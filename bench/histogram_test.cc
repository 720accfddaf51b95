#include "bench/histogram.h"

#include "gtest/gtest.h"

namespace wagate::bench {
namespace {

TEST(HistogramTest, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.PercentileMs(99), 0);
  EXPECT_TRUE(h.Cdf().empty());
}

TEST(HistogramTest, PercentilesWithinBucketError) {
  Histogram h;
  for (int us = 1; us <= 100000; ++us) h.RecordMicros(us);
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_NEAR(h.PercentileMs(50), 50.0, 50.0 * 0.02);
  EXPECT_NEAR(h.PercentileMs(99), 99.0, 99.0 * 0.02);
  EXPECT_NEAR(h.PercentileMs(99.9), 99.9, 99.9 * 0.02);
  EXPECT_DOUBLE_EQ(h.MaxMs(), 100.0);
  EXPECT_NEAR(h.MeanMs(), 50.0005, 1e-3);
}

TEST(HistogramTest, SmallValuesExact) {
  Histogram h;
  h.RecordMicros(3);
  h.RecordMicros(7);
  EXPECT_DOUBLE_EQ(h.PercentileMs(50), 0.003);
  EXPECT_DOUBLE_EQ(h.PercentileMs(100), 0.007);
}

TEST(HistogramTest, MergeAddsCountsAndKeepsMax) {
  Histogram a, b;
  a.Record(absl::Milliseconds(1));
  b.Record(absl::Milliseconds(30));
  a.Merge(b);
  EXPECT_EQ(a.count(), 2u);
  EXPECT_DOUBLE_EQ(a.MaxMs(), 30.0);
  std::vector<std::pair<double, double>> cdf = a.Cdf();
  ASSERT_EQ(cdf.size(), 2u);
  EXPECT_DOUBLE_EQ(cdf.back().second, 1.0);
}

TEST(PercentilesTest, MinusFloorsAtZero) {
  Percentiles a{1, 2, 3, 4, 5}, b{0.5, 3, 1, 1, 1};
  Percentiles d = Percentiles::Minus(a, b);
  EXPECT_DOUBLE_EQ(d.p50, 0.5);
  EXPECT_DOUBLE_EQ(d.p90, 0);
  EXPECT_DOUBLE_EQ(d.p99, 2);
  EXPECT_NE(a.Json().find("\"p999\":4.000"), std::string::npos);
}

}  // namespace
}  // namespace wagate::bench
