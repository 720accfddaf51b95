// The Sender against real parts: the in-process emulator (or a small HTTP
// server playing Graph where the emulator cannot misbehave as needed),
// graph::GraphClient over http::Client, a real SQLite store, and fakes of
// events::IdempotencyKeys only where a test must hold or inspect the store's
// answers. Covers issue 14's send path: idempotency keys per client and per
// request, the store never called on a thread that sends, one Graph client
// with one redaction, and bounded metric labels.
#include "service/messaging/sender.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "emulator/emulator.h"
#include "emulator/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config/accounts.h"
#include "service/events/store.h"
#include "service/graph/graph_client.h"
#include "service/graph/graph_error.h"
#include "service/graph/send_request_json.h"
#include "service/http/client.h"
#include "service/http/server.h"
#include "service/metrics/gateway_metrics.h"
#include "service/metrics/registry.h"
#include "simdjson.h"

namespace wagate::messaging {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "sender-test-token-5f3a9c";
constexpr char kPnid[] = "106540352242922";
constexpr char kPnid2[] = "106540352242923";

// An io_context run by `n` threads, whose ids it knows.
class Io {
 public:
  explicit Io(int n) : guard_(io.get_executor()) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] { io.run(); });
    }
    for (const std::thread& t : threads_) ids_.insert(t.get_id());
  }
  ~Io() {
    guard_.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  bool IsIoThread(std::thread::id id) const { return ids_.count(id) > 0; }

  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      guard_;
  std::vector<std::thread> threads_;
  std::set<std::thread::id> ids_;
};

// One Send's outcome, the thread it came on and when.
struct Result {
  absl::Notification done;
  SendOutcome outcome;
  std::thread::id thread;
  absl::Time at;

  Sender::SendCallback Callback() {
    return [this](SendOutcome o) {
      outcome = std::move(o);
      thread = std::this_thread::get_id();
      at = absl::Now();
      done.Notify();
    };
  }
  const SendOutcome& Wait() {
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return outcome;
  }
};

v1::SendRequest Text(const std::string& body, const std::string& key = "",
                     const std::string& pnid = kPnid) {
  v1::SendRequest r;
  r.set_phone_number_id(pnid);
  r.set_to("16505551234");
  r.mutable_text()->set_body(body);
  r.set_idempotency_key(key);
  return r;
}

// IdempotencyKeys whose answers the test controls: Begin answers with
// `next_begin` (kNew by default) from the fake's own thread, or holds the
// answer until Release() when `hold` is set; Complete/Abandon are recorded
// and answered OK from that thread.
class FakeKeys : public events::IdempotencyKeys {
 public:
  FakeKeys() : thread_([this] { Loop(); }) {}
  ~FakeKeys() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

