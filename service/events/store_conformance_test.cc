// The Store contract (service/events/store.h) checked against every backend
// (the idempotency keys have their own: idempotency_keys_conformance_test.cc):
// the same tests run on SQLite and on Redis (a real redis-server on loopback,
// skipped if it is not installed). Backend-specific behaviour (SQLite's
// locks and I/O errors, Redis outages and several instances on one Redis)
// is tested beside each backend.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/events/redis_store.h"
#include "service/events/sqlite_store.h"
#include "service/events/store.h"
#include "service/redis/testing/redis_server.h"

namespace wagate::events {
namespace {

using ::testing::ElementsAre;
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

// GetParam(): "sqlite" or "redis".
class StoreConformanceTest : public ::testing::TestWithParam<std::string> {
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
      const auto* info =
          ::testing::UnitTest::GetInstance()->current_test_info();
      std::string name = info->name();
      std::replace(name.begin(), name.end(), '/', '_');
      dir_ = std::filesystem::path(::testing::TempDir()) /
             absl::StrCat("store_conformance_", getpid(), "_", name);
      std::filesystem::remove_all(dir_);
      spec_ = "sqlite:" + (dir_ / "events.db").string();
    }
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Opens (again: the previous instance is closed first) the same store.
  Store& Open() {
    store_.reset();
    auto store = OpenStore(spec_, options_);
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    return *store_;
  }

  // A cursor the other backend issues: never valid here.
  std::string ForeignCursor() const {
    return GetParam() == "redis" ? EncodeSqliteCursor(7)
                                 : EncodeRedisCursor({1700000000000, 0});
  }

