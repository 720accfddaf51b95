// Events.Subscribe and Events.Ack over a real gRPC server (callback API) on
// 127.0.0.1:0 and a real SQLite store in a temp dir; events are appended
// directly with Store::Append.
#include "service/events/events_service.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
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
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/events/sqlite_store.h"
#include "service/events/subscribe_kinds.h"
#include "service/redis/testing/redis_server.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::events {
namespace {

using ::testing::ElementsAreArray;
using wagate::v1::Event;
using wagate::v1::SubscribeRequest;

constexpr absl::Duration kWait = absl::Seconds(20);

// ---- Kinds ----

TEST(SubscribeKindsTest, EveryPayloadFieldHasAKind) {
  const auto* oneof = Event::descriptor()->FindOneofByName("payload");
  ASSERT_NE(oneof, nullptr);
  for (int i = 0; i < oneof->field_count(); ++i) {
    const std::string& name = oneof->field(i)->name();
    v1::EventKind kind = KindFromName(name);
    EXPECT_NE(kind, v1::EVENT_KIND_UNSPECIFIED) << "no EventKind for " << name;
    absl::StatusOr<std::string> back = KindName(kind);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, name);
  }
}

TEST(SubscribeKindsTest, EveryKindHasAPayloadField) {
  const auto* kinds = v1::EventKind_descriptor();
  for (int i = 0; i < kinds->value_count(); ++i) {
    int number = kinds->value(i)->number();
    if (number == v1::EVENT_KIND_UNSPECIFIED) continue;
    absl::StatusOr<std::string> name = KindName(number);
    EXPECT_TRUE(name.ok()) << kinds->value(i)->name() << ": " << name.status();
  }
  EXPECT_EQ(KindName(v1::EVENT_KIND_MESSAGE).value(), "message");
  EXPECT_EQ(KindName(v1::EVENT_KIND_TEMPLATE_STATUS).value(),
            "template_status");
  EXPECT_FALSE(KindName(v1::EVENT_KIND_UNSPECIFIED).ok());
  EXPECT_FALSE(KindName(9999).ok());
}

TEST(SubscribeKindsTest, KindOfEventIsThePayloadFieldName) {
  Event event;
  EXPECT_EQ(KindOfEvent(event), "");
  event.mutable_status()->set_message_id("wamid.1");
  EXPECT_EQ(KindOfEvent(event), "status");
  event.mutable_template_status()->set_event("APPROVED");
  EXPECT_EQ(KindOfEvent(event), "template_status");
}

// ---- Test client ----

// Reads one stream on its own thread, collecting events.
class TestSubscriber {
 public:
  // With `ack`, every event received is acknowledged to request.group().
  TestSubscriber(v1::Events::Stub* stub, const SubscribeRequest& request,
                 bool paused = false, bool ack = false)
      : stub_(stub), ack_group_(ack ? request.group() : ""), paused_(paused) {
    reader_ = stub->Subscribe(&context_, request);
    thread_ = std::thread([this] { Run(); });
  }
  ~TestSubscriber() {
    Cancel();
    Resume();
    thread_.join();
  }

  void Cancel() { context_.TryCancel(); }
  void Resume() {
    absl::MutexLock lock(&mu_);
    paused_ = false;
  }

  // Waits until `n` events arrived (or the stream ended, or kWait passed).
  std::vector<Event> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto cond = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return events_.size() >= n || done_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&cond), kWait);
    return events_;
  }
  std::vector<Event> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  int64_t acked() {
    absl::MutexLock lock(&mu_);
    return acked_;
  }
  grpc::Status WaitDone() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&done_), kWait);
    EXPECT_TRUE(done_);
    return status_;
  }

 private:
  void Run() {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](bool* paused) { return !*paused; }, &paused_));
      }
      Event event;
      if (!reader_->Read(&event)) break;
      int64_t acked = 0;
      if (!ack_group_.empty()) {
        grpc::ClientContext context;
        v1::AckRequest request;
        request.set_group(ack_group_);
        request.add_cursors(event.cursor());
        v1::AckResponse response;
        grpc::Status status = stub_->Ack(&context, request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        acked = response.acknowledged();
      }
      absl::MutexLock lock(&mu_);
      events_.push_back(std::move(event));
      acked_ += acked;
    }
    grpc::Status status = reader_->Finish();
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

  v1::Events::Stub* const stub_;
  const std::string ack_group_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<Event>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  bool paused_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::vector<Event> events_ ABSL_GUARDED_BY(mu_);
  int64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
};

std::vector<std::string> Cursors(const std::vector<Event>& events) {
  std::vector<std::string> cursors;
  for (const Event& e : events) cursors.push_back(e.cursor());
  return cursors;
}

std::vector<std::string> Ids(const std::vector<Event>& events) {
  std::vector<std::string> ids;
  for (const Event& e : events) ids.push_back(e.id());
  return ids;
}

// ---- Fixture ----

class EventsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("events_service_test_", getpid(), "_", info->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    auto store =
        redis_ != nullptr
            ? OpenStore(redis_->Url(), store_options_)
            : OpenSqliteStore((dir_ / "events.db").string(), store_options_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    service_ = std::make_unique<EventsService>(store_.get(), options_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    grpc::ChannelArguments args;
    // Keep the client's flow-control window small so a client that stops
    // reading pushes back on the server soon (the slow-consumer test).
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
    channel_ =
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                  grpc::InsecureChannelCredentials(), args);
    stub_ = v1::Events::NewStub(channel_);
  }

  void Close() {
    if (service_ != nullptr) service_->Shutdown();
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
    }
    stub_.reset();
    channel_.reset();
    server_.reset();
    service_.reset();
    store_.reset();
  }

  static Event MakeEvent(const std::string& id, const std::string& phone,
                         const std::string& kind, size_t padding = 0,
                         const std::string& waba = "waba-1") {
    Event event;
    event.set_id(id);
    event.set_waba_id(waba);
    event.set_phone_number_id(phone);
    event.set_field("messages");
    if (kind == "message") {
      event.mutable_message()->set_id(id);
      event.mutable_message()->set_from("15550001111");
    } else if (kind == "template_status") {
      event.set_field("message_template_status_update");
      event.mutable_template_status()->set_event("APPROVED");
    } else if (kind == "status") {
      event.mutable_status()->set_message_id(id);
      event.mutable_status()->set_status(v1::MessageStatus::STATUS_DELIVERED);
    } else {
      event.mutable_unknown()->set_field(kind);
      event.mutable_unknown()->set_raw_json(std::string(padding, 'x'));
    }
    return event;
  }

  // A fast and a paused subscriber; ~6 MB appended (far beyond what flow
  // control lets the server hand to a client that does not read, so the
  // slow stream's buffer overflows). The fast one gets everything while the
  // slow one reads nothing; resumed, the slow one gets everything, in order.
  // Returns the service's stats with both streams still open. Opens the
  // service with small buffers and `recent_events` kept in memory.
  EventsServiceStats RunSlowBesideFast(size_t recent_events) {
    options_.stream_buffer_size = 8;
    options_.page_size = 32;
    options_.recent_events.max_events = recent_events;
    Open();
    auto fast = Subscribe(SubscribeRequest());
    auto slow = Subscribe(SubscribeRequest(), /*paused=*/true);
    WaitLive(2);
    std::vector<std::string> cursors;
    for (int batch = 0; batch < 40; ++batch) {
      std::vector<Event> events;
      for (int i = 0; i < 10; ++i) {
        events.push_back(MakeEvent(absl::StrCat("e", batch, "-", i), "p1",
                                   "padding", 16 * 1024));
      }
      std::vector<std::string> c = Append(events);
      cursors.insert(cursors.end(), c.begin(), c.end());
    }
    EXPECT_THAT(Cursors(fast->WaitFor(cursors.size())),
                ElementsAreArray(cursors));
    EXPECT_TRUE(slow->events().empty());
    EXPECT_GT(service_->stats().overflows, 0u);
    slow->Resume();
    slow->WaitFor(cursors.size());
    absl::SleepFor(absl::Milliseconds(50));
    EXPECT_THAT(Cursors(slow->events()), ElementsAreArray(cursors));
    return service_->stats();
  }

  // Appends the events durably and returns their cursors.
  std::vector<std::string> Append(const std::vector<Event>& events) {
    std::vector<EventRecord> records;
    for (const Event& e : events) {
      EventRecord r;
      r.id = e.id();
      r.kind = KindOfEvent(e);
      r.phone_number_id = e.phone_number_id();
      r.waba_id = e.waba_id();
      r.received_at = absl::Now();
      r.payload = e.SerializeAsString();
      records.push_back(std::move(r));
    }
    absl::Notification done;
    absl::StatusOr<AppendResult> result;
    store_->Append(std::move(records), [&](absl::StatusOr<AppendResult> r) {
      result = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    EXPECT_TRUE(result.ok()) << result.status();
    std::vector<std::string> cursors;
    if (result.ok()) {
      for (const auto& item : result->items) cursors.push_back(item.cursor);
    }
    return cursors;
  }

  // Appends `n` message events with ids prefix0..prefix(n-1).
  std::vector<std::string> AppendMessages(const std::string& prefix, int n,
                                          const std::string& phone = "p1") {
    std::vector<Event> events;
    for (int i = 0; i < n; ++i) {
      events.push_back(MakeEvent(absl::StrCat(prefix, i), phone, "message"));
    }
    return Append(events);
  }

  // Waits until `n` streams are open and following the live tail.
  void WaitLive(size_t n) {
    absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      size_t live = 0;
      for (const StreamStats& s : service_->stats().streams) live += s.live;
      if (live >= n) return;
      absl::SleepFor(absl::Milliseconds(2));
    }
    ADD_FAILURE() << "streams did not go live";
  }

  std::unique_ptr<TestSubscriber> Subscribe(const SubscribeRequest& request,
                                            bool paused = false,
                                            bool ack = false) {
    return std::make_unique<TestSubscriber>(stub_.get(), request, paused, ack);
  }

  // A group member from the oldest event (for a new group).
  static SubscribeRequest GroupRequest(
      const std::string& group,
      absl::Duration ack_timeout = absl::ZeroDuration()) {
    SubscribeRequest request;
    request.set_group(group);
    request.set_from_oldest(true);
    if (ack_timeout > absl::ZeroDuration()) {
      request.mutable_ack_timeout()->set_nanos(
          static_cast<int32_t>(absl::ToInt64Nanoseconds(ack_timeout)));
    }
    return request;
  }

  void WaitStarted(size_t n) {
    absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      size_t started = 0;
      for (const StreamStats& s : service_->stats().streams) {
        started += s.started;
      }
      if (started >= n) return;
      absl::SleepFor(absl::Milliseconds(2));
    }
    ADD_FAILURE() << "streams did not start";
  }

  void WaitSubscribers(size_t n) {
    absl::Time deadline = absl::Now() + kWait;
    while (service_->stats().subscribers != n && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(2));
    }
    EXPECT_EQ(service_->stats().subscribers, n);
  }

  v1::AckResponse Ack(const std::string& group,
                      const std::vector<std::string>& cursors,
                      grpc::Status* status) {
    grpc::ClientContext context;
    v1::AckRequest request;
    request.set_group(group);
    for (const auto& c : cursors) request.add_cursors(c);
    v1::AckResponse response;
    *status = stub_->Ack(&context, request, &response);
    return response;
  }

  std::filesystem::path dir_;
  // Set: Open uses this Redis instead of SQLite.
  std::unique_ptr<redis::TestRedisServer> redis_;
  StoreOptions store_options_;
  EventsServiceOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Events::Stub> stub_;
};