  void Begin(std::string key, std::string fingerprint, absl::Duration,
             BeginCallback done) override {
    absl::MutexLock lock(&mu_);
    begins_.push_back({key, fingerprint, std::this_thread::get_id()});
    events::IdempotencyResult r = next_begin_;
    if (hold_) {
      held_.push_back([done, r] { done(r); });
    } else {
      ready_.push_back([done, r] { done(r); });
    }
  }
  void Complete(std::string key, std::string result,
                DoneCallback done) override {
    absl::MutexLock lock(&mu_);
    completes_.push_back({key, result, std::this_thread::get_id()});
    ready_.push_back([done] { done(absl::OkStatus()); });
  }
  void Abandon(std::string key, DoneCallback done) override {
    absl::MutexLock lock(&mu_);
    abandons_.push_back(key);
    ready_.push_back([done] { done(absl::OkStatus()); });
  }

  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    hold_ = false;
    for (auto& f : held_) ready_.push_back(std::move(f));
    held_.clear();
  }
  void AnswerBeginWith(events::IdempotencyResult r) {
    absl::MutexLock lock(&mu_);
    next_begin_ = std::move(r);
  }

  struct Call {
    std::string key, value;
    std::thread::id thread;
  };
  std::vector<Call> begins() {
    absl::MutexLock lock(&mu_);
    return begins_;
  }
  std::vector<Call> completes() {
    absl::MutexLock lock(&mu_);
    return completes_;
  }
  std::thread::id thread_id() const { return thread_.get_id(); }

 private:
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !ready_.empty();
  }
  void Loop() {
    while (true) {
      std::function<void()> f;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &FakeKeys::HasWork));
        if (ready_.empty()) return;
        f = std::move(ready_.front());
        ready_.pop_front();
      }
      f();
    }
  }

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  events::IdempotencyResult next_begin_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> ready_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> held_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> begins_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> completes_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> abandons_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class SenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat(
               "wagate_sender_test_", getpid(), "_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (sender_) sender_->Shutdown();
    // In-flight HTTP calls end with the client; then nothing calls back.
    http_.reset();
    sender_.reset();
    graph_.reset();
    store_.reset();
    if (emulator_) emulator_->Stop();
    fs::remove_all(dir_);
  }

  // The emulator serving kPnid and kPnid2 (plus `extra` numbers).
  void StartEmulator(std::vector<std::string> extra = {}) {
    emulator::EmulatorOptions options;
    options.address = "127.0.0.1:0";
    options.access_tokens = {kToken};
    options.phone_number_ids = {kPnid, kPnid2};
    for (auto& n : extra) options.phone_number_ids.push_back(n);
    options.throughput_mps = 0;
    options.pair_rate_limit = false;
    options.webhook_url = "";
    emulator_ = std::make_unique<emulator::Emulator>(emulator_io_.io, options);
    ASSERT_TRUE(emulator_->Start().ok());
    graph_url_ = emulator_->base_url();
    control_ = std::make_unique<emulator::testing::GraphCaller>(
        emulator_io_.io, graph_url_, kToken);
  }

  absl::StatusOr<config::Accounts> Accounts(bool single_account) {
    config::v1::Config cfg;
    if (!single_account) {
      auto* account = cfg.add_accounts();
      account->set_waba_id("102290129340398");
      account->set_access_token_env("TEST_TOKEN");
      for (const char* id : {kPnid, kPnid2}) {
        auto* n = account->add_phone_numbers();
        n->set_id(id);
        n->set_throughput_mps(1000);
      }
    }
    return config::Accounts::Create(
        cfg, [](absl::string_view name) -> absl::optional<std::string> {
          if (name == "TEST_TOKEN" || name == "WAGATE_ACCESS_TOKEN") {
            return std::string(kToken);
          }
          return absl::nullopt;
        });
  }

  struct SenderConfig {
    Io* io = nullptr;  // default: io_
    // The store's keys, a fake's, or none.
    enum class Keys { kSqlite, kFake, kNone } keys = Keys::kSqlite;
    bool single_account = false;
    metrics::GatewayMetrics* metrics = nullptr;
    size_t max_number_labels = 1000;
  };

  void StartSender(SenderConfig c) {
    Io& io = c.io != nullptr ? *c.io : io_;
    auto accounts = Accounts(c.single_account);
    ASSERT_TRUE(accounts.ok()) << accounts.status();
    accounts_ = std::make_unique<config::Accounts>(*std::move(accounts));
    events::IdempotencyKeys* keys = nullptr;
    if (c.keys == SenderConfig::Keys::kSqlite) {
      auto store = events::OpenStore(
          absl::StrCat("sqlite:", (dir_ / "store.db").string()));
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = *std::move(store);
      keys = store_->idempotency_keys();
    } else if (c.keys == SenderConfig::Keys::kFake) {
      keys = &fake_keys_;
    }
    http_ = std::make_unique<http::Client>(io.io);
    graph::GraphClientOptions go;
    go.base_url = graph_url_;
    go.api_version = "v24.0";
    graph_ = std::make_unique<graph::GraphClient>(*http_, go);
    SenderOptions so;
    so.metrics = c.metrics;
    so.max_number_labels = c.max_number_labels;
    sender_ = std::make_unique<Sender>(io.io, *graph_, *accounts_, keys, so);
    sender_->SetThroughput(kPnid, 1000);
    sender_->SetThroughput(kPnid2, 1000);
  }

  SendOutcome SendSync(absl::string_view client, v1::SendRequest request,
                       absl::Duration timeout = absl::Seconds(10)) {
    Result r;
    sender_->Send(client, std::move(request), absl::Now() + timeout,
                  r.Callback());
    return r.Wait();
  }

  int64_t Accepted() {
    simdjson::dom::parser p;
    simdjson::dom::element e;
    const std::string body = control_->Call("GET", "/_emulator/counters").body;
    EXPECT_EQ(p.parse(body).get(e), simdjson::SUCCESS) << body;
    int64_t n = 0;
    EXPECT_EQ(e["messages"]["accepted"].get(n), simdjson::SUCCESS);
    return n;
  }
  void SetFaults(const std::string& json) {
    EXPECT_EQ(control_->Call("POST", "/_emulator/faults", json).status, 200);
  }

  fs::path dir_;
  emulator::testing::IoThreads emulator_io_;
  Io io_{2};
  // For tests that need to know the io thread, or to have only one.
  Io single_io_{1};
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<emulator::testing::GraphCaller> control_;
  std::string graph_url_;
  FakeKeys fake_keys_;
  std::unique_ptr<config::Accounts> accounts_;
  std::unique_ptr<events::Store> store_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<graph::GraphClient> graph_;
  std::unique_ptr<Sender> sender_;
};

