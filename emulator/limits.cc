#include "emulator/limits.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace wagate::emulator {

bool ThroughputLimiter::TryAcquire(absl::Time now) {
  if (limit_ <= 0) return true;
  const int64_t t = absl::ToUnixNanos(now);
  const int64_t cutoff = t - 1'000'000'000;
  while (!stamps_.empty() && stamps_.front() <= cutoff) stamps_.pop_front();
  if (static_cast<double>(stamps_.size()) >= limit_) return false;
  stamps_.push_back(t);
  return true;
}

bool PairLimiter::TryAcquire(absl::Time now) {
  if (now > last_) {
    tokens_ += absl::FDivDuration(now - last_, interval_);
    if (tokens_ > burst_) tokens_ = burst_;
    last_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

absl::StatusOr<LatencyModel> LatencyModel::Parse(absl::string_view spec) {
  LatencyModel m;
  auto duration = [](absl::string_view s, absl::Duration* d) {
    if (s == "0") {
      *d = absl::ZeroDuration();
      return true;
    }
    return absl::ParseDuration(s, d) && *d >= absl::ZeroDuration();
  };
  if (absl::ConsumePrefix(&spec, "lognormal:")) {
    absl::Duration median = absl::ZeroDuration(), p99 = absl::ZeroDuration();
    bool has_median = false, has_p99 = false;
    for (absl::string_view part : absl::StrSplit(spec, ',')) {
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(part, absl::MaxSplits('=', 1));
      if (kv.first == "median" && duration(kv.second, &median)) {
        has_median = true;
      } else if (kv.first == "p99" && duration(kv.second, &p99)) {
        has_p99 = true;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("latency: bad lognormal part \"", part, "\""));
      }
    }
    if (!has_median || !has_p99 || median <= absl::ZeroDuration() ||
        p99 < median) {
      return absl::InvalidArgumentError(
          "latency: lognormal needs median > 0 and p99 >= median");
    }
    m.lognormal_ = true;
    m.mu_ = std::log(absl::ToDoubleSeconds(median));
    // z(0.99) = 2.3263: p99 = exp(mu + 2.3263 sigma).
    m.sigma_ = (std::log(absl::ToDoubleSeconds(p99)) - m.mu_) / 2.326348;
    return m;
  }
  if (!duration(spec, &m.constant_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("latency: \"", spec,
                     "\" is not a duration (\"0\", \"5ms\") or "
                     "lognormal:median=...,p99=..."));
  }
  return m;
}

absl::Duration LatencyModel::Sample(std::mt19937_64& rng) const {
  if (!lognormal_) return constant_;
  std::lognormal_distribution<double> dist(mu_, sigma_);
  return absl::Seconds(dist(rng));
}

}  // namespace wagate::emulator
