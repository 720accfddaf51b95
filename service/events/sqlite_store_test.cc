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

TEST_F(SqliteStoreTest, AppendThenReadInCursorOrder) {
  Store& store = Open();
  EXPECT_EQ(store.LatestCursor().value(), "");
  auto first = AppendSync(store, {MakeEvent("a"), MakeEvent("b"),
                                  MakeEvent("c", "status", "222", 2000)});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_THAT(first->items, SizeIs(3));
  auto second = AppendSync(store, {MakeEvent("d"), MakeEvent("e")});
  ASSERT_TRUE(second.ok()) << second.status();

  auto all = store.ReadAfter("", 100, Filter{});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Ids(*all), ElementsAre("a", "b", "c", "d", "e"));
  for (size_t i = 1; i < all->size(); ++i) {
    EXPECT_LT((*all)[i - 1].cursor, (*all)[i].cursor);
  }
  EXPECT_EQ((*all)[0].cursor, first->items[0].cursor);
  EXPECT_EQ((*all)[4].cursor, second->items[1].cursor);
  EXPECT_FALSE(first->items[0].duplicate);
  // Every field round-trips.
  const EventRecord& c = (*all)[2];
  EventRecord want = MakeEvent("c", "status", "222", 2000);
  EXPECT_EQ(c.kind, "status");
  EXPECT_EQ(c.phone_number_id, "222");
  EXPECT_EQ(c.waba_id, "waba-1");
  EXPECT_EQ(c.received_at, want.received_at);
  EXPECT_EQ(c.payload, want.payload);

  auto after = store.ReadAfter((*all)[1].cursor, 2, Filter{});
  ASSERT_TRUE(after.ok());
  EXPECT_THAT(Ids(*after), ElementsAre("c", "d"));
  EXPECT_EQ(store.LatestCursor().value(), (*all)[4].cursor);
  EXPECT_THAT(
      store.ReadAfter(store.LatestCursor().value(), 10, Filter{}).value(),
      IsEmpty());
}

TEST_F(SqliteStoreTest, DuplicatesAreStoredOnceAndFlagged) {
  Store& store = Open();
  auto first =
      AppendSync(store, {MakeEvent("a"), MakeEvent("b"), MakeEvent("a")});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->items[0].duplicate);
  EXPECT_FALSE(first->items[1].duplicate);
  EXPECT_TRUE(first->items[2].duplicate);
  EXPECT_EQ(first->items[2].cursor, "");

  auto second = AppendSync(store, {MakeEvent("b"), MakeEvent("c")});
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->items[0].duplicate);
  EXPECT_FALSE(second->items[1].duplicate);
  EXPECT_THAT(ReadAllIds(store), ElementsAre("a", "b", "c"));
  EXPECT_EQ(store.Stats().duplicates, 2u);
  EXPECT_EQ(store.Stats().events_appended, 3u);

  // Meta's redelivery after a restart is still recognized.
  Store& reopened = Open();
  auto third = AppendSync(reopened, {MakeEvent("a")});
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->items[0].duplicate);
  EXPECT_THAT(ReadAllIds(reopened), ElementsAre("a", "b", "c"));
}

