// Two gateway replicas on one Redis (`--store redis://...`), in process, with
// a real redis-server on loopback: a webhook taken by replica A reaches a
// subscriber on replica B; a consumer group with a member on each replica
// gets every event exactly once in total; while Redis is down webhooks get
// 503, and both replicas recover by themselves when it is back.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/common/hmac.h"
#include "service/http/client.h"
#include "service/redis/client.h"
#include "service/redis/testing/redis_server.h"
#include "service/server/gateway.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::server {
namespace {

constexpr char kSecret[] = "redis-replicas-app-secret";

std::string Envelope(const std::string& message_id) {
  return absl::StrCat(
      R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Replica Test"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":")",
      message_id,
      R"(","timestamp":"1749416383","type":"text","text":{"body":"hello"}}]}}]}]})");
}

class RedisReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!redis::TestRedisServer::Installed()) {
      GTEST_SKIP() << redis::TestRedisServer::kBinary << " is not installed";
    }
    ASSERT_TRUE(redis_.Start().ok());
    io_thread_ = std::thread([this] { io_.run(); });
    a_ = StartReplica();
    b_ = StartReplica();
    ASSERT_TRUE(a_ && b_);
  }

  void TearDown() override {
    a_.reset();
    b_.reset();
    http_.reset();
    work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  }

  std::unique_ptr<Gateway> StartReplica() {
    GatewayOptions options;
    options.grpc_address = "127.0.0.1:0";
    options.http_address = "127.0.0.1:0";
    options.graph_base_url = "http://127.0.0.1:1";  // never called here
    options.store = redis_.Url();
    options.env = [](absl::string_view name) -> absl::optional<std::string> {
      if (name == "WAGATE_APP_SECRET") return std::string(kSecret);
      if (name == "WAGATE_VERIFY_TOKEN") return std::string("verify");
      return absl::nullopt;
    };
    options.shutdown_grace = absl::Seconds(1);
    auto gateway = Gateway::Start(std::move(options));
    EXPECT_TRUE(gateway.ok()) << gateway.status();
    return gateway.ok() ? std::move(gateway).value() : nullptr;
  }

  // POSTs a signed webhook carrying one inbound message; returns the HTTP
  // status (0 on a transport failure).
  int PostWebhook(Gateway& gateway, const std::string& message_id) {
    http::ClientRequest request;
    request.method = "POST";
    request.url =
        absl::StrCat("http://127.0.0.1:", gateway.http_port(), "/webhook");
    request.body = Envelope(message_id);
    request.headers = {{"Content-Type", "application/json"},
                       {"X-Hub-Signature-256",
                        common::SignatureHeader(kSecret, request.body)}};
    request.timeout = absl::Seconds(10);
    absl::Notification done;
    int status = 0;
    http_->Send(std::move(request),
                [&](absl::StatusOr<http::ClientResponse> response) {
                  if (response.ok()) status = response->status;
                  done.Notify();
                });
    done.WaitForNotification();
    return status;
  }

  std::unique_ptr<v1::Events::Stub> EventsStub(Gateway& gateway) {
    return v1::Events::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", gateway.grpc_port()),
                            grpc::InsecureChannelCredentials()));
  }

  // The consumer group's state in Redis, for failure messages.
  std::string GroupState() {
    std::string out;
    redis::Client client(redis::ParseUrl(redis_.Url()).value(), {});
    std::function<void(const redis::Reply&)> append =
        [&](const redis::Reply& r) {
          if (r.is_array()) {
            out += "[";
            for (const auto& e : r.elements) {
              append(e);
              out += " ";
            }
            out += "]";
          } else if (r.type == redis::Reply::Type::kInteger) {
            out += absl::StrCat(r.integer);
          } else {
            out += r.str;
          }
        };
    for (const std::vector<std::string>& command :
         std::vector<std::vector<std::string>>{
             {"XINFO", "GROUPS", "{wagate}:events"},
             {"XINFO", "CONSUMERS", "{wagate}:events", "crm"},
             {"XPENDING", "{wagate}:events", "crm", "-", "+", "100"}}) {
      out += absl::StrCat("\n", command[0], " ", command[1], ": ");
      auto reply = client.Command(command);
      if (reply.ok()) {
        append(*reply);
      } else {
        out += reply.status().ToString();
      }
    }
    return out;
  }

  redis::TestRedisServer redis_;
  boost::asio::io_context io_;
  std::unique_ptr<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_ = std::make_unique<boost::asio::executor_work_guard<
          boost::asio::io_context::executor_type>>(io_.get_executor());
  std::thread io_thread_;
  std::unique_ptr<http::Client> http_ = std::make_unique<http::Client>(io_);
  std::unique_ptr<Gateway> a_, b_;
};

