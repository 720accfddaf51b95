// The gateway when things break (issue 8, § Faults), shortened to run in CI:
//  - Graph faults from the emulator (5xx, dropped connections, bursts of
//    130429, a latency spike): every send that can safely be retried
//    succeeds, none reaches Meta twice (the emulator's counters), and the
//    ones whose outcome is unknown say so;
//  - a locked event log: webhooks answer 503, nothing is stored, and the
//    gateway recovers by itself once the lock is gone;
//  - a full disk (a file-size limit on the gateway process): 503, then 200
//    once space is back, with every acknowledged event stored once;
//  - overload: a webhook flood beyond the event queue gets 503 for what does
//    not fit (Meta redelivers; redelivered copies are stored once), and sends
//    at twice a number's throughput get RESOURCE_EXHAUSTED with a retry
//    delay for what cannot be paced within its deadline, never a Graph
//    refusal, and full service once the load drops.
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/common/hmac.h"
#include "service/graph/graph_error.h"
#include "service/graph/graph_response.h"
#include "service/http/client.h"
#include "service/server/gateway.h"
#include "service/server/sandbox.h"
#include "tests/integration/util/sandbox_gateway.h"
#include "tests/integration/util/subprocess.h"
#include "wagate/v1/events.grpc.pb.h"
#include "wagate/v1/messaging.grpc.pb.h"

namespace wagate::server {
namespace {

using ::wagate::testing::BinaryPath;
using ::wagate::testing::JsonLogField;
using ::wagate::testing::MakeTempDir;
using ::wagate::testing::Subprocess;

// A signed webhook with `count` inbound texts, ids "wamid.<tag>.<i>".
std::string InboundEnvelope(const std::string& tag, int count,
                            size_t padding = 0) {
  std::string messages;
  for (int i = 0; i < count; ++i) {
    if (i > 0) messages += ",";
    absl::StrAppend(
        &messages, R"({"from":"16505551234","id":"wamid.)", tag, ".", i,
        R"(","timestamp":"1749416383","type":"text","text":{"body":")",
        std::string(padding, 'x'), R"("}})");
  }
  return absl::StrCat(
      R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Fault Test"},"wa_id":"16505551234"}],"messages":[)",
      messages, "]}}]}]}");
}

class FaultsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    gw_.reset();
    client_.reset();
    work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  }

  // The gateway in-process against the sandbox's emulator, with `config`
  // (the sandbox's token and secrets come from its environment).
  void Start(config::v1::Config config = config::v1::Config()) {
    auto started = testing::SandboxGateway::Start(
        {.config = std::move(config), .name = "faults_test"});
    ASSERT_TRUE(started.ok()) << started.status();
    gw_ = *std::move(started);
    sandbox_ = &gw_->sandbox();
    http_address_ = gw_->http_address();
    db_path_ = gw_->db_path();
    channel_ = gw_->channel();
    messaging_ = v1::Messaging::NewStub(channel_);
  }

  absl::StatusOr<http::ClientResponse> Http(const std::string& method,
                                            const std::string& url,
                                            std::string body = "",
                                            http::HeaderList headers = {}) {
    http::ClientRequest request;
    request.method = method;
    request.url = url;
    request.body = std::move(body);
    request.headers = std::move(headers);
    request.timeout = absl::Seconds(30);
    absl::Notification done;
    absl::StatusOr<http::ClientResponse> result;
    client_->Send(std::move(request),
                  [&](absl::StatusOr<http::ClientResponse> response) {
                    result = std::move(response);
                    done.Notify();
                  });
    done.WaitForNotification();
    return result;
  }

  void SetFaults(const std::string& json) {
    auto r = Http("POST", sandbox_->graph_base_url() + "/_emulator/faults",
                  json, {{"Content-Type", "application/json"}});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, 200) << r->body;
  }

  // The webhook POST as Meta sends it, signed with the sandbox's secret.
  int PostWebhook(const std::string& body) {
    auto r =
        Http("POST", absl::StrCat("http://", http_address_, "/webhook"), body,
             {{"Content-Type", "application/json"},
              {"X-Hub-Signature-256",
               common::SignatureHeader(Sandbox::kAppSecret, body)}});
    return r.ok() ? r->status : 0;
  }

  // Inbound message ids in the log, in order, read from the oldest.
  std::vector<std::string> StoredMessageIds() {
    auto stub = v1::Events::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(3));
    v1::SubscribeRequest request;
    request.set_from_oldest(true);
    request.add_kinds(v1::EVENT_KIND_MESSAGE);
    auto stream = stub->Subscribe(&context, request);
    std::vector<std::string> ids;
    v1::Event event;
    while (stream->Read(&event)) ids.push_back(event.message().id());
    stream->Finish();
    return ids;
  }

  v1::SendRequest Text(const std::string& to) {
    v1::SendRequest request;
    request.set_phone_number_id(sandbox_->phone_number_id());
    request.set_to(to);
    request.mutable_text()->set_body("fault test");
    return request;
  }

  std::unique_ptr<testing::SandboxGateway> gw_;
  Sandbox* sandbox_ = nullptr;
  std::string http_address_;
  std::string db_path_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Messaging::Stub> messaging_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_ = boost::asio::make_work_guard(io_);
  std::unique_ptr<http::Client> client_ = std::make_unique<http::Client>(io_);
  std::thread io_thread_{[this] { io_.run(); }};
};