// ------------------------------------------------------------ key scoping

TEST(ScopedIdempotencyKeyTest, NoNameOrKeyCanBeReadAsAnother) {
  // With a bare separator these pairs would collide.
  EXPECT_NE(ScopedIdempotencyKey("a:1", "2", "k"),
            ScopedIdempotencyKey("a", "1:2", "k"));
  EXPECT_NE(ScopedIdempotencyKey("a\n1", "2", "k"),
            ScopedIdempotencyKey("a", "1\n2", "k"));
  EXPECT_NE(ScopedIdempotencyKey("", "12", "3k"),
            ScopedIdempotencyKey("", "123", "k"));
  EXPECT_NE(ScopedIdempotencyKey("1", "", "k"),
            ScopedIdempotencyKey("", "1", "k"));
  EXPECT_EQ(ScopedIdempotencyKey("crm", "106540352242922", "order-42"),
            "3:crm15:106540352242922order-42");
}

TEST(RequestFingerprintTest, BindsNumberAndBody) {
  const std::string fp = RequestFingerprint(kPnid, R"({"to":"1"})");
  EXPECT_EQ(fp.size(), 32u);
  EXPECT_EQ(fp, RequestFingerprint(kPnid, R"({"to":"1"})"));
  EXPECT_NE(fp, RequestFingerprint(kPnid2, R"({"to":"1"})"));
  EXPECT_NE(fp, RequestFingerprint(kPnid, R"({"to":"2"})"));
  EXPECT_NE(RequestFingerprint("1", "2{}"), RequestFingerprint("12", "{}"));
}

// ------------------------------------------------------------ item 1

TEST_F(SenderTest, SameKeyFromTwoClientsSendsBoth) {
  StartEmulator();
  StartSender({});
  SendOutcome a = SendSync("client-a", Text("hello", "order-42"));
  SendOutcome b = SendSync("client-b", Text("hello", "order-42"));
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  ASSERT_TRUE(b.status.ok()) << b.status.error_message();
  EXPECT_NE(a.response.message_id(), b.response.message_id());
  EXPECT_EQ(Accepted(), 2);
  // Each client's repeat answers its own first result.
  EXPECT_EQ(
      SendSync("client-a", Text("hello", "order-42")).response.message_id(),
      a.response.message_id());
  EXPECT_EQ(
      SendSync("client-b", Text("hello", "order-42")).response.message_id(),
      b.response.message_id());
  EXPECT_EQ(Accepted(), 2);
}

TEST_F(SenderTest, SameClientSameKeySameBodySendsOnce) {
  StartEmulator();
  StartSender({});
  SendOutcome first = SendSync("crm", Text("hello", "order-7"));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  SendOutcome again = SendSync("crm", Text("hello", "order-7"));
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.response.message_id(), first.response.message_id());
  EXPECT_EQ(Accepted(), 1);
  auto stats = sender_->Stats();
  EXPECT_EQ((stats.results[{kPnid, "replayed", 0}]), 1u);
}