TEST_F(SqliteStoreTest, ConcurrentAppendsAreGroupCommitted) {
  Store& store = Open();
  constexpr int kThreads = 8, kPerThread = 1000;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  absl::Mutex mu;
  std::set<std::string> cursors;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::atomic<int> pending{kPerThread};
      absl::Notification all_done;
      for (int i = 0; i < kPerThread; ++i) {
        store.Append(
            {MakeEvent(absl::StrCat(t, "-", i), "message", "111", 1000)},
            [&](absl::StatusOr<AppendResult> r) {
              if (r.ok()) {
                ++ok;
                absl::MutexLock lock(&mu);
                cursors.insert(r->items[0].cursor);
              } else {
                ++failed;
              }
              if (--pending == 0) all_done.Notify();
            });
      }
      all_done.WaitForNotification();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(cursors.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_THAT(ReadAllIds(store), SizeIs(kThreads * kPerThread));
  StoreStats stats = store.Stats();
  EXPECT_EQ(stats.events_appended,
            static_cast<uint64_t>(kThreads * kPerThread));
  // Group commit: many appends share one transaction.
  EXPECT_LT(stats.transactions,
            static_cast<uint64_t>(kThreads * kPerThread / 4))
      << "transactions: " << stats.transactions;
}

TEST_F(SqliteStoreTest, ListenerSeesEachNewEventOnce) {
  Store& store = Open();
  absl::Mutex mu;
  std::vector<std::string> seen;
  std::vector<std::string> seen_cursors;
  Store::ListenerId id =
      store.AddListener([&](const std::vector<EventRecord>& events) {
        absl::MutexLock lock(&mu);
        for (const auto& e : events) {
          seen.push_back(e.id);
          seen_cursors.push_back(e.cursor);
        }
      });
  auto r = AppendSync(store, {MakeEvent("a"), MakeEvent("b"), MakeEvent("a")});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(AppendSync(store, {MakeEvent("b"), MakeEvent("c")}).ok());
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(seen, ElementsAre("a", "b", "c"));
    EXPECT_EQ(seen_cursors[0], r->items[0].cursor);
  }
  store.RemoveListener(id);
  ASSERT_TRUE(AppendSync(store, {MakeEvent("d")}).ok());
  absl::MutexLock lock(&mu);
  EXPECT_THAT(seen, SizeIs(3));
}

TEST_F(SqliteStoreTest, CallbacksMayAppendButNotWaitForTheWriter) {
  Store& store = Open();
  absl::Notification chained;
  absl::Status claim_from_listener;
  Store::ListenerId id =
      store.AddListener([&](const std::vector<EventRecord>& events) {
        if (events[0].id != "first") return;
        // Would wait for the writer thread it runs on: refused, not a hang.
        claim_from_listener =
            store.ClaimNext("g", "c", 1, Filter{}, absl::Seconds(1)).status();
        EXPECT_TRUE(store.ReadAfter("", 10, Filter{}).ok());
      });
  store.Append({MakeEvent("first")}, [&](absl::StatusOr<AppendResult> r) {
    ASSERT_TRUE(r.ok());
    // Appending from a done callback only queues: no deadlock.
    store.Append({MakeEvent("second")}, [&](absl::StatusOr<AppendResult> r2) {
      EXPECT_TRUE(r2.ok());
      chained.Notify();
    });
  });
  chained.WaitForNotification();
  store.RemoveListener(id);
  EXPECT_EQ(claim_from_listener.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ReadAllIds(store), ElementsAre("first", "second"));
}

TEST_F(SqliteStoreTest, ReadAfterAPrunedCursorStartsAtTheOldestLeft) {
  Store& store = Open();
  auto old = AppendSync(store, {MakeEvent("a"), MakeEvent("b")});
  ASSERT_TRUE(old.ok());
  clock_->Advance(absl::Hours(24 * 8));
  ASSERT_TRUE(AppendSync(store, {MakeEvent("c")}).ok());
  ASSERT_EQ(store.RunRetention()->events_pruned, 2);
  auto page = store.ReadAfter(old->items[0].cursor, 10, Filter{});
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(Ids(*page), ElementsAre("c"));
}

TEST_F(SqliteStoreTest, FiltersByPhoneNumberAndKind) {
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, {MakeEvent("m1", "message", "111"),
                                 MakeEvent("s1", "status", "111"),
                                 MakeEvent("m2", "message", "222"),
                                 MakeEvent("s2", "status", "222"),
                                 MakeEvent("t3", "template", "333")})
                  .ok());
  EXPECT_THAT(ReadAllIds(store, Filter{{"111"}, {}}), ElementsAre("m1", "s1"));
  EXPECT_THAT(ReadAllIds(store, Filter{{}, {"status"}}),
              ElementsAre("s1", "s2"));
  EXPECT_THAT(
      ReadAllIds(store, Filter{{"222", "333"}, {"message", "template"}}),
      ElementsAre("m2", "t3"));
  EXPECT_THAT(ReadAllIds(store, Filter{{"999"}, {}}), IsEmpty());
  // A page limit counts matching events only.
  auto page = store.ReadAfter("", 1, Filter{{}, {"status"}});
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(Ids(*page), ElementsAre("s1"));
}

