// The metrics registry every component reports into, rendered for Prometheus
// (text exposition format 0.0.4) at GET /metrics (route.h).
//
// Three kinds of series, each optionally in a labelled family:
//   - Counter: a monotonically increasing integer (atomic add).
//   - Gauge: a value set/added by its owner, or a callback evaluated at scrape.
//   - Histogram: fixed buckets (atomic counters), sum and count.
//
//   metrics::Registry registry;
//   metrics::CounterFamily* sent = registry.AddCounterFamily(
//       "wagate_messages_sent_total", "Messages sent.", {"result"});
//   metrics::Counter* ok = sent->Get({"ok"});  // keep it: lock-free from here
//   ok->Increment();
//   metrics::Histogram* latency = registry.AddHistogram(
//       "wagate_graph_request_duration_seconds", "...", LatencyBuckets());
//   latency->Observe(0.012);
//   std::string text = registry.Render();
//
// Invariants:
//   - Every pointer the registry returns (families and their children) lives
//     as long as the registry; children are never removed. The hot path is
//     one atomic operation when the caller keeps the child pointer; Get()
//     takes a reader lock and does one map lookup without allocating.
//   - Registering a name again with the same kind, label names (and buckets)
//     returns the existing family; a conflicting registration, an invalid
//     metric/label name or invalid buckets is a programming error and aborts
//     at start-up, where such registrations happen.
//   - A family holds at most `kMaxChildren` label combinations: more go to one
//     overflow child whose every label value is "_overflow", so a label fed by
//     request data cannot grow memory without bound. Never label by anything
//     secret, by message bodies, or by recipient numbers.
//   - Render() sorts families by name and children by label values, so output
//     is stable. Gauge callbacks run inside Render() and must not call back
//     into the registry.
#ifndef WAGATE_SERVICE_METRICS_REGISTRY_H_
#define WAGATE_SERVICE_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace wagate::metrics {

class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment() { value_.fetch_add(1, std::memory_order_relaxed); }
  void Add(uint64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);  // negative to decrease
  void Increment() { Add(1); }
  void Decrement() { Add(-1); }

  // Makes Value() (and the scrape) call `callback` instead of reading the set
  // value. The callback runs on the scraping thread and must be cheap and
  // thread-safe. Clear it before whatever it reads is destroyed:
  // ClearCallback() waits for a scrape that is running it.
  void SetCallback(std::function<double()> callback);
  void ClearCallback();

  double Value() const;

 private:
  std::atomic<double> value_{0};
  std::atomic<bool> has_callback_{false};
  mutable absl::Mutex mu_;
  std::function<double()> callback_ ABSL_GUARDED_BY(mu_);
};

class Histogram {
 public:
  // `bounds`: strictly increasing finite upper bounds, owned by the family.
  explicit Histogram(const std::vector<double>& bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `value` in the first bucket whose bound is >= value (Prometheus
  // "le"), or in +Inf. NaN is ignored.
  void Observe(double value);
  void ObserveDuration(absl::Duration d) { Observe(absl::ToDoubleSeconds(d)); }

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    uint64_t count = 0;
    double sum = 0;
  };
  // Buckets read one by one: under concurrent Observe the snapshot may be a
  // few observations behind in some buckets, but is always cumulative.
  Snapshot Read() const;

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds + 1 (+Inf)
  std::atomic<double> sum_{0};
};

// 0.5 ms … 10 s: the latency buckets the gateway's histograms use.
std::vector<double> LatencyBuckets();
// start, start*factor, … (`count` bounds).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

enum class Kind { kCounter, kGauge, kHistogram };

namespace internal {

// Orders label-value tuples, and lets Get() look one up by string_views.
struct LabelsLess {
  using is_transparent = void;
  bool operator()(const std::vector<std::string>& a,
                  const std::vector<std::string>& b) const {
    return a < b;
  }
  bool operator()(const std::vector<std::string>& a,
                  absl::Span<const absl::string_view> b) const;
  bool operator()(absl::Span<const absl::string_view> a,
                  const std::vector<std::string>& b) const;
};

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Kind kind,
             std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;

  const std::string& name() const { return name_; }
  Kind kind() const { return kind_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends HELP, TYPE and every child's samples.
  virtual void Render(std::string* out) const = 0;

 protected:
  void RenderHeader(std::string* out) const;

  const std::string name_;
  const std::string help_;
  const Kind kind_;
  const std::vector<std::string> label_names_;
};

}  // namespace internal

// Most label combinations a family keeps before using the overflow child.
inline constexpr size_t kMaxChildren = 10000;

// A metric with label names; one child per combination of label values.
template <typename T>
class Family : public internal::FamilyBase {
 public:
  Family(std::string name, std::string help, Kind kind,
         std::vector<std::string> label_names, std::vector<double> bounds);

  // The child for `label_values`, one per label name in order, created on
  // first use. A wrong number of values is a programming error: missing ones
  // are "" and extra ones are dropped. Thread-safe; keep the pointer.
  T* Get(std::initializer_list<absl::string_view> label_values) {
    return Get(absl::MakeConstSpan(label_values.begin(), label_values.size()));
  }
  T* Get(absl::Span<const absl::string_view> label_values);
  T* Get(const std::vector<std::string>& label_values);

  // Label combinations created so far (including the overflow child).
  size_t size() const;

  // Histograms only: the bucket bounds.
  const std::vector<double>& bounds() const { return bounds_; }

  void Render(std::string* out) const override;

 private:
  T* GetSlow(std::vector<std::string> label_values);

  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, internal::LabelsLess>
      children_ ABSL_GUARDED_BY(mu_);
  bool warned_overflow_ ABSL_GUARDED_BY(mu_) = false;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry (never destroyed), which GatewayMetrics and
  // the process metrics use by default.
  static Registry& Global();

  // Names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names [a-zA-Z_][a-zA-Z0-9_]*, not
  // starting with "__", and not "le" for histograms. Counter names should
  // end in "_total", durations be in seconds ("_seconds").
  CounterFamily* AddCounterFamily(absl::string_view name,
                                  absl::string_view help,
                                  std::vector<std::string> label_names);
  Counter* AddCounter(absl::string_view name, absl::string_view help);

  GaugeFamily* AddGaugeFamily(absl::string_view name, absl::string_view help,
                              std::vector<std::string> label_names);
  Gauge* AddGauge(absl::string_view name, absl::string_view help);
  // A gauge whose value is `callback()` at each scrape.
  Gauge* AddGaugeCallback(absl::string_view name, absl::string_view help,
                          std::function<double()> callback);

  HistogramFamily* AddHistogramFamily(absl::string_view name,
                                      absl::string_view help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> bounds);
  Histogram* AddHistogram(absl::string_view name, absl::string_view help,
                          std::vector<double> bounds);

  // The whole registry in Prometheus text format 0.0.4. Thread-safe.
  std::string Render() const;

 private:
  internal::FamilyBase* Add(absl::string_view name, absl::string_view help,
                            Kind kind, std::vector<std::string> label_names,
                            std::vector<double> bounds);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<internal::FamilyBase>> families_
      ABSL_GUARDED_BY(mu_);
};

// Text-format helpers, exposed for tests and other renderers.
// Label values: \ → \\, " → \", newline → \n.
std::string EscapeLabelValue(absl::string_view value);
// HELP text: \ → \\, newline → \n.
std::string EscapeHelp(absl::string_view help);
// Shortest text that reads back as `value`; "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

}  // namespace wagate::metrics

#endif  // WAGATE_SERVICE_METRICS_REGISTRY_H_
