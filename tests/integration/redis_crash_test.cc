// Replica crashes on a shared Redis: two `wagate --store redis://...`
// processes take signed webhooks concurrently; replica A is killed with
// SIGKILL mid-stream (and restarted) several times. Every POST either
// replica answered 200 must be in the shared log exactly once.
#include <signal.h>

#include <atomic>
#include <functional>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gtest/gtest.h"
#include "service/common/hmac.h"
#include "service/events/store.h"
#include "service/http/client.h"
#include "service/redis/testing/redis_server.h"
#include "tests/integration/util/subprocess.h"
#include "wagate/v1/events.pb.h"

namespace wagate::testing {
namespace {

constexpr char kSecret[] = "redis-crash-app-secret";

std::string Envelope(int n) {
  return absl::StrCat(
      R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Crash Test"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.rcrash.)",
      n, R"(","timestamp":"1749416383","type":"text","text":{"body":"message )",
      n, R"("}}]}}]}]})");
}

struct Replica {
  std::unique_ptr<Subprocess> process;
  std::string grpc_address;
  int http_port = 0;
};

Replica StartReplica(const std::string& store) {
  Replica replica;
  replica.process = std::make_unique<Subprocess>(
      std::vector<std::string>{
          BinaryPath("service/wagate"), "--grpc_address=127.0.0.1:0",
          "--http_address=127.0.0.1:0", "--admin_address=127.0.0.1:0",
          "--graph_base_url=http://127.0.0.1:1", "--store=" + store},
      std::vector<std::string>{absl::StrCat("WAGATE_APP_SECRET=", kSecret),
                               "WAGATE_VERIFY_TOKEN=verify"});
  EXPECT_TRUE(replica.process->Start().ok());
  std::string serving =
      replica.process->WaitForLine("\"msg\":\"serving\"", absl::Seconds(30));
  EXPECT_FALSE(serving.empty()) << replica.process->Stderr();
  replica.grpc_address = JsonLogField(serving, "grpc_address");
  replica.http_port = PortOf(JsonLogField(serving, "http_address"));
  return replica;
}

// Every event id in the shared log, in order, read from Redis with a store
// of our own (a third replica, in effect).
std::vector<std::string> ReadAll(const std::string& url) {
  std::vector<std::string> ids;
  auto store = events::OpenStore(url);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return ids;
  std::string cursor;
  while (true) {
    auto page = (*store)->ReadAfter(cursor, 1000, events::Filter{});
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok() || page->empty()) break;
    for (const auto& e : *page) {
      v1::Event event;
      EXPECT_TRUE(event.ParseFromString(e.payload));
      ids.push_back(event.message().id());
    }
    cursor = page->back().cursor;
  }
  return ids;
}

TEST(RedisCrashTest, AReplicaKilledMidStreamLosesNothing) {
  if (!redis::TestRedisServer::Installed()) {
    GTEST_SKIP() << redis::TestRedisServer::kBinary << " is not installed";
  }
  redis::TestRedisServer redis;
  ASSERT_TRUE(redis.Start().ok());
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  http::Client client(io);
  std::mt19937 random(20261122);

  Replica b = StartReplica(redis.Url());
  ASSERT_NE(b.http_port, 0);
  absl::Mutex mu;
  std::set<std::string> acknowledged;
  int next = 0;
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    Replica a = StartReplica(redis.Url());
    ASSERT_NE(a.http_port, 0);
    std::atomic<bool> stop{false};
    std::atomic<int> in_flight{0};
    // 4 senders into A, 4 into B, each posting again when answered.
    std::function<void(int)> post_next = [&](int port) {
      if (stop) return;
      int n;
      {
        absl::MutexLock lock(&mu);
        n = next++;
      }
      http::ClientRequest request;
      request.method = "POST";
      request.url = absl::StrCat("http://127.0.0.1:", port, "/webhook");
      request.body = Envelope(n);
      request.headers = {{"Content-Type", "application/json"},
                         {"X-Hub-Signature-256",
                          common::SignatureHeader(kSecret, request.body)}};
      request.timeout = absl::Seconds(5);
      ++in_flight;
      client.Send(std::move(request),
                  [&, n, port](absl::StatusOr<http::ClientResponse> response) {
                    if (response.ok() && response->status == 200) {
                      absl::MutexLock lock(&mu);
                      acknowledged.insert(absl::StrCat("wamid.rcrash.", n));
                    }
                    --in_flight;
                    if (response.ok()) post_next(port);
                  });
    };
    for (int i = 0; i < 4; ++i) {
      post_next(a.http_port);
      post_next(b.http_port);
    }
    absl::SleepFor(absl::Milliseconds(
        std::uniform_int_distribution<int>(150, 500)(random)));
    a.process->Signal(SIGKILL);
    ASSERT_TRUE(a.process->Wait(absl::Seconds(10)).has_value());
    stop = true;
    while (in_flight > 0) absl::SleepFor(absl::Milliseconds(5));
  }

  size_t expected;
  {
    absl::MutexLock lock(&mu);
    expected = acknowledged.size();
  }
  ASSERT_GT(expected, 0u);
  std::cerr << expected << " POSTs acknowledged over " << kRounds
            << " SIGKILLs of replica A\n";
  std::vector<std::string> stored = ReadAll(redis.Url());
  std::set<std::string> unique(stored.begin(), stored.end());
  EXPECT_EQ(unique.size(), stored.size()) << "an event was stored twice";
  {
    absl::MutexLock lock(&mu);
    size_t missing = 0;
    for (const std::string& id : acknowledged) missing += !unique.count(id);
    EXPECT_EQ(missing, 0u) << missing << " of " << expected
                           << " acknowledged POSTs lost";
  }
  b.process->Signal(SIGTERM);
  b.process->Wait(absl::Seconds(10));
  work.reset();
  io.stop();
  io_thread.join();
}

}  // namespace
}  // namespace wagate::testing