TEST_F(EventsServiceTest, LiveSubscribeReceivesOnlyNewEvents) {
  Open();
  AppendMessages("old", 3);
  auto sub = Subscribe(SubscribeRequest());
  WaitLive(1);
  std::vector<std::string> cursors = AppendMessages("new", 5);
  std::vector<Event> got = sub->WaitFor(5);
  EXPECT_THAT(Cursors(got), ElementsAreArray(cursors));
  EXPECT_THAT(Ids(got),
              ElementsAreArray({"new0", "new1", "new2", "new3", "new4"}));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].message().id(), "new0");  // the payload, not just metadata
  EXPECT_EQ(got[0].phone_number_id(), "p1");
}

TEST_F(EventsServiceTest, FromOldestReplaysAllThenFollowsLive) {
  options_.page_size = 16;  // several pages
  Open();
  std::vector<std::string> cursors = AppendMessages("a", 100);
  SubscribeRequest request;
  request.set_from_oldest(true);
  auto sub = Subscribe(request);
  EXPECT_EQ(sub->WaitFor(100).size(), 100u);
  WaitLive(1);
  std::vector<std::string> more = AppendMessages("b", 20);
  cursors.insert(cursors.end(), more.begin(), more.end());
  EXPECT_THAT(Cursors(sub->WaitFor(120)), ElementsAreArray(cursors));
}

TEST_F(EventsServiceTest, AfterCursorResumesStrictlyAfter) {
  Open();
  std::vector<std::string> cursors = AppendMessages("a", 10);
  SubscribeRequest request;
  request.set_after_cursor(cursors[4]);
  auto sub = Subscribe(request);
  std::vector<std::string> more = AppendMessages("b", 2);
  std::vector<std::string> want(cursors.begin() + 5, cursors.end());
  want.insert(want.end(), more.begin(), more.end());
  EXPECT_THAT(Cursors(sub->WaitFor(7)), ElementsAreArray(want));
}

TEST_F(EventsServiceTest, InvalidRequestsAreInvalidArgument) {
  Open();
  {
    SubscribeRequest request;
    request.set_after_cursor("not-a-cursor");
    grpc::Status status = Subscribe(request)->WaitDone();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("after_cursor"));
  }
  {
    SubscribeRequest request;
    request.add_kinds(static_cast<v1::EventKind>(999));
    grpc::Status status = Subscribe(request)->WaitDone();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("kinds"));
  }
  {
    // Bytes that are not a SubscribeRequest (Subscribe takes its request
    // raw and parses it itself).
    class RawCall
        : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
     public:
      RawCall(grpc::GenericStub* stub, const std::string& bytes) {
        grpc::Slice slice(bytes);
        request_ = grpc::ByteBuffer(&slice, 1);
        stub->PrepareBidiStreamingCall(&context_, "/wagate.v1.Events/Subscribe",
                                       grpc::StubOptions(), this);
        StartWriteLast(&request_, grpc::WriteOptions());
        StartRead(&response_);
        StartCall();
      }
      void OnDone(const grpc::Status& status) override {
        status_ = status;
        done_.Notify();
      }
      grpc::Status Wait() {
        done_.WaitForNotification();
        return status_;
      }

     private:
      grpc::ClientContext context_;
      grpc::ByteBuffer request_, response_;
      grpc::Status status_;
      absl::Notification done_;
    };
    grpc::GenericStub stub(channel_);
    // Field 1 (phone_number_ids): 16 bytes announced, 3 sent.
    const std::string truncated = std::string("\x0a\x10") + "abc";
    RawCall call(&stub, truncated);
    grpc::Status status = call.Wait();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(),
                ::testing::HasSubstr("not a wagate.v1.SubscribeRequest"));
  }
}

