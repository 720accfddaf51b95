// Measures the emulator's two hot paths on loopback, with zero latency, each
// beside a reference measured in the same run (the machine may be shared, so
// the ratio says more than the absolute figure):
//   sends:    POST /{pnid}/messages answered per second (limits off, no
//             webhooks); reference: a bare http::Server answering a fixed
//             200 on the same threads. The load generator is a pool of
//             keep-alive connections (WebhookTransport), one request each.
//   webhooks: signed status POSTs acknowledged per second by a local
//             receiver; reference: the same transport POSTing one fixed,
//             pre-signed body to the same receiver (no payloads, no signing,
//             no sender bookkeeping).
// The receiver is http::Server (`--receiver=server`, what wagate runs) or a
// minimal Asio one that answers every request with a canned 200
// (`--receiver=lean`), which leaves the CPU to the sender.
//
// A benchmark, not a test: run by hand, e.g.
//   emulator_bench --seconds=5
//   emulator_bench --sends=false --receiver=lean
//   emulator_bench --sends=false --webhooks=false --e2e --receiver=lean
// or serve for an external load generator (h2load) until SIGINT/SIGTERM:
//   emulator_bench --serve=emulator --port=8090 --server_threads=2
//   emulator_bench --serve=reference --port=8091 --server_threads=2
// The load generator shares the machine, so the figures are lower bounds.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/signal_set.hpp"
#include "boost/asio/write.hpp"
#include "emulator/emulator.h"
#include "emulator/webhook_sender.h"
#include "emulator/webhook_transport.h"
#include "service/common/hmac.h"
#include "service/common/log.h"
#include "service/http/server.h"

ABSL_FLAG(double, seconds, 5, "length of each measurement");
ABSL_FLAG(int, in_flight, 128,
          "connections of the sends load generator, one request each");
ABSL_FLAG(int, server_threads, 1, "threads running the emulator");
ABSL_FLAG(int, client_threads, 1,
          "threads running the load generator (sends) or receiver (webhooks)");
ABSL_FLAG(int, webhook_concurrency, 128, "emulator webhook POSTs in flight");
ABSL_FLAG(int, webhook_batch, 1, "changes per webhook POST");
ABSL_FLAG(bool, sends, true, "run the sends measurement");
ABSL_FLAG(bool, webhooks, true, "run the webhooks measurement");
ABSL_FLAG(bool, reference, true, "also measure the references");
ABSL_FLAG(bool, e2e, false,
          "also measure sends with webhooks on: each accepted send POSTs "
          "sent, delivered and read (no delays) to the receiver");
ABSL_FLAG(std::string, receiver, "server",
          "webhook receiver: server (http::Server) or lean (canned 200)");
ABSL_FLAG(std::string, serve, "",
          "emulator or reference: only serve on --port until SIGTERM");
ABSL_FLAG(int, port, 8090, "port for --serve");

namespace wagate::emulator {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The fixed answer of the sends reference, as long as the emulator's.
constexpr char kSendAnswer[] =
    R"({"messaging_product":"whatsapp","contacts":[{"input":"16505551234",)"
    R"("wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY1MDU1NTEy)"
    R"(MzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]})";

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return absl::StrCat("load ", one, " ", five);
}

// One measurement's conditions: the load average before and after, and the
// CPU this process (emulator, load generator and receiver together) got.
// On a shared machine the process may get well under its 2 cores; "per 2
// cores" scales the rate to 2 fully available cores (an estimate: it
// assumes the rate grows with the CPU the process gets).
class Window {
 public:
  Window() : load_(LoadAverage()), wall_(absl::Now()), cpu_(CpuSeconds()) {}
  std::string End(double rate) const {
    const double wall = absl::ToDoubleSeconds(absl::Now() - wall_);
    const double cores = wall > 0 ? (CpuSeconds() - cpu_) / wall : 0;
    return absl::StrFormat("%s -> %s, %.2f cores used, %.0f/s per 2 cores",
                           load_, LoadAverage(), cores,
                           cores > 0 ? rate * 2 / cores : 0);
  }

 private:
  static double CpuSeconds() {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  std::string load_;
  absl::Time wall_;
  double cpu_;
};

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
  asio::io_context io;

