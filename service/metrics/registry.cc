#include "service/metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/log.h"

namespace wagate::metrics {
namespace {

// Registrations happen once at start-up with constant names; a mistake there
// is a bug to fix, not a condition to handle.
[[noreturn]] void Die(absl::string_view what, absl::string_view name) {
  std::fprintf(stderr, "metrics: %.*s: %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(name.size()), name.data());
  std::abort();
}

bool IsNameChar(char c, bool first, bool allow_colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
    return true;
  }
  if (allow_colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool ValidName(absl::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

const char* TypeName(Kind kind) {
  switch (kind) {
    case Kind::kCounter:
      return "counter";
    case Kind::kGauge:
      return "gauge";
    case Kind::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Appends `name{a="x",b="y"[,extra]}` (no braces without labels).
void AppendSeries(std::string* out, absl::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  absl::string_view extra_label = {},
                  absl::string_view extra_value = {}) {
  out->append(name.data(), name.size());
  if (label_names.empty() && extra_label.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < label_names.size(); ++i) {
    if (i > 0) out->push_back(',');
    absl::StrAppend(out, label_names[i], "=\"",
                    EscapeLabelValue(label_values[i]), "\"");
  }
  if (!extra_label.empty()) {
    if (!label_names.empty()) out->push_back(',');
    absl::StrAppend(out, extra_label, "=\"", extra_value, "\"");
  }
  out->push_back('}');
}

void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta,
                                       std::memory_order_relaxed)) {
  }
}

int CompareLabels(absl::Span<const std::string> a,
                  absl::Span<const absl::string_view> b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    int c = absl::string_view(a[i]).compare(b[i]);
    if (c != 0) return c;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

constexpr absl::string_view kOverflowValue = "_overflow";

}  // namespace

// --- Text format -----------------------------------------------------------

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Plain decimals where they stay short ("0.0005", "1795000000.25"), the
  // shortest exponent form otherwise; both read back exactly.
  char buf[64];
  double magnitude = std::fabs(value);
  std::to_chars_result r =
      (magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15))
          ? std::to_chars(buf, buf + sizeof(buf), value,
                          std::chars_format::fixed)
          : std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, r.ptr);
}

// --- Series ----------------------------------------------------------------

void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

void Gauge::SetCallback(std::function<double()> callback) {
  absl::MutexLock lock(&mu_);
  callback_ = std::move(callback);
  has_callback_.store(static_cast<bool>(callback_), std::memory_order_release);
}

void Gauge::ClearCallback() { SetCallback(nullptr); }

double Gauge::Value() const {
  if (has_callback_.load(std::memory_order_acquire)) {
    absl::MutexLock lock(&mu_);
    if (callback_) return callback_();
  }
  return value_.load(std::memory_order_relaxed);
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // Few buckets: a linear scan beats binary search on branch prediction and
  // most observations land in the first few.
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

// --- Families --------------------------------------------------------------

namespace internal {

bool LabelsLess::operator()(const std::vector<std::string>& a,
                            absl::Span<const absl::string_view> b) const {
  return CompareLabels(a, b) < 0;
}

bool LabelsLess::operator()(absl::Span<const absl::string_view> a,
                            const std::vector<std::string>& b) const {
  return CompareLabels(b, a) > 0;
}

FamilyBase::FamilyBase(std::string name, std::string help, Kind kind,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      kind_(kind),
      label_names_(std::move(label_names)) {}

void FamilyBase::RenderHeader(std::string* out) const {
  absl::StrAppend(out, "# HELP ", name_, " ", EscapeHelp(help_), "\n");
  absl::StrAppend(out, "# TYPE ", name_, " ", TypeName(kind_), "\n");
}

}  // namespace internal

template <typename T>
Family<T>::Family(std::string name, std::string help, Kind kind,
                  std::vector<std::string> label_names,
                  std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), kind,
                 std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <typename T>
T* Family<T>::Get(absl::Span<const absl::string_view> label_values) {
  if (label_values.size() == label_names_.size()) {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(label_values);
    if (it != children_.end()) return it->second.get();
  }
  std::vector<std::string> values(label_values.begin(), label_values.end());
  return GetSlow(std::move(values));
}

template <typename T>
T* Family<T>::Get(const std::vector<std::string>& label_values) {
  if (label_values.size() == label_names_.size()) {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(label_values);
    if (it != children_.end()) return it->second.get();
  }
  return GetSlow(label_values);
}

template <typename T>
T* Family<T>::GetSlow(std::vector<std::string> label_values) {
  label_values.resize(label_names_.size());
  absl::MutexLock lock(&mu_);
  auto it = children_.find(label_values);
  if (it != children_.end()) return it->second.get();
  if (children_.size() >= kMaxChildren) {
    if (!warned_overflow_) {
      warned_overflow_ = true;
      log::Warning("metrics", "too many label combinations; using overflow",
                   {{"metric", name_}});
    }
    label_values.assign(label_names_.size(), std::string(kOverflowValue));
    it = children_.find(label_values);
    if (it != children_.end()) return it->second.get();
  }
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  T* raw = child.get();
  children_.emplace(std::move(label_values), std::move(child));
  return raw;
}

template <typename T>
size_t Family<T>::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return children_.size();
}

template <typename T>
void Family<T>::Render(std::string* out) const {
  RenderHeader(out);
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<T, Counter>) {
      AppendSeries(out, name_, label_names_, values);
      absl::StrAppend(out, " ", child->Value(), "\n");
    } else if constexpr (std::is_same_v<T, Gauge>) {
      AppendSeries(out, name_, label_names_, values);
      absl::StrAppend(out, " ", FormatValue(child->Value()), "\n");
    } else {
      Histogram::Snapshot s = child->Read();
      std::string bucket_name = absl::StrCat(name_, "_bucket");
      for (size_t i = 0; i <= bounds_.size(); ++i) {
        std::string le =
            i < bounds_.size() ? FormatValue(bounds_[i]) : std::string("+Inf");
        AppendSeries(out, bucket_name, label_names_, values, "le", le);
        absl::StrAppend(out, " ", s.cumulative[i], "\n");
      }
      AppendSeries(out, absl::StrCat(name_, "_sum"), label_names_, values);
      absl::StrAppend(out, " ", FormatValue(s.sum), "\n");
      AppendSeries(out, absl::StrCat(name_, "_count"), label_names_, values);
      absl::StrAppend(out, " ", s.count, "\n");
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- Registry --------------------------------------------------------------

Registry& Registry::Global() {
  static Registry* const registry = new Registry();
  return *registry;
}

internal::FamilyBase* Registry::Add(absl::string_view name,
                                    absl::string_view help, Kind kind,
                                    std::vector<std::string> label_names,
                                    std::vector<double> bounds) {
  if (!ValidName(name, /*allow_colon=*/true)) Die("invalid metric name", name);
  for (const std::string& label : label_names) {
    if (!ValidName(label, /*allow_colon=*/false) ||
        absl::string_view(label).substr(0, 2) == "__" ||
        (kind == Kind::kHistogram && label == "le")) {
      Die(absl::StrCat("invalid label name '", label, "' for"), name);
    }
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      Die("bucket bounds must be finite and strictly increasing", name);
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = families_.find(std::string(name));
  if (it != families_.end()) {
    internal::FamilyBase* existing = it->second.get();
    bool same = existing->kind() == kind &&
                existing->label_names() == label_names &&
                (kind != Kind::kHistogram ||
                 static_cast<HistogramFamily*>(existing)->bounds() == bounds);
    if (!same) Die("registered twice with different definitions", name);
    return existing;
  }
  std::unique_ptr<internal::FamilyBase> family;
  switch (kind) {
    case Kind::kCounter:
      family = std::make_unique<CounterFamily>(
          std::string(name), std::string(help), kind, std::move(label_names),
          std::vector<double>{});
      break;
    case Kind::kGauge:
      family = std::make_unique<GaugeFamily>(
          std::string(name), std::string(help), kind, std::move(label_names),
          std::vector<double>{});
      break;
    case Kind::kHistogram:
      family = std::make_unique<HistogramFamily>(
          std::string(name), std::string(help), kind, std::move(label_names),
          std::move(bounds));
      break;
  }
  internal::FamilyBase* raw = family.get();
  families_.emplace(std::string(name), std::move(family));
  return raw;
}

CounterFamily* Registry::AddCounterFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names) {
  return static_cast<CounterFamily*>(
      Add(name, help, Kind::kCounter, std::move(label_names), {}));
}

Counter* Registry::AddCounter(absl::string_view name, absl::string_view help) {
  return AddCounterFamily(name, help, {})->Get({});
}

GaugeFamily* Registry::AddGaugeFamily(absl::string_view name,
                                      absl::string_view help,
                                      std::vector<std::string> label_names) {
  return static_cast<GaugeFamily*>(
      Add(name, help, Kind::kGauge, std::move(label_names), {}));
}

Gauge* Registry::AddGauge(absl::string_view name, absl::string_view help) {
  return AddGaugeFamily(name, help, {})->Get({});
}

Gauge* Registry::AddGaugeCallback(absl::string_view name,
                                  absl::string_view help,
                                  std::function<double()> callback) {
  Gauge* gauge = AddGauge(name, help);
  gauge->SetCallback(std::move(callback));
  return gauge;
}

HistogramFamily* Registry::AddHistogramFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names, std::vector<double> bounds) {
  return static_cast<HistogramFamily*>(Add(
      name, help, Kind::kHistogram, std::move(label_names), std::move(bounds)));
}

Histogram* Registry::AddHistogram(absl::string_view name,
                                  absl::string_view help,
                                  std::vector<double> bounds) {
  return AddHistogramFamily(name, help, {}, std::move(bounds))->Get({});
}

std::string Registry::Render() const {
  std::string out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, family] : families_) family->Render(&out);
  return out;
}

}  // namespace wagate::metrics
