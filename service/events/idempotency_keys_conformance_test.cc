// The IdempotencyKeys contract (service/events/idempotency_keys.h) checked
// against every backend: the same tests run on SQLite and on Redis (a real
// redis-server on loopback, skipped if it is not installed), through
// Store::idempotency_keys().
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "service/events/idempotency_keys.h"
#include "service/events/store.h"
#include "service/redis/client.h"
#include "service/redis/testing/redis_server.h"

namespace wagate::events {
namespace {

class FakeClock {
 public:
  absl::Time Now() {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

// A callback's answer and the thread it ran on.
template <typename T>
struct Answer {
  absl::Notification done;
  T value;
  std::thread::id thread;

  std::function<void(T)> Callback() {
    return [this](T v) {
      value = std::move(v);
      thread = std::this_thread::get_id();
      done.Notify();
    };
  }
  T& Wait() {
    done.WaitForNotification();
    return value;
  }
};

// GetParam(): "sqlite" or "redis".
class IdempotencyKeysConformanceTest
    : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    options_.clock = [clock = clock_] { return clock->Now(); };
    if (GetParam() == "redis") {
      if (!redis::TestRedisServer::Installed()) {
        GTEST_SKIP() << redis::TestRedisServer::kBinary << " is not installed";
      }
      redis_ = std::make_unique<redis::TestRedisServer>();
      ASSERT_TRUE(redis_->Start().ok());
      spec_ = redis_->Url();
    } else {
      std::string name =
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
      std::replace(name.begin(), name.end(), '/', '_');
      dir_ = std::filesystem::path(::testing::TempDir()) /
             absl::StrCat("idempotency_conformance_", getpid(), "_", name);
      std::filesystem::remove_all(dir_);
      std::filesystem::create_directories(dir_);
      path_ = (dir_ / "events.db").string();
      spec_ = "sqlite:" + path_;
    }
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Opens (again: the previous instance is closed first) the same store.
  IdempotencyKeys& Open() {
    store_.reset();
    auto store = OpenStore(spec_, options_);
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    EXPECT_NE(store_->idempotency_keys(), nullptr);
    return *store_->idempotency_keys();
  }

  static absl::StatusOr<IdempotencyResult> Begin(
      IdempotencyKeys& keys, const std::string& key,
      const std::string& fingerprint = "fp",
      absl::Duration ttl = absl::Hours(24)) {
    Answer<absl::StatusOr<IdempotencyResult>> a;
    keys.Begin(key, fingerprint, ttl, a.Callback());
    return a.Wait();
  }
  static absl::Status Complete(IdempotencyKeys& keys, const std::string& key,
                               const std::string& result) {
    Answer<absl::Status> a;
    keys.Complete(key, result, a.Callback());
    return a.Wait();
  }
  static absl::Status Abandon(IdempotencyKeys& keys, const std::string& key) {
    Answer<absl::Status> a;
    keys.Abandon(key, a.Callback());
    return a.Wait();
  }

  // Makes the backend unable to answer for `d` (SQLite: another connection
  // holds the write lock; Redis: CLIENT PAUSE), from a thread of its own.
  std::thread BlockBackend(absl::Duration d) {
    absl::Notification blocked;
    std::thread t;
    if (GetParam() == "redis") {
      t = std::thread([this, d, &blocked] {
        redis::Client client(redis::ParseUrl(spec_).value(), {});
        auto paused = client.Command(
            {"CLIENT", "PAUSE", absl::StrCat(absl::ToInt64Milliseconds(d))});
        EXPECT_TRUE(paused.ok()) << paused.status();
        blocked.Notify();
      });
    } else {
      t = std::thread([this, d, &blocked] {
        sqlite3* other = nullptr;
        EXPECT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
        EXPECT_EQ(
            sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr),
            SQLITE_OK);
        blocked.Notify();
        absl::SleepFor(d);
        sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
        sqlite3_close(other);
      });
    }
    blocked.WaitForNotification();
    return t;
  }