 private:
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

// Answers every request on every connection with a canned 200, parsing only
// the header end and Content-Length: the cheapest receiver Asio allows.
class LeanReceiver {
 public:
  explicit LeanReceiver(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
  }
  ~LeanReceiver() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }
  int port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct Conn : std::enable_shared_from_this<Conn> {
    explicit Conn(tcp::socket s) : socket(std::move(s)) {}
    void Read() {
      socket.async_read_some(
          asio::buffer(buf + used, sizeof(buf) - used),
          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
            if (ec) return;
            self->used += n;
            self->Parse();
          });
    }
    void Parse() {
      size_t answers = 0;
      while (true) {
        if (skip > 0) {  // body bytes still to drop
          size_t take = std::min(skip, used);
          std::memmove(buf, buf + take, used - take);
          used -= take;
          skip -= take;
          if (skip > 0) break;
          ++answers;
          continue;
        }
        absl::string_view data(buf, used);
        size_t end = data.find("\r\n\r\n");
        if (end == absl::string_view::npos) {
          if (used == sizeof(buf)) return;  // header too long: drop
          break;
        }
        size_t length = 0;
        size_t at = data.substr(0, end).find("Content-Length: ");
        if (at != absl::string_view::npos) {
          size_t eol = data.find("\r\n", at);
          absl::SimpleAtoi(data.substr(at + 16, eol - at - 16), &length);
        }
        size_t header = end + 4;
        std::memmove(buf, buf + header, used - header);
        used -= header;
        skip = length;
        if (skip == 0) ++answers;
      }
      if (answers == 0) return Read();
      out.clear();
      for (size_t i = 0; i < answers; ++i) {
        out.append("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
      asio::async_write(
          socket, asio::buffer(out),
          [self = shared_from_this()](boost::system::error_code ec, size_t) {
            if (!ec) self->Read();
          });
    }
    tcp::socket socket;
    char buf[16384];
    size_t used = 0;
    size_t skip = 0;
    std::string out;
  };

  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      s.set_option(tcp::no_delay(true), ec);
      std::make_shared<Conn>(std::move(s))->Read();
      Accept();
    });
  }

  tcp::acceptor acceptor_;
};

// One of the two receivers, on `io`.
class Receiver {
 public:
  Receiver(asio::io_context& io, bool lean) {
    if (lean) {
      lean_ = std::make_unique<LeanReceiver>(io);
      port_ = lean_->port();
      return;
    }
    server_ = std::make_unique<http::Server>(io, http::ServerOptions{});
    server_->Handle("POST", "/webhook", [](http::Request, http::Responder r) {
      r(http::TextResponse(200, "ok"));
    });
    if (server_->Listen("127.0.0.1:0").ok()) port_ = server_->port();
  }
  ~Receiver() {
    if (server_) server_->Stop();
  }
  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/webhook");
  }

 private:
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<LeanReceiver> lean_;
  int port_ = 0;
};

// Keeps `connections` requests in flight against `url` for `length`; returns
// answers per second (200s only; others are counted in *failed).
double Drive(asio::io_context& io, const std::string& url, int connections,
             absl::Duration length, std::function<std::string(uint64_t)> body,
             const http::HeaderList& headers, uint64_t* failed) {
  absl::StatusOr<HttpTarget> target = ParseHttpUrl(url);
  if (!target.ok()) return 0;
  WebhookTransport transport(io, *target, {.connections = connections});
  const absl::Time start = absl::Now();
  const absl::Time end = start + length;
  std::atomic<uint64_t> ok{0}, bad{0}, next{0};
  std::atomic<int> outstanding{connections};
  absl::Notification done;
  std::function<void()> send = [&] {
    if (absl::Now() >= end) {
      if (outstanding.fetch_sub(1) == 1) done.Notify();
      return;
    }
    transport.Post(body(next++), headers, [&](absl::StatusOr<int> r) {
      (r.ok() && *r == 200 ? ok : bad)++;
      send();
    });
  };
  for (int i = 0; i < connections; ++i) send();
  done.WaitForNotificationWithTimeout(length + absl::Seconds(30));
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  *failed = bad.load();
  return ok.load() / secs;
}

void ServeReference(http::Server& server) {
  server.HandlePrefix("", "/", [](http::Request, http::Responder r) {
    r(http::JsonResponse(200, kSendAnswer));
  });
}