TEST_F(EventsServiceTest, FiltersByPhoneNumberAndKind) {
  Open();
  auto batch = [](const std::string& prefix) {
    return std::vector<Event>{
        MakeEvent(prefix + "-p1-msg", "p1", "message"),
        MakeEvent(prefix + "-p2-msg", "p2", "message"),
        MakeEvent(prefix + "-p1-st", "p1", "status"),
        MakeEvent(prefix + "-p2-st", "p2", "status"),
    };
  };
  Append(batch("old"));
  SubscribeRequest request;
  request.set_from_oldest(true);
  request.add_phone_number_ids("p1");
  request.add_kinds(v1::EVENT_KIND_MESSAGE);
  auto p1_messages = Subscribe(request);
  SubscribeRequest statuses;
  statuses.set_from_oldest(true);
  statuses.add_kinds(v1::EVENT_KIND_STATUS);
  auto all_statuses = Subscribe(statuses);
  EXPECT_EQ(p1_messages->WaitFor(1).size(), 1u);
  EXPECT_EQ(all_statuses->WaitFor(2).size(), 2u);
  WaitLive(2);
  Append(batch("new"));
  // A marker every stream receives last.
  Append({MakeEvent("end-p1-msg", "p1", "message"),
          MakeEvent("end-p1-st", "p1", "status")});
  EXPECT_THAT(Ids(p1_messages->WaitFor(3)),
              ElementsAreArray({"old-p1-msg", "new-p1-msg", "end-p1-msg"}));
  EXPECT_THAT(Ids(all_statuses->WaitFor(5)),
              ElementsAreArray({"old-p1-st", "old-p2-st", "new-p1-st",
                                "new-p2-st", "end-p1-st"}));
}

TEST_F(EventsServiceTest, HundredSubscribersEachGetEveryEventOnceInOrder) {
  Open();
  std::vector<std::unique_ptr<TestSubscriber>> subs;
  for (int i = 0; i < 100; ++i) subs.push_back(Subscribe(SubscribeRequest()));
  WaitLive(100);
  std::vector<std::string> cursors;
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<std::string> c =
        AppendMessages(absl::StrCat("b", batch, "-"), 10);
    cursors.insert(cursors.end(), c.begin(), c.end());
  }
  for (auto& sub : subs) {
    sub->WaitFor(cursors.size());
  }
  absl::SleepFor(absl::Milliseconds(50));  // any duplicate would show now
  for (auto& sub : subs) {
    EXPECT_THAT(Cursors(sub->events()), ElementsAreArray(cursors));
  }
}

// Events appended while streams switch from the log to the live tail: no
// gap and no duplicate at the boundary.
TEST_F(EventsServiceTest, CatchUpToLiveSwitchHasNoGapsOrDuplicates) {
  options_.page_size = 8;
  options_.stream_buffer_size = 16;
  Open();
  std::vector<std::string> cursors = AppendMessages("pre", 50);
  std::atomic<bool> stop{false};
  absl::Mutex mu;
  std::thread writer([&] {
    for (int i = 0; i < 200 && !stop; ++i) {
      std::vector<std::string> c = AppendMessages(absl::StrCat("w", i, "-"), 3);
      absl::MutexLock lock(&mu);
      cursors.insert(cursors.end(), c.begin(), c.end());
    }
  });
  std::vector<std::unique_ptr<TestSubscriber>> subs;
  for (int i = 0; i < 10; ++i) {
    SubscribeRequest request;
    request.set_from_oldest(true);
    subs.push_back(Subscribe(request));
    absl::SleepFor(absl::Milliseconds(5));
  }
  writer.join();
  std::vector<std::string> all;
  {
    absl::MutexLock lock(&mu);
    all = cursors;
  }
  for (auto& sub : subs) {
    EXPECT_THAT(Cursors(sub->WaitFor(all.size())), ElementsAreArray(all));
  }
}

TEST_F(EventsServiceTest, SlowConsumerDoesNotDelayFastOneAndGetsEverything) {
  // It fell behind the live buffer and caught up from memory.
  EventsServiceStats stats =
      RunSlowBesideFast(RecentEvents::Options().max_events);
  EXPECT_GT(stats.overflows, 0u);
  EXPECT_GT(stats.pages_from_memory, 0u);
}

