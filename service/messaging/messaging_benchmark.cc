// Send throughput and the latency the gateway adds, against the in-process
// zero-latency emulator (DESIGN.md § Targets). Not a test: run it by hand.
//
//   build/<dir>/service/messaging/messaging_send_benchmark \
//       [throughput_seconds=5] [latency_seconds=10] [rate=1000] [in_flight=256]
//
// Phase 1 keeps `in_flight` unary Sends outstanding (callback client API)
// and reports messages/s. Phase 2 sends at a steady `rate` per second (open
// loop) through the gateway, then the same rate straight to the emulator
// over HTTP; the difference of the latency percentiles is what the gateway
// adds (gRPC in, validation, pacer, JSON, Graph client, parsing).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "emulator/emulator.h"
#include "grpcpp/grpcpp.h"
#include "service/config/accounts.h"
#include "service/http/client.h"
#include "service/messaging/messaging_service.h"
#include "service/messaging/sender.h"
#include "wagate/v1/messaging.grpc.pb.h"

namespace wagate::messaging {
namespace {

constexpr char kToken[] = "bench-token";
constexpr char kPnid[] = "106540352242922";

class IoPool {
 public:
  explicit IoPool(int threads) : guard_(io.get_executor()) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { io.run(); });
  }
  ~IoPool() {
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

v1::SendRequest Request(uint64_t i) {
  v1::SendRequest r;
  r.set_phone_number_id(kPnid);
  // Many recipients: the pair limit (45 per recipient) stays out of the way.
  r.set_to(absl::StrCat("1650", 1000000 + (i % 1000000)));
  r.mutable_text()->set_body("Your order #1234 has shipped.");
  return r;
}

struct Call {
  grpc::ClientContext ctx;
  v1::SendRequest req;
  v1::SendResponse resp;
  absl::Time start;
};

absl::Duration Percentile(std::vector<absl::Duration>& v, double p) {
  if (v.empty()) return absl::ZeroDuration();
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i];
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

int Main(int argc, char** argv) {
  const int throughput_seconds = argc > 1 ? std::atoi(argv[1]) : 5;
  const int latency_seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  const int rate = argc > 3 ? std::atoi(argv[3]) : 1000;
  const int in_flight = argc > 4 ? std::atoi(argv[4]) : 256;

  IoPool emulator_io(1);
  emulator::EmulatorOptions eo;
  eo.address = "127.0.0.1:0";
  eo.access_tokens = {kToken};
  eo.phone_number_ids = {kPnid};
  eo.throughput_mps = 0;  // unlimited
  eo.pair_rate_limit = false;
  eo.latency = "0";
  emulator::Emulator emu(emulator_io.io, eo);
  if (!emu.Start().ok()) return 1;

  IoPool gateway_io(2);
  config::v1::Config cfg;
  auto* account = cfg.add_accounts();
  account->set_waba_id("1");
  account->set_access_token_env("BENCH_TOKEN");
  account->add_phone_numbers()->set_id(kPnid);
  auto accounts = config::Accounts::Create(cfg, [](absl::string_view) {
    return absl::optional<std::string>(kToken);
  });
  if (!accounts.ok()) return 1;
  http::Client client(gateway_io.io);
  graph::GraphClientOptions go;
  go.base_url = emu.base_url();
  go.api_version = "v24.0";
  graph::GraphClient graph(client, go);
  Sender sender(gateway_io.io, graph, *accounts, nullptr, SenderOptions{});
  sender.SetThroughput(kPnid, 1000000);
  MessagingService service(sender, MessagingService::Options{});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::Messaging::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  // ---- Phase 1: throughput with `in_flight` outstanding calls.
  {
    std::atomic<uint64_t> ok{0}, failed{0}, next{0};
    std::atomic<bool> stop{false};
    absl::Mutex mu;
    int outstanding = 0;
    std::function<void()> start_one = [&] {
      auto* call = new Call;
      call->req = Request(next++);
      stub->async()->Send(&call->ctx, &call->req, &call->resp,
                          [&, call](grpc::Status s) {
                            (s.ok() ? ok : failed)++;
                            delete call;
                            if (!stop) {
                              start_one();
                            } else {
                              absl::MutexLock lock(&mu);
                              --outstanding;
                            }
                          });
    };
    {
      absl::MutexLock lock(&mu);
      outstanding = in_flight;
    }
    const absl::Time t0 = absl::Now();
    for (int i = 0; i < in_flight; ++i) start_one();
    absl::SleepFor(absl::Seconds(throughput_seconds));
    const uint64_t done_ok = ok.load();
    const absl::Duration elapsed = absl::Now() - t0;
    stop = true;
    {
      absl::MutexLock lock(&mu);
      auto drained = [&] { return outstanding == 0; };
      mu.Await(absl::Condition(&drained));
    }
    std::printf(
        "throughput: %.0f Send/s (%d in flight, %d s, %llu ok, %llu failed)\n",
        done_ok / absl::ToDoubleSeconds(elapsed), in_flight, throughput_seconds,
        static_cast<unsigned long long>(done_ok),
        static_cast<unsigned long long>(failed.load()));
  }

  // ---- Phase 2: steady rate, through the gateway then straight to Graph.
  auto steady = [&](auto issue) {
    std::vector<absl::Duration> lat;
    absl::Mutex mu;
    std::atomic<int> pending{0};
    std::atomic<uint64_t> failed{0};
    const int total = rate * latency_seconds;
    const absl::Duration interval = absl::Seconds(1) / rate;
    const absl::Time t0 = absl::Now();
    for (int i = 0; i < total; ++i) {
      absl::Time due = t0 + interval * i;
      absl::Duration wait = due - absl::Now();
      if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
      ++pending;
      issue(i, [&, start = absl::Now()](bool ok) {
        absl::Duration d = absl::Now() - start;
        if (!ok) ++failed;
        {
          absl::MutexLock lock(&mu);
          lat.push_back(d);
        }
        --pending;
      });
    }
    while (pending > 0) absl::SleepFor(absl::Milliseconds(1));
    std::sort(lat.begin(), lat.end());
    return std::make_tuple(Percentile(lat, 0.5), Percentile(lat, 0.99),
                           failed.load());
  };
  auto [gw50, gw99, gw_failed] =
      steady([&](int i, std::function<void(bool)> done) {
        auto* call = new Call;
        call->req = Request(5000000 + i);
        stub->async()->Send(&call->ctx, &call->req, &call->resp,
                            [call, done](grpc::Status s) {
                              delete call;
                              done(s.ok());
                            });
      });
  http::Client direct(gateway_io.io);
  const std::string url =
      absl::StrCat(emu.base_url(), "/v24.0/", kPnid, "/messages");
  auto [em50, em99,
        em_failed] = steady([&](int i, std::function<void(bool)> done) {
    http::ClientRequest req;
    req.method = "POST";
    req.url = url;
    req.headers = {{"Authorization", absl::StrCat("Bearer ", kToken)},
                   {"Content-Type", "application/json"}};
    req.body = absl::StrCat(
        R"({"messaging_product":"whatsapp","recipient_type":"individual","to":"1650)",
        9000000 + i,
        R"(","type":"text","text":{"body":"Your order #1234 has shipped."}})");
    direct.Send(std::move(req), [done](absl::StatusOr<http::ClientResponse> r) {
      done(r.ok() && r->status == 200);
    });
  });
  std::printf(
      "at %d/s for %d s: through gateway p50 %.3f ms p99 %.3f ms (%llu "
      "failed); direct to emulator p50 %.3f ms p99 %.3f ms (%llu failed); "
      "gateway adds p50 %.3f ms p99 %.3f ms\n",
      rate, latency_seconds, Ms(gw50), Ms(gw99),
      static_cast<unsigned long long>(gw_failed), Ms(em50), Ms(em99),
      static_cast<unsigned long long>(em_failed), Ms(gw50 - em50),
      Ms(gw99 - em99));

  sender.Shutdown();
  server->Shutdown();
  emu.Stop();
  return 0;
}

}  // namespace
}  // namespace wagate::messaging

int main(int argc, char** argv) { return wagate::messaging::Main(argc, argv); }