TEST_F(SenderTest, SameKeyWithADifferentRequestIsAlreadyExistsAndNotSent) {
  StartEmulator();
  StartSender({});
  ASSERT_TRUE(SendSync("crm", Text("hello", "order-9")).status.ok());
  for (v1::SendRequest other : {Text("hello, changed", "order-9"), [] {
                                  v1::SendRequest r = Text("hello", "order-9");
                                  r.set_to("16505550000");  // another recipient
                                  return r;
                                }()}) {
    SendOutcome o = SendSync("crm", other);
    EXPECT_EQ(o.status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(o.status.error_message(),
              "idempotency_key: already used for a different request");
    auto details = graph::GraphErrorFromGrpcStatus(o.status);
    ASSERT_TRUE(details.has_value());
    EXPECT_EQ(details->code(), 0);
    EXPECT_FALSE(details->outcome_unknown());
  }
  EXPECT_EQ(Accepted(), 1);
  // The same key from another number is another key.
  EXPECT_TRUE(SendSync("crm", Text("hello", "order-9", kPnid2)).status.ok());
  EXPECT_EQ(Accepted(), 2);
  EXPECT_EQ((sender_->Stats().results[{kPnid, "idempotency_mismatch", 0}]), 2u);
}

TEST_F(SenderTest, ADifferentRequestWhileTheFirstIsInFlightIsAlreadyExists) {
  StartEmulator();
  StartSender({.keys = SenderConfig::Keys::kFake});
  fake_keys_.Hold();  // the first send waits for its reservation
  Result first, same, different;
  sender_->Send("crm", Text("hello", "k"), absl::Now() + absl::Seconds(10),
                first.Callback());
  sender_->Send("crm", Text("other", "k"), absl::Now() + absl::Seconds(10),
                different.Callback());
  // Refused at once, on the caller's thread, without asking the store.
  ASSERT_TRUE(different.done.HasBeenNotified());
  EXPECT_EQ(different.outcome.status.error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  sender_->Send("crm", Text("hello", "k"), absl::Now() + absl::Seconds(10),
                same.Callback());
  EXPECT_EQ(fake_keys_.begins().size(), 1u);
  fake_keys_.Release();
  ASSERT_TRUE(first.Wait().status.ok()) << first.outcome.status.error_message();
  ASSERT_TRUE(same.Wait().status.ok());
  EXPECT_EQ(same.outcome.response.message_id(),
            first.outcome.response.message_id());
  EXPECT_EQ(Accepted(), 1);
}

TEST_F(SenderTest, ADifferentRequestForAKeyHeldElsewhereIsRefusedAtOnce) {
  StartEmulator();
  StartSender({.keys = SenderConfig::Keys::kFake});
  events::IdempotencyResult held;
  held.state = events::IdempotencyState::kInProgress;
  held.fingerprint = "another request's fingerprint";
  fake_keys_.AnswerBeginWith(held);
  const absl::Time start = absl::Now();
  SendOutcome o = SendSync("crm", Text("hello", "k"), absl::Seconds(5));
  // No polling until the deadline: the answer cannot change.
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(o.status.error_message(), HasSubstr("idempotency_key"));
  EXPECT_EQ(Accepted(), 0);
  // The same request held elsewhere is waited for (ABORTED at the deadline).
  held.fingerprint = RequestFingerprint(
      kPnid, graph::BuildSendJson(Text("hello", "k")).value());
  fake_keys_.AnswerBeginWith(held);
  o = SendSync("crm", Text("hello", "k"), absl::Milliseconds(400));
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_GE(fake_keys_.begins().size(), 3u);  // polled
  EXPECT_EQ(Accepted(), 0);
}

TEST_F(SenderTest, TheStoreGetsTheScopedKeyAndTheRequestsFingerprint) {
  StartEmulator();
  StartSender({.keys = SenderConfig::Keys::kFake});
  ASSERT_TRUE(SendSync("crm", Text("hello", "order-1")).status.ok());
  auto begins = fake_keys_.begins();
  ASSERT_EQ(begins.size(), 1u);
  EXPECT_EQ(begins[0].key, ScopedIdempotencyKey("crm", kPnid, "order-1"));
  EXPECT_EQ(begins[0].value,
            RequestFingerprint(
                kPnid, graph::BuildSendJson(Text("hello", "order-1")).value()));
  auto completes = fake_keys_.completes();
  ASSERT_EQ(completes.size(), 1u);
  EXPECT_EQ(completes[0].key, begins[0].key);
}

// ------------------------------------------------------------ item 2

// Store callbacks come on the store's thread; the Sender hands them to its
// io_context, so the store's thread never runs send logic (the Graph call,
// the next store call, the caller's callback).
TEST_F(SenderTest, StoreCallbacksAreHandedToTheIoContext) {
  StartEmulator();
  Io& io = single_io_;
  StartSender({.io = &io, .keys = SenderConfig::Keys::kFake});
  Result r;
  sender_->Send("crm", Text("hello", "k1"), absl::Now() + absl::Seconds(10),
                r.Callback());
  ASSERT_TRUE(r.Wait().status.ok()) << r.outcome.status.error_message();
  EXPECT_TRUE(io.IsIoThread(r.thread));
  EXPECT_NE(r.thread, fake_keys_.thread_id());
  auto begins = fake_keys_.begins();
  auto completes = fake_keys_.completes();
  ASSERT_EQ(begins.size(), 1u);
  ASSERT_EQ(completes.size(), 1u);
  EXPECT_EQ(begins[0].thread, std::this_thread::get_id());  // queued only
  EXPECT_TRUE(io.IsIoThread(completes[0].thread));
}

// The real store, its writer blocked by another connection holding the
// write lock (as a slow fsync or a busy Redis would): a keyed Send returns
// at once, a keyed send finishing meanwhile does not hold the io thread in
// Complete, and a Send without a key goes through on the one io thread.
TEST_F(SenderTest, ABlockedStoreStallsNoOtherSend) {
  StartEmulator();
  Io& io = single_io_;
  StartSender({.io = &io});
  ASSERT_TRUE(SendSync("crm", Text("warm-up", "k0")).status.ok());
  SetFaults(R"({"added_latency_ms":300})");

  // A: reserved while the store is free, answered by Graph while it is not.
  Result a, keyed, plain;
  sender_->Send("crm", Text("a", "ka"), absl::Now() + absl::Seconds(20),
                a.Callback());
  absl::SleepFor(absl::Milliseconds(150));  // A's Begin is committed
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "store.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr),
            SQLITE_OK);
  const absl::Time locked = absl::Now();
  const absl::Duration kLocked = absl::Milliseconds(1500);

  sender_->Send("crm", Text("b", "kb"), absl::Now() + absl::Seconds(20),
                keyed.Callback());
  EXPECT_LT(absl::Now() - locked, absl::Milliseconds(100));  // only queued
  sender_->Send("crm", Text("plain"), absl::Now() + absl::Seconds(20),
                plain.Callback());
  ASSERT_TRUE(plain.done.WaitForNotificationWithTimeout(kLocked));
  EXPECT_TRUE(plain.outcome.status.ok());
  EXPECT_LT(plain.at - locked, kLocked - absl::Milliseconds(300));
  EXPECT_FALSE(a.done.HasBeenNotified());  // its Complete waits for the lock
  EXPECT_FALSE(keyed.done.HasBeenNotified());

  absl::SleepFor(kLocked - (absl::Now() - locked));
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);
  EXPECT_TRUE(a.Wait().status.ok()) << a.outcome.status.error_message();
  EXPECT_TRUE(keyed.Wait().status.ok()) << keyed.outcome.status.error_message();
  EXPECT_GT(a.at, plain.at);
  EXPECT_EQ(Accepted(), 4);
}