void BenchSends() {
  const absl::Duration length = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  const http::HeaderList headers = {{"Authorization", "Bearer t"},
                                    {"Content-Type", "application/json"}};
  auto body = [](uint64_t i) {
    return absl::StrCat(
        R"({"messaging_product":"whatsapp","to":"1650555)", 1000 + i % 9000,
        R"(","type":"text","text":{"body":"benchmark message"}})");
  };
  double emulator_rate = 0;
  {
    Runner server(absl::GetFlag(FLAGS_server_threads));
    Runner client_io(absl::GetFlag(FLAGS_client_threads));
    EmulatorOptions o;
    o.address = "127.0.0.1:0";
    o.throughput_mps = 0;
    o.pair_rate_limit = false;
    o.access_tokens = {"t"};
    Emulator emulator(server.io, o);
    if (!emulator.Start().ok()) return;
    uint64_t failed = 0;
    const Window window;
    emulator_rate = Drive(
        client_io.io,
        absl::StrCat(emulator.base_url(), "/v23.0/106540352242922/messages"),
        in_flight, length, body, headers, &failed);
    std::printf(
        "sends:     %8.0f/s accepted  (%llu failed, %d connections; %s)\n",
        emulator_rate, static_cast<unsigned long long>(failed), in_flight,
        window.End(emulator_rate).c_str());
    emulator.Stop();
  }
  if (!absl::GetFlag(FLAGS_reference)) return;
  Runner server(absl::GetFlag(FLAGS_server_threads));
  Runner client_io(absl::GetFlag(FLAGS_client_threads));
  http::Server reference(server.io, http::ServerOptions{});
  ServeReference(reference);
  if (!reference.Listen("127.0.0.1:0").ok()) return;
  uint64_t failed = 0;
  const Window window;
  double rate = Drive(client_io.io,
                      absl::StrCat("http://127.0.0.1:", reference.port(),
                                   "/v23.0/106540352242922/messages"),
                      in_flight, length, body, headers, &failed);
  std::printf(
      "reference: %8.0f/s fixed 200 (bare http::Server)  emulator/reference "
      "= %.2f  (%s)\n",
      rate, rate > 0 ? emulator_rate / rate : 0, window.End(rate).c_str());
  reference.Stop();
}

