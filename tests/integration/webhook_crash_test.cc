// Durability of acknowledged webhooks: the gateway process is killed with
// SIGKILL while Meta-style signed POSTs stream in; after each restart, every
// POST that was answered 200 is found exactly once on Subscribe. Then the
// same under the emulator's webhooks and redeliveries, with a subscriber
// that resumes from its cursor after each kill.
#include <signal.h>

#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "emulator/emulator.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/common/hmac.h"
#include "service/http/client.h"
#include "tests/integration/util/subprocess.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::testing {
namespace {

constexpr char kSecret[] = "crash-test-app-secret";

std::string Envelope(int n) {
  return absl::StrCat(
      R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Crash Test"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.crash.)",
      n, R"(","timestamp":"1749416383","type":"text","text":{"body":"message )",
      n, R"("}}]}}]}]})");
}

struct Gateway {
  std::unique_ptr<Subprocess> process;
  std::string grpc_address;
  int http_port = 0;
};

Gateway StartGateway(const std::string& dir) {
  Gateway gateway;
  gateway.process = std::make_unique<Subprocess>(
      std::vector<std::string>{
          BinaryPath("service/wagate"), "--grpc_address=127.0.0.1:0",
          "--http_address=127.0.0.1:0", "--admin_address=127.0.0.1:0",
          "--store=sqlite:" + dir + "/w.db"},
      std::vector<std::string>{absl::StrCat("WAGATE_APP_SECRET=", kSecret),
                               "WAGATE_VERIFY_TOKEN=verify"});
  EXPECT_TRUE(gateway.process->Start().ok());
  std::string serving =
      gateway.process->WaitForLine("\"msg\":\"serving\"", absl::Seconds(30));
  EXPECT_FALSE(serving.empty()) << gateway.process->Stderr();
  gateway.grpc_address = JsonLogField(serving, "grpc_address");
  gateway.http_port = PortOf(JsonLogField(serving, "http_address"));
  return gateway;
}

// Every message event id in the log, in order: reads until the stream has
// caught up and stayed idle until its deadline.
std::vector<std::string> ReadAll(const std::string& grpc_address) {
  auto stub = v1::Events::NewStub(
      grpc::CreateChannel(grpc_address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(8));
  v1::SubscribeRequest request;
  request.set_from_oldest(true);
  auto stream = stub->Subscribe(&context, request);
  std::vector<std::string> ids;
  v1::Event event;
  while (stream->Read(&event)) {
    ids.push_back(event.message().id());
  }
  stream->Finish();
  return ids;
}

TEST(WebhookCrashTest, AcknowledgedEventsSurviveSigkill) {
  const std::string dir = MakeTempDir("webhook_crash");
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  http::Client client(io);
  std::mt19937 random(20261122);

  absl::Mutex mu;
  std::set<std::string> acknowledged;  // message ids answered 200
  int next = 0;
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    Gateway gateway = StartGateway(dir);
    ASSERT_NE(gateway.http_port, 0);
    // Post continuously from 8 concurrent senders until the kill.
    std::atomic<bool> stop{false};
    std::atomic<int> in_flight{0};
    std::function<void()> post_next = [&]() {
      if (stop) return;
      int n;
      {
        absl::MutexLock lock(&mu);
        n = next++;
      }
      http::ClientRequest request;
      request.method = "POST";
      request.url =
          absl::StrCat("http://127.0.0.1:", gateway.http_port, "/webhook");
      request.body = Envelope(n);
      request.headers = {{"Content-Type", "application/json"},
                         {"X-Hub-Signature-256",
                          common::SignatureHeader(kSecret, request.body)}};
      request.timeout = absl::Seconds(5);
      ++in_flight;
      client.Send(std::move(request),
                  [&, n](absl::StatusOr<http::ClientResponse> response) {
                    if (response.ok() && response->status == 200) {
                      absl::MutexLock lock(&mu);
                      acknowledged.insert(absl::StrCat("wamid.crash.", n));
                    }
                    --in_flight;
                    if (response.ok()) post_next();
                  });
    };
    for (int i = 0; i < 8; ++i) post_next();
    absl::SleepFor(absl::Milliseconds(
        std::uniform_int_distribution<int>(100, 600)(random)));
    gateway.process->Signal(SIGKILL);
    ASSERT_TRUE(gateway.process->Wait(absl::Seconds(10)).has_value());
    stop = true;
    while (in_flight > 0) absl::SleepFor(absl::Milliseconds(5));
  }

  // A last restart: everything acknowledged is there, once.
  Gateway gateway = StartGateway(dir);
  size_t expected;
  {
    absl::MutexLock lock(&mu);
    expected = acknowledged.size();
  }
  ASSERT_GT(expected, 0u);
  std::cerr << expected << " POSTs acknowledged over " << kRounds
            << " SIGKILLs\n";
  std::vector<std::string> stored = ReadAll(gateway.grpc_address);
  std::set<std::string> unique(stored.begin(), stored.end());
  EXPECT_EQ(unique.size(), stored.size()) << "an event was stored twice";
  absl::MutexLock lock(&mu);
  for (const std::string& id : acknowledged) {
    EXPECT_TRUE(unique.count(id)) << id << " was acknowledged but lost";
  }
  gateway.process->Signal(SIGTERM);
  gateway.process->Wait(absl::Seconds(10));
  work.reset();
  io.stop();
  io_thread.join();
}