TEST_F(EventsServiceTest, SlowConsumerCatchesUpFromTheLogWithoutRecentEvents) {
  EventsServiceStats stats = RunSlowBesideFast(/*recent_events=*/0);
  EXPECT_EQ(stats.pages_from_memory, 0u);
  EXPECT_GT(stats.pages_from_log, 1u);
}

TEST_F(EventsServiceTest, LaggingStreamPastRecentEventsReadsTheLog) {
  // Far fewer than the lag.
  EventsServiceStats stats = RunSlowBesideFast(/*recent_events=*/16);
  EXPECT_GT(stats.pages_from_log, 1u);
}

TEST_F(EventsServiceTest, ClientCancellationEndsTheStream) {
  Open();
  auto sub = Subscribe(SubscribeRequest());
  WaitLive(1);
  sub->Cancel();
  EXPECT_EQ(sub->WaitDone().error_code(), grpc::StatusCode::CANCELLED);
  absl::Time deadline = absl::Now() + kWait;
  while (service_->stats().subscribers > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_EQ(service_->stats().subscribers, 0u);
  AppendMessages("after", 3);  // no stream left to feed: nothing breaks
}

TEST_F(EventsServiceTest, ServerShutdownEndsOpenStreamsWithUnavailable) {
  Open();
  std::vector<std::unique_ptr<TestSubscriber>> subs;
  for (int i = 0; i < 5; ++i) subs.push_back(Subscribe(SubscribeRequest()));
  auto paused = Subscribe(SubscribeRequest(), /*paused=*/true);
  WaitLive(6);
  AppendMessages("x", 20);
  Close();
  for (auto& sub : subs) {
    EXPECT_EQ(sub->WaitDone().error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  paused->Resume();
  paused->WaitDone();
}

// ---- Consumer groups ----

TEST_F(EventsServiceTest, GroupSharesEachEventWithExactlyOneMember) {
  options_.group_claim_batch = 4;
  Open();
  auto a = Subscribe(GroupRequest("g"), false, /*ack=*/true);
  auto b = Subscribe(GroupRequest("g"), false, /*ack=*/true);
  WaitSubscribers(2);
  std::vector<std::string> cursors;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<std::string> c =
        AppendMessages(absl::StrCat("b", batch, "-"), 10);
    cursors.insert(cursors.end(), c.begin(), c.end());
  }
  absl::Time deadline = absl::Now() + kWait;
  while (a->events().size() + b->events().size() < cursors.size() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::SleepFor(absl::Milliseconds(100));  // any duplicate would show now
  std::vector<Event> got_a = a->events();
  std::vector<Event> got_b = b->events();
  EXPECT_GT(got_a.size(), 0u);
  EXPECT_GT(got_b.size(), 0u);
  std::multiset<std::string> all;
  for (const Event& e : got_a) all.insert(e.cursor());
  for (const Event& e : got_b) all.insert(e.cursor());
  EXPECT_EQ(all.size(), cursors.size());
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()),
            std::set<std::string>(cursors.begin(), cursors.end()));
  // Each member still sees its share in log order.
  std::vector<std::string> cursors_a = Cursors(got_a);
  std::vector<std::string> cursors_b = Cursors(got_b);
  EXPECT_TRUE(std::is_sorted(cursors_a.begin(), cursors_a.end()));
  EXPECT_TRUE(std::is_sorted(cursors_b.begin(), cursors_b.end()));
}

TEST_F(EventsServiceTest, UnackedEventsGoToAnotherMemberAfterTheAckTimeout) {
  Open();
  const absl::Duration timeout = absl::Milliseconds(300);
  std::vector<std::string> cursors = AppendMessages("m", 10);
  auto lazy = Subscribe(GroupRequest("g", timeout));  // never acks
  EXPECT_EQ(lazy->WaitFor(10).size(), 10u);
  lazy->Cancel();
  lazy->WaitDone();
  auto diligent = Subscribe(GroupRequest("g", timeout), false, /*ack=*/true);
  EXPECT_THAT(Cursors(diligent->WaitFor(10)), ElementsAreArray(cursors));
  // Acknowledged: never delivered again, to this member or a new one.
  absl::Time deadline = absl::Now() + kWait;
  while (diligent->acked() < 10 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(diligent->acked(), 10);
  auto late = Subscribe(GroupRequest("g", timeout), false, /*ack=*/true);
  absl::SleepFor(4 * timeout);
  EXPECT_EQ(diligent->events().size(), 10u);
  EXPECT_TRUE(late->events().empty());
  // The group goes on with new events.
  std::vector<std::string> more = AppendMessages("n", 2);
  deadline = absl::Now() + kWait;
  while (diligent->events().size() + late->events().size() < 12 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(diligent->events().size() + late->events().size(), 12u);
}

TEST_F(EventsServiceTest, GroupPositionSurvivesStoreReopen) {
  Open();
  std::vector<std::string> first = AppendMessages("a", 5);
  {
    auto member = Subscribe(GroupRequest("g"), false, /*ack=*/true);
    EXPECT_EQ(member->WaitFor(5).size(), 5u);
    absl::Time deadline = absl::Now() + kWait;
    while (member->acked() < 5 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    EXPECT_EQ(member->acked(), 5);
  }
  Close();
  Open();
  // Acknowledged already: nothing pending any more.
  grpc::Status status;
  EXPECT_EQ(Ack("g", first, &status).acknowledged(), 0);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> second = AppendMessages("b", 3);
  // from_oldest is ignored: the group exists and has its position.
  auto member = Subscribe(GroupRequest("g"), false, /*ack=*/true);
  EXPECT_THAT(Cursors(member->WaitFor(3)), ElementsAreArray(second));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(member->events().size(), 3u);
}

TEST_F(EventsServiceTest, NewGroupStartsLiveUnlessToldOtherwise) {
  Open();
  AppendMessages("old", 4);
  SubscribeRequest request;
  request.set_group("live-group");
  auto member = Subscribe(request, false, /*ack=*/true);
  WaitStarted(1);  // the group exists, positioned at the end of the log
  std::vector<std::string> fresh = AppendMessages("new", 2);
  EXPECT_THAT(Cursors(member->WaitFor(2)), ElementsAreArray(fresh));
}

// Issue 14: members with different filters lost each other's events. The
// group keeps the filter it was created with; another member with other
// filters is refused (the stream ends with FAILED_PRECONDITION), one with
// the same filters in another order and with duplicates is a member.
TEST_F(EventsServiceTest, GroupMemberWithOtherFiltersIsRefused) {
  Open();
  SubscribeRequest messages = GroupRequest("g");
  messages.add_kinds(v1::EVENT_KIND_MESSAGE);
  messages.add_phone_number_ids("p2");
  messages.add_phone_number_ids("p1");
  auto first = Subscribe(messages, false, /*ack=*/true);
  WaitStarted(1);

  SubscribeRequest statuses = GroupRequest("g");
  statuses.add_kinds(v1::EVENT_KIND_STATUS);
  statuses.add_phone_number_ids("p1");
  statuses.add_phone_number_ids("p2");
  grpc::Status refused = Subscribe(statuses)->WaitDone();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("\"g\""));
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("filter"));
  SubscribeRequest unfiltered = GroupRequest("g");
  EXPECT_EQ(Subscribe(unfiltered)->WaitDone().error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  SubscribeRequest same = GroupRequest("g");
  same.add_phone_number_ids("p1");
  same.add_phone_number_ids("p2");
  same.add_phone_number_ids("p1");
  same.add_kinds(v1::EVENT_KIND_MESSAGE);
  same.add_kinds(v1::EVENT_KIND_MESSAGE);
  auto second = Subscribe(same, false, /*ack=*/true);
  WaitSubscribers(2);
  std::vector<std::string> cursors = AppendMessages("m", 40, "p1");
  absl::Time deadline = absl::Now() + kWait;
  while (first->events().size() + second->events().size() < cursors.size() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::set<std::string> got;
  for (const Event& e : first->events()) got.insert(e.cursor());
  for (const Event& e : second->events()) got.insert(e.cursor());
  EXPECT_EQ(got, std::set<std::string>(cursors.begin(), cursors.end()));
}

// Issue 14: the lists were neither deduplicated nor capped.
TEST_F(EventsServiceTest, FilterListsAreDeduplicatedAndCapped) {
  Open();
  {
    SubscribeRequest request;
    for (int i = 0; i < 257; ++i) {
      request.add_phone_number_ids(absl::StrCat("n", i));
    }
    grpc::Status status = Subscribe(request)->WaitDone();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(),
                ::testing::HasSubstr("phone_number_ids"));
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("256"));
  }
  {
    SubscribeRequest request;
    for (int i = 1; i <= 257; ++i) {
      request.add_kinds(static_cast<v1::EventKind>(i));
    }
    grpc::Status status = Subscribe(request)->WaitDone();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("kinds"));
  }
  // Many copies of a few entries count once each: accepted and served.
  SubscribeRequest request;
  request.set_from_oldest(true);
  for (int i = 0; i < 1000; ++i) {
    request.add_phone_number_ids(i % 2 ? "p1" : "p2");
    request.add_kinds(v1::EVENT_KIND_MESSAGE);
  }
  std::vector<std::string> cursors = AppendMessages("m", 3, "p1");
  auto sub = Subscribe(request);
  EXPECT_THAT(Cursors(sub->WaitFor(3)), ElementsAreArray(cursors));
}

// Issue 14: on Redis a sparse filter scanned the whole stream in one call
// on the shared executor. Reads and claims now stop after a bounded scan;
// the stream reads on from where the page stopped (even if it found
// nothing), and a group member claims again at once instead of waiting for
// its poll timer (an hour here), so everything still arrives.
TEST_F(EventsServiceTest, SparseFilterOnRedisIsReadInBoundedSteps) {
  if (!redis::TestRedisServer::Installed()) GTEST_SKIP() << "no redis-server";
  redis_ = std::make_unique<redis::TestRedisServer>();
  ASSERT_TRUE(redis_->Start().ok());
  store_options_.max_scanned_per_call = 64;
  options_.page_size = 16;
  options_.group_poll_interval = absl::Hours(1);
  options_.default_ack_timeout = absl::Hours(1);
  Open();
  std::vector<std::string> want;
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < 500; ++i) {
      const bool match = i == 499;
      const std::string id = absl::StrCat("b", batch, "-", i);
      events.push_back(MakeEvent(id, match ? "p9" : "p1", "message"));
      if (match) want.push_back(id);
    }
    Append(events);
  }
  SubscribeRequest plain;
  plain.set_from_oldest(true);
  plain.add_phone_number_ids("p9");
  auto reader = Subscribe(plain);
  EXPECT_THAT(Ids(reader->WaitFor(4)), ElementsAreArray(want));
  // 2000 entries, at most 64 examined per read.
  EXPECT_GE(service_->stats().pages_from_log, 2000u / 64);

  SubscribeRequest group = GroupRequest("sparse");
  group.add_phone_number_ids("p9");
  auto member = Subscribe(group, false, /*ack=*/true);
  EXPECT_THAT(Ids(member->WaitFor(4)), ElementsAreArray(want));
}