// ------------------------------------------------------------ item 3

// Graph (played by a small server) echoes the access token in every text it
// can: the token must reach neither the caller nor the stored result.
class TokenEchoGraph {
 public:
  explicit TokenEchoGraph(boost::asio::io_context& io)
      : server_(io, http::ServerOptions{}) {
    server_.HandlePrefix(
        "", "/", [this](http::Request req, http::Responder respond) {
          http::Response resp;
          resp.content_type = "application/json";
          const bool fail = absl::StrContains(req.body, "fail");
          if (fail) {
            resp.status = 400;
            resp.body = absl::StrCat(
                R"({"error":{"message":"Invalid OAuth access token - )", kToken,
                R"(","type":"OAuthException","code":100,)",
                R"("error_user_title":"token )", kToken,
                R"(","error_user_msg":"Your token )", kToken,
                R"( was refused","error_data":{"details":"token=)", kToken,
                R"("},"fbtrace_id":"AbC"}})");
          } else {
            resp.body = absl::StrCat(
                R"({"messaging_product":"whatsapp","contacts":[{"input":")",
                kToken, R"(","wa_id":"16505551234"}],"messages":[{"id":")",
                "wamid.", kToken, R"("}]})");
          }
          absl::MutexLock lock(&mu_);
          ++requests_;
          respond(std::move(resp));
        });
  }
  absl::Status Listen() { return server_.Listen("127.0.0.1:0"); }
  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", server_.port());
  }
  void Stop() { server_.Stop(); }

 private:
  http::Server server_;
  absl::Mutex mu_;
  int requests_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(SenderTest, AnAccessTokenEchoedByGraphIsRedactedEverywhere) {
  TokenEchoGraph echo(emulator_io_.io);
  ASSERT_TRUE(echo.Listen().ok());
  graph_url_ = echo.url();
  StartSender({});

  // A Graph error: status message and every GraphError text.
  SendOutcome failed = SendSync("crm", Text("fail", "k-fail"));
  ASSERT_EQ(failed.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto details = graph::GraphErrorFromGrpcStatus(failed.status);
  ASSERT_TRUE(details.has_value());
  for (const std::string& text :
       {failed.status.error_message(), details->message(), details->details(),
        details->error_user_title(), details->error_user_msg(),
        failed.error.message(), failed.error.error_user_msg(),
        failed.status.error_details()}) {
    EXPECT_THAT(text, Not(HasSubstr(kToken)));
  }
  EXPECT_THAT(details->error_user_msg(), HasSubstr("[redacted]"));
  EXPECT_THAT(failed.status.error_message(), HasSubstr("[redacted]"));

  // A success echoing it: the response and the stored result (replayed).
  SendOutcome sent = SendSync("crm", Text("ok", "k-ok"));
  ASSERT_TRUE(sent.status.ok()) << sent.status.error_message();
  EXPECT_EQ(sent.response.message_id(), "wamid.[redacted]");
  EXPECT_EQ(sent.response.input(), "[redacted]");
  SendOutcome replayed = SendSync("crm", Text("ok", "k-ok"));
  ASSERT_TRUE(replayed.status.ok());
  EXPECT_EQ(replayed.response.message_id(), "wamid.[redacted]");
  // Everything is committed (answers come after the commit): read the file.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "store.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT key, result FROM idempotency", -1,
                               &stmt, nullptr),
            SQLITE_OK);
  int rows = 0;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    ++rows;
    std::string result(static_cast<const char*>(sqlite3_column_blob(stmt, 1)),
                       sqlite3_column_bytes(stmt, 1));
    EXPECT_THAT(result, Not(HasSubstr(kToken)));
    EXPECT_THAT(result, HasSubstr("[redacted]"));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_EQ(rows, 1);  // the refused send released its key
  echo.Stop();
}