TEST_F(SqliteStoreTest, MalformedCursorsAreRejected) {
  Store& store = Open();
  EXPECT_EQ(store.ReadAfter("garbage", 10, Filter{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.ValidateCursor("42").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.ValidateCursor("").ok());
  EXPECT_TRUE(store.ValidateCursor(EncodeSqliteCursor(7)).ok());
  EXPECT_EQ(store.Ack("g", {"nope"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.EnsureGroup("g", "nope").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, RetentionByAgeDropsEventsAndTheirDedupeIds) {
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, {MakeEvent("a"), MakeEvent("b")}).ok());
  clock_->Advance(absl::Hours(24 * 6));
  ASSERT_TRUE(AppendSync(store, {MakeEvent("c")}).ok());
  clock_->Advance(absl::Hours(24 * 1) + absl::Minutes(1));

  auto result = store.RunRetention();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->events_pruned, 2);
  EXPECT_EQ(result->dedupe_ids_pruned, 2);
  EXPECT_THAT(ReadAllIds(store), ElementsAre("c"));

  // After max_age a redelivery is new again; "c" is still deduplicated.
  auto again = AppendSync(store, {MakeEvent("a"), MakeEvent("c")});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->items[0].duplicate);
  EXPECT_TRUE(again->items[1].duplicate);
  EXPECT_THAT(ReadAllIds(store), ElementsAre("c", "a"));
}

TEST_F(SqliteStoreTest, RetentionBySizeKeepsDedupeIds) {
  options_.retention.max_payload_bytes = 3000;
  Store& store = Open();
  for (const char* id : {"a", "b", "c", "d", "e"}) {
    ASSERT_TRUE(
        AppendSync(store, {MakeEvent(id, "message", "111", 1000)}).ok());
  }
  auto result = store.RunRetention();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->events_pruned, 2);
  EXPECT_EQ(result->dedupe_ids_pruned, 0);
  EXPECT_EQ(store.Stats().payload_bytes, 3000);
  EXPECT_THAT(ReadAllIds(store), ElementsAre("c", "d", "e"));
  auto again = AppendSync(store, {MakeEvent("a", "message", "111", 1000)});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->items[0].duplicate);

  // The size budget is remembered across a restart.
  Store& reopened = Open();
  ASSERT_TRUE(
      AppendSync(reopened, {MakeEvent("f", "message", "111", 1000)}).ok());
  EXPECT_EQ(reopened.Stats().payload_bytes, 4000);
  ASSERT_TRUE(reopened.RunRetention().ok());
  EXPECT_THAT(ReadAllIds(reopened), ElementsAre("d", "e", "f"));
  EXPECT_EQ(reopened.Stats().payload_bytes, 3000);
}

TEST_F(SqliteStoreTest, CursorsNeverGoBackAfterTheLogIsEmptied) {
  Store& store = Open();
  auto r = AppendSync(store, {MakeEvent("a"), MakeEvent("b")});
  ASSERT_TRUE(r.ok());
  const std::string last = r->items[1].cursor;
  clock_->Advance(absl::Hours(24 * 8));
  ASSERT_EQ(store.RunRetention()->events_pruned, 2);
  EXPECT_THAT(ReadAllIds(store), IsEmpty());
  EXPECT_EQ(store.LatestCursor().value(), last);

  Store& reopened = Open();
  auto next = AppendSync(reopened, {MakeEvent("c")});
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->items[0].cursor, last);
}

