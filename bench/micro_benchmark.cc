// Micro-benchmarks no component owns (Google Benchmark): webhook parse per
// envelope kind, X-Hub-Signature-256 verification per body size, and
// Subscribe fan-out per subscriber count (a real gateway in-process). The
// components' own benchmarks (events_store_benchmark, webhook_ingress_
// benchmark, graph_send_path_benchmark, metrics_registry_benchmark) are run
// beside this one by bench/run.sh.
//
//   build/bench/bench/wagate_micro_benchmark --benchmark_filter=Parse
#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/harness.h"
#include "benchmark/benchmark.h"
#include "emulator/webhook_payloads.h"
#include "service/common/hmac.h"
#include "service/common/log.h"
#include "service/webhook/parser.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::bench {
namespace {

const emulator::NumberMetadata kMeta{"15550001000", "106540352241000"};

emulator::Change Status(int64_t seq, int j) {
  emulator::StatusEvent e;
  e.wamid = absl::StrCat("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI", seq, "X", j);
  e.status = "delivered";
  e.time = absl::Now();
  e.recipient_id = "16505551234";
  e.biz_opaque_callback_data = "order-4821";
  e.with_pricing = true;
  e.pricing_category = "utility";
  return emulator::StatusChange(kMeta, e);
}

emulator::Change Inbound(int64_t seq, absl::string_view fields) {
  return emulator::InboundMessageChange(
      kMeta, "16505551234", "Ana Souza",
      absl::StrCat("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBI", seq), absl::Now(),
      fields);
}

// The envelope of one kind: 0 status, 1 100 statuses, 2 inbound text,
// 3 inbound image, 4 inbound interactive reply, 5 template status update.
std::string Envelope(int kind, int64_t seq) {
  std::vector<emulator::Change> c;
  switch (kind) {
    case 0:
      c.push_back(Status(seq, 0));
      break;
    case 1:
      for (int j = 0; j < 100; ++j) c.push_back(Status(seq, j));
      break;
    case 2:
      c.push_back(Inbound(
          seq,
          R"("type":"text","text":{"body":"Hi! Is my order on its way?"})"));
      break;
    case 3:
      c.push_back(Inbound(
          seq,
          R"("type":"image","image":{"caption":"the box","mime_type":"image/jpeg","sha256":"dGhpcyBpcyBub3QgYSByZWFsIHNoYTI1NiBkaWdlc3Q=","id":"1453297608736915"})"));
      break;
    case 4:
      c.push_back(Inbound(
          seq,
          R"("type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"track","title":"Track order"}})"));
      break;
    default:
      c.push_back(emulator::TemplateStatusChange("APPROVED", "1203848212332",
                                                 "order_shipped", "en_US",
                                                 "UTILITY", ""));
      break;
  }
  return emulator::Envelope(kWabaId, absl::Now(), c);
}

const char* kKindNames[] = {"status",         "status_x100",
                            "inbound_text",   "inbound_image",
                            "inbound_button", "template_status"};

void BM_ParseEnvelope(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const std::string body = Envelope(kind, 1);
  int64_t events = 0;
  for (auto _ : state) {
    auto parsed = webhook::ParseWebhook(body, absl::Now());
    if (!parsed.ok() || parsed->empty()) {
      state.SkipWithError("parse failed");
      return;
    }
    events += static_cast<int64_t>(parsed->size());
    benchmark::DoNotOptimize(parsed->data());
  }
  state.SetLabel(kKindNames[kind]);
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events),
                                                  benchmark::Counter::kIsRate);
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ParseEnvelope)->DenseRange(0, 5);

void BM_VerifySignature(benchmark::State& state) {
  const std::string body(static_cast<size_t>(state.range(0)), 'x');
  const std::string header = common::SignatureHeader(kAppSecret, body);
  for (auto _ : state) {
    bool ok = common::VerifySignatureHeader(kAppSecret, body, header);
    if (!ok) {
      state.SkipWithError("signature rejected");
      return;
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_VerifySignature)
    ->Arg(1 << 10)
    ->Arg(10 << 10)
    ->Arg(100 << 10)
    ->Arg(3 << 20);

// Counts the events one Subscribe stream receives.
class Counter : public grpc::ClientReadReactor<v1::Event> {
 public:
  Counter(v1::Events::Stub* stub, std::atomic<int64_t>* total) : total_(total) {
    v1::SubscribeRequest request;
    request.add_kinds(v1::EVENT_KIND_STATUS);
    stub->async()->Subscribe(&context_, &request, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    total_->fetch_add(1);
    StartRead(&event_);
  }
  void OnDone(const grpc::Status&) override { done_.set_value(); }
  void Stop() {
    context_.TryCancel();
    done_.get_future().wait();
  }

 private:
  grpc::ClientContext context_;
  v1::Event event_;
  std::atomic<int64_t>* total_;
  std::promise<void> done_;
};

// One iteration: a signed POST of 100 statuses, then every subscriber
// receiving all 100. Reports deliveries (events × subscribers) per second.
void BM_SubscribeFanout(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  EnvOptions options;
  options.numbers = 1;
  auto env = Env::Start(options);
  if (!env.ok()) {
    state.SkipWithError("gateway did not start");
    return;
  }
  auto channel = grpc::CreateChannel((*env)->grpc_target(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Events::NewStub(channel);
  std::atomic<int64_t> received{0};
  std::vector<std::unique_ptr<Counter>> counters;
  for (int s = 0; s < subscribers; ++s) {
    counters.push_back(std::make_unique<Counter>(stub.get(), &received));
  }
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  http::Client client(io);
  auto post = [&](int64_t seq) {
    http::ClientRequest req;
    req.method = "POST";
    req.url = (*env)->webhook_url();
    req.body = Envelope(1, seq);
    req.headers = {
        {"Content-Type", "application/json"},
        {"X-Hub-Signature-256", common::SignatureHeader(kAppSecret, req.body)}};
    std::promise<int> status;
    client.Send(std::move(req), [&](absl::StatusOr<http::ClientResponse> r) {
      status.set_value(r.ok() ? r->status : 0);
    });
    return status.get_future().get();
  };
  // Live streams only see events appended after they are registered: post
  // until the first batch reaches everyone.
  int64_t seq = 0;
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (received.load() < 100LL * subscribers && absl::Now() < give_up) {
    received.store(0);
    post(++seq);
    absl::SleepFor(absl::Milliseconds(200));
  }
  int64_t expected = received.load();
  int64_t deliveries = 0;
  for (auto _ : state) {
    if (post(++seq) != 200) {
      state.SkipWithError("webhook not acknowledged");
      break;
    }
    expected += 100LL * subscribers;
    while (received.load() < expected) std::this_thread::yield();
    deliveries += 100LL * subscribers;
  }
  state.counters["deliveries/s"] = benchmark::Counter(
      static_cast<double>(deliveries), benchmark::Counter::kIsRate);
  for (auto& c : counters) c->Stop();
  work.reset();
  io.stop();
  io_thread.join();
  (*env)->Stop();
}
BENCHMARK(BM_SubscribeFanout)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2);

}  // namespace
}  // namespace wagate::bench

int main(int argc, char** argv) {
  // The in-process gateway's info logs would drown the table.
  wagate::log::SetMinLevel(wagate::log::Level::kWarning);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