TEST_F(SenderTest, EveryGraphCallGoesThroughTheGraphClient) {
  StartEmulator();
  StartSender({.keys = SenderConfig::Keys::kNone});
  std::vector<std::string> operations;
  absl::Mutex mu;
  graph_->SetObserver([&](const graph::GraphCallObservation& o) {
    absl::MutexLock lock(&mu);
    operations.push_back(o.operation);
  });
  ASSERT_TRUE(SendSync("", Text("hello")).status.ok());
  absl::Notification learned;
  sender_->LearnThroughput({kPnid}, [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    learned.Notify();
  });
  ASSERT_TRUE(learned.WaitForNotificationWithTimeout(absl::Seconds(10)));
  v1::MarkReadRequest read;
  read.set_phone_number_id(kPnid);
  read.set_message_id(
      "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
  absl::Notification marked;
  sender_->MarkRead(read, absl::Now() + absl::Seconds(10),
                    [&](MarkReadOutcome) { marked.Notify(); });
  ASSERT_TRUE(marked.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(
      std::set<std::string>(operations.begin(), operations.end()),
      (std::set<std::string>{"send_message", "get_throughput", "mark_read"}));
  EXPECT_EQ(graph_->stats().calls, operations.size());
}

// ------------------------------------------------------------ item 4

size_t SeriesOf(metrics::Registry& registry, const std::string& family) {
  std::string text = registry.Render();
  size_t n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, family + "{")) ++n;
  }
  return n;
}