TEST_F(FaultsTest, GraphFaultsNeitherLoseNorDuplicateSends) {
  Start();
  const std::string faults =
      R"("http_5xx_rate":0.05,"drop_connection_rate":0.01,"error_rates":{"130429":0.05})";
  SetFaults("{" + faults + "}");
  constexpr int kSenders = 8;
  constexpr int kPerSender = 30;
  struct Result {
    std::string to;
    grpc::Status status;
  };
  std::vector<std::future<std::vector<Result>>> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.push_back(std::async(std::launch::async, [this, s] {
      std::vector<Result> results;
      for (int i = 0; i < kPerSender; ++i) {
        Result r;
        r.to = absl::StrCat("1555", 100000 + s * 1000 + i);
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(30));
        v1::SendResponse response;
        r.status = messaging_->Send(&context, Text(r.to), &response);
        results.push_back(std::move(r));
      }
      return results;
    }));
  }
  // A latency spike in the middle of the run.
  absl::SleepFor(absl::Milliseconds(500));
  SetFaults("{" + faults + R"(,"added_latency_ms":300})");
  absl::SleepFor(absl::Milliseconds(700));
  SetFaults("{" + faults + "}");

  std::vector<Result> results;
  for (auto& f : senders) {
    for (Result& r : f.get()) results.push_back(std::move(r));
  }
  SetFaults("{}");
  auto counters =
      Http("GET", sandbox_->graph_base_url() + "/_emulator/counters");
  ASSERT_TRUE(counters.ok()) << counters.status();
  graph::JsonDocument doc;
  ASSERT_TRUE(doc.Parse(counters->body).ok());
  graph::JsonObject messages = doc.root().GetObject("messages");
  graph::JsonObject by_recipient = messages.GetObject("accepted_by_recipient");
  graph::JsonObject errors = messages.GetObject("errors_by_code");
  // The faults did happen.
  EXPECT_GT(errors.GetInt("2") + errors.GetInt("130429"), 0) << counters->body;

  int ok = 0, unknown = 0;
  for (const Result& r : results) {
    const int64_t accepted = by_recipient.GetObject(r.to).GetInt("count");
    EXPECT_LE(accepted, 1) << r.to << " reached Meta twice";
    if (r.status.ok()) {
      ++ok;
      EXPECT_EQ(accepted, 1) << r.to;
      continue;
    }
    // Only a dropped connection may fail, and it must say that the message
    // may have been sent (so the caller decides; the gateway never resends).
    absl::optional<v1::GraphError> error =
        graph::GraphErrorFromGrpcStatus(r.status);
    ASSERT_TRUE(error.has_value()) << r.status.error_message();
    EXPECT_TRUE(error->outcome_unknown())
        << r.to << ": " << r.status.error_code() << " "
        << r.status.error_message();
    ++unknown;
  }
  EXPECT_EQ(ok + unknown, kSenders * kPerSender);
  EXPECT_EQ(messages.GetInt("accepted"), ok)
      << "every accepted message is one the caller was told about";
  EXPECT_LT(unknown, kSenders * kPerSender / 10);
}

TEST_F(FaultsTest, LockedEventLogAnswers503ThenRecoversByItself) {
  Start();
  ASSERT_EQ(PostWebhook(InboundEnvelope("before", 1)), 200);
  // Another process holds the database's write lock.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  const std::string locked = InboundEnvelope("locked", 3);
  EXPECT_EQ(PostWebhook(locked), 503);
  ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  // Meta's redelivery now succeeds; nothing of the refused POST was stored
  // before, so its events appear once.
  EXPECT_EQ(PostWebhook(locked), 200);
  EXPECT_EQ(PostWebhook(locked), 200);  // a duplicate redelivery
  EXPECT_THAT(StoredMessageIds(),
              ::testing::ElementsAre("wamid.before.0", "wamid.locked.0",
                                     "wamid.locked.1", "wamid.locked.2"));
}