void BenchWebhooks() {
  const bool lean = absl::GetFlag(FLAGS_receiver) == "lean";
  const absl::Duration length = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  NumberMetadata meta{"15550783881", "106540352242922"};
  StatusEvent status;
  status.wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";
  status.status = "delivered";
  status.recipient_id = "16505551234";
  status.with_pricing = true;
  status.pricing_category = "service";
  status.time = absl::Now();
  double sender_rate = 0;
  {
    Runner receiver_io(absl::GetFlag(FLAGS_client_threads));
    Runner sender_io(absl::GetFlag(FLAGS_server_threads));
    Receiver receiver(receiver_io.io, lean);
    EmulatorOptions o;
    o.webhook_url = receiver.url();
    o.app_secret = "secret";
    o.webhook_concurrency = absl::GetFlag(FLAGS_webhook_concurrency);
    o.webhook_batch = absl::GetFlag(FLAGS_webhook_batch);
    WebhookSender sender(sender_io.io, o);
    const Window window;
    // Keep the queue topped up so the sender never waits for work.
    const absl::Time start = absl::Now();
    while (absl::Now() - start < length) {
      while (sender.stats().pending < 20000) {
        for (int i = 0; i < 1000; ++i) {
          sender.Enqueue(StatusChange(meta, status));
        }
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    WebhookStats s = sender.stats();
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    const uint64_t changes = s.changes - s.pending;
    sender_rate = s.acknowledged / secs;
    std::printf(
        "webhooks:  %8.0f POSTs/s acknowledged, %.0f changes/s (%s receiver, "
        "%d in flight, batch %d; %s)\n",
        sender_rate, changes / secs, lean ? "lean" : "http::Server",
        o.webhook_concurrency, o.webhook_batch,
        window.End(sender_rate).c_str());
    sender.Stop();
  }
  if (!absl::GetFlag(FLAGS_reference)) return;
  Runner receiver_io(absl::GetFlag(FLAGS_client_threads));
  Runner sender_io(absl::GetFlag(FLAGS_server_threads));
  Receiver receiver(receiver_io.io, lean);
  const std::string body =
      Envelope("102290129340398", absl::Now(), {StatusChange(meta, status)});
  const http::HeaderList headers = {
      {"Content-Type", "application/json"},
      {"X-Hub-Signature-256", common::SignatureHeader("secret", body)},
      {"User-Agent", "facebookexternalua"}};
  uint64_t failed = 0;
  const Window window;
  double rate = Drive(
      sender_io.io, receiver.url(), absl::GetFlag(FLAGS_webhook_concurrency),
      length, [&](uint64_t) { return body; }, headers, &failed);
  std::printf(
      "reference: %8.0f POSTs/s of one fixed signed body  webhooks/reference "
      "= %.2f  (%s)\n",
      rate, rate > 0 ? sender_rate / rate : 0, window.End(rate).c_str());
}

// Sends and their status webhooks at once, as a gateway benchmark drives
// the emulator: the emulator's threads serve the sends and post three
// webhooks per accepted send.
void BenchEndToEnd() {
  const bool lean = absl::GetFlag(FLAGS_receiver) == "lean";
  const absl::Duration length = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  Runner server(absl::GetFlag(FLAGS_server_threads));
  Runner client_io(absl::GetFlag(FLAGS_client_threads));
  Runner receiver_io(1);
  Receiver receiver(receiver_io.io, lean);
  EmulatorOptions o;
  o.address = "127.0.0.1:0";
  o.throughput_mps = 0;
  o.pair_rate_limit = false;
  o.access_tokens = {"t"};
  o.webhook_url = receiver.url();
  o.app_secret = "secret";
  o.webhook_concurrency = absl::GetFlag(FLAGS_webhook_concurrency);
  o.webhook_batch = absl::GetFlag(FLAGS_webhook_batch);
  o.delivered_delay = absl::ZeroDuration();
  o.read_delay = absl::ZeroDuration();
  Emulator emulator(server.io, o);
  if (!emulator.Start().ok()) return;
  const Window window;
  uint64_t failed = 0;
  double sends = Drive(
      client_io.io,
      absl::StrCat(emulator.base_url(), "/v23.0/106540352242922/messages"),
      absl::GetFlag(FLAGS_in_flight), length,
      [](uint64_t i) {
        return absl::StrCat(
            R"({"messaging_product":"whatsapp","to":"1650555)", 1000 + i % 9000,
            R"(","type":"text","text":{"body":"benchmark message"}})");
      },
      {{"Authorization", "Bearer t"}, {"Content-Type", "application/json"}},
      &failed);
  WebhookStats s = emulator.webhook_stats();
  const double secs = absl::ToDoubleSeconds(length);
  std::printf(
      "e2e:       %8.0f sends/s with %.0f webhook POSTs/s acknowledged "
      "(%llu pending at the end, %s receiver; %s)\n",
      sends, s.acknowledged / secs, static_cast<unsigned long long>(s.pending),
      lean ? "lean" : "http::Server", window.End(sends).c_str());
  emulator.Stop();
}

int Serve(const std::string& what) {
  Runner server(absl::GetFlag(FLAGS_server_threads));
  const std::string address =
      absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port));
  std::unique_ptr<Emulator> emulator;
  std::unique_ptr<http::Server> reference;
  if (what == "emulator") {
    EmulatorOptions o;
    o.address = address;
    o.throughput_mps = 0;
    o.pair_rate_limit = false;
    emulator = std::make_unique<Emulator>(server.io, o);
    if (!emulator->Start().ok()) return 1;
  } else if (what == "reference") {
    reference =
        std::make_unique<http::Server>(server.io, http::ServerOptions{});
    ServeReference(*reference);
    if (!reference->Listen(address).ok()) return 1;
  } else {
    std::fprintf(stderr, "--serve: emulator or reference\n");
    return 2;
  }
  std::printf("serving %s on %s\n", what.c_str(), address.c_str());
  std::fflush(stdout);
  asio::io_context signals_io;
  asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([](boost::system::error_code, int) {});
  signals_io.run();
  if (emulator) emulator->Stop();
  if (reference) reference->Stop();
  return 0;
}

}  // namespace
}  // namespace wagate::emulator

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  wagate::log::SetMinLevel(wagate::log::Level::kWarning);
  if (!absl::GetFlag(FLAGS_serve).empty()) {
    return wagate::emulator::Serve(absl::GetFlag(FLAGS_serve));
  }
  if (absl::GetFlag(FLAGS_sends)) wagate::emulator::BenchSends();
  if (absl::GetFlag(FLAGS_webhooks)) wagate::emulator::BenchWebhooks();
  if (absl::GetFlag(FLAGS_e2e)) wagate::emulator::BenchEndToEnd();
  return 0;
}