TEST_F(SqliteStoreTest, PrunedThroughIsTheNewestPrunedCursorAndIsDurable) {
  options_.retention.max_payload_bytes = 2000;
  Store& store = Open();
  EXPECT_EQ(store.PrunedThrough().value(), "");
  std::vector<std::string> cursors;
  for (const char* id : {"a", "b", "c", "d"}) {
    auto r = AppendSync(store, {MakeEvent(id, "message", "111", 1000)});
    ASSERT_TRUE(r.ok());
    cursors.push_back(r->items[0].cursor);
  }
  EXPECT_EQ(store.PrunedThrough().value(), "");  // nothing pruned yet
  ASSERT_EQ(store.RunRetention()->events_pruned, 2);
  EXPECT_EQ(store.PrunedThrough().value(), cursors[1]);
  // A retention run that prunes nothing leaves it alone.
  ASSERT_EQ(store.RunRetention()->events_pruned, 0);
  EXPECT_EQ(store.PrunedThrough().value(), cursors[1]);

  // Survives a restart; moves on when everything is pruned by age.
  Store& reopened = Open();
  EXPECT_EQ(reopened.PrunedThrough().value(), cursors[1]);
  clock_->Advance(absl::Hours(24 * 8));
  ASSERT_EQ(reopened.RunRetention()->events_pruned, 2);
  EXPECT_EQ(reopened.PrunedThrough().value(), cursors[3]);
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

TEST_F(SqliteStoreTest, AutomaticRetentionRunsByItself) {
  options_.retention_interval = absl::Milliseconds(20);
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, {MakeEvent("a")}).ok());
  clock_->Advance(absl::Hours(24 * 8));
  for (int i = 0; i < 500 && !ReadAllIds(store).empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_THAT(ReadAllIds(store), IsEmpty());
}

std::vector<std::string> ClaimIds(Store& store, const std::string& group,
                                  const std::string& consumer, size_t max,
                                  absl::Duration timeout = absl::Seconds(30),
                                  std::vector<ClaimedEvent>* out = nullptr) {
  auto claimed = store.ClaimNext(group, consumer, max, Filter{}, timeout);
  EXPECT_TRUE(claimed.ok()) << claimed.status();
  std::vector<std::string> ids;
  if (!claimed.ok()) return ids;
  for (const auto& c : *claimed) ids.push_back(c.event.id);
  if (out) *out = std::move(claimed).value();
  return ids;
}

std::vector<EventRecord> Numbered(int from, int to) {
  std::vector<EventRecord> events;
  for (int i = from; i < to; ++i)
    events.push_back(MakeEvent(absl::StrCat("e", i)));
  return events;
}

TEST_F(SqliteStoreTest, GroupMembersShareEventsWithoutOverlap) {
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, Numbered(0, 10)).ok());
  auto a1 = ClaimIds(store, "crm", "a", 3);
  auto b1 = ClaimIds(store, "crm", "b", 3);
  auto a2 = ClaimIds(store, "crm", "a", 100);
  EXPECT_THAT(a1, ElementsAre("e0", "e1", "e2"));
  EXPECT_THAT(b1, ElementsAre("e3", "e4", "e5"));
  EXPECT_THAT(a2, ElementsAre("e6", "e7", "e8", "e9"));
  EXPECT_THAT(ClaimIds(store, "crm", "b", 100), IsEmpty());
  // Another group sees everything, independently.
  EXPECT_THAT(ClaimIds(store, "billing", "x", 100), SizeIs(10));
}

