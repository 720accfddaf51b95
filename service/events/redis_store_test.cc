#include "service/events/redis_store.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/events/store.h"
#include "service/redis/client.h"
#include "service/redis/testing/redis_server.h"

namespace wagate::events {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

TEST(RedisCursorTest, RoundTripsAndSortsAsStrings) {
  std::vector<RedisStreamId> ids = {{0, 1},
                                    {1, 0},
                                    {1, 15},
                                    {1, 16},
                                    {255, 0},
                                    {1700000000000, 0},
                                    {1700000000000, 1},
                                    {1700000000001, 0},
                                    {UINT64_MAX, UINT64_MAX}};
  std::string previous;
  for (const RedisStreamId& id : ids) {
    std::string cursor = EncodeRedisCursor(id);
    auto parsed = ParseRedisCursor(cursor);
    ASSERT_TRUE(parsed.ok()) << cursor;
    EXPECT_EQ(parsed->ms, id.ms);
    EXPECT_EQ(parsed->seq, id.seq);
    EXPECT_LT(previous, cursor);
    previous = cursor;
  }
  EXPECT_EQ(ParseRedisCursor("")->ms, 0u);
  EXPECT_EQ(ParseRedisStreamId("1700000000000-3")->seq, 3u);
  EXPECT_EQ((RedisStreamId{12, 3}).ToString(), "12-3");
}

TEST(RedisCursorTest, GarbageIsInvalidArgument) {
  const std::string good = EncodeRedisCursor({1, 2});
  for (std::string bad :
       {std::string("x"), std::string("r1"), std::string("1-2"), good.substr(1),
        good + "0", "R" + good.substr(1), "e1" + good.substr(2),
        good.substr(0, 33) + "g", good.substr(0, 33) + "A",
        " " + good.substr(1)}) {
    EXPECT_EQ(ParseRedisCursor(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

EventRecord MakeEvent(const std::string& id,
                      const std::string& kind = "message",
                      const std::string& phone = "111") {
  EventRecord e;
  e.id = id;
  e.kind = kind;
  e.phone_number_id = phone;
  e.waba_id = "waba-1";
  e.received_at = absl::FromUnixMillis(1700000000123);
  e.payload = "payload of " + id;
  return e;
}

std::vector<EventRecord> Numbered(const std::string& prefix, int from, int to) {
  std::vector<EventRecord> events;
  for (int i = from; i < to; ++i) {
    events.push_back(MakeEvent(absl::StrCat(prefix, i)));
  }
  return events;
}

// Begin on the store's idempotency keys, waiting for the answer.
absl::StatusOr<IdempotencyResult> BeginSync(Store& store,
                                            const std::string& key,
                                            absl::Duration ttl) {
  absl::Notification done;
  absl::StatusOr<IdempotencyResult> result;
  store.idempotency_keys()->Begin(key, "", ttl,
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

// Collects what a listener is given, for waiting on it.
class Collector {
 public:
  Store::Listener AsListener() {
    return [this](const std::vector<EventRecord>& events) {
      absl::MutexLock lock(&mu_);
      for (const auto& e : events) {
        ids_.push_back(e.id);
        cursors_.push_back(e.cursor);
      }
    };
  }
  // Waits until `n` events arrived (or 10 s); returns the ids seen.
  std::vector<std::string> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return ids_.size() >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return ids_;
  }
  std::vector<std::string> cursors() {
    absl::MutexLock lock(&mu_);
    return cursors_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> cursors_ ABSL_GUARDED_BY(mu_);
};

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!redis::TestRedisServer::Installed()) {
      GTEST_SKIP() << redis::TestRedisServer::kBinary << " is not installed";
    }
    ASSERT_TRUE(server_.Start().ok());
  }

  std::unique_ptr<Store> Open(const std::string& suffix = "") {
    auto store = OpenRedisStore(server_.Url() + suffix, options_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  redis::TestRedisServer server_;
  StoreOptions options_;
};

// What lets a subscriber on replica B see a webhook taken by replica A.
TEST_F(RedisStoreTest, ListenersSeeEventsAppendedThroughAnotherInstance) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  Collector on_b, on_a;
  Store::ListenerId id_b = b->AddListener(on_b.AsListener());
  Store::ListenerId id_a = a->AddListener(on_a.AsListener());
  // Interleaved appends through both, including the same ids twice.
  for (int i = 0; i < 50; ++i) {
    Store& via = i % 2 ? *a : *b;
    ASSERT_TRUE(AppendSync(via, {MakeEvent(absl::StrCat("e", i)),
                                 MakeEvent(absl::StrCat("e", i / 2))})
                    .ok());
  }
  std::vector<std::string> seen_b = on_b.WaitFor(50);
  std::vector<std::string> seen_a = on_a.WaitFor(50);
  // Each instance's listeners get every event once, in log order.
  EXPECT_EQ(seen_b, ReadAllIds(*a));
  EXPECT_EQ(seen_a, seen_b);
  EXPECT_THAT(seen_b, SizeIs(50));
  std::vector<std::string> cursors = on_b.cursors();
  for (size_t i = 1; i < cursors.size(); ++i) {
    EXPECT_LT(cursors[i - 1], cursors[i]);
  }
  b->RemoveListener(id_b);
  a->RemoveListener(id_a);
}

TEST_F(RedisStoreTest, ConcurrentInstancesDeduplicateTogether) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  std::atomic<int> duplicates{0};
  auto run = [&](Store* store) {
    for (int i = 0; i < 200; ++i) {
      auto r = AppendSync(*store, {MakeEvent(absl::StrCat("same", i))});
      ASSERT_TRUE(r.ok()) << r.status();
      if (r->items[0].duplicate) ++duplicates;
    }
  };
  std::thread ta(run, a.get()), tb(run, b.get());
  ta.join();
  tb.join();
  EXPECT_EQ(duplicates.load(), 200);
  EXPECT_THAT(ReadAllIds(*a), SizeIs(200));
}

TEST_F(RedisStoreTest, AGroupSpansInstances) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(AppendSync(*a, Numbered("e", 0, 100)).ok());
  std::multiset<std::string> got;
  std::vector<std::string> unacked;
  for (int round = 0; round < 100; ++round) {
    Store& via = round % 2 ? *a : *b;
    auto claimed = via.ClaimNext("crm", round % 2 ? "on-a" : "on-b", 7,
                                 Filter{}, absl::Milliseconds(300));
    ASSERT_TRUE(claimed.ok()) << claimed.status();
    if (claimed->events.empty()) break;
    std::vector<std::string> cursors;
    for (const auto& c : claimed->events) {
      got.insert(c.event.id);
      EXPECT_EQ(c.delivery_count, 1);
      cursors.push_back(c.event.cursor);
    }
    // The member on A never acknowledges its first claim.
    if (round == 1) {
      for (const auto& c : claimed->events) unacked.push_back(c.event.id);
      continue;
    }
    ASSERT_EQ(via.Ack("crm", cursors).value(), cursors.size());
  }
  EXPECT_EQ(got.size(), 100u);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), 100u);
  ASSERT_THAT(unacked, SizeIs(7));
  // After the ack timeout (Redis's clock: no clock injected) B gets them.
  EXPECT_THAT(b->ClaimNext("crm", "on-b", 100, Filter{}, absl::Seconds(30))
                  .value()
                  .events,
              IsEmpty());
  absl::SleepFor(absl::Milliseconds(400));
  auto again = b->ClaimNext("crm", "on-b", 100, Filter{}, absl::Seconds(30));
  ASSERT_TRUE(again.ok()) << again.status();
  std::vector<std::string> redelivered;
  for (const auto& c : again->events) {
    redelivered.push_back(c.event.id);
    EXPECT_EQ(c.delivery_count, 2);
  }
  EXPECT_EQ(redelivered, unacked);
}

TEST_F(RedisStoreTest, OpenFailsWhileRedisIsDown) {
  server_.Stop();
  auto store = OpenRedisStore(server_.Url(), options_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RedisStoreTest, RedisDownIsUnavailableThenTheStoreRecovers) {
  auto store = Open();
  ASSERT_TRUE(store);
  Collector seen;
  Store::ListenerId id = store->AddListener(seen.AsListener());
  ASSERT_TRUE(AppendSync(*store, {MakeEvent("before")}).ok());
  ASSERT_THAT(seen.WaitFor(1), ElementsAre("before"));

  server_.Stop();
  auto failed = AppendSync(*store, {MakeEvent("during")});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->ReadAfter("", 10, Filter{}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->LatestCursor().status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      store->ClaimNext("g", "c", 1, Filter{}, absl::Seconds(1)).status().code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(BeginSync(*store, "k", absl::Hours(1)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_GE(store->Stats().failed_commits, 1u);

  ASSERT_TRUE(server_.Start().ok());  // same port, same append-only file
  absl::StatusOr<AppendResult> ok;
  for (int i = 0; i < 100; ++i) {
    ok = AppendSync(*store, {MakeEvent("during"), MakeEvent("after")});
    if (ok.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_FALSE(ok->items[0].duplicate);  // the failed batch left nothing
  EXPECT_THAT(ReadAllIds(*store), ElementsAre("before", "during", "after"));
  // The tail reconnected by itself: listeners keep receiving.
  EXPECT_THAT(seen.WaitFor(3), ElementsAre("before", "during", "after"));
  EXPECT_EQ(BeginSync(*store, "k", absl::Hours(1))->state,
            IdempotencyState::kNew);
  store->RemoveListener(id);
}

// appendfsync always (see the Deployment section of the README): what
// Append acknowledged survives Redis itself being killed.
TEST_F(RedisStoreTest, AcknowledgedEventsSurviveRedisSigkill) {
  auto store = Open();
  ASSERT_TRUE(store);
  absl::Mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        std::vector<EventRecord> batch =
            Numbered(absl::StrCat("w", t, "-", i, "-"), 0, 5);
        auto r = AppendSync(*store, batch);
        if (!r.ok()) {
          absl::SleepFor(absl::Milliseconds(5));
          continue;
        }
        absl::MutexLock lock(&mu);
        for (const auto& e : batch) acknowledged.insert(e.id);
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  server_.Kill();
  absl::SleepFor(absl::Milliseconds(100));
  stop = true;
  for (auto& w : writers) w.join();
  ASSERT_TRUE(server_.Start().ok());
  std::vector<std::string> stored;
  for (int i = 0; i < 100; ++i) {
    auto events = store->ReadAfter("", 10000000, Filter{});
    if (events.ok()) {
      stored = Ids(*events);
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::set<std::string> stored_set(stored.begin(), stored.end());
  EXPECT_EQ(stored_set.size(), stored.size()) << "duplicates stored";
  size_t missing = 0;
  for (const auto& id : acknowledged) missing += stored_set.count(id) == 0;
  EXPECT_FALSE(acknowledged.empty());
  EXPECT_EQ(missing, 0u) << missing << " of " << acknowledged.size();
}

TEST_F(RedisStoreTest, EveryKeyCarriesTheHashTagOfThePrefix) {
  auto store = Open("/0?prefix=tenant-1");
  ASSERT_TRUE(store);
  ASSERT_TRUE(AppendSync(*store, Numbered("e", 0, 3)).ok());
  auto claimed = store->ClaimNext("g", "c", 1, Filter{}, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(BeginSync(*store, "client:key", absl::Hours(1))->state,
            IdempotencyState::kNew);
  redis::Client client(redis::ParseUrl(server_.Url()).value(), {});
  auto keys = client.Command({"KEYS", "*"});
  ASSERT_TRUE(keys.ok());
  std::set<std::string> names;
  for (const auto& k : keys->elements) names.insert(k.str);
  EXPECT_EQ(names, (std::set<std::string>{
                       "{tenant-1}:events", "{tenant-1}:seen",
                       "{tenant-1}:last", "{tenant-1}:bytes", "{tenant-1}:dl:g",
                       "{tenant-1}:groupfilters", "{tenant-1}:idem:client:key",
                       "{tenant-1}:idemx"}));
  // Another prefix is another store on the same Redis.
  auto other = Open("/0?prefix=tenant-2");
  ASSERT_TRUE(other);
  EXPECT_THAT(ReadAllIds(*other), IsEmpty());
}

TEST_F(RedisStoreTest, RetentionKeepsRecentGroupConsumers) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(AppendSync(*store, Numbered("e", 0, 3)).ok());
  ASSERT_THAT(
      store->ClaimNext("g", "c1", 1, Filter{}, absl::Seconds(30))->events,
      SizeIs(1));
  ASSERT_THAT(
      store->ClaimNext("g", "c2", 5, Filter{}, absl::Seconds(30))->events,
      SizeIs(2));
  auto result = store->RunRetention();
  ASSERT_TRUE(result.ok()) << result.status();
  redis::Client client(redis::ParseUrl(server_.Url()).value(), {});
  auto consumers =
      client.Command({"XINFO", "CONSUMERS", "{wagate}:events", "g"});
  ASSERT_TRUE(consumers.ok()) << consumers.status();
  EXPECT_THAT(consumers->elements, SizeIs(2));
}

// ---- Durability (issue 14): a 200 is a promise only if Redis persists
// the append before the script's answer (appendfsync always) or wagate
// waits for the fsync (WAITAOF, Redis 7.2+). ----

TEST(RedisDurabilityTest, DecidesFromVersionAndPersistenceSettings) {
  EXPECT_EQ(DecideRedisDurability("7.2.4", "yes", "everysec").value(),
            RedisDurability::kWaitAof);
  EXPECT_EQ(DecideRedisDurability("8.0.1", "yes", "no").value(),
            RedisDurability::kWaitAof);
  EXPECT_EQ(DecideRedisDurability("7.2.0", "yes", "always").value(),
            RedisDurability::kWaitAof);
  EXPECT_EQ(DecideRedisDurability("7.0.15", "yes", "always").value(),
            RedisDurability::kFsyncAlways);
  EXPECT_EQ(DecideRedisDurability("", "yes", "always").value(),
            RedisDurability::kFsyncAlways);
  struct Refused {
    const char* version;
    const char* appendonly;
    const char* appendfsync;
    const char* says;
  };
  for (const Refused& r : {
           Refused{"7.0.15", "no", "always", "appendonly no"},
           Refused{"7.4.0", "no", "everysec", "appendonly no"},
           Refused{"7.0.15", "yes", "everysec", "appendfsync everysec"},
           Refused{"7.1.9", "yes", "no", "appendfsync no"},
           Refused{"6.2.14", "yes", "everysec", "7.2"},
           Refused{"7.0.15", "", "", "CONFIG"},
           Refused{"garbage", "yes", "everysec", "appendfsync everysec"},
       }) {
    SCOPED_TRACE(
        absl::StrCat(r.version, " ", r.appendonly, " ", r.appendfsync));
    auto decided =
        DecideRedisDurability(r.version, r.appendonly, r.appendfsync);
    ASSERT_EQ(decided.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(decided.status().message(), ::testing::HasSubstr(r.says));
  }
}

// Redis 7.0 here: always → opens; everysec or no AOF → refused with what
// to change, unless the URL says durability=relaxed.
TEST(RedisDurabilityTest, OpenChecksTheRealServersPersistence) {
  if (!redis::TestRedisServer::Installed()) GTEST_SKIP() << "no redis-server";
  {
    redis::TestRedisServer always;  // appendonly yes, appendfsync always
    ASSERT_TRUE(always.Start().ok());
    auto store = OpenRedisStore(always.Url(), StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_TRUE(AppendSync(**store, {MakeEvent("a")}).ok());
  }
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Case& c : {Case{{"--appendonly", "no"}, "appendonly no"},
                        Case{{"--appendfsync", "everysec"}, "everysec"}}) {
    SCOPED_TRACE(c.says);
    redis::TestRedisServer server(c.args);
    ASSERT_TRUE(server.Start().ok());
    auto refused = OpenRedisStore(server.Url(), StoreOptions());
    ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(refused.status().message(), ::testing::HasSubstr(c.says));
    EXPECT_THAT(refused.status().message(),
                ::testing::HasSubstr("appendfsync always"));
    EXPECT_THAT(refused.status().message(),
                ::testing::HasSubstr("durability=relaxed"));
    // The explicit opt-out opens (with a loud warning in the log).
    auto relaxed =
        OpenRedisStore(server.Url() + "/0?durability=relaxed", StoreOptions());
    ASSERT_TRUE(relaxed.ok()) << relaxed.status();
    EXPECT_TRUE(AppendSync(**relaxed, {MakeEvent("a")}).ok());
  }
  {
    // CONFIG renamed away (as on some managed Redis): cannot tell.
    redis::TestRedisServer hidden({"--rename-command", "CONFIG", ""});
    ASSERT_TRUE(hidden.Start().ok());
    auto refused = OpenRedisStore(hidden.Url(), StoreOptions());
    ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("CONFIG"));
    EXPECT_TRUE(
        OpenRedisStore(hidden.Url() + "?durability=relaxed", StoreOptions())
            .ok());
  }
}

// ---- Bounded scans (issue 14): a sparse filter never makes one call
// examine the whole stream. ----

TEST_F(RedisStoreTest, SparseReadsAndClaimsScanABoundedPrefixPerCall) {
  options_.max_scanned_per_call = 100;
  auto store = Open();
  ASSERT_TRUE(store);
  std::vector<EventRecord> events;
  for (int i = 0; i < 1000; ++i) {
    events.push_back(
        MakeEvent(absl::StrCat("e", i), "message", i == 999 ? "222" : "111"));
  }
  auto appended = AppendSync(*store, std::move(events));
  ASSERT_TRUE(appended.ok());
  const Filter sparse{{"222"}, {}};
  // One call: the first 100 entries examined, nothing matched, more to go.
  auto first = store->ReadPage("", 10, sparse);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(first->events, IsEmpty());
  EXPECT_TRUE(first->more);
  EXPECT_EQ(first->scanned_through, appended->items[99].cursor);
  // Continuing from there: ten calls of 100 entries reach the match, an
  // eleventh finds the end.
  std::string from = first->scanned_through;
  int calls = 1;
  std::vector<std::string> got;
  while (true) {
    auto page = store->ReadPage(from, 10, sparse);
    ASSERT_TRUE(page.ok()) << page.status();
    ++calls;
    for (const auto& e : page->events) got.push_back(e.id);
    if (!page->more) break;
    from = page->scanned_through;
  }
  EXPECT_THAT(got, ElementsAre("e999"));
  EXPECT_EQ(calls, 11);
  // ReadAfter, for callers that want every match at once, still gets it.
  EXPECT_THAT(ReadAllIds(*store, sparse), ElementsAre("e999"));

  // Claims too: each examines at most 100 new entries and says there is
  // more; the group's position moves on, so the match comes eventually.
  int claims = 0;
  got.clear();
  while (true) {
    auto batch = store->ClaimNext("g", "c", 16, sparse, absl::Seconds(30));
    ASSERT_TRUE(batch.ok()) << batch.status();
    ++claims;
    for (const auto& c : batch->events) got.push_back(c.event.id);
    if (claims == 1) {
      EXPECT_THAT(batch->events, IsEmpty());
      EXPECT_TRUE(batch->more);
    }
    if (batch->events.empty() && !batch->more) break;
  }
  EXPECT_THAT(got, ElementsAre("e999"));
  EXPECT_GE(claims, 10);
}

// A group created before groups stored their filter (no entry in
// {wagate}:groupfilters) adopts the filter of its next member.
TEST_F(RedisStoreTest, GroupFromBeforeFiltersAdoptsItsNextMembersFilter) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(AppendSync(*store, Numbered("e", 0, 2)).ok());
  redis::Client client(redis::ParseUrl(server_.Url()).value(), {});
  ASSERT_TRUE(client
                  .Command({"XGROUP", "CREATE", "{wagate}:events", "old", "0",
                            "MKSTREAM"})
                  .ok());
  const Filter first{{"111"}, {}};
  auto claimed = store->ClaimNext("old", "c", 10, first, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(claimed->events, SizeIs(2));
  EXPECT_EQ(store->EnsureGroup("old", "", Filter{}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store->EnsureGroup("old", "", first).ok());
}

TEST(RedisStoreAuthTest, PasswordComesFromTheEnvironment) {
  if (!redis::TestRedisServer::Installed()) GTEST_SKIP() << "no redis-server";
  redis::TestRedisServer server({"--requirepass", "store-pw"});
  ASSERT_TRUE(server.Start().ok());
  unsetenv("WAGATE_REDIS_PASSWORD");
  EXPECT_FALSE(OpenRedisStore(server.Url(), StoreOptions()).ok());
  setenv("WAGATE_REDIS_PASSWORD", "store-pw", 1);
  auto store = OpenRedisStore(server.Url(), StoreOptions());
  unsetenv("WAGATE_REDIS_PASSWORD");
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(AppendSync(**store, {MakeEvent("a")}).ok());
  EXPECT_THAT(ReadAllIds(**store), ElementsAre("a"));
}

}  // namespace
}  // namespace wagate::events