// Under webhook load from the emulator (inbound messages injected through
// its control API), the gateway is SIGKILLed ten times at random moments. A
// subscriber resumes from its last cursor after each restart; the emulator
// redelivers what was not acknowledged. In the end the subscriber has seen
// every injected message exactly once.
TEST(WebhookCrashTest,
     EmulatorRedeliveriesFillInAndResumedSubscriberSeesEachOnce) {
  const std::string dir = MakeTempDir("webhook_crash_emulator");
  const int http_port = FreeLoopbackPort();
  const int grpc_port = FreeLoopbackPort();
  const std::string grpc_address = absl::StrCat("127.0.0.1:", grpc_port);

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  emulator::EmulatorOptions options;
  options.address = "127.0.0.1:0";
  options.webhook_url =
      absl::StrCat("http://127.0.0.1:", http_port, "/webhook");
  options.app_secret = kSecret;
  options.webhook_retry_initial = absl::Milliseconds(100);
  options.webhook_retry_max = absl::Milliseconds(500);
  options.webhook_max_attempts = 1000;
  options.webhook_timeout = absl::Seconds(2);
  emulator::Emulator emulator(io, options);
  ASSERT_TRUE(emulator.Start().ok());
  std::thread io_thread([&] { io.run(); });
  http::Client client(io);
  auto control = [&](const std::string& method, const std::string& path,
                     const std::string& body) -> std::string {
    http::ClientRequest request;
    request.method = method;
    request.url = emulator.base_url() + path;
    request.body = body;
    request.headers = {{"Content-Type", "application/json"}};
    absl::Notification done;
    std::string answer;
    client.Send(std::move(request),
                [&](absl::StatusOr<http::ClientResponse> response) {
                  if (response.ok() && response->status == 200) {
                    answer = response->body;
                  }
                  done.Notify();
                });
    done.WaitForNotification();
    return answer;
  };

  // Inbound messages stream in all along.
  std::atomic<bool> stop_injecting{false};
  absl::Mutex mu;
  std::set<std::string> injected;
  std::thread injector([&] {
    for (int n = 0; !stop_injecting; ++n) {
      const std::string id = absl::StrCat("wamid.kill.", n);
      std::string answer = control(
          "POST", "/_emulator/inbound",
          absl::StrCat(R"({"from":"16505551234","name":"Kill","text":"m)", n,
                       R"(","id":")", id, R"("})"));
      if (!answer.empty()) {
        absl::MutexLock lock(&mu);
        injected.insert(id);
      }
      absl::SleepFor(absl::Milliseconds(3));
    }
  });

  // The subscriber: reconnects and resumes after its last cursor.
  std::atomic<bool> stop_reading{false};
  std::multiset<std::string> seen;
  std::thread subscriber([&] {
    auto channel =
        grpc::CreateChannel(grpc_address, grpc::InsecureChannelCredentials());
    auto stub = v1::Events::NewStub(channel);
    std::string cursor;
    while (!stop_reading) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(500));
      v1::SubscribeRequest request;
      if (cursor.empty()) {
        request.set_from_oldest(true);
      } else {
        request.set_after_cursor(cursor);
      }
      request.add_kinds(v1::EVENT_KIND_MESSAGE);
      auto stream = stub->Subscribe(&context, request);
      v1::Event event;
      while (stream->Read(&event)) {
        cursor = event.cursor();
        absl::MutexLock lock(&mu);
        seen.insert(event.message().id());
      }
      stream->Finish();
      absl::SleepFor(absl::Milliseconds(20));  // the gateway may be down
    }
  });

  auto start = [&] {
    auto process = std::make_unique<Subprocess>(
        std::vector<std::string>{
            BinaryPath("service/wagate"), "--grpc_address=" + grpc_address,
            absl::StrCat("--http_address=127.0.0.1:", http_port),
            "--admin_address=127.0.0.1:0", "--store=sqlite:" + dir + "/w.db"},
        std::vector<std::string>{absl::StrCat("WAGATE_APP_SECRET=", kSecret),
                                 "WAGATE_VERIFY_TOKEN=verify"});
    EXPECT_TRUE(process->Start().ok());
    EXPECT_FALSE(
        process->WaitForLine("\"msg\":\"serving\"", absl::Seconds(30)).empty())
        << process->Stderr();
    return process;
  };
  std::mt19937 random(20261122);
  constexpr int kKills = 10;
  for (int round = 0; round < kKills; ++round) {
    std::unique_ptr<Subprocess> gateway = start();
    absl::SleepFor(absl::Milliseconds(
        std::uniform_int_distribution<int>(150, 600)(random)));
    gateway->Signal(SIGKILL);
    ASSERT_TRUE(gateway->Wait(absl::Seconds(10)).has_value());
  }
  stop_injecting = true;
  injector.join();

  // A last start: redeliveries drain, the subscriber catches up.
  std::unique_ptr<Subprocess> gateway = start();
  const absl::Time until = absl::Now() + absl::Seconds(60);
  size_t expected = 0;
  while (absl::Now() < until) {
    {
      absl::MutexLock lock(&mu);
      expected = injected.size();
      bool all = true;
      for (const std::string& id : injected) {
        if (seen.count(id) == 0) {
          all = false;
          break;
        }
      }
      if (all) break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  absl::SleepFor(absl::Milliseconds(700));  // late duplicates would show
  stop_reading = true;
  subscriber.join();
  std::cerr << expected << " inbound messages over " << kKills
            << " SIGKILLs; emulator counters: "
            << control("GET", "/_emulator/counters", "") << "\n";
  ASSERT_GT(expected, 0u);
  absl::MutexLock lock(&mu);
  for (const std::string& id : injected) {
    EXPECT_EQ(seen.count(id), 1u) << id;
  }
  EXPECT_EQ(seen.size(), injected.size());
  gateway->Signal(SIGTERM);
  gateway->Wait(absl::Seconds(10));
  emulator.Stop();
  work.reset();
  io.stop();
  io_thread.join();
}

}  // namespace
}  // namespace wagate::testing
