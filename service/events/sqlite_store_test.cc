#include "service/events/sqlite_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/events/store.h"

namespace wagate::events {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

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

EventRecord MakeEvent(const std::string& id,
                      const std::string& kind = "message",
                      const std::string& phone = "111",
                      size_t payload_size = 16) {
  EventRecord e;
  e.id = id;
  e.kind = kind;
  e.phone_number_id = phone;
  e.waba_id = "waba-1";
  e.received_at = absl::FromUnixMillis(1700000000123);
  e.payload = std::string(payload_size, 'p');
  e.payload.replace(0, std::min(id.size(), payload_size), id, 0,
                    std::min(id.size(), payload_size));
  return e;
}

// Begin on the store's idempotency keys, waiting for the answer.
absl::StatusOr<IdempotencyResult> BeginSync(
    Store& store, const std::string& key, absl::Duration ttl,
    const std::string& fingerprint = "") {
  absl::Notification done;
  absl::StatusOr<IdempotencyResult> result;
  store.idempotency_keys()->Begin(key, fingerprint, ttl,
                                  [&](absl::StatusOr<IdempotencyResult> r) {
                                    result = std::move(r);
                                    done.Notify();
                                  });
  done.WaitForNotification();
  return result;
}

absl::StatusOr<AppendResult> AppendSync(Store& store,
                                        std::vector<EventRecord> events) {
  absl::Notification done;
  absl::StatusOr<AppendResult> result;
  store.Append(std::move(events), [&](absl::StatusOr<AppendResult> r) {
    result = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

std::vector<std::string> Ids(const std::vector<EventRecord>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.id);
  return ids;
}

std::vector<std::string> ReadAllIds(Store& store, const Filter& filter = {}) {
  auto events = store.ReadAfter("", 1000000, filter);
  EXPECT_TRUE(events.ok()) << events.status();
  return events.ok() ? Ids(*events) : std::vector<std::string>();
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("sqlite_store_test_", getpid(), "_", info->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "store" / "events.db").string();
    options_.clock = [clock = clock_] { return clock->Now(); };
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Store& Open() {
    store_.reset();
    auto store = OpenSqliteStore(path_, options_);
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    return *store_;
  }

  std::filesystem::path dir_;
  std::string path_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST(SqliteCursorTest, RoundTripsAndSortsAsStrings) {
  std::vector<int64_t> seqs = {1, 2, 15, 16, 255, 256, 1LL << 40, INT64_MAX};
  std::string previous;
  for (int64_t seq : seqs) {
    std::string cursor = EncodeSqliteCursor(seq);
    EXPECT_EQ(ParseSqliteCursor(cursor).value(), seq);
    EXPECT_LT(previous, cursor);
    previous = cursor;
  }
  EXPECT_EQ(ParseSqliteCursor("").value(), 0);
}

TEST(SqliteCursorTest, GarbageIsInvalidArgument) {
  for (const char* bad :
       {"x", "12", "e1", "e100000000000000001", "e1000000000000000g",
        "E10000000000000001", "f10000000000000001", "e1000000000000000A",
        "e1ffffffffffffffff", " e1000000000000001"}) {
    EXPECT_EQ(ParseSqliteCursor(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(SqliteStoreTest, PrunedThroughOfAStoreFromBeforeTheWatermark) {
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, {MakeEvent("a"), MakeEvent("b")}).ok());
  clock_->Advance(absl::Hours(24 * 8));
  auto kept = AppendSync(store, {MakeEvent("c")});
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(store.RunRetention()->events_pruned, 2);
  store_.reset();
  // A database written before the watermark existed: no 'pruned_seq' row.
  // The oldest event left tells what was pruned.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DELETE FROM meta WHERE key='pruned_seq'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  Store& reopened = Open();
  EXPECT_EQ(reopened.PrunedThrough().value(), EncodeSqliteCursor(2));
  EXPECT_LT(reopened.PrunedThrough().value(), kept->items[0].cursor);
}

TEST_F(SqliteStoreTest, IdempotencyKeysOfAStoreFromBeforeFingerprints) {
  Open();
  store_.reset();
  // The idempotency table as it was before fingerprints, with a done key.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const std::string sql = absl::StrCat(
        "DROP TABLE idempotency; CREATE TABLE idempotency(key TEXT PRIMARY "
        "KEY, done INTEGER NOT NULL, result BLOB, ttl INTEGER NOT NULL, "
        "expires_at INTEGER NOT NULL) WITHOUT ROWID; INSERT INTO "
        "idempotency VALUES('old', 1, 'r-old', 1, ",
        absl::ToUnixMicros(clock_->Now() + absl::Hours(1)), ");");
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  Store& store = Open();
  auto old = BeginSync(store, "old", absl::Hours(24), "fp-new");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->state, IdempotencyState::kDone);
  EXPECT_EQ(old->result, "r-old");
  EXPECT_EQ(old->fingerprint, "");  // unknown: callers accept it
  ASSERT_EQ(BeginSync(store, "new", absl::Hours(24), "fp-1")->state,
            IdempotencyState::kNew);
  EXPECT_EQ(BeginSync(store, "new", absl::Hours(24), "fp-2")->fingerprint,
            "fp-1");
  // Opening again does not add the column twice.
  EXPECT_EQ(BeginSync(Open(), "new", absl::Hours(24))->fingerprint, "fp-1");
}

// Issue 14: each filter-list length was a new SQL statement, cached for
// good. Each list is now one parameter: the statements stay a handful
// whatever the lengths, and a list longer than SQLite's 32766 parameters
// works.
TEST_F(SqliteStoreTest, FilterListsAreOneParameterEach) {
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, {MakeEvent("a", "message", "111"),
                                 MakeEvent("b", "status", "222")})
                  .ok());
  auto numbers = [](int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(absl::StrCat("9", i));
    out.push_back("222");
    return out;
  };
  // Warm up every statement shape once.
  ASSERT_TRUE(store.ReadAfter("", 10, Filter{numbers(1), {"status"}}).ok());
  ASSERT_TRUE(store.ReadAfter("", 10, Filter{numbers(1), {}}).ok());
  ASSERT_TRUE(
      store.ClaimNext("g0", "c", 10, Filter{numbers(1), {}}, absl::Seconds(1))
          .ok());
  const uint64_t warm = store.Stats().prepared_statements;
  ASSERT_GT(warm, 0u);
  for (int n = 2; n < 300; n += 7) {
    auto read = store.ReadAfter("", 10, Filter{numbers(n), {"status"}});
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_THAT(Ids(*read), ElementsAre("b"));
    ASSERT_TRUE(store.ReadAfter("", 10, Filter{numbers(n), {}}).ok());
    auto claimed = store.ClaimNext(absl::StrCat("g", n), "c", 10,
                                   Filter{numbers(n), {}}, absl::Seconds(1));
    ASSERT_TRUE(claimed.ok()) << claimed.status();
    ASSERT_THAT(claimed->events, SizeIs(1));
  }
  EXPECT_EQ(store.Stats().prepared_statements, warm);
  auto huge = store.ReadAfter("", 10, Filter{numbers(40000), {}});
  ASSERT_TRUE(huge.ok()) << huge.status();
  EXPECT_THAT(Ids(*huge), ElementsAre("b"));
}

// A database from before groups stored their filter: the column is added
// and an existing group adopts the filter of its next member.
TEST_F(SqliteStoreTest, GroupFromBeforeFiltersAdoptsItsNextMembersFilter) {
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, {MakeEvent("a"), MakeEvent("b")}).ok());
  ASSERT_TRUE(store.EnsureGroup("old", "", Filter{}).ok());
  store_.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    // The old table, without filter_key.
    ASSERT_EQ(sqlite3_exec(db,
                           "BEGIN; CREATE TABLE g2(name TEXT PRIMARY KEY, "
                           "position INTEGER NOT NULL) WITHOUT ROWID; "
                           "INSERT INTO g2 SELECT name, position FROM "
                           "consumer_groups; DROP TABLE consumer_groups; "
                           "ALTER TABLE g2 RENAME TO consumer_groups; COMMIT",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  Store& reopened = Open();
  const Filter first{{"111"}, {"message"}};
  auto claimed = reopened.ClaimNext("old", "c", 10, first, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(claimed->events, SizeIs(2));
  EXPECT_EQ(reopened.EnsureGroup("old", "", Filter{}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(reopened.EnsureGroup("old", "", first).ok());
}

TEST_F(SqliteStoreTest, LockedDatabaseGivesUnavailableThenRecovers) {
  options_.lock_timeout = absl::Milliseconds(100);
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, {MakeEvent("a")}).ok());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto failed = AppendSync(store, {MakeEvent("b"), MakeEvent("c")});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("locked"));
  EXPECT_EQ(BeginSync(store, "k", absl::Hours(1)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_GE(store.Stats().failed_commits, 1u);
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);

  // Nothing of the failed batch was stored, and the store works again.
  auto ok = AppendSync(store, {MakeEvent("b"), MakeEvent("c")});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_FALSE(ok->items[0].duplicate);
  EXPECT_THAT(ReadAllIds(store), ElementsAre("a", "b", "c"));
  EXPECT_EQ(BeginSync(store, "k", absl::Hours(1))->state,
            IdempotencyState::kNew);
}

// Runs in a child process (the file size limit is per process): returns 0
// if an I/O failure while writing gives UNAVAILABLE, stores nothing of the
// batch, and the store works again once the limit is lifted.
int AppendUnderFileSizeLimit(const std::string& path) {
  signal(SIGXFSZ, SIG_IGN);  // failed writes return EFBIG instead of killing
  auto store = OpenSqliteStore(path, StoreOptions());
  if (!store.ok()) return 10;
  if (!AppendSync(**store, {MakeEvent("before")}).ok()) return 11;
  // Nothing more may be written to any file of the store.
  rlimit limit;
  getrlimit(RLIMIT_FSIZE, &limit);
  const rlim_t saved = limit.rlim_cur;
  limit.rlim_cur = 0;
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return 12;
  std::vector<EventRecord> big;
  for (int i = 0; i < 200; ++i) {
    big.push_back(MakeEvent(absl::StrCat("big", i), "message", "111", 4000));
  }
  auto failed = AppendSync(**store, big);
  if (failed.status().code() != absl::StatusCode::kUnavailable) return 13;
  limit.rlim_cur = saved;
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return 14;
  auto ok = AppendSync(**store, big);
  if (!ok.ok()) return 15;
  if (ok->items[0].duplicate) return 16;  // the failed batch left no id
  std::vector<std::string> ids = ReadAllIds(**store);
  if (ids.size() != 201 || ids[0] != "before") return 17;
  return 0;
}

TEST_F(SqliteStoreTest, WriteFailureGivesUnavailableThenRecovers) {
  std::filesystem::create_directories(
      std::filesystem::path(path_).parent_path());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(AppendUnderFileSizeLimit(path_));
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus)) << wstatus;
  EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "see AppendUnderFileSizeLimit";
}

TEST_F(SqliteStoreTest, AcknowledgedEventsSurviveSigkill) {
  std::mt19937 rng(std::random_device{}());
  std::set<std::string> acknowledged;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      auto store = OpenSqliteStore(path_, StoreOptions());
      if (!store.ok()) _exit(2);
      const int out = fds[1];
      for (int i = 0;; ++i) {
        // Several batches in flight so commits group them.
        std::atomic<int> pending{4};
        absl::Notification done;
        for (int b = 0; b < 4; ++b) {
          std::vector<EventRecord> batch;
          for (int k = 0; k < 5; ++k) {
            batch.push_back(
                MakeEvent(absl::StrCat("r", round, "-", i, "-", b, "-", k),
                          "message", "111", 500));
          }
          std::vector<std::string> ids = Ids(batch);
          (*store)->Append(std::move(batch),
                           [&, ids](absl::StatusOr<AppendResult> r) {
                             if (r.ok()) {
                               std::string line;
                               for (const auto& id : ids) {
                                 absl::StrAppend(&line, id, "\n");
                               }
                               // < PIPE_BUF: written atomically.
                               if (write(out, line.data(), line.size()) < 0) {
                                 _exit(3);
                               }
                             }
                             if (--pending == 0) done.Notify();
                           });
        }
        done.WaitForNotification();
      }
    }
    close(fds[1]);
    const auto kill_after =
        absl::Milliseconds(std::uniform_int_distribution<int>(30, 300)(rng));
    std::string received;
    const absl::Time kill_at = absl::Now() + kill_after;
    bool killed = false;
    char buf[4096];
    while (true) {
      if (!killed && absl::Now() >= kill_at) {
        kill(pid, SIGKILL);
        killed = true;
      }
      ssize_t n = read(fds[0], buf, sizeof(buf));
      if (n <= 0) break;  // EOF once the child is dead
      received.append(buf, n);
      if (!killed && received.size() > (1 << 20)) {
        kill(pid, SIGKILL);
        killed = true;
      }
    }
    close(fds[0]);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with " << wstatus;
    for (absl::string_view id :
         absl::StrSplit(received, '\n', absl::SkipEmpty())) {
      acknowledged.insert(std::string(id));
    }

    Store& store = Open();
    std::vector<std::string> stored = ReadAllIds(store);
    std::set<std::string> stored_set(stored.begin(), stored.end());
    EXPECT_EQ(stored_set.size(), stored.size()) << "duplicates stored";
    size_t missing = 0;
    for (const auto& id : acknowledged) missing += stored_set.count(id) == 0;
    EXPECT_EQ(missing, 0u) << "round " << round << ": " << missing << " of "
                           << acknowledged.size() << " acknowledged lost";
    store_.reset();
  }
  EXPECT_FALSE(acknowledged.empty());
}

}  // namespace
}  // namespace wagate::events