  std::string spec_;
  std::filesystem::path dir_;
  std::unique_ptr<redis::TestRedisServer> redis_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest,
                         ::testing::Values("sqlite", "redis"),
                         [](const auto& info) { return info.param; });

TEST_P(StoreConformanceTest, AppendThenReadInCursorOrder) {
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

TEST_P(StoreConformanceTest, DuplicatesAreStoredOnceAndFlagged) {
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

TEST_P(StoreConformanceTest, ConcurrentAppendsAreGroupCommitted) {
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

TEST_P(StoreConformanceTest, ListenerSeesEachNewEventOnce) {
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

TEST_P(StoreConformanceTest, CallbacksMayAppendButNotWaitForTheWriter) {
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

TEST_P(StoreConformanceTest, ReadAfterAPrunedCursorStartsAtTheOldestLeft) {
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

TEST_P(StoreConformanceTest, FiltersByPhoneNumberAndKind) {
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

TEST_P(StoreConformanceTest, MalformedCursorsAreRejected) {
  Store& store = Open();
  EXPECT_EQ(store.ReadAfter("garbage", 10, Filter{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.ValidateCursor("42").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.ValidateCursor("").ok());
  EXPECT_EQ(store.ValidateCursor(ForeignCursor()).code(),
            absl::StatusCode::kInvalidArgument);
  auto r = AppendSync(store, {MakeEvent("a")});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(store.ValidateCursor(r->items[0].cursor).ok());
  EXPECT_TRUE(store.ValidateCursor(store.LatestCursor().value()).ok());
  EXPECT_EQ(store.Ack("g", {"nope"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.EnsureGroup("g", "nope", Filter{}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, RetentionByAgeDropsEventsAndTheirDedupeIds) {
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

TEST_P(StoreConformanceTest, RetentionBySizeKeepsDedupeIds) {
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

TEST_P(StoreConformanceTest, CursorsNeverGoBackAfterTheLogIsEmptied) {
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

TEST_P(StoreConformanceTest, AutomaticRetentionRunsByItself) {
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
  for (const auto& c : claimed->events) ids.push_back(c.event.id);
  if (out) *out = std::move(claimed->events);
  return ids;
}

std::vector<EventRecord> Numbered(int from, int to) {
  std::vector<EventRecord> events;
  for (int i = from; i < to; ++i)
    events.push_back(MakeEvent(absl::StrCat("e", i)));
  return events;
}

TEST_P(StoreConformanceTest, GroupMembersShareEventsWithoutOverlap) {
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

TEST_P(StoreConformanceTest, UnackedEventsAreRedeliveredAckedNever) {
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

TEST_P(StoreConformanceTest, GroupStateSurvivesReopen) {
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

TEST_P(StoreConformanceTest, EnsureGroupStartsAfterCursorAndFiltersApply) {
  Store& store = Open();
  auto r =
      AppendSync(store, {MakeEvent("a", "message"), MakeEvent("b", "status"),
                         MakeEvent("c", "status"), MakeEvent("d", "message")});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(store.EnsureGroup("late", r->items[1].cursor, Filter{}).ok());
  // A second EnsureGroup does not move an existing group.
  ASSERT_TRUE(store.EnsureGroup("late", "", Filter{}).ok());
  EXPECT_THAT(ClaimIds(store, "late", "x", 10), ElementsAre("c", "d"));

  auto statuses =
      store.ClaimNext("st", "x", 10, Filter{{}, {"status"}}, absl::Seconds(30));
  ASSERT_TRUE(statuses.ok());
  ASSERT_THAT(statuses->events, SizeIs(2));
  EXPECT_EQ(statuses->events[0].event.id, "b");
  EXPECT_EQ(statuses->events[1].event.id, "c");
  ASSERT_TRUE(AppendSync(store, {MakeEvent("e", "status")}).ok());
  auto next =
      store.ClaimNext("st", "x", 10, Filter{{}, {"status"}}, absl::Seconds(30));
  ASSERT_TRUE(next.ok());
  ASSERT_THAT(next->events, SizeIs(1));
  EXPECT_EQ(next->events[0].event.id, "e");
}

// Issue 14: members with different filters made each other lose events.
// The group keeps the filter it was created with and refuses another.
TEST_P(StoreConformanceTest, GroupKeepsItsFilterAndRefusesAnother) {
  Store& store = Open();
  ASSERT_TRUE(AppendSync(store, {MakeEvent("m1", "message", "111"),
                                 MakeEvent("s1", "status", "111"),
                                 MakeEvent("s2", "status", "222")})
                  .ok());
  const Filter statuses{{"222", "111"}, {"status"}};
  ASSERT_TRUE(store.EnsureGroup("g", "", statuses).ok());
  // The same selection, in another order and with duplicates: accepted.
  EXPECT_TRUE(
      store.EnsureGroup("g", "", Filter{{"111", "222", "111"}, {"status"}})
          .ok());
  const Filter messages{{"111", "222"}, {"message"}};
  absl::Status refused = store.EnsureGroup("g", "", messages);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("\"g\""));
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("filter"));
  auto wrong = store.ClaimNext("g", "x", 10, messages, absl::Seconds(30));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.ClaimNext("g", "x", 10, Filter{}, absl::Seconds(30))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // The refused claims took nothing: the group's member gets everything.
  auto claimed = store.ClaimNext("g", "y", 10, statuses, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  std::vector<std::string> ids;
  for (const auto& c : claimed->events) ids.push_back(c.event.id);
  EXPECT_THAT(ids, ElementsAre("s1", "s2"));

  // A group created by ClaimNext keeps that call's filter.
  ASSERT_TRUE(
      store.ClaimNext("h", "x", 10, Filter{{"111"}, {}}, absl::Seconds(30))
          .ok());
  EXPECT_EQ(store.EnsureGroup("h", "", Filter{}).code(),
            absl::StatusCode::kFailedPrecondition);

  // Stored durably with the group.
  Store& reopened = Open();
  EXPECT_EQ(reopened.EnsureGroup("g", "", messages).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(reopened.EnsureGroup("g", "", statuses).ok());
  EXPECT_TRUE(reopened.EnsureGroup("h", "", Filter{{"111"}, {}}).ok());
}

// A sparse filter over a long log: paging with ReadPage from where each
// page stopped (scanned_through) delivers every match once, in order, and
// group claims get every match too, whatever the backend's scan bound.
TEST_P(StoreConformanceTest, SparseFilterPagesDeliverEverythingOnce) {
  options_.max_scanned_per_call = 100;
  Store& store = Open();
  std::vector<EventRecord> events;
  std::vector<std::string> want;
  for (int i = 0; i < 1000; ++i) {
    const bool match = i % 300 == 299;
    events.push_back(
        MakeEvent(absl::StrCat("e", i), "message", match ? "222" : "111"));
    if (match) want.push_back(absl::StrCat("e", i));
  }
  ASSERT_TRUE(AppendSync(store, std::move(events)).ok());
  const Filter sparse{{"222"}, {}};
  std::vector<std::string> got;
  std::string from;
  int reads = 0;
  for (; reads < 1000; ++reads) {
    auto page = store.ReadPage(from, 2, sparse);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& e : page->events) got.push_back(e.id);
    if (!page->events.empty()) {
      EXPECT_GE(page->scanned_through, page->events.back().cursor);
    }
    if (!page->more) break;
    ASSERT_FALSE(page->scanned_through.empty());
    ASSERT_GT(page->scanned_through, from);
    from = page->scanned_through;
  }
  EXPECT_EQ(got, want);

  got.clear();
  for (int claims = 0; claims < 1000; ++claims) {
    auto batch = store.ClaimNext("g", "c", 2, sparse, absl::Seconds(30));
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (const auto& c : batch->events) got.push_back(c.event.id);
    if (batch->events.empty() && !batch->more) break;
  }
  EXPECT_EQ(got, want);
}

TEST_P(StoreConformanceTest, ConcurrentClaimersNeverShareAnEvent) {
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
        if (claimed->events.empty()) return;
        std::vector<std::string> cursors;
        absl::MutexLock lock(&mu);
        for (const auto& c : claimed->events) {
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

TEST_P(StoreConformanceTest, EventWithoutIdIsRefused) {
  Store& store = Open();
  auto refused = AppendSync(store, {MakeEvent("a"), MakeEvent("")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ReadAllIds(store), IsEmpty());
}

TEST_P(StoreConformanceTest, FullQueueFailsFast) {
  options_.max_queued_events = 10;
  Store& store = Open();
  auto too_many = AppendSync(store, Numbered(0, 11));
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.Stats().rejected_queue_full, 1u);
  EXPECT_TRUE(AppendSync(store, Numbered(0, 10)).ok());
  EXPECT_THAT(ReadAllIds(store), SizeIs(10));
}

TEST_P(StoreConformanceTest, ReadAfterPagesPastEventsTheFilterSkips) {
  Store& store = Open();
  // More non-matching events than one backend page, then a few matching.
  std::vector<EventRecord> events;
  for (int i = 0; i < 2500; ++i) {
    events.push_back(MakeEvent(absl::StrCat("m", i), "message"));
    if (i % 1000 == 999)
      events.push_back(MakeEvent(absl::StrCat("s", i), "status"));
  }
  ASSERT_TRUE(AppendSync(store, std::move(events)).ok());
  EXPECT_THAT(ReadAllIds(store, Filter{{}, {"status"}}),
              ElementsAre("s999", "s1999"));
  auto first = store.ReadAfter("", 1, Filter{{}, {"status"}});
  ASSERT_TRUE(first.ok());
  ASSERT_THAT(*first, SizeIs(1));
  auto next = store.ReadAfter((*first)[0].cursor, 5, Filter{{}, {"status"}});
  ASSERT_TRUE(next.ok());
  EXPECT_THAT(Ids(*next), ElementsAre("s1999"));
  // Unfiltered paging returns exactly `max`.
  auto page = store.ReadAfter("", 1500, Filter{});
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(*page, SizeIs(1500));
  EXPECT_THAT(ReadAllIds(store), SizeIs(2502));
}

TEST_P(StoreConformanceTest, AFailedBatchStoresNothing) {
  Store& store = Open();
  // An id-less event refuses the whole batch, including the new ids in it.
  auto refused = AppendSync(store, {MakeEvent("x"), MakeEvent("")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  auto later = AppendSync(store, {MakeEvent("x")});
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later->items[0].duplicate);
}

TEST_P(StoreConformanceTest, PrunedThroughIsTheNewestPrunedCursorAndIsDurable) {
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
  EXPECT_LT(cursors[1], cursors[2]);
  ASSERT_EQ(store.RunRetention()->events_pruned, 0);
  EXPECT_EQ(store.PrunedThrough().value(), cursors[1]);

  Store& reopened = Open();
  EXPECT_EQ(reopened.PrunedThrough().value(), cursors[1]);
  clock_->Advance(absl::Hours(24 * 8));
  ASSERT_EQ(reopened.RunRetention()->events_pruned, 2);
  EXPECT_EQ(reopened.PrunedThrough().value(), cursors[3]);
}

}  // namespace
}  // namespace wagate::events
