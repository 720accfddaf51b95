#include "bench/histogram.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace wagate::bench {
namespace {
constexpr int kSubBits = 6;  // 64 linear sub-buckets per power of two
constexpr uint64_t kSub = uint64_t{1} << kSubBits;
constexpr size_t kBuckets = (64 - kSubBits + 1) * kSub;
}  // namespace

Histogram::Histogram() : buckets_(kBuckets, 0) {}

size_t Histogram::Index(uint64_t v) {
  if (v < kSub) return v;
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - kSubBits;  // >= 0
  return static_cast<size_t>(shift + 1) * kSub + ((v >> shift) - kSub);
}

uint64_t Histogram::UpperMicros(size_t index) {
  if (index < kSub) return index;
  size_t shift = index / kSub - 1;
  uint64_t base = (index % kSub) + kSub;
  return ((base + 1) << shift) - 1;
}

void Histogram::Record(absl::Duration d) {
  RecordMicros(absl::ToInt64Microseconds(d));
}

void Histogram::RecordMicros(int64_t micros) {
  uint64_t v = micros < 0 ? 0 : static_cast<uint64_t>(micros);
  ++buckets_[Index(v)];
  ++count_;
  max_us_ = std::max(max_us_, v);
  sum_us_ += v;
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_us_ = std::max(max_us_, other.max_us_);
  sum_us_ += other.sum_us_;
}

double Histogram::MeanMs() const {
  return count_ == 0 ? 0 : static_cast<double>(sum_us_ / count_) / 1000.0;
}

double Histogram::PercentileMs(double p) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * count_));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      return std::min(UpperMicros(i), max_us_) / 1000.0;
    }
  }
  return MaxMs();
}

std::vector<std::pair<double, double>> Histogram::Cdf() const {
  std::vector<std::pair<double, double>> out;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size() && seen < count_; ++i) {
    if (buckets_[i] == 0) continue;
    seen += buckets_[i];
    out.emplace_back(std::min(UpperMicros(i), max_us_) / 1000.0,
                     static_cast<double>(seen) / count_);
  }
  return out;
}

Percentiles Percentiles::Of(const Histogram& h) {
  return {h.PercentileMs(50), h.PercentileMs(90), h.PercentileMs(99),
          h.PercentileMs(99.9), h.MaxMs()};
}

Percentiles Percentiles::Minus(const Percentiles& a, const Percentiles& b) {
  auto d = [](double x, double y) { return std::max(0.0, x - y); };
  return {d(a.p50, b.p50), d(a.p90, b.p90), d(a.p99, b.p99), d(a.p999, b.p999),
          d(a.max, b.max)};
}

std::string Percentiles::Json() const {
  return absl::StrFormat(
      R"({"p50":%.3f,"p90":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f})", p50, p90,
      p99, p999, max);
}

}  // namespace wagate::bench
