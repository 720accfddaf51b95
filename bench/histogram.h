// Latency histogram for the load generator: log-linear buckets (64 per power
// of two, ≤ 1.6% relative error) over microseconds, mergeable, cheap enough
// to record every call. Not thread-safe: keep one per thread or per stream,
// or guard it, and Merge at the end.
//
//   Histogram h;
//   h.Record(absl::Microseconds(180));
//   double p99_ms = h.PercentileMs(99);
#ifndef WAGATE_BENCH_HISTOGRAM_H_
#define WAGATE_BENCH_HISTOGRAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace wagate::bench {

class Histogram {
 public:
  Histogram();

  void Record(absl::Duration d);
  void RecordMicros(int64_t micros);
  void Merge(const Histogram& other);

  uint64_t count() const { return count_; }
  double MaxMs() const { return max_us_ / 1000.0; }
  double MeanMs() const;
  // The value at percentile `p` (0..100), in milliseconds; 0 when empty.
  double PercentileMs(double p) const;
  // (value_ms, cumulative fraction) per non-empty bucket, for CDF plots.
  std::vector<std::pair<double, double>> Cdf() const;

 private:
  static size_t Index(uint64_t micros);
  static uint64_t UpperMicros(size_t index);

  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t max_us_ = 0;
  long double sum_us_ = 0;
};

// The percentiles every scenario reports, as a JSON object
// {"p50":..,"p90":..,"p99":..,"p999":..,"max":..} in milliseconds.
struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  static Percentiles Of(const Histogram& h);
  // Element-wise a - b, floored at 0 (the latency a layer adds).
  static Percentiles Minus(const Percentiles& a, const Percentiles& b);
  std::string Json() const;
};

}  // namespace wagate::bench

#endif  // WAGATE_BENCH_HISTOGRAM_H_