// Reads a Subscribe stream on its own thread, recording message ids.
class Reader {
 public:
  Reader(v1::Events::Stub* stub, v1::SubscribeRequest request, bool ack = false)
      : stub_(stub) {
    thread_ = std::thread([this, request, ack] {
      auto stream = stub_->Subscribe(&context_, request);
      v1::Event event;
      while (stream->Read(&event)) {
        {
          absl::MutexLock lock(&mu_);
          ids_.push_back(event.message().id());
        }
        if (ack) {
          grpc::ClientContext ack_context;
          v1::AckRequest ack_request;
          ack_request.set_group(request.group());
          ack_request.add_cursors(event.cursor());
          v1::AckResponse response;
          stub_->Ack(&ack_context, ack_request, &response);
        }
      }
      stream->Finish();
    });
  }
  ~Reader() {
    context_.TryCancel();
    thread_.join();
  }

  std::vector<std::string> ids() {
    absl::MutexLock lock(&mu_);
    return ids_;
  }

 private:
  v1::Events::Stub* stub_;
  grpc::ClientContext context_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
};

// Waits until `done()` or 15 s.
template <typename F>
bool WaitUntil(F done) {
  for (int i = 0; i < 1500; ++i) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

TEST_F(RedisReplicasTest, AWebhookIntoAReachesASubscriberOnB) {
  auto stub_b = EventsStub(*b_);
  v1::SubscribeRequest request;
  request.set_from_oldest(true);
  Reader on_b(stub_b.get(), request);
  ASSERT_EQ(PostWebhook(*a_, "wamid.first"), 200);
  ASSERT_TRUE(WaitUntil([&] { return on_b.ids().size() >= 1; }));
  // The stream on B is now live: later webhooks into A arrive by the tail.
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(PostWebhook(*a_, absl::StrCat("wamid.live.", i)), 200);
  }
  // A redelivery of the same webhook, to the other replica, is a duplicate.
  ASSERT_EQ(PostWebhook(*b_, "wamid.live.0"), 200);
  ASSERT_TRUE(WaitUntil([&] { return on_b.ids().size() >= 6; }));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(on_b.ids(), (std::vector<std::string>{
                            "wamid.first", "wamid.live.0", "wamid.live.1",
                            "wamid.live.2", "wamid.live.3", "wamid.live.4"}));
}

TEST_F(RedisReplicasTest, AGroupWithAMemberOnEachReplicaGetsEachEventOnce) {
  auto stub_a = EventsStub(*a_);
  auto stub_b = EventsStub(*b_);
  v1::SubscribeRequest request;
  request.set_group("crm");
  request.set_from_oldest(true);
  // Create the group before either member starts (from the oldest event).
  ASSERT_EQ(PostWebhook(*a_, "wamid.g.0"), 200);
  Reader member_a(stub_a.get(), request, /*ack=*/true);
  Reader member_b(stub_b.get(), request, /*ack=*/true);
  constexpr int kEvents = 60;
  for (int i = 1; i < kEvents; ++i) {
    Gateway& via = i % 2 ? *a_ : *b_;
    ASSERT_EQ(PostWebhook(via, absl::StrCat("wamid.g.", i)), 200);
  }
  ASSERT_TRUE(WaitUntil([&] {
    return member_a.ids().size() + member_b.ids().size() >= kEvents;
  })) << member_a.ids().size()
      << " + " << member_b.ids().size() << GroupState();
  absl::SleepFor(absl::Milliseconds(300));  // a duplicate would show now
  std::multiset<std::string> all;
  for (const auto& id : member_a.ids()) all.insert(id);
  for (const auto& id : member_b.ids()) all.insert(id);
  EXPECT_EQ(all.size(), static_cast<size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ(all.count(absl::StrCat("wamid.g.", i)), 1u) << i;
  }
  // Both members took part (the group is shared, not copied).
  EXPECT_GT(member_a.ids().size(), 0u);
  EXPECT_GT(member_b.ids().size(), 0u);
}

TEST_F(RedisReplicasTest, RedisDownGives503AndTheReplicasRecover) {
  ASSERT_EQ(PostWebhook(*a_, "wamid.before"), 200);
  redis_.Stop();
  EXPECT_EQ(PostWebhook(*a_, "wamid.during.a"), 503);
  EXPECT_EQ(PostWebhook(*b_, "wamid.during.b"), 503);
  ASSERT_TRUE(redis_.Start().ok());  // same port, same append-only file
  // Meta redelivers: within a few seconds both replicas take webhooks again.
  EXPECT_TRUE(
      WaitUntil([&] { return PostWebhook(*a_, "wamid.during.a") == 200; }));
  EXPECT_TRUE(
      WaitUntil([&] { return PostWebhook(*b_, "wamid.during.b") == 200; }));
  // A subscriber on B sees everything once, then live events from A.
  auto stub_b = EventsStub(*b_);
  v1::SubscribeRequest request;
  request.set_from_oldest(true);
  Reader on_b(stub_b.get(), request);
  ASSERT_TRUE(WaitUntil([&] { return on_b.ids().size() >= 3; }));
  ASSERT_EQ(PostWebhook(*a_, "wamid.after"), 200);
  ASSERT_TRUE(WaitUntil([&] { return on_b.ids().size() >= 4; }));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(on_b.ids(),
            (std::vector<std::string>{"wamid.before", "wamid.during.a",
                                      "wamid.during.b", "wamid.after"}));
}

}  // namespace
}  // namespace wagate::server
