// Webhook ingest speed, two ways:
//  - BM_ParseToRecords: the CPU part alone — simdjson parse of a body of N
//    statuses into Events and store records (serialized once), per thread.
//  - BM_IngressEndToEnd: signed POSTs over loopback HTTP to the Ingress,
//    verified, parsed, durably appended to SQLite and acknowledged; N events
//    per POST, C POSTs in flight (Meta sends webhooks concurrently).
// Counters report events/s. Run:
//   build/<dir>/service/webhook/webhook_ingress_benchmark
// The database goes to $TMPDIR (default /tmp).
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "benchmark/benchmark.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "service/common/hmac.h"
#include "service/events/store.h"
#include "service/http/client.h"
#include "service/http/server.h"
#include "service/webhook/ingress.h"
#include "service/webhook/parser.h"

namespace wagate::webhook {
namespace {

constexpr char kSecret[] = "bench-app-secret";

// A POST body of `n` statuses with ids unique per `seq` (so the store does
// not deduplicate them away).
std::string StatusesBody(int n, int64_t seq) {
  std::string body =
      R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) body += ",";
    absl::StrAppend(
        &body, R"({"id":"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI)", seq, "_", i,
        R"(","status":"delivered","timestamp":"1750030074","recipient_id":"16505551234","pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}})");
  }
  body += R"(]},"field":"messages"}]}]})";
  return body;
}

void BM_ParseToRecords(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string body = StatusesBody(n, 1);
  int64_t events = 0;
  for (auto _ : state) {
    auto parsed = ParseWebhook(body, absl::Now());
    if (!parsed.ok()) {
      state.SkipWithError("parse failed");
      return;
    }
    std::vector<events::EventRecord> records;
    records.reserve(parsed->size());
    for (wagate::v1::Event& e : *parsed) {
      events::EventRecord& r = records.emplace_back();
      r.id = e.id();
      r.kind = std::string(EventKind(e));
      e.SerializeToString(&r.payload);
    }
    benchmark::DoNotOptimize(records.data());
    events += static_cast<int64_t>(records.size());
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events),
                                                  benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ParseToRecords)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime();

void BM_IngressEndToEnd(benchmark::State& state) {
  const int per_post = static_cast<int>(state.range(0));
  const int concurrency = static_cast<int>(state.range(1));
  constexpr int kEventsPerIteration = 20000;
  const int posts = std::max(1, kEventsPerIteration / per_post);

  const char* tmp = std::getenv("TMPDIR");
  const std::filesystem::path dir =
      std::filesystem::path(tmp ? tmp : "/tmp") /
      absl::StrCat("wagate_webhook_bench_", getpid());
  std::filesystem::remove_all(dir);
  events::StoreOptions store_options;
  store_options.max_queued_events = 1 << 20;
  auto store = events::OpenStore("sqlite:" + (dir / "events.db").string(),
                                 store_options);
  if (!store.ok()) {
    state.SkipWithError(std::string(store.status().message()).c_str());
    return;
  }
  IngressOptions options;
  options.app_secrets = {kSecret};
  options.verify_token = "token";
  auto ingress = Ingress::Create(options, store->get());
  if (!ingress.ok()) {
    state.SkipWithError("ingress");
    return;
  }

  boost::asio::io_context server_io;
  auto server_work = boost::asio::make_work_guard(server_io);
  http::Server server(server_io, http::ServerOptions{});
  (*ingress)->RegisterRoutes(server);
  if (!server.Listen("127.0.0.1:0").ok()) {
    state.SkipWithError("listen");
    return;
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { server_io.run(); });
  boost::asio::io_context client_io;
  auto client_work = boost::asio::make_work_guard(client_io);
  http::ClientOptions client_options;
  client_options.max_connections_per_host = static_cast<size_t>(concurrency);
  http::Client client(client_io, client_options);
  std::thread client_thread([&] { client_io.run(); });
  const std::string url =
      absl::StrCat("http://127.0.0.1:", server.port(), "/webhook");

  int64_t seq = 0;
  int64_t events_done = 0;
  std::atomic<int64_t> failures{0};
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<http::ClientRequest> requests(posts);
    for (auto& r : requests) {
      r.method = "POST";
      r.url = url;
      r.body = StatusesBody(per_post, ++seq);
      r.headers = {
          {"Content-Type", "application/json"},
          {"X-Hub-Signature-256", common::SignatureHeader(kSecret, r.body)}};
    }
    state.ResumeTiming();

    absl::Mutex mu;
    size_t next = 0;
    int remaining = posts;
    absl::Notification all_done;
    std::function<void()> send_next = [&] {
      http::ClientRequest request;
      {
        absl::MutexLock lock(&mu);
        if (next >= requests.size()) return;
        request = std::move(requests[next++]);
      }
      client.Send(std::move(request),
                  [&](absl::StatusOr<http::ClientResponse> r) {
                    if (!r.ok() || r->status != 200) failures++;
                    bool last = false;
                    {
                      absl::MutexLock lock(&mu);
                      last = --remaining == 0;
                    }
                    if (last) {
                      all_done.Notify();
                    } else {
                      send_next();
                    }
                  });
    };
    for (int i = 0; i < concurrency; ++i) send_next();
    all_done.WaitForNotification();
    events_done += static_cast<int64_t>(posts) * per_post;
  }
  state.counters["events/s"] = benchmark::Counter(
      static_cast<double>(events_done), benchmark::Counter::kIsRate);
  state.counters["failed_posts"] = static_cast<double>(failures.load());
  const IngressStats stats = (*ingress)->stats();
  state.counters["posts_ok"] = static_cast<double>(stats.posts_ok);

  server.Stop();
  client_work.reset();
  client_io.stop();
  client_thread.join();
  server_work.reset();
  server_io.stop();
  for (auto& t : threads) t.join();
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_IngressEndToEnd)
    ->Args({1, 64})
    ->Args({10, 64})
    ->Args({100, 16})
    ->Args({1000, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace wagate::webhook

BENCHMARK_MAIN();