TEST_F(SqliteStoreTest, UnackedEventsAreRedeliveredAckedNever) {
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, Numbered(0, 4)).ok());
  std::vector<ClaimedEvent> claimed;
  ClaimIds(store, "crm", "a", 4, absl::Seconds(30), &claimed);
  ASSERT_THAT(claimed, SizeIs(4));
  auto acked =
      store.Ack("crm", {claimed[0].event.cursor, claimed[2].event.cursor});
  ASSERT_TRUE(acked.ok());
  EXPECT_EQ(*acked, 2u);
  EXPECT_EQ(store.Ack("crm", {claimed[0].event.cursor}).value(), 0u);

  // Before the deadline nothing is redelivered.
  clock_->Advance(absl::Seconds(29));
  EXPECT_THAT(ClaimIds(store, "crm", "b", 10), IsEmpty());
  clock_->Advance(absl::Seconds(2));
  std::vector<ClaimedEvent> again;
  EXPECT_THAT(ClaimIds(store, "crm", "b", 10, absl::Seconds(30), &again),
              ElementsAre("e1", "e3"));
  EXPECT_EQ(again[0].delivery_count, 2);
  // New events come after redeliveries, and acked ones never come back.
  ASSERT_TRUE(AppendSync(store, Numbered(4, 5)).ok());
  clock_->Advance(absl::Seconds(31));
  EXPECT_THAT(ClaimIds(store, "crm", "a", 10, absl::Seconds(30), &again),
              ElementsAre("e1", "e3", "e4"));
  EXPECT_EQ(again[0].delivery_count, 3);
  EXPECT_EQ(again[2].delivery_count, 1);
  ASSERT_EQ(store
                .Ack("crm", {again[0].event.cursor, again[1].event.cursor,
                             again[2].event.cursor})
                .value(),
            3u);
  clock_->Advance(absl::Minutes(5));
  EXPECT_THAT(ClaimIds(store, "crm", "b", 10), IsEmpty());
}

TEST_F(SqliteStoreTest, GroupStateSurvivesReopen) {
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, Numbered(0, 6)).ok());
  std::vector<ClaimedEvent> claimed;
  ClaimIds(store, "crm", "a", 3, absl::Seconds(30), &claimed);
  ASSERT_EQ(store.Ack("crm", {claimed[0].event.cursor}).value(), 1u);

  Store& reopened = Open();
  EXPECT_THAT(ClaimIds(reopened, "crm", "b", 2), ElementsAre("e3", "e4"));
  clock_->Advance(absl::Seconds(31));
  // e1, e2 were never acked; e3, e4 expired too.
  EXPECT_THAT(ClaimIds(reopened, "crm", "c", 10),
              ElementsAre("e1", "e2", "e3", "e4", "e5"));
}

TEST_F(SqliteStoreTest, EnsureGroupStartsAfterCursorAndFiltersApply) {
  Store& store = Open();
  auto r =
      AppendSync(store, {MakeEvent("a", "message"), MakeEvent("b", "status"),
                         MakeEvent("c", "status"), MakeEvent("d", "message")});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(store.EnsureGroup("late", r->items[1].cursor).ok());
  // A second EnsureGroup does not move an existing group.
  ASSERT_TRUE(store.EnsureGroup("late", "").ok());
  EXPECT_THAT(ClaimIds(store, "late", "x", 10), ElementsAre("c", "d"));

  auto statuses =
      store.ClaimNext("st", "x", 10, Filter{{}, {"status"}}, absl::Seconds(30));
  ASSERT_TRUE(statuses.ok());
  ASSERT_THAT(*statuses, SizeIs(2));
  EXPECT_EQ((*statuses)[0].event.id, "b");
  EXPECT_EQ((*statuses)[1].event.id, "c");
  ASSERT_TRUE(AppendSync(store, {MakeEvent("e", "status")}).ok());
  auto next =
      store.ClaimNext("st", "x", 10, Filter{{}, {"status"}}, absl::Seconds(30));
  ASSERT_TRUE(next.ok());
  ASSERT_THAT(*next, SizeIs(1));
  EXPECT_EQ((*next)[0].event.id, "e");
}

