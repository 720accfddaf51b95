// Measures the emulator's two hot paths on loopback, with zero latency:
//   sends:    POST /{pnid}/messages answered per second (limits off, no
//             webhooks), driven by http::Client with many requests in flight;
//   webhooks: signed status POSTs acknowledged per second by a local
//             receiver (http::Server answering 200).
// A benchmark, not a test: run by hand, e.g.
//   emulator_bench --seconds=5 --in_flight=256
// The load generator shares the machine, so the figures are lower bounds.
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "emulator/emulator.h"
#include "emulator/webhook_sender.h"
#include "service/common/log.h"
#include "service/http/client.h"
#include "service/http/server.h"

ABSL_FLAG(double, seconds, 5, "length of each measurement");
ABSL_FLAG(int, in_flight, 256, "requests in flight from the load generator");
ABSL_FLAG(int, server_threads, 1, "threads running the emulator");
ABSL_FLAG(int, client_threads, 1, "threads running the load generator");
ABSL_FLAG(int, webhook_concurrency, 128, "emulator webhook POSTs in flight");
ABSL_FLAG(int, webhook_batch, 1, "changes per webhook POST");
ABSL_FLAG(bool, sends, true, "run the sends measurement");

namespace wagate::emulator {
namespace {

class Runner {
 public:
  explicit Runner(int threads) : guard_(io.get_executor()) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { io.run(); });
  }
  ~Runner() {
    guard_.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      guard_;
  std::vector<std::thread> threads_;
};

void BenchSends() {
  Runner server(absl::GetFlag(FLAGS_server_threads));
  Runner client_io(absl::GetFlag(FLAGS_client_threads));
  EmulatorOptions o;
  o.address = "127.0.0.1:0";
  o.throughput_mps = 0;
  o.pair_rate_limit = false;
  o.access_tokens = {"t"};
  Emulator emulator(server.io, o);
  if (!emulator.Start().ok()) return;
  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  http::Client client(
      client_io.io, {.max_connections_per_host = static_cast<size_t>(in_flight),
                     .max_total_connections = static_cast<size_t>(in_flight)});
  const std::string url =
      absl::StrCat(emulator.base_url(), "/v23.0/106540352242922/messages");
  const absl::Time end =
      absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::atomic<uint64_t> ok{0}, failed{0};
  std::atomic<int> outstanding{0};
  absl::Notification done;
  std::function<void(int)> send = [&](int i) {
    if (absl::Now() >= end) {
      if (outstanding.fetch_sub(1) == 1) done.Notify();
      return;
    }
    http::ClientRequest req;
    req.method = "POST";
    req.url = url;
    req.headers = {{"Authorization", "Bearer t"},
                   {"Content-Type", "application/json"}};
    req.body = absl::StrCat(
        R"({"messaging_product":"whatsapp","to":"1650555)", 1000 + i % 9000,
        R"(","type":"text","text":{"body":"benchmark message"}})");
    client.Send(std::move(req), [&, i](absl::StatusOr<http::ClientResponse> r) {
      (r.ok() && r->status == 200 ? ok : failed)++;
      send(i + in_flight);
    });
  };
  const absl::Time start = absl::Now();
  outstanding = in_flight;
  for (int i = 0; i < in_flight; ++i) send(i);
  done.WaitForNotificationWithTimeout(absl::Seconds(60));
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf(
      "sends:    %.0f/s accepted (%llu ok, %llu failed, %.1f s, %d in "
      "flight)\n",
      ok / secs, static_cast<unsigned long long>(ok.load()),
      static_cast<unsigned long long>(failed.load()), secs, in_flight);
  emulator.Stop();
}

void BenchWebhooks() {
  Runner receiver_io(1);
  Runner sender_io(absl::GetFlag(FLAGS_server_threads));
  http::Server receiver(receiver_io.io, http::ServerOptions{});
  receiver.Handle("POST", "/webhook", [](http::Request, http::Responder r) {
    r(http::TextResponse(200, "ok"));
  });
  if (!receiver.Listen("127.0.0.1:0").ok()) return;
  EmulatorOptions o;
  o.webhook_url =
      absl::StrCat("http://127.0.0.1:", receiver.port(), "/webhook");
  o.app_secret = "secret";
  o.webhook_concurrency = absl::GetFlag(FLAGS_webhook_concurrency);
  o.webhook_batch = absl::GetFlag(FLAGS_webhook_batch);
  WebhookSender sender(sender_io.io, o);
  NumberMetadata meta{"15550783881", "106540352242922"};
  StatusEvent status;
  status.wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";
  status.status = "delivered";
  status.recipient_id = "16505551234";
  status.with_pricing = true;
  status.pricing_category = "service";
  status.time = absl::Now();
  const absl::Duration length = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  // Keep the queue topped up so the sender never waits for work.
  const absl::Time start = absl::Now();
  while (absl::Now() - start < length) {
    while (sender.stats().pending < 20000) {
      for (int i = 0; i < 1000; ++i) sender.Enqueue(StatusChange(meta, status));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  WebhookStats s = sender.stats();
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  const uint64_t changes = s.changes - s.pending;
  std::printf(
      "webhooks: %.0f POSTs/s acknowledged, %.0f status changes/s (%llu "
      "posted, %.1f s, %d in flight, batch %d)\n",
      s.acknowledged / secs, changes / secs,
      static_cast<unsigned long long>(s.posted), secs, o.webhook_concurrency,
      o.webhook_batch);
  sender.Stop();
  receiver.Stop();
}

}  // namespace
}  // namespace wagate::emulator

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  wagate::log::SetMinLevel(wagate::log::Level::kWarning);
  if (absl::GetFlag(FLAGS_sends)) wagate::emulator::BenchSends();
  wagate::emulator::BenchWebhooks();
  return 0;
}
