// Webhook ingest speed, two ways:
//  - BM_ParseToRecords: the CPU part alone — simdjson parse of a body of N
//    statuses into Events and store records (serialized once), per thread.
//  - BM_IngressEndToEnd: signed POSTs over loopback HTTP to the Ingress,
//    verified, parsed, durably appended to SQLite and acknowledged; N events
//    per POST, C POSTs in flight (Meta sends webhooks concurrently).
// Counters report events/s. Run:
//   build/<dir>/service/webhook/webhook_ingress_benchmark
// The database goes to $TMPDIR (default /tmp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "service/common/hmac.h"
#include "service/events/store.h"
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

// One keep-alive loopback connection, one request at a time. The load
// generator is deliberately simpler than http::Client: measured with it,
// libcurl's timer updates in the same process dominated the profile.
class BlockingConnection {
 public:
  explicit BlockingConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~BlockingConnection() { ::close(fd_); }

  // Sends `request` (complete HTTP/1.1 bytes) and returns the response's
  // status, or -1 on a transport error.
  int RoundTrip(const std::string& request) {
    if (!ok_) return -1;
    for (size_t sent = 0; sent < request.size();) {
      ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent,
                         MSG_NOSIGNAL);
      if (n <= 0) return -1;
      sent += static_cast<size_t>(n);
    }
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return -1;
    }
    int status = -1;
    if (buffer_.size() > 12) status = std::atoi(buffer_.c_str() + 9);
    size_t length = 0;
    const std::string head =
        absl::AsciiStrToLower(buffer_.substr(0, header_end));
    const size_t cl = head.find("content-length:");
    if (cl != std::string::npos) {
      length = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
    }
    while (buffer_.size() < header_end + 4 + length) {
      if (!Fill()) return -1;
    }
    buffer_.erase(0, header_end + 4 + length);
    return status;
  }

 private:
  bool Fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool ok_ = false;
  std::string buffer_;
};

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
  std::vector<std::unique_ptr<BlockingConnection>> connections;
  for (int i = 0; i < concurrency; ++i) {
    connections.push_back(std::make_unique<BlockingConnection>(server.port()));
  }

  int64_t seq = 0;
  int64_t events_done = 0;
  std::atomic<int64_t> failures{0};
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::string> requests(posts);
    for (auto& r : requests) {
      const std::string body = StatusesBody(per_post, ++seq);
      r = absl::StrCat(
          "POST /webhook HTTP/1.1\r\nHost: bench\r\n",
          "Content-Type: application/json\r\n",
          "X-Hub-Signature-256: ", common::SignatureHeader(kSecret, body),
          "\r\n", "Content-Length: ", body.size(), "\r\n\r\n", body);
    }
    state.ResumeTiming();
    std::atomic<size_t> next{0};
    std::vector<std::thread> senders;
    for (int c = 0; c < concurrency; ++c) {
      senders.emplace_back([&, c] {
        for (size_t i = next++; i < requests.size(); i = next++) {
          if (connections[c]->RoundTrip(requests[i]) != 200) failures++;
        }
      });
    }
    for (auto& t : senders) t.join();
    events_done += static_cast<int64_t>(posts) * per_post;
  }
  state.counters["events/s"] = benchmark::Counter(
      static_cast<double>(events_done), benchmark::Counter::kIsRate);
  state.counters["failed_posts"] = static_cast<double>(failures.load());
  const IngressStats stats = (*ingress)->stats();
  state.counters["posts_ok"] = static_cast<double>(stats.posts_ok);

  connections.clear();
  server.Stop();
  server_work.reset();
  server_io.stop();
  for (auto& t : threads) t.join();
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_IngressEndToEnd)
    ->Args({1, 8})
    ->Args({1, 64})
    ->Args({10, 64})
    ->Args({100, 16})
    ->Args({1000, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace wagate::webhook

BENCHMARK_MAIN();