TEST_F(EventsServiceTest, AckValidatesItsArguments) {
  Open();
  grpc::Status status;
  Ack("", {"e10000000000000001"}, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("group"));
  Ack("g", {"garbage"}, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("cursors[0]"));
}

TEST_F(EventsServiceTest, UnparsablePayloadIsSentWithItsMetadata) {
  Open();
  auto sub = Subscribe(SubscribeRequest());
  WaitLive(1);
  EventRecord record;
  record.id = "broken";
  record.kind = "message";
  record.phone_number_id = "p1";
  record.waba_id = "waba-1";
  record.received_at = absl::Now();
  record.payload = "\xff\xff\xff";  // not an Event
  absl::Notification done;
  std::string cursor;
  store_->Append({record}, [&](absl::StatusOr<AppendResult> r) {
    if (r.ok()) cursor = r->items[0].cursor;
    done.Notify();
  });
  done.WaitForNotification();
  std::vector<Event> got = sub->WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id(), "broken");
  EXPECT_EQ(got[0].cursor(), cursor);
  EXPECT_EQ(got[0].phone_number_id(), "p1");
  EXPECT_EQ(got[0].waba_id(), "waba-1");
  EXPECT_FALSE(got[0].has_message());
}

// ---- Retention: a resume point older than the log is OUT_OF_RANGE ----