  std::string spec_;
  std::string path_;
  std::filesystem::path dir_;
  std::unique_ptr<redis::TestRedisServer> redis_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, IdempotencyKeysConformanceTest,
                         ::testing::Values("sqlite", "redis"),
                         [](const auto& info) { return info.param; });

TEST_P(IdempotencyKeysConformanceTest, Lifecycle) {
  IdempotencyKeys& keys = Open();
  auto first = Begin(keys, "k1", "fp-a");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state, IdempotencyState::kNew);
  EXPECT_EQ(first->fingerprint, "");
  // The reservation's fingerprint comes back, whatever the repeat sent.
  auto busy = Begin(keys, "k1", "fp-b");
  ASSERT_TRUE(busy.ok()) << busy.status();
  EXPECT_EQ(busy->state, IdempotencyState::kInProgress);
  EXPECT_EQ(busy->fingerprint, "fp-a");
  ASSERT_TRUE(Complete(keys, "k1", std::string("res\0ult", 7)).ok());
  auto done = Begin(keys, "k1", "fp-c");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state, IdempotencyState::kDone);
  EXPECT_EQ(done->result, std::string("res\0ult", 7));
  EXPECT_EQ(done->fingerprint, "fp-a");
  // Abandon frees an in-progress key but never a completed one.
  ASSERT_TRUE(Abandon(keys, "k1").ok());
  EXPECT_EQ(Begin(keys, "k1")->state, IdempotencyState::kDone);
  EXPECT_EQ(Begin(keys, "k2")->state, IdempotencyState::kNew);
  ASSERT_TRUE(Abandon(keys, "k2").ok());
  EXPECT_EQ(Begin(keys, "k2")->state, IdempotencyState::kNew);
  EXPECT_EQ(Complete(keys, "unknown", "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Begin(keys, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(IdempotencyKeysConformanceTest, BinaryKeysAndFingerprintsRoundTrip) {
  IdempotencyKeys& keys = Open();
  const std::string key("3:a\nb15:106540352242922k\0y", 27);
  const std::string fingerprint("\x00\xff\x10 digest", 10);
  ASSERT_EQ(Begin(keys, key, fingerprint)->state, IdempotencyState::kNew);
  EXPECT_EQ(Begin(keys, key)->fingerprint, fingerprint);
  // A key that differs only after a NUL is another key.
  EXPECT_EQ(Begin(keys, std::string("3:a\nb15:106540352242922k\0z", 27))->state,
            IdempotencyState::kNew);
}

TEST_P(IdempotencyKeysConformanceTest, KeysExpireAndSurviveReopen) {
  IdempotencyKeys& keys = Open();
  const absl::Duration ttl = absl::Hours(24);
  ASSERT_EQ(Begin(keys, "done", "f1", ttl)->state, IdempotencyState::kNew);
  ASSERT_TRUE(Complete(keys, "done", "r1").ok());
  ASSERT_EQ(Begin(keys, "busy", "f2", ttl)->state, IdempotencyState::kNew);

  IdempotencyKeys& reopened = Open();
  auto done = Begin(reopened, "done", "x", ttl);
  EXPECT_EQ(done->state, IdempotencyState::kDone);
  EXPECT_EQ(done->result, "r1");
  EXPECT_EQ(done->fingerprint, "f1");
  auto busy = Begin(reopened, "busy", "x", ttl);
  EXPECT_EQ(busy->state, IdempotencyState::kInProgress);
  EXPECT_EQ(busy->fingerprint, "f2");

  clock_->Advance(ttl + absl::Seconds(1));
  EXPECT_EQ(Begin(reopened, "done", "x", ttl)->state, IdempotencyState::kNew);
  clock_->Advance(ttl + absl::Seconds(1));
  auto pruned = store_->RunRetention();
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->idempotency_keys_pruned, 2);
}

TEST_P(IdempotencyKeysConformanceTest, ConcurrentBeginsReserveOnce) {
  IdempotencyKeys& keys = Open();
  constexpr int kCallers = 32;
  std::vector<Answer<absl::StatusOr<IdempotencyResult>>> answers(kCallers);
  for (auto& a : answers)
    keys.Begin("same", "fp", absl::Hours(1), a.Callback());
  int reserved = 0, busy = 0;
  for (auto& a : answers) {
    ASSERT_TRUE(a.Wait().ok()) << a.Wait().status();
    reserved += a.Wait()->state == IdempotencyState::kNew;
    busy += a.Wait()->state == IdempotencyState::kInProgress;
  }
  EXPECT_EQ(reserved, 1);
  EXPECT_EQ(busy, kCallers - 1);
}

// The point of the interface: a caller (a gRPC or io thread) only queues the
// work. With the backend unable to answer for a while, every call returns at
// once and the callbacks come later, on a store thread.
TEST_P(IdempotencyKeysConformanceTest, CallsNeverBlockTheCaller) {
  IdempotencyKeys& keys = Open();
  ASSERT_EQ(Begin(keys, "held", "fp")->state, IdempotencyState::kNew);
  const absl::Duration kBlocked = absl::Milliseconds(600);
  std::thread blocker = BlockBackend(kBlocked);
  const absl::Time start = absl::Now();
  Answer<absl::StatusOr<IdempotencyResult>> begin;
  Answer<absl::Status> complete, abandon;
  keys.Begin("new", "fp", absl::Hours(1), begin.Callback());
  keys.Complete("held", "result", complete.Callback());
  keys.Abandon("other", abandon.Callback());
  const absl::Duration queued = absl::Now() - start;
  EXPECT_LT(queued, kBlocked / 3);
  EXPECT_FALSE(begin.done.HasBeenNotified());

  ASSERT_TRUE(begin.Wait().ok()) << begin.Wait().status();
  EXPECT_EQ(begin.Wait()->state, IdempotencyState::kNew);
  EXPECT_TRUE(complete.Wait().ok()) << complete.Wait();
  EXPECT_TRUE(abandon.Wait().ok()) << abandon.Wait();
  EXPECT_GE(absl::Now() - start, kBlocked / 2);
  for (std::thread::id t : {begin.thread, complete.thread, abandon.thread}) {
    EXPECT_NE(t, std::this_thread::get_id());
  }
  blocker.join();
  EXPECT_EQ(Begin(keys, "held")->state, IdempotencyState::kDone);
}

TEST_P(IdempotencyKeysConformanceTest, ManyOperationsInFlight) {
  IdempotencyKeys& keys = Open();
  constexpr int kKeys = 500;
  std::vector<Answer<absl::StatusOr<IdempotencyResult>>> begins(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    keys.Begin(absl::StrCat("key-", i), absl::StrCat("fp-", i), absl::Hours(1),
               begins[i].Callback());
  }
  std::vector<Answer<absl::Status>> completes(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(begins[i].Wait().ok()) << begins[i].Wait().status();
    ASSERT_EQ(begins[i].Wait()->state, IdempotencyState::kNew);
    keys.Complete(absl::StrCat("key-", i), absl::StrCat("r-", i),
                  completes[i].Callback());
  }
  for (auto& c : completes) EXPECT_TRUE(c.Wait().ok()) << c.Wait();
  auto last = Begin(keys, absl::StrCat("key-", kKeys - 1));
  EXPECT_EQ(last->result, absl::StrCat("r-", kKeys - 1));
  EXPECT_EQ(last->fingerprint, absl::StrCat("fp-", kKeys - 1));
}

// Operations queued together (a backend may run them as one batch) take
// effect in the order they were called, each with its own answer.
TEST_P(IdempotencyKeysConformanceTest, OperationsQueuedTogetherKeepTheirOrder) {
  IdempotencyKeys& keys = Open();
  Answer<absl::StatusOr<IdempotencyResult>> reserve, busy, done, renewed;
  Answer<absl::Status> unknown, complete, abandon_done, abandon_new;
  keys.Begin("k", "fp-1", absl::Hours(1), reserve.Callback());
  keys.Begin("k", "fp-2", absl::Hours(1), busy.Callback());
  keys.Complete("unknown", "x", unknown.Callback());
  keys.Complete("k", "r", complete.Callback());
  keys.Abandon("k", abandon_done.Callback());  // completed: stays
  keys.Begin("k", "fp-3", absl::Hours(1), done.Callback());
  keys.Begin("j", "fp-4", absl::Hours(1), renewed.Callback());
  keys.Abandon("j", abandon_new.Callback());  // reserved: released
  EXPECT_EQ(reserve.Wait()->state, IdempotencyState::kNew);
  EXPECT_EQ(busy.Wait()->state, IdempotencyState::kInProgress);
  EXPECT_EQ(busy.Wait()->fingerprint, "fp-1");
  EXPECT_EQ(unknown.Wait().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(complete.Wait().ok()) << complete.Wait();
  EXPECT_TRUE(abandon_done.Wait().ok()) << abandon_done.Wait();
  ASSERT_TRUE(done.Wait().ok()) << done.Wait().status();
  EXPECT_EQ(done.Wait()->state, IdempotencyState::kDone);
  EXPECT_EQ(done.Wait()->result, "r");
  EXPECT_EQ(renewed.Wait()->state, IdempotencyState::kNew);
  EXPECT_TRUE(abandon_new.Wait().ok()) << abandon_new.Wait();
  EXPECT_EQ(Begin(keys, "j")->state, IdempotencyState::kNew);
}

TEST_P(IdempotencyKeysConformanceTest, ClosingTheStoreRunsEveryCallback) {
  IdempotencyKeys& keys = Open();
  constexpr int kKeys = 200;
  std::atomic<int> called{0};
  for (int i = 0; i < kKeys; ++i) {
    keys.Begin(absl::StrCat("k", i), "fp", absl::Hours(1),
               [&called](absl::StatusOr<IdempotencyResult>) { ++called; });
  }
  store_.reset();
  EXPECT_EQ(called.load(), kKeys);
}

}  // namespace
}  // namespace wagate::events