std::string RandomDigits(std::mt19937_64& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back('0' + rng() % 10);
  return s;
}

TEST_F(SenderTest, InvalidNumbersLeaveBoundedLabelsAndStats) {
  StartEmulator();
  metrics::Registry registry;
  metrics::GatewayMetrics metrics(registry);
  StartSender({.metrics = &metrics});
  std::mt19937_64 rng(14);
  for (int i = 0; i < 10000; ++i) {
    std::string id;
    switch (i % 4) {
      case 0:
        id = RandomDigits(rng, 15);  // not configured
        break;
      case 1:
        id = absl::StrCat("x", RandomDigits(rng, 10));  // not digits
        break;
      case 2:
        id = RandomDigits(rng, 40 + i % 100);  // too long
        break;
      default:
        id = std::string(1 + i % 300, 'a' + i % 26);
    }
    Result r;
    sender_->Send("", Text("hello", "", id), absl::Now() + absl::Seconds(5),
                  r.Callback());
    ASSERT_FALSE(r.Wait().status.ok());
  }
  SenderStats stats = sender_->Stats();
  EXPECT_LE(stats.results.size(), 4u);
  std::set<std::string> labels;
  for (const auto& [k, n] : stats.results) labels.insert(std::get<0>(k));
  EXPECT_THAT(labels, ::testing::IsSubsetOf({"invalid", "other"}));
  EXPECT_LE(metrics.messages_sent->size(), 4u);
  EXPECT_LE(SeriesOf(registry, "wagate_messages_sent_total"), 4u);
  // Configured numbers keep their own label.
  ASSERT_TRUE(SendSync("", Text("hello")).status.ok());
  EXPECT_EQ((sender_->Stats().results[{kPnid, "ok", 0}]), 1u);
}

TEST_F(SenderTest, SingleAccountLabelsOnlyNumbersThatSentUpToTheCap) {
  std::vector<std::string> extra;
  for (int i = 0; i < 6; ++i)
    extra.push_back(absl::StrCat("10654035224300", i));
  StartEmulator(extra);
  metrics::Registry registry;
  metrics::GatewayMetrics metrics(registry);
  StartSender(
      {.single_account = true, .metrics = &metrics, .max_number_labels = 4});
  // Numbers Graph does not know: served (single account), refused by Graph,
  // never labelled.
  std::mt19937_64 rng(15);
  for (int i = 0; i < 300; ++i) {
    Result r;
    sender_->Send("", Text("hello", "", RandomDigits(rng, 15)),
                  absl::Now() + absl::Seconds(10), r.Callback());
    EXPECT_FALSE(r.Wait().status.ok());
  }
  SenderStats stats = sender_->Stats();
  for (const auto& [k, n] : stats.results) EXPECT_EQ(std::get<0>(k), "other");
  // Numbers that send: labelled, the first four only.
  for (const std::string& id : extra) {
    ASSERT_TRUE(SendSync("", Text("hello", "", id)).status.ok());
    ASSERT_TRUE(SendSync("", Text("again", "", id)).status.ok());
  }
  stats = sender_->Stats();
  std::set<std::string> labels;
  for (const auto& [k, n] : stats.results) labels.insert(std::get<0>(k));
  EXPECT_EQ(labels, (std::set<std::string>{"other", extra[0], extra[1],
                                           extra[2], extra[3]}));
  EXPECT_EQ((stats.results[{extra[0], "ok", 0}]), 2u);
  EXPECT_EQ((stats.results[{"other", "ok", 0}]), 4u);
  EXPECT_LE(SeriesOf(registry, "wagate_messages_sent_total"), 10u);
}

}  // namespace
}  // namespace wagate::messaging