TEST_F(EventsServiceTest, AfterCursorOlderThanRetentionIsOutOfRange) {
  store_options_.retention.max_payload_bytes = 2500;
  Open();
  std::vector<std::string> cursors;
  for (int i = 0; i < 5; ++i) {
    std::vector<std::string> c =
        Append({MakeEvent(absl::StrCat("e", i), "p1", "padding", 1000)});
    cursors.insert(cursors.end(), c.begin(), c.end());
  }
  // ~1 KB each over a 2.5 KB budget: the oldest three go.
  absl::StatusOr<RetentionResult> pruned = store_->RunRetention();
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  ASSERT_EQ(pruned->events_pruned, 3);

  SubscribeRequest lost;
  lost.set_after_cursor(cursors[0]);
  auto sub = Subscribe(lost);
  grpc::Status status = sub->WaitDone();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("after_cursor"));
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr(absl::StrCat("oldest available cursor is \"",
                                                cursors[3], "\"")));
  EXPECT_TRUE(sub->events().empty());

  // The newest pruned cursor loses nothing: the stream goes on from there,
  // as from_oldest does.
  SubscribeRequest edge;
  edge.set_after_cursor(cursors[2]);
  auto from_edge = Subscribe(edge);
  EXPECT_THAT(Cursors(from_edge->WaitFor(2)),
              ElementsAreArray({cursors[3], cursors[4]}));
  SubscribeRequest oldest;
  oldest.set_from_oldest(true);
  auto from_oldest = Subscribe(oldest);
  EXPECT_THAT(Cursors(from_oldest->WaitFor(2)),
              ElementsAreArray({cursors[3], cursors[4]}));

  // The watermark is durable: still refused after a restart.
  Close();
  Open();
  auto again = Subscribe(lost);
  EXPECT_EQ(again->WaitDone().error_code(), grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(EventsServiceTest, StreamOvertakenByRetentionEndsOutOfRange) {
  options_.page_size = 2;
  store_options_.retention.max_payload_bytes = 40 * 1024;
  Open();
  // ~640 KB: the stream stalls on flow control long before the end.
  std::vector<std::string> cursors;
  for (int i = 0; i < 40; ++i) {
    std::vector<std::string> c =
        Append({MakeEvent(absl::StrCat("e", i), "p1", "padding", 16 * 1024)});
    cursors.insert(cursors.end(), c.begin(), c.end());
  }
  SubscribeRequest request;
  request.set_from_oldest(true);
  auto slow = Subscribe(request, /*paused=*/true);
  WaitStarted(1);
  absl::SleepFor(absl::Milliseconds(200));  // let it block on flow control
  absl::StatusOr<RetentionResult> pruned = store_->RunRetention();
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  ASSERT_GE(pruned->events_pruned, 30);
  slow->Resume();
  grpc::Status status = slow->WaitDone();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("fell behind"));
  // What it did get is a gap-free prefix of the log.
  std::vector<std::string> got = Cursors(slow->events());
  ASSERT_LT(got.size(), cursors.size());
  EXPECT_THAT(got,
              ElementsAreArray(cursors.begin(), cursors.begin() + got.size()));
}

