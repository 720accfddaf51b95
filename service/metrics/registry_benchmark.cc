// The cost of reporting a metric on the hot path: a kept child (one atomic
// add), a labelled lookup per call, a histogram observation, and a scrape.
//
//   build/<dir>/service/metrics/metrics_registry_benchmark
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "service/metrics/gateway_metrics.h"
#include "service/metrics/registry.h"

namespace wagate::metrics {
namespace {

Registry& BenchRegistry() {
  static Registry* const registry = new Registry();
  return *registry;
}

GatewayMetrics& Metrics() {
  static GatewayMetrics* const metrics = new GatewayMetrics(BenchRegistry());
  return *metrics;
}

void BM_LabelledCounterKeptChild(benchmark::State& state) {
  Counter* c = Metrics().messages_sent->Get({"106540352242922", "ok", "0"});
  for (auto _ : state) c->Increment();
}
BENCHMARK(BM_LabelledCounterKeptChild)->Threads(1)->Threads(2);

void BM_LabelledCounterGetEachTime(benchmark::State& state) {
  CounterFamily* f = Metrics().messages_sent;
  // A realistic family: a few numbers × results × codes already present.
  for (int phone = 0; phone < 10; ++phone) {
    for (const char* result : {"ok", "graph_error", "invalid"}) {
      f->Get({absl::StrCat(1065403522429, phone), result, "0"});
    }
  }
  std::string phone = "10654035224295";
  for (auto _ : state) f->Get({phone, "ok", "0"})->Increment();
}
BENCHMARK(BM_LabelledCounterGetEachTime)->Threads(1)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  Histogram* h = Metrics().graph_request_duration->Get({"send_message"});
  double v = 0.0001;
  for (auto _ : state) {
    h->Observe(v);
    v = v < 5 ? v * 1.7 : 0.0001;
  }
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);

void BM_Render(benchmark::State& state) {
  Registry registry;
  GatewayMetrics m(registry);
  for (int i = 0; i < state.range(0); ++i) {
    m.messages_sent->Get({absl::StrCat(i), "ok", "0"})->Increment();
    m.graph_request_duration->Get({absl::StrCat("op", i % 10)})->Observe(0.1);
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = registry.Render();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Render)->Arg(10)->Arg(1000);

}  // namespace
}  // namespace wagate::metrics

BENCHMARK_MAIN();