TEST_F(FaultsTest, WebhookFloodBeyondTheQueueGets503AndLosesNothing) {
  config::v1::Config config;
  config.mutable_limits()->set_event_queue(40);
  Start(config);
  // 150 POSTs of 20 events at once: far more than 40 events can wait for a
  // commit, so some are refused with 503.
  constexpr int kPosts = 150;
  std::vector<std::string> bodies;
  for (int i = 0; i < kPosts; ++i) {
    bodies.push_back(InboundEnvelope(absl::StrCat("flood", i), 20));
  }
  absl::Mutex mu;
  std::map<int, int> status_of;
  std::atomic<int> pending{kPosts};
  absl::Notification all_done;
  for (int i = 0; i < kPosts; ++i) {
    http::ClientRequest request;
    request.method = "POST";
    request.url = absl::StrCat("http://", http_address_, "/webhook");
    request.body = bodies[i];
    request.headers = {
        {"Content-Type", "application/json"},
        {"X-Hub-Signature-256",
         common::SignatureHeader(Sandbox::kAppSecret, bodies[i])}};
    request.timeout = absl::Seconds(30);
    client_->Send(std::move(request),
                  [&, i](absl::StatusOr<http::ClientResponse> response) {
                    {
                      absl::MutexLock lock(&mu);
                      status_of[i] = response.ok() ? response->status : 0;
                    }
                    if (--pending == 0) all_done.Notify();
                  });
  }
  all_done.WaitForNotification();
  int refused = 0;
  for (const auto& [i, status] : status_of) {
    if (status == 503) {
      ++refused;
    } else {
      EXPECT_EQ(status, 200) << "POST " << i;
    }
  }
  EXPECT_GT(refused, 0) << "the flood never filled the queue";
  // Meta redelivers what was refused (and, here, everything again once):
  // every event ends up stored exactly once.
  for (int i = 0; i < kPosts; ++i) {
    EXPECT_EQ(PostWebhook(bodies[i]), 200) << "POST " << i;
  }
  std::vector<std::string> ids = StoredMessageIds();
  EXPECT_EQ(ids.size(), static_cast<size_t>(kPosts * 20));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST_F(FaultsTest, SendsAtTwiceThroughputAreRefusedLocallyThenRecover) {
  config::v1::Config config;
  auto* account = config.add_accounts();
  account->set_waba_id("102290129340398");
  account->set_access_token_env("WAGATE_ACCESS_TOKEN");
  auto* number = account->add_phone_numbers();
  number->set_id("106540352242922");
  number->set_throughput_mps(20);
  config.add_app_secrets_env("WAGATE_APP_SECRET");
  config.set_verify_token_env("WAGATE_VERIFY_TOKEN");
  Start(config);
  ASSERT_EQ(sandbox_->phone_number_id(), "106540352242922");
  // 40 sends per second for 3 s, each allowed to wait 1 s for pacing.
  std::vector<std::future<grpc::Status>> calls;
  const absl::Time start = absl::Now();
  for (int i = 0; i < 120; ++i) {
    absl::SleepFor(start + absl::Milliseconds(25) * i - absl::Now());
    calls.push_back(std::async(std::launch::async, [this, i] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(1));
      v1::SendResponse response;
      return messaging_->Send(&context, Text(absl::StrCat("1555", 200000 + i)),
                              &response);
    }));
  }
  int ok = 0, exhausted = 0;
  for (auto& c : calls) {
    grpc::Status s = c.get();
    if (s.ok()) {
      ++ok;
      continue;
    }
    // Refused by the gateway's pacer, with when to retry — or, at the very
    // edge, the caller's own deadline.
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) continue;
    ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << s.error_message();
    ++exhausted;
    auto error = graph::GraphErrorFromGrpcStatus(s);
    ASSERT_TRUE(error.has_value());
    EXPECT_GT(error->retry_delay().seconds() * 1000 +
                  error->retry_delay().nanos() / 1000000,
              0);
  }
  EXPECT_GT(exhausted, 0);
  EXPECT_GE(ok, 40) << "about 20 per second get through";
  // Meta refused nothing: the overload was absorbed by the pacer.
  auto counters =
      Http("GET", sandbox_->graph_base_url() + "/_emulator/counters");
  ASSERT_TRUE(counters.ok());
  graph::JsonDocument doc;
  ASSERT_TRUE(doc.Parse(counters->body).ok());
  EXPECT_TRUE(doc.root()
                  .GetObject("messages")
                  .GetObject("errors_by_code")
                  .Keys()
                  .empty())
      << counters->body;
  // Load drops: full service again.
  absl::SleepFor(absl::Milliseconds(1100));
  for (int i = 0; i < 10; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::SendResponse response;
    grpc::Status s = messaging_->Send(
        &context, Text(absl::StrCat("1555", 300000 + i)), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
}

// A full disk, simulated with a file-size limit on the gateway process (its
// writes past the limit fail with EFBIG; SIGXFSZ is ignored, inherited from
// this process). Webhooks get 503 while the log cannot grow and 200 again
// once it can; every event answered 200 is stored once.
TEST(FullDiskTest, WebhooksAnswer503UntilSpaceIsBack) {
  const std::string dir = MakeTempDir("full_disk");
  constexpr char kSecret[] = "full-disk-app-secret";
  ::signal(SIGXFSZ, SIG_IGN);
  Subprocess gateway(
      {BinaryPath("service/wagate"), "--grpc_address=127.0.0.1:0",
       "--http_address=127.0.0.1:0", "--admin_address=127.0.0.1:0",
       "--store=sqlite:" + dir + "/w.db"},
      {absl::StrCat("WAGATE_APP_SECRET=", kSecret),
       "WAGATE_VERIFY_TOKEN=verify"});
  ASSERT_TRUE(gateway.Start().ok());
  std::string serving =
      gateway.WaitForLine("\"msg\":\"serving\"", absl::Seconds(30));
  ASSERT_FALSE(serving.empty()) << gateway.Stderr();
  const std::string url = absl::StrCat(
      "http://", JsonLogField(serving, "http_address"), "/webhook");
  const std::string grpc_address = JsonLogField(serving, "grpc_address");

  // Runs the HTTP client's io_context until the end of the test, however it
  // ends.
  struct IoThread {
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
        work = boost::asio::make_work_guard(io);
    std::thread thread{[this] { io.run(); }};
    ~IoThread() {
      work.reset();
      io.stop();
      thread.join();
    }
  } io_thread;
  http::Client client(io_thread.io);
  auto post = [&](const std::string& body) {
    http::ClientRequest request;
    request.method = "POST";
    request.url = url;
    request.body = body;
    request.headers = {
        {"Content-Type", "application/json"},
        {"X-Hub-Signature-256", common::SignatureHeader(kSecret, body)}};
    request.timeout = absl::Seconds(30);
    absl::Notification done;
    int status = 0;
    client.Send(std::move(request),
                [&](absl::StatusOr<http::ClientResponse> response) {
                  status = response.ok() ? response->status : 0;
                  done.Notify();
                });
    done.WaitForNotification();
    return status;
  };

  // The disk "fills": no file may grow past 1 MiB (the soft limit; the hard
  // one stays, so it can be raised again without privileges).
  struct rlimit original;
  ASSERT_EQ(prlimit(gateway.pid(), RLIMIT_FSIZE, nullptr, &original), 0);
  struct rlimit small = {1 << 20, original.rlim_max};
  ASSERT_EQ(prlimit(gateway.pid(), RLIMIT_FSIZE, &small, nullptr), 0);
  std::set<std::string> acknowledged;
  std::vector<std::pair<std::string, std::string>> refused;  // tag, body
  auto acknowledge = [&](const std::string& tag) {
    for (int k = 0; k < 10; ++k) {
      acknowledged.insert(absl::StrCat("wamid.", tag, ".", k));
    }
  };
  for (int i = 0; i < 60 && refused.size() < 3; ++i) {
    const std::string tag = absl::StrCat("disk", i);
    std::string body = InboundEnvelope(tag, 10, 2000);  // ~20 KB
    int status = post(body);
    if (status == 200) {
      acknowledge(tag);
    } else {
      EXPECT_EQ(status, 503);
      refused.emplace_back(tag, std::move(body));
    }
  }
  ASSERT_FALSE(refused.empty()) << "the file-size limit never bit";
  // Space is back: Meta's redeliveries are taken.
  ASSERT_EQ(prlimit(gateway.pid(), RLIMIT_FSIZE, &original, nullptr), 0)
      << std::strerror(errno);
  const absl::Time until = absl::Now() + absl::Seconds(20);
  for (const auto& [tag, body] : refused) {
    int status = 0;
    while ((status = post(body)) != 200 && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(200));
    }
    EXPECT_EQ(status, 200) << gateway.Stderr();
    if (status == 200) acknowledge(tag);
  }
  // Every acknowledged event, once.
  auto stub = v1::Events::NewStub(
      grpc::CreateChannel(grpc_address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(3));
  v1::SubscribeRequest request;
  request.set_from_oldest(true);
  auto stream = stub->Subscribe(&context, request);
  std::multiset<std::string> seen;
  v1::Event event;
  while (stream->Read(&event)) seen.insert(event.message().id());
  stream->Finish();
  for (const std::string& id : acknowledged) {
    EXPECT_EQ(seen.count(id), 1u) << id;
  }
  EXPECT_EQ(seen.size(), acknowledged.size());
  gateway.Signal(SIGTERM);
  EXPECT_EQ(gateway.Wait(absl::Seconds(15)), 0) << gateway.Stderr();
}

}  // namespace
}  // namespace wagate::server
