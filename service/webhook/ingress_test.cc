#include "service/webhook/ingress.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gtest/gtest.h"
#include "service/common/hmac.h"
#include "service/events/store.h"
#include "service/http/client.h"
#include "service/http/server.h"
#include "service/metrics/gateway_metrics.h"
#include "service/metrics/registry.h"
#include "service/webhook/parser.h"
#include "wagate/v1/events.pb.h"

namespace wagate::webhook {
namespace {

constexpr char kSecret[] = "current-app-secret";
constexpr char kOldSecret[] = "previous-app-secret";
constexpr char kToken[] = "my-verify-token";

std::string SourceDir() {
  const char* dir = std::getenv("WAGATE_SOURCE_DIR");
  return dir != nullptr ? dir : WAGATE_TEST_SOURCE_DIR;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Fixture(const std::string& name) {
  return ReadFile(SourceDir() + "/tests/fixtures/webhooks/" + name + ".json");
}

std::vector<std::string> JsonFiles(const std::string& dir) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (absl::EndsWith(name, ".json")) files.push_back(dir + "/" + name);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

IngressOptions Options(std::vector<std::string> secrets, std::string token) {
  IngressOptions options;
  options.app_secrets = std::move(secrets);
  options.verify_token = std::move(token);
  return options;
}

// A store that refuses every append, as a full disk or queue would.
class FailingStore : public events::Store {
 public:
  explicit FailingStore(bool inline_failure) : inline_(inline_failure) {}
  ~FailingStore() override {
    if (thread_.joinable()) thread_.join();
  }

  void Append(std::vector<events::EventRecord> records,
              AppendCallback done) override {
    appends_++;
    auto fail = [done] {
      done(absl::UnavailableError("disk I/O error (injected)"));
    };
    if (inline_) {
      fail();
    } else {
      // Like the SQLite backend: the failure arrives on another thread.
      if (thread_.joinable()) thread_.join();
      thread_ = std::thread(fail);
    }
  }
  absl::StatusOr<std::vector<events::EventRecord>> ReadAfter(
      absl::string_view, size_t, const events::Filter&) override {
    return std::vector<events::EventRecord>{};
  }
  absl::StatusOr<std::string> LatestCursor() override { return ""; }
  absl::Status ValidateCursor(absl::string_view) const override {
    return absl::OkStatus();
  }
  ListenerId AddListener(Listener) override { return 1; }
  void RemoveListener(ListenerId) override {}
  absl::StatusOr<events::RetentionResult> RunRetention() override {
    return events::RetentionResult{};
  }
  events::StoreStats Stats() const override { return {}; }
  absl::Status EnsureGroup(absl::string_view, absl::string_view,
                           const events::Filter&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<events::ClaimBatch> ClaimNext(absl::string_view,
                                               absl::string_view, size_t,
                                               const events::Filter&,
                                               absl::Duration) override {
    return events::ClaimBatch{};
  }
  absl::StatusOr<size_t> Ack(absl::string_view,
                             const std::vector<std::string>&) override {
    return 0;
  }
  events::IdempotencyKeys* idempotency_keys() override { return nullptr; }

  int appends() const { return appends_.load(); }

 private:
  const bool inline_;
  std::atomic<int> appends_{0};
  std::thread thread_;
};

class IngressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat(
               "wagate_ingress_test_", ::getpid(), "_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto store = events::OpenStore("sqlite:" + (dir_ / "x.db").string());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void TearDown() override {
    Stop();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts the HTTP server with an ingress over `store` (default: the
  // SQLite store).
  void Start(IngressOptions options = {}, events::Store* store = nullptr,
             http::ServerOptions server_options = {}) {
    if (io_.stopped()) io_.restart();
    if (!work_) work_.emplace(boost::asio::make_work_guard(io_));
    if (options.app_secrets.empty()) options.app_secrets = {kSecret};
    if (options.verify_token.empty()) options.verify_token = kToken;
    auto ingress =
        Ingress::Create(std::move(options), store ? store : store_.get());
    ASSERT_TRUE(ingress.ok()) << ingress.status();
    ingress_ = std::move(*ingress);
    server_ = std::make_unique<http::Server>(io_, server_options);
    ingress_->RegisterRoutes(*server_);
    ASSERT_TRUE(server_->Listen("127.0.0.1:0").ok());
    client_ = std::make_unique<http::Client>(io_);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void Stop() {
    if (server_ != nullptr) server_->Stop();
    client_.reset();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    server_.reset();
    ingress_.reset();
  }

  http::ClientResponse Call(const std::string& method,
                            const std::string& target, std::string body,
                            http::HeaderList headers = {}) {
    std::promise<absl::StatusOr<http::ClientResponse>> promise;
    http::ClientRequest request;
    request.method = method;
    request.url = absl::StrCat("http://127.0.0.1:", server_->port(), target);
    request.headers = std::move(headers);
    request.body = std::move(body);
    request.timeout = absl::Seconds(20);
    client_->Send(std::move(request),
                  [&](absl::StatusOr<http::ClientResponse> r) {
                    promise.set_value(std::move(r));
                  });
    absl::StatusOr<http::ClientResponse> response = promise.get_future().get();
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : http::ClientResponse{};
  }

  // POSTs `body` signed with `secret`.
  http::ClientResponse Post(const std::string& body,
                            const std::string& secret = kSecret) {
    return Call(
        "POST", "/webhook", body,
        {{"Content-Type", "application/json"},
         {"X-Hub-Signature-256", common::SignatureHeader(secret, body)}});
  }

  std::vector<events::EventRecord> Stored() {
    auto records = store_->ReadAfter("", 100000, events::Filter{});
    EXPECT_TRUE(records.ok()) << records.status();
    return records.ok() ? *records : std::vector<events::EventRecord>{};
  }

  std::filesystem::path dir_;
  std::unique_ptr<events::Store> store_;
  boost::asio::io_context io_;
  std::optional<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Client> client_;
  std::unique_ptr<Ingress> ingress_;
};

TEST(IngressCreateTest, RequiresSecretsTokenAndStore) {
  FailingStore store(true);
  EXPECT_EQ(Ingress::Create(Options({}, kToken), &store).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ingress::Create(Options({""}, kToken), &store).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ingress::Create(Options({kSecret}, ""), &store).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Ingress::Create(Options({kSecret}, kToken), nullptr).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Ingress::Create(Options({kSecret}, kToken), &store).ok());
}

TEST_F(IngressTest, VerificationEchoesChallenge) {
  Start();
  http::ClientResponse r =
      Call("GET",
           absl::StrCat("/webhook?hub.mode=subscribe&hub.challenge=1158201444"
                        "&hub.verify_token=",
                        kToken),
           "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "1158201444");
  EXPECT_TRUE(absl::StartsWith(r.Header("Content-Type"), "text/plain"));
  EXPECT_EQ(ingress_->stats().verify_ok, 1u);
}

TEST_F(IngressTest, VerificationRefusedWithoutTheRightToken) {
  Start();
  for (const std::string& target : std::vector<std::string>{
           "/webhook?hub.mode=subscribe&hub.challenge=1&hub.verify_token=bad",
           "/webhook?hub.mode=subscribe&hub.challenge=1&hub.verify_token=" +
               std::string(kToken) + "x",
           "/webhook?hub.mode=subscribe&hub.challenge=1",
           "/webhook?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" +
               std::string(kToken),
           "/webhook?hub.mode=subscribe&hub.verify_token=" +
               std::string(kToken),
           "/webhook",
       }) {
    http::ClientResponse r = Call("GET", target, "");
    EXPECT_EQ(r.status, 403) << target;
    EXPECT_FALSE(absl::StrContains(r.body, "1")) << target;
  }
  EXPECT_EQ(ingress_->stats().verify_refused, 6u);
}

TEST_F(IngressTest, SignedPostIsStoredBeforeOk) {
  Start();
  const std::string body = Fixture("batched_2_entries_2_changes");
  ASSERT_FALSE(body.empty());
  http::ClientResponse r = Post(body);
  EXPECT_EQ(r.status, 200);
  // 200 means durable: the events are readable right away.
  std::vector<events::EventRecord> stored = Stored();
  ASSERT_EQ(stored.size(), 9u);
  auto parsed = ParseWebhook(body, absl::Now());
  ASSERT_TRUE(parsed.ok());
  for (size_t i = 0; i < stored.size(); ++i) {
    SCOPED_TRACE(i);
    const events::EventRecord& record = stored[i];
    wagate::v1::Event event;
    ASSERT_TRUE(event.ParseFromString(record.payload));
    EXPECT_EQ(record.id, (*parsed)[i].id());
    EXPECT_EQ(event.id(), record.id);
    EXPECT_EQ(record.kind, EventKind(event));
    EXPECT_EQ(record.waba_id, event.waba_id());
    EXPECT_EQ(record.phone_number_id, event.phone_number_id());
    EXPECT_TRUE(event.cursor().empty());
    EXPECT_FALSE(event.field().empty());
    EXPECT_TRUE(event.has_received_at());
  }
  EXPECT_EQ(stored[0].kind, "message");
  EXPECT_EQ(stored[3].kind, "status");
  EXPECT_EQ(stored[8].kind, "template_status");
  EXPECT_EQ(stored[5].phone_number_id, "222222222222222");
  IngressStats stats = ingress_->stats();
  EXPECT_EQ(stats.posts_ok, 1u);
  EXPECT_EQ(stats.events_by_field["messages"].stored, 8u);
  EXPECT_EQ(stats.events_by_field["message_template_status_update"].stored, 1u);
}

TEST_F(IngressTest, RotatedSecretAccepted) {
  Start(Options({kSecret, kOldSecret}, kToken));
  EXPECT_EQ(Post(Fixture("message_text"), kOldSecret).status, 200);
  EXPECT_EQ(Post(Fixture("message_image"), kSecret).status, 200);
  EXPECT_EQ(Stored().size(), 2u);
}

TEST_F(IngressTest, UnsignedOrWronglySignedStoresNothing) {
  Start();
  const std::string body = Fixture("message_text");
  http::ClientResponse missing =
      Call("POST", "/webhook", body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(missing.status, 401);
  http::ClientResponse malformed = Call(
      "POST", "/webhook", body, {{"X-Hub-Signature-256", "sha256=nothex"}});
  EXPECT_EQ(malformed.status, 401);
  EXPECT_EQ(Post(body, "some-other-secret").status, 403);
  // Signed for another body.
  http::ClientResponse swapped =
      Call("POST", "/webhook", body,
           {{"X-Hub-Signature-256",
             common::SignatureHeader(kSecret, Fixture("message_image"))}});
  EXPECT_EQ(swapped.status, 403);
  EXPECT_TRUE(Stored().empty());
  IngressStats stats = ingress_->stats();
  EXPECT_EQ(stats.posts_unauthenticated, 2u);
  EXPECT_EQ(stats.posts_forbidden, 2u);
  EXPECT_EQ(stats.posts_ok, 0u);
}

TEST_F(IngressTest, InvalidBodiesAre400AndStoreNothing) {
  Start();
  for (const std::string& body : {
           std::string("{not json"),
           std::string(R"({"object":"page","entry":[]})"),
           Fixture("message_text") + "{}",  // trailing data
           ReadFile(SourceDir() + "/../shared/conformance/webhooks/malformed/"
                                  "java-api__textMessageStatusRead_trailing_"
                                  "data.json"),
       }) {
    if (body.empty()) continue;  // corpus absent
    EXPECT_EQ(Post(body).status, 400) << body.substr(0, 40);
  }
  EXPECT_TRUE(Stored().empty());
  EXPECT_GE(ingress_->stats().posts_invalid, 3u);
}

TEST_F(IngressTest, RedeliveryStoredOnce) {
  Start();
  const std::string body = Fixture("batched_2_entries_2_changes");
  EXPECT_EQ(Post(body).status, 200);
  EXPECT_EQ(Post(body).status, 200);  // Meta's redelivery is acknowledged
  // Re-serialized with other whitespace: still the same updates.
  std::string reformatted = body;
  reformatted.erase(std::remove(reformatted.begin(), reformatted.end(), '\n'),
                    reformatted.end());
  EXPECT_EQ(Post(reformatted).status, 200);
  EXPECT_EQ(Stored().size(), 9u);
  IngressStats stats = ingress_->stats();
  EXPECT_EQ(stats.posts_ok, 3u);
  EXPECT_EQ(stats.events_by_field["messages"].stored, 8u);
  EXPECT_EQ(stats.events_by_field["messages"].duplicate, 16u);
  EXPECT_EQ(stats.events_by_field["message_template_status_update"].duplicate,
            2u);
}

// A group message's `delivered` status of each participant is its own event
// (issue 14: the later ones were dropped as duplicates of the first, yet
// answered 200); the redelivery of the POST still stores nothing new.
TEST_F(IngressTest, GroupStatusOfEveryParticipantIsStored) {
  Start();
  for (const char* name : {"status_group_three_participants",
                           "status_group_three_participants_user_ids"}) {
    SCOPED_TRACE(name);
    const std::string body = Fixture(name);
    ASSERT_FALSE(body.empty());
    const size_t before = Stored().size();
    EXPECT_EQ(Post(body).status, 200);
    std::vector<events::EventRecord> stored = Stored();
    ASSERT_EQ(stored.size(), before + 3);
    std::set<std::string> ids;
    for (size_t i = before; i < stored.size(); ++i) {
      EXPECT_EQ(stored[i].kind, "status");
      ids.insert(stored[i].id);
    }
    EXPECT_EQ(ids.size(), 3u);
    EXPECT_EQ(Post(body).status, 200);  // Meta's redelivery
    EXPECT_EQ(Stored().size(), before + 3);
  }
  IngressStats stats = ingress_->stats();
  EXPECT_EQ(stats.events_by_field["messages"].stored, 6u);
  EXPECT_EQ(stats.events_by_field["messages"].duplicate, 6u);
}

// Concurrent POSTs (Meta sends webhooks concurrently), including the same
// body several times at once: each distinct event stored once, all 200.
TEST_F(IngressTest, ConcurrentPostsAndRedeliveries) {
  Start();
  constexpr int kDistinct = 40;
  constexpr int kCopies = 3;
  std::vector<std::string> bodies;
  for (int i = 0; i < kDistinct; ++i) {
    bodies.push_back(absl::StrCat(
        R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"7"},"messages":[{"id":"wamid.C)",
        i,
        R"(","from":"5","timestamp":"1","type":"text","text":{"body":"x"}}]}}]}]})"));
  }
  std::vector<std::promise<int>> done(kDistinct * kCopies);
  for (int copy = 0; copy < kCopies; ++copy) {
    for (int i = 0; i < kDistinct; ++i) {
      http::ClientRequest request;
      request.method = "POST";
      request.url =
          absl::StrCat("http://127.0.0.1:", server_->port(), "/webhook");
      request.body = bodies[i];
      request.headers = {
          {"X-Hub-Signature-256", common::SignatureHeader(kSecret, bodies[i])}};
      std::promise<int>* p = &done[copy * kDistinct + i];
      client_->Send(std::move(request),
                    [p](absl::StatusOr<http::ClientResponse> r) {
                      p->set_value(r.ok() ? r->status : -1);
                    });
    }
  }
  for (auto& p : done) EXPECT_EQ(p.get_future().get(), 200);
  EXPECT_EQ(Stored().size(), static_cast<size_t>(kDistinct));
  IngressStats stats = ingress_->stats();
  EXPECT_EQ(stats.posts_ok, static_cast<uint64_t>(kDistinct * kCopies));
  EXPECT_EQ(stats.events_by_field["messages"].stored,
            static_cast<uint64_t>(kDistinct));
  EXPECT_EQ(stats.events_by_field["messages"].duplicate,
            static_cast<uint64_t>(kDistinct * (kCopies - 1)));
}

TEST_F(IngressTest, StoreFailureIs503) {
  FailingStore async_failure(false);
  Start({}, &async_failure);
  EXPECT_EQ(Post(Fixture("message_text")).status, 503);
  EXPECT_EQ(async_failure.appends(), 1);
  IngressStats stats = ingress_->stats();
  EXPECT_EQ(stats.posts_store_unavailable, 1u);
  EXPECT_EQ(stats.events_by_field["messages"].failed, 1u);
  Stop();

  FailingStore inline_failure(true);
  Start({}, &inline_failure);
  EXPECT_EQ(Post(Fixture("status_sent")).status, 503);
  EXPECT_EQ(inline_failure.appends(), 1);
  Stop();  // before the stores go
}

TEST_F(IngressTest, BodyOverLimitIs413) {
  IngressOptions options;
  options.max_body_bytes = 4096;
  http::ServerOptions server_options;
  server_options.max_body_bytes = 64 << 10;
  Start(options, nullptr, server_options);
  // Over the ingress's limit, under the server's.
  std::string body = Fixture("message_text");
  body.insert(body.size() - 2, std::string(8000, ' '));
  EXPECT_EQ(Post(body).status, 413);
  // Over the server's limit too.
  std::string huge = Fixture("message_text");
  huge.insert(huge.size() - 2, std::string(100 << 10, ' '));
  EXPECT_EQ(Post(huge).status, 413);
  EXPECT_TRUE(Stored().empty());
  EXPECT_EQ(ingress_->stats().posts_too_large, 1u);
}

TEST_F(IngressTest, MetricsCounted) {
  metrics::Registry registry;
  metrics::GatewayMetrics m(registry);
  IngressOptions options;
  options.metrics = &m;
  Start(options);
  const std::string body = Fixture("batched_2_entries_2_changes");
  EXPECT_EQ(Post(body).status, 200);
  EXPECT_EQ(Post(body).status, 200);
  EXPECT_EQ(Post(body, "wrong-secret").status, 403);
  EXPECT_EQ(Post("{").status, 400);
  EXPECT_EQ(Call("GET",
                 absl::StrCat("/webhook?hub.mode=subscribe&hub.challenge=7"
                              "&hub.verify_token=",
                              kToken),
                 "")
                .status,
            200);
  EXPECT_EQ(m.webhook_requests->Get({"200"})->Value(), 3u);
  EXPECT_EQ(m.webhook_requests->Get({"403"})->Value(), 1u);
  EXPECT_EQ(m.webhook_requests->Get({"400"})->Value(), 1u);
  EXPECT_EQ(m.webhook_events->Get({"messages", "stored"})->Value(), 8u);
  EXPECT_EQ(m.webhook_events->Get({"messages", "duplicate"})->Value(), 8u);
  EXPECT_EQ(m.webhook_events->Get({"message_template_status_update", "stored"})
                ->Value(),
            1u);
  EXPECT_EQ(m.webhook_ack_duration->Read().count, 2u);
  Stop();  // before the metrics go
}

TEST_F(IngressTest, EmptyEntryListIsOk) {
  Start();
  EXPECT_EQ(Post(R"({"object":"whatsapp_business_account","entry":[]})").status,
            200);
  EXPECT_TRUE(Stored().empty());
}

// The whole conformance corpus over HTTP: every item stored, typed, once.
TEST_F(IngressTest, ConformanceCorpusStoredTypedAndCounted) {
  const std::string corpus = SourceDir() + "/../shared/conformance/webhooks";
  std::vector<std::string> files = JsonFiles(corpus + "/pywa");
  std::vector<std::string> java = JsonFiles(corpus + "/java-api");
  files.insert(files.end(), java.begin(), java.end());
  if (files.empty()) GTEST_SKIP() << "no conformance corpus at " << corpus;
  Start();
  size_t expected = 0;
  for (const std::string& path : files) {
    const std::string body = ReadFile(path);
    auto parsed = ParseWebhook(body, absl::Now());
    ASSERT_TRUE(parsed.ok()) << path;
    expected += parsed->size();
    EXPECT_EQ(Post(body).status, 200) << path;
  }
  std::vector<events::EventRecord> stored = Stored();
  EXPECT_EQ(stored.size(), expected);
  EXPECT_GE(stored.size(), files.size());
  for (const events::EventRecord& record : stored) {
    EXPECT_NE(record.kind, "unknown") << record.id;
    EXPECT_FALSE(record.kind.empty());
  }
}

}  // namespace
}  // namespace wagate::webhook