// ---- A filter on numbers also gets their WABAs' management events ----

TEST_F(EventsServiceTest, NumberFilterGetsItsWabasManagementEvents) {
  options_.phone_number_wabas = {{"p1", "waba-1"}, {"p2", "waba-2"}};
  Open();
  std::vector<std::string> old = Append({
      MakeEvent("m1", "p1", "message", 0, "waba-1"),
      MakeEvent("t1", "", "template_status", 0, "waba-1"),
      MakeEvent("t2", "", "template_status", 0, "waba-2"),
      MakeEvent("m2", "p2", "message", 0, "waba-2"),
  });
  SubscribeRequest request;
  request.set_from_oldest(true);
  request.add_phone_number_ids("p1");
  auto p1 = Subscribe(request);
  SubscribeRequest messages_only = request;
  messages_only.add_kinds(v1::EVENT_KIND_MESSAGE);
  auto p1_messages = Subscribe(messages_only);
  // Catch-up from the log.
  EXPECT_THAT(Ids(p1->WaitFor(2)), ElementsAreArray({"m1", "t1"}));
  WaitLive(2);
  // The live tail.
  Append({MakeEvent("t3", "", "template_status", 0, "waba-2"),
          MakeEvent("t4", "", "template_status", 0, "waba-1")});
  EXPECT_THAT(Ids(p1->WaitFor(3)), ElementsAreArray({"m1", "t1", "t4"}));
  // Kinds still apply to WABA-level events.
  std::vector<std::string> last = AppendMessages("m-last", 1, "p1");
  EXPECT_THAT(Cursors(p1_messages->WaitFor(2)),
              ElementsAreArray({old[0], last[0]}));
  EXPECT_EQ(p1->WaitFor(4).size(), 4u);
  EXPECT_EQ(p1->events().back().cursor(), last[0]);
}

TEST_F(EventsServiceTest, NumbersWabaIsLearnedFromItsEvents) {
  Open();  // no configured accounts (single-account mode)
  Append({MakeEvent("m1", "p3", "message", 0, "waba-3"),
          MakeEvent("t1", "", "template_status", 0, "waba-3"),
          MakeEvent("t2", "", "template_status", 0, "waba-4")});
  SubscribeRequest request;
  request.set_from_oldest(true);
  request.add_phone_number_ids("p3");
  auto sub = Subscribe(request);
  EXPECT_THAT(Ids(sub->WaitFor(2)), ElementsAreArray({"m1", "t1"}));
  WaitLive(1);
  Append({MakeEvent("t3", "", "template_status", 0, "waba-3")});
  EXPECT_THAT(Ids(sub->WaitFor(3)), ElementsAreArray({"m1", "t1", "t3"}));
}

TEST_F(EventsServiceTest, GroupWithNumberFilterGetsItsWabasEventsOnly) {
  options_.phone_number_wabas = {{"p1", "waba-1"}};
  Open();
  Append({MakeEvent("t2", "", "template_status", 0, "waba-2"),
          MakeEvent("t1", "", "template_status", 0, "waba-1"),
          MakeEvent("m2", "p2", "message", 0, "waba-2"),
          MakeEvent("m1", "p1", "message", 0, "waba-1")});
  SubscribeRequest request = GroupRequest("g", absl::Milliseconds(200));
  request.add_phone_number_ids("p1");
  auto member = Subscribe(request, false, /*ack=*/true);
  EXPECT_THAT(Ids(member->WaitFor(2)), ElementsAreArray({"t1", "m1"}));
  // The other WABA's event was skipped for good, not left pending: nothing
  // is redelivered after the ack timeout.
  absl::SleepFor(absl::Milliseconds(800));
  EXPECT_EQ(member->events().size(), 2u);
}

}  // namespace
}  // namespace wagate::events