TEST_F(SqliteStoreTest, ConcurrentClaimersNeverShareAnEvent) {
  Store& store = Open();
  constexpr int kEvents = 500;
  ASSERT_TRUE(AppendSync(store, Numbered(0, kEvents)).ok());
  absl::Mutex mu;
  std::multiset<std::string> got;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (true) {
        auto claimed = store.ClaimNext("g", absl::StrCat("c", t), 7, Filter{},
                                       absl::Hours(1));
        ASSERT_TRUE(claimed.ok()) << claimed.status();
        if (claimed->empty()) return;
        std::vector<std::string> cursors;
        absl::MutexLock lock(&mu);
        for (const auto& c : *claimed) {
          got.insert(c.event.id);
          cursors.push_back(c.event.cursor);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(got.size(), static_cast<size_t>(kEvents));
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(),
            static_cast<size_t>(kEvents));
}

TEST_F(SqliteStoreTest, IdempotencyKeyLifecycle) {
  Store& store = Open();
  const absl::Duration ttl = absl::Hours(24);
  EXPECT_EQ(store.BeginIdempotent("k1", ttl)->state, IdempotencyState::kNew);
  EXPECT_EQ(store.BeginIdempotent("k1", ttl)->state,
            IdempotencyState::kInProgress);
  ASSERT_TRUE(store.CompleteIdempotent("k1", std::string("res\0ult", 7)).ok());
  auto done = store.BeginIdempotent("k1", ttl);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, IdempotencyState::kDone);
  EXPECT_EQ(done->result, std::string("res\0ult", 7));
  // Abandon frees an in-progress key but never a completed one.
  ASSERT_TRUE(store.AbandonIdempotent("k1").ok());
  EXPECT_EQ(store.BeginIdempotent("k1", ttl)->state, IdempotencyState::kDone);
  EXPECT_EQ(store.BeginIdempotent("k2", ttl)->state, IdempotencyState::kNew);
  ASSERT_TRUE(store.AbandonIdempotent("k2").ok());
  EXPECT_EQ(store.BeginIdempotent("k2", ttl)->state, IdempotencyState::kNew);
  EXPECT_EQ(store.CompleteIdempotent("unknown", "x").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store.BeginIdempotent("", ttl).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, IdempotencyKeysExpireAndSurviveReopen) {
  Store& store = Open();
  const absl::Duration ttl = absl::Hours(24);
  ASSERT_EQ(store.BeginIdempotent("done", ttl)->state, IdempotencyState::kNew);
  ASSERT_TRUE(store.CompleteIdempotent("done", "r1").ok());
  ASSERT_EQ(store.BeginIdempotent("busy", ttl)->state, IdempotencyState::kNew);

  Store& reopened = Open();
  auto done = reopened.BeginIdempotent("done", ttl);
  EXPECT_EQ(done->state, IdempotencyState::kDone);
  EXPECT_EQ(done->result, "r1");
  EXPECT_EQ(reopened.BeginIdempotent("busy", ttl)->state,
            IdempotencyState::kInProgress);

  clock_->Advance(ttl + absl::Seconds(1));
  EXPECT_EQ(reopened.BeginIdempotent("done", ttl)->state,
            IdempotencyState::kNew);
  clock_->Advance(ttl + absl::Seconds(1));
  auto pruned = reopened.RunRetention();
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->idempotency_keys_pruned, 2);
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
  EXPECT_EQ(store.BeginIdempotent("k", absl::Hours(1)).status().code(),
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
  EXPECT_EQ(store.BeginIdempotent("k", absl::Hours(1))->state,
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

TEST_F(SqliteStoreTest, EventWithoutIdIsRefused) {
  Store& store = Open();
  auto refused = AppendSync(store, {MakeEvent("a"), MakeEvent("")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ReadAllIds(store), IsEmpty());
}

TEST_F(SqliteStoreTest, FullQueueFailsFast) {
  options_.max_queued_events = 10;
  Store& store = Open();
  auto too_many = AppendSync(store, Numbered(0, 11));
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.Stats().rejected_queue_full, 1u);
  EXPECT_TRUE(AppendSync(store, Numbered(0, 10)).ok());
  EXPECT_THAT(ReadAllIds(store), SizeIs(10));
}

// A child process appends continuously and reports each acknowledged id on a
// pipe; it is killed with SIGKILL at a random moment. Every id it reported
// must be in the store afterwards.
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
