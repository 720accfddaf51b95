#include "service/events/recent_events.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::events {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Cursors that sort like the stores' (fixed width).
RecentEvents::Options Limits(size_t max_events, size_t max_bytes = 1 << 30) {
  RecentEvents::Options options;
  options.max_events = max_events;
  options.max_bytes = max_bytes;
  return options;
}

std::string CursorOf(int i) { return absl::StrCat("c", 100000 + i); }

std::vector<EventRecord> Records(int from, int to, size_t payload = 10) {
  std::vector<EventRecord> records;
  for (int i = from; i < to; ++i) {
    EventRecord r;
    r.id = absl::StrCat("e", i);
    r.kind = "status";
    r.phone_number_id = i % 2 == 0 ? "even" : "odd";
    r.waba_id = "w";
    wagate::v1::Event event;
    event.set_id(r.id);
    event.mutable_unknown()->set_raw_json(std::string(payload, 'x'));
    r.payload = event.SerializeAsString();
    r.cursor = CursorOf(i);
    records.push_back(std::move(r));
  }
  return records;
}

void Append(RecentEvents& recent, const std::vector<EventRecord>& records) {
  std::vector<EventPtr> parsed(records.size());
  recent.Append(records, &parsed);
}

std::vector<std::string> Cursors(const RecentEvents::Page& page) {
  std::vector<std::string> out;
  for (const EventPtr& e : page.events) out.push_back(e->cursor);
  return out;
}

bool All(const EventRecord&) { return true; }

TEST(RecentEventsTest, EmptyCoversNothing) {
  RecentEvents recent({});
  RecentEvents::Page page;
  EXPECT_FALSE(recent.ReadAfter(CursorOf(0), 10, All, &page));
  EXPECT_FALSE(recent.ReadAfter("", 10, All, &page));
}

TEST(RecentEventsTest, ReadsStrictlyAfterACoveredCursor) {
  RecentEvents recent({});
  Append(recent, Records(0, 5));
  Append(recent, Records(5, 8));
  RecentEvents::Page page;
  ASSERT_TRUE(recent.ReadAfter(CursorOf(4), 10, All, &page));
  EXPECT_THAT(Cursors(page),
              ElementsAre(CursorOf(5), CursorOf(6), CursorOf(7)));
  EXPECT_EQ(page.last_read, CursorOf(7));
  EXPECT_FALSE(page.more);
  // The oldest kept event is covered (everything after it is kept).
  ASSERT_TRUE(recent.ReadAfter(CursorOf(0), 2, All, &page));
  EXPECT_THAT(Cursors(page), ElementsAre(CursorOf(1), CursorOf(2)));
  EXPECT_TRUE(page.more);
  // At the end: covered, nothing new.
  ASSERT_TRUE(recent.ReadAfter(CursorOf(7), 10, All, &page));
  EXPECT_THAT(page.events, IsEmpty());
  EXPECT_EQ(page.last_read, "");
  // Before the oldest kept: the log must be read.
  EXPECT_FALSE(recent.ReadAfter("", 10, All, &page));
  EXPECT_FALSE(recent.ReadAfter("c0", 10, All, &page));
}

TEST(RecentEventsTest, FilteredOutEventsAdvanceThePosition) {
  RecentEvents recent({});
  Append(recent, Records(0, 10));
  RecentEvents::Page page;
  ASSERT_TRUE(recent.ReadAfter(
      CursorOf(0), 4,
      [](const EventRecord& r) { return r.phone_number_id == "even"; }, &page));
  EXPECT_THAT(Cursors(page), ElementsAre(CursorOf(2), CursorOf(4)));
  EXPECT_EQ(page.last_read, CursorOf(4));
  EXPECT_TRUE(page.more);
}

TEST(RecentEventsTest, EventsCarryTheirPayloadAndCursor) {
  RecentEvents recent({});
  Append(recent, Records(0, 2));
  RecentEvents::Page page;
  ASSERT_TRUE(recent.ReadAfter(CursorOf(0), 10, All, &page));
  ASSERT_EQ(page.events.size(), 1u);
  wagate::v1::Event event;
  grpc::Slice bytes;
  ASSERT_TRUE(page.events[0]->wire.DumpToSingleSlice(&bytes).ok());
  ASSERT_TRUE(event.ParseFromArray(bytes.begin(), bytes.size()));
  EXPECT_EQ(event.id(), "e1");
  EXPECT_EQ(event.cursor(), CursorOf(1));
}

TEST(RecentEventsTest, OldestGoFirstByCountAndBytes) {
  RecentEvents by_count(Limits(4));
  Append(by_count, Records(0, 10));
  EXPECT_EQ(by_count.size(), 4u);
  RecentEvents::Page page;
  EXPECT_FALSE(by_count.ReadAfter(CursorOf(5), 10, All, &page));
  ASSERT_TRUE(by_count.ReadAfter(CursorOf(6), 10, All, &page));
  EXPECT_THAT(Cursors(page),
              ElementsAre(CursorOf(7), CursorOf(8), CursorOf(9)));

  RecentEvents by_bytes(Limits(1000, 3 * 1024));
  Append(by_bytes, Records(0, 10, /*payload=*/500));
  EXPECT_LE(by_bytes.bytes(), 3u * 1024);
  EXPECT_GE(by_bytes.size(), 1u);
  EXPECT_LT(by_bytes.size(), 10u);
}

TEST(RecentEventsTest, ClearForgetsEverything) {
  RecentEvents recent({});
  Append(recent, Records(0, 3));
  recent.Clear();
  RecentEvents::Page page;
  EXPECT_FALSE(recent.ReadAfter(CursorOf(1), 10, All, &page));
  EXPECT_EQ(recent.bytes(), 0u);
}

TEST(RecentEventsTest, UsesEventsTheCallerAlreadyMade) {
  RecentEvents recent({});
  std::vector<EventRecord> records = Records(0, 2);
  std::vector<EventPtr> parsed(2);
  parsed[1] = MakeEvent(records[1]);
  const OutgoingEvent* made = parsed[1].get();
  recent.Append(records, &parsed);
  ASSERT_NE(parsed[0], nullptr);  // made for the caller too
  RecentEvents::Page page;
  ASSERT_TRUE(recent.ReadAfter(CursorOf(0), 10, All, &page));
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(page.events[0].get(), made);
}

}  // namespace
}  // namespace wagate::events
