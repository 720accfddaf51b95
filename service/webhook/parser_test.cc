#include "service/webhook/parser.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace wagate::webhook {
namespace {

namespace v1 = wagate::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kReceived = absl::FromUnixMillis(1749416400123);

std::string SourceDir() {
  const char* dir = std::getenv("WAGATE_SOURCE_DIR");
  return dir != nullptr ? dir : WAGATE_TEST_SOURCE_DIR;
}

std::string FixtureDir() { return SourceDir() + "/tests/fixtures/webhooks"; }

std::string CorpusDir() {
  return SourceDir() + "/../shared/conformance/webhooks";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sorted *.json file paths in `dir` (empty if it does not exist).
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

std::vector<v1::Event> ParseFixture(const std::string& name) {
  std::string body = ReadFile(FixtureDir() + "/" + name + ".json");
  EXPECT_FALSE(body.empty()) << name;
  auto events = ParseWebhook(body, kReceived);
  EXPECT_TRUE(events.ok()) << name << ": " << events.status();
  return events.ok() ? *events : std::vector<v1::Event>{};
}

// The number of Events a body must give, counted by walking its JSON here
// rather than trusting the parser: one per item of the item arrays of a
// change, one per change without items, plus one for value.errors[] beside
// items that cannot carry errors.
size_t ExpectedEvents(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root)) return 0;
  size_t count = 0;
  simdjson::dom::array entries;
  if (root["entry"].get_array().get(entries)) return 0;
  for (auto entry : entries) {
    simdjson::dom::array changes;
    if (entry["changes"].get_array().get(changes)) continue;
    for (auto change : changes) {
      size_t items = 0;
      size_t holders = 0;
      for (const char* key :
           {"messages", "statuses", "calls", "message_echoes",
            "user_preferences", "history", "state_sync", "automatic_events"}) {
        simdjson::dom::array a;
        if (change["value"][key].get_array().get(a) == simdjson::SUCCESS) {
          items += a.size();
          if (std::string(key) == "messages" ||
              std::string(key) == "statuses" || std::string(key) == "calls" ||
              std::string(key) == "history") {
            holders += a.size();
          }
        }
      }
      simdjson::dom::array errors;
      const bool has_errors = change["value"]["errors"].get_array().get(
                                  errors) == simdjson::SUCCESS &&
                              errors.size() > 0;
      if (items == 0) {
        count += 1;
      } else {
        count += items + (has_errors && holders == 0 ? 1 : 0);
      }
    }
  }
  return count;
}

// Every file of `dir` parses, gives exactly the expected number of Events,
// each typed (unless the file name says "unknown"), with envelope fields set
// and ids unique across the whole directory.
void CheckDirectory(const std::string& dir, size_t min_files) {
  std::vector<std::string> files = JsonFiles(dir);
  if (files.empty()) {
    GTEST_SKIP() << "no files in " << dir;
  }
  EXPECT_GE(files.size(), min_files);
  std::set<std::string> ids;
  size_t total = 0;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    const std::string body = ReadFile(path);
    auto events = ParseWebhook(body, kReceived);
    ASSERT_TRUE(events.ok()) << events.status();
    const size_t expected = ExpectedEvents(body);
    EXPECT_GT(expected, 0u);
    EXPECT_EQ(events->size(), expected);
    const bool may_be_unknown = absl::StrContains(path, "/unknown");
    for (const v1::Event& e : *events) {
      if (!may_be_unknown) {
        EXPECT_FALSE(e.has_unknown()) << e.ShortDebugString();
      }
      EXPECT_NE(EventKind(e), "");
      EXPECT_FALSE(e.id().empty());
      EXPECT_FALSE(e.field().empty());
      EXPECT_FALSE(e.waba_id().empty());
      EXPECT_TRUE(e.cursor().empty());
      EXPECT_EQ(e.received_at().seconds(), 1749416400);
      EXPECT_EQ(e.received_at().nanos(), 123000000);
      EXPECT_TRUE(ids.insert(e.id()).second) << "duplicate id " << e.id();
    }
    total += events->size();
  }
  EXPECT_GE(total, files.size());
}

TEST(ParserCorpusTest, PywaEveryItemTypedAndCounted) {
  CheckDirectory(CorpusDir() + "/pywa", 74);
}

TEST(ParserCorpusTest, JavaApiEveryItemTypedAndCounted) {
  CheckDirectory(CorpusDir() + "/java-api", 24);
}

TEST(ParserCorpusTest, OwnFixturesEveryItemTypedAndCounted) {
  CheckDirectory(FixtureDir(), 60);
}

TEST(ParserCorpusTest, MalformedCorpusFilesAreErrors) {
  std::vector<std::string> files = JsonFiles(CorpusDir() + "/malformed");
  if (files.empty()) GTEST_SKIP() << "no malformed corpus";
  for (const std::string& path : files) {
    auto events = ParseWebhook(ReadFile(path), kReceived);
    EXPECT_EQ(events.status().code(), absl::StatusCode::kInvalidArgument)
        << path;
  }
}

// ---- Envelope and errors.

TEST(ParserTest, RejectsBrokenJsonAndWrongObject) {
  for (
      const char* body : {
          "",
          "{",
          "[]",
          "nul",
          "\"x\"",
          R"({"object":"whatsapp_business_account","entry":[]} x)",
          R"({"object":"whatsapp_business_account","entry":[]}{})",
          R"({"object":"page","entry":[]})",
          R"({"entry":[]})",
          R"({"object":"whatsapp_business_account"})",
          R"({"object":"whatsapp_business_account","entry":{}})",
          R"({"object":"whatsapp_business_account","entry":[1]})",
          R"({"object":"whatsapp_business_account","entry":[{"changes":{}}]})",
          R"({"object":"whatsapp_business_account","entry":[{"changes":[2]}]})",
      }) {
    auto events = ParseWebhook(body, kReceived);
    EXPECT_EQ(events.status().code(), absl::StatusCode::kInvalidArgument)
        << body;
  }
}

// Truncated and byte-mutated bodies either parse or fail cleanly (run under
// WAGATE_SANITIZE to catch memory errors). Deterministic: fixed seed.
TEST(ParserTest, TruncatedAndMutatedBodiesNeverCrash) {
  std::vector<std::string> files = JsonFiles(FixtureDir());
  ASSERT_FALSE(files.empty());
  std::mt19937 rng(20261122);
  static constexpr char kByteSet[] = "{}[]\",:0-9.etrfnul \\\x00\xff";
  const std::string kBytes(kByteSet, sizeof(kByteSet) - 1);
  size_t ok = 0, failed = 0;
  for (const std::string& path : files) {
    const std::string body = ReadFile(path);
    for (size_t cut = 0; cut < body.size(); cut += 1 + body.size() / 16) {
      (ParseWebhook(body.substr(0, cut), kReceived).ok() ? ok : failed)++;
    }
    for (int i = 0; i < 24; ++i) {
      std::string mutated = body;
      for (int j = 0; j < 3; ++j) {
        mutated[rng() % mutated.size()] = kBytes[rng() % kBytes.size()];
      }
      (ParseWebhook(mutated, kReceived).ok() ? ok : failed)++;
    }
  }
  EXPECT_GT(failed, 0u);
  EXPECT_GT(ok, 0u);  // some mutations land inside strings and stay valid
}

TEST(ParserTest, EmptyEntryListGivesNoEvents) {
  auto events = ParseWebhook(
      R"({"object":"whatsapp_business_account","entry":[]})", kReceived);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

TEST(ParserTest, ToleratesAddedFieldsAnywhere) {
  auto events = ParseWebhook(
      R"({"object":"whatsapp_business_account","new_top":{"a":[1,2]},
          "entry":[{"id":"1","extra":true,"changes":[{"field":"messages",
          "future":null,"value":{"metadata":{"phone_number_id":"9","x":1},
          "messages":[{"id":"wamid.A","from":"5","timestamp":"1",
          "type":"text","text":{"body":"hi","lang":"en"},"brand_new":{}}]}}]}]})",
      kReceived);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].message().text().body(), "hi");
  EXPECT_EQ((*events)[0].phone_number_id(), "9");
}

TEST(ParserTest, StringAndIntegerTimestamps) {
  auto events = ParseWebhook(
      R"({"object":"whatsapp_business_account","entry":[{"id":"1",
          "time":1739321024,"changes":[{"field":"messages","value":{
          "messages":[
            {"id":"a","type":"text","timestamp":"1749416383"},
            {"id":"b","type":"text","timestamp":1749416384},
            {"id":"c","type":"text","timestamp":"not a time"},
            {"id":"d","type":"text"}]}}]}]})",
      kReceived);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].message().timestamp().seconds(), 1749416383);
  EXPECT_EQ((*events)[1].message().timestamp().seconds(), 1749416384);
  EXPECT_FALSE((*events)[2].message().has_timestamp());
  EXPECT_FALSE((*events)[3].message().has_timestamp());
  EXPECT_EQ((*events)[0].entry_time().seconds(), 1739321024);
}

TEST(ParserTest, EventKindNamesThePayloadField) {
  v1::Event e;
  EXPECT_EQ(EventKind(e), "");
  e.mutable_message();
  EXPECT_EQ(EventKind(e), "message");
  e.mutable_template_status();
  EXPECT_EQ(EventKind(e), "template_status");
  e.mutable_call();
  EXPECT_EQ(EventKind(e), "call");
  e.mutable_unknown();
  EXPECT_EQ(EventKind(e), "unknown");
}

// ---- Batching and ids.

TEST(ParserTest, BatchedEnvelopeGivesOneEventPerItem) {
  std::vector<v1::Event> events = ParseFixture("batched_2_entries_2_changes");
  ASSERT_EQ(events.size(), 9u);
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.emplace_back(EventKind(e));
  EXPECT_THAT(kinds,
              ElementsAre("message", "message", "message", "status", "status",
                          "message", "message", "status", "template_status"));
  EXPECT_EQ(events[0].message().text().body(), "first");
  EXPECT_EQ(events[2].message().text().body(), "third");
  EXPECT_EQ(events[0].waba_id(), "102290129340398");
  EXPECT_EQ(events[0].phone_number_id(), "106540352242922");
  EXPECT_EQ(events[0].entry_time().seconds(), 1749416390);
  EXPECT_EQ(events[4].status().status(), v1::MessageStatus::STATUS_DELIVERED);
  // Second entry: its own WABA and number, contacts matched per sender.
  EXPECT_EQ(events[5].waba_id(), "987654321098765");
  EXPECT_EQ(events[5].phone_number_id(), "222222222222222");
  EXPECT_EQ(events[5].display_phone_number(), "15550000002");
  EXPECT_EQ(events[5].message().contact_name(), "Ann");
  EXPECT_EQ(events[6].message().contact_name(), "Bob");
  EXPECT_EQ(events[6].message().contact().wa_id(), "16505550002");
  EXPECT_EQ(events[8].template_status().message_template_id(), "42");
  EXPECT_EQ(events[8].waba_id(), "987654321098765");
  EXPECT_EQ(ParseFixture("batched_statuses_50").size(), 50u);
}

// One status per group participant, each its own event: the participant is
// part of the dedupe id (recipient_participant_id, else the user id).
TEST(ParserTest, GroupStatusesOfEachParticipantHaveDistinctIds) {
  std::vector<v1::Event> events =
      ParseFixture("status_group_three_participants");
  ASSERT_EQ(events.size(), 3u);
  const std::string wamid = events[0].status().message_id();
  EXPECT_THAT(std::vector<std::string>(
                  {events[0].id(), events[1].id(), events[2].id()}),
              ElementsAre(wamid + ":delivered:16505551234",
                          wamid + ":delivered:16505555678",
                          wamid + ":delivered:447700900123"));

  std::vector<v1::Event> by_user =
      ParseFixture("status_group_three_participants_user_ids");
  ASSERT_EQ(by_user.size(), 3u);
  const std::string wamid2 = by_user[0].status().message_id();
  EXPECT_THAT(std::vector<std::string>(
                  {by_user[0].id(), by_user[1].id(), by_user[2].id()}),
              ElementsAre(wamid2 + ":delivered:US.13491208655302741918",
                          wamid2 + ":delivered:US.13491208655302741919",
                          wamid2 + ":delivered:US.13491208655302741920"));
  // A status of a one-to-one message keeps its two-part id.
  std::vector<v1::Event> single = ParseFixture("status_delivered");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].id(), single[0].status().message_id() + ":delivered");
}

TEST(ParserTest, IdsAreStableAndFollowTheScheme) {
  std::vector<v1::Event> a = ParseFixture("batched_2_entries_2_changes");
  std::string body =
      ReadFile(FixtureDir() + "/batched_2_entries_2_changes.json");
  // A redelivery received later gives the same ids.
  auto b = ParseWebhook(body, kReceived + absl::Hours(5));
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(a.size(), b->size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].id(), (*b)[i].id());
  EXPECT_EQ(a[0].id(), a[0].message().id());
  EXPECT_EQ(a[3].id(), a[3].status().message_id() + ":sent");
  EXPECT_TRUE(absl::StartsWith(a[8].id(), "sha256:")) << a[8].id();
  EXPECT_EQ(a[8].id().size(), 7u + 64u);

  // Same status content with a different timestamp: same id.
  const char* kStatus =
      R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
          {"field":"messages","value":{"statuses":[{"id":"wamid.S",
          "status":"read","timestamp":"%s"}]}}]}]})";
  auto s1 =
      ParseWebhook(absl::StrReplaceAll(kStatus, {{"%s", "100"}}), kReceived);
  auto s2 =
      ParseWebhook(absl::StrReplaceAll(kStatus, {{"%s", "200"}}), kReceived);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ((*s1)[0].id(), "wamid.S:read");
  EXPECT_EQ((*s1)[0].id(), (*s2)[0].id());
  // A status without a message id gets a digest, not a shared ":read".
  auto no_id = ParseWebhook(
      R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
          {"field":"messages","value":{"statuses":[{"status":"read"}]}}]}]})",
      kReceived);
  ASSERT_TRUE(no_id.ok());
  EXPECT_TRUE(absl::StartsWith((*no_id)[0].id(), "sha256:"))
      << (*no_id)[0].id();

  // Management changes: same content elsewhere or at another time differs;
  // whitespace does not matter.
  auto review = [](absl::string_view waba, absl::string_view time,
                   absl::string_view space) {
    auto e = ParseWebhook(
        absl::StrCat(
            R"({"object":"whatsapp_business_account","entry":[{"id":")", waba,
            R"(","time":)", time,
            R"(,"changes":[{"field":"account_review_update","value":{)", space,
            R"("decision":"APPROVED"}}]}]})"),
        kReceived);
    return e.ok() && e->size() == 1 ? (*e)[0].id() : std::string("error");
  };
  EXPECT_EQ(review("1", "100", ""), review("1", "100", "  \n "));
  EXPECT_NE(review("1", "100", ""), review("2", "100", ""));
  EXPECT_NE(review("1", "100", ""), review("1", "101", ""));
}

// ---- Unknown things are kept, never dropped.

TEST(ParserTest, UnknownFieldKeptRaw) {
  std::vector<v1::Event> events = ParseFixture("unknown_field");
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_unknown());
  EXPECT_EQ(EventKind(events[0]), "unknown");
  EXPECT_EQ(events[0].field(), "some_future_field");
  EXPECT_EQ(events[0].unknown().field(), "some_future_field");
  EXPECT_EQ(events[0].phone_number_id(), "106540352242922");
  EXPECT_THAT(events[0].unknown().raw_json(),
              HasSubstr(R"("novelty":{"kind":"new","score":7})"));
}

TEST(ParserTest, UnknownMessageTypeKeptRawWithMessageId) {
  std::vector<v1::Event> events = ParseFixture("unknown_message_type");
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_unknown());
  EXPECT_EQ(events[0].unknown().field(), "messages");
  EXPECT_THAT(events[0].unknown().raw_json(), HasSubstr(R"("type":"poll")"));
  EXPECT_THAT(events[0].unknown().raw_json(),
              HasSubstr(R"("options":["Pizza","Salad"])"));
  EXPECT_TRUE(absl::StartsWith(events[0].id(), "wamid.")) << events[0].id();
}

TEST(ParserTest, ValueWithoutItemsOrNonObjectItemsKeptRaw) {
  auto events = ParseWebhook(
      R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
          {"field":"messages","value":{"metadata":{"phone_number_id":"9"}}},
          {"field":"messages","value":{"messages":[7]}},
          {"field":"messages","value":"text"},
          {"value":{"a":1}}]}]})",
      kReceived);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 4u);
  for (const auto& e : *events) EXPECT_TRUE(e.has_unknown());
  EXPECT_EQ((*events)[1].unknown().raw_json(), "7");
  EXPECT_THAT((*events)[2].unknown().raw_json(),
              HasSubstr(R"("value":"text")"));
}

// ---- Inbound types.

v1::InboundMessage OnlyMessage(const std::vector<v1::Event>& events) {
  const v1::InboundMessage kEmpty;
  EXPECT_EQ(events.size(), 1u);
  if (events.size() != 1 || !events[0].has_message()) return kEmpty;
  return events[0].message();
}

TEST(ParserTypesTest, Text) {
  std::vector<v1::Event> events = ParseFixture("message_text");
  const v1::InboundMessage m = OnlyMessage(events);
  EXPECT_EQ(m.text().body(), "Does it come in another color?");
  EXPECT_EQ(m.type(), "text");
  EXPECT_EQ(m.from(), "16505551234");
  EXPECT_EQ(m.timestamp().seconds(), 1749416383);
  EXPECT_EQ(m.contact_name(), "Sheena Nelson");
  EXPECT_EQ(m.contact().wa_id(), "16505551234");
  EXPECT_EQ(events[0].field(), "messages");
  EXPECT_EQ(events[0].display_phone_number(), "15550783881");
  EXPECT_EQ(events[0].id(), m.id());
  EXPECT_TRUE(absl::StartsWith(m.id(), "wamid."));
}

TEST(ParserTypesTest, Media) {
  const v1::InboundMessage img = OnlyMessage(ParseFixture("message_image"));
  ASSERT_TRUE(img.has_image());
  EXPECT_EQ(img.image().id(), "1013859600285441");
  EXPECT_EQ(img.image().mime_type(), "image/jpeg");
  EXPECT_EQ(img.image().sha256(),
            "qE8nXJhx1Zp5ZtVQmYhY1m4jx7ZpS1Zb6gRqO4Zy0Jk=");
  EXPECT_EQ(img.image().caption(), "Sunset");
  EXPECT_THAT(img.image().url(), HasSubstr("lookaside.fbsbx.com"));
  const v1::InboundMessage video = OnlyMessage(ParseFixture("message_video"));
  EXPECT_EQ(video.video().caption(), "Unboxing");
  EXPECT_EQ(video.video().mime_type(), "video/mp4");
  const v1::InboundMessage doc = OnlyMessage(ParseFixture("message_document"));
  EXPECT_EQ(doc.document().filename(), "invoice.pdf");
  EXPECT_EQ(doc.document().caption(), "Your invoice");
  const v1::InboundMessage audio =
      OnlyMessage(ParseFixture("message_audio_voice"));
  EXPECT_TRUE(audio.audio().voice());
  EXPECT_EQ(audio.audio().mime_type(), "audio/ogg; codecs=opus");
  const v1::InboundMessage sticker =
      OnlyMessage(ParseFixture("message_sticker_animated"));
  EXPECT_TRUE(sticker.sticker().animated());
  const v1::InboundMessage failed =
      OnlyMessage(ParseFixture("message_media_download_error"));
  EXPECT_EQ(failed.type(), "image");
  EXPECT_FALSE(failed.has_image());
  ASSERT_EQ(failed.errors_size(), 1);
  EXPECT_EQ(failed.errors(0).code(), 131052);
  EXPECT_EQ(failed.errors(0).details(),
            "Failed to download the media from the sender.");
}

TEST(ParserTypesTest, LocationAndContacts) {
  const v1::InboundMessage loc = OnlyMessage(ParseFixture("message_location"));
  EXPECT_DOUBLE_EQ(loc.location().latitude(), 37.4847);
  EXPECT_DOUBLE_EQ(loc.location().longitude(), -122.1477);
  EXPECT_EQ(loc.location().name(), "Meta HQ");
  EXPECT_EQ(loc.location().address(), "1 Hacker Way, Menlo Park, CA 94025");
  const v1::InboundMessage c = OnlyMessage(ParseFixture("message_contacts"));
  ASSERT_EQ(c.contacts().contacts_size(), 1);
  const v1::Contact card = c.contacts().contacts(0);
  EXPECT_EQ(card.name().formatted_name(), "Barbara J. Johnson");
  EXPECT_EQ(card.name().prefix(), "Dr.");
  EXPECT_EQ(card.birthday(), "1999-01-23");
  EXPECT_EQ(card.addresses(0).country_code(), "US");
  EXPECT_EQ(card.emails(0).email(), "bjohnson@luckyshrub.com");
  EXPECT_EQ(card.org().company(), "Lucky Shrub");
  EXPECT_EQ(card.phones(0).wa_id(), "14155550123");
  EXPECT_EQ(card.urls(0).url(), "https://www.luckyshrub.com");
  // The sender's profile is still matched beside the cards.
  EXPECT_EQ(c.contact_name(), "Sheena Nelson");
}

TEST(ParserTypesTest, InteractiveReplies) {
  const v1::InboundMessage b =
      OnlyMessage(ParseFixture("message_interactive_button_reply"));
  EXPECT_EQ(b.interactive().type(), "button_reply");
  EXPECT_EQ(b.interactive().button_reply().id(), "change-button");
  EXPECT_EQ(b.interactive().button_reply().title(), "Change");
  EXPECT_EQ(b.context().from(), "15550783881");
  EXPECT_TRUE(absl::StartsWith(b.context().id(), "wamid."));
  const v1::InboundMessage l =
      OnlyMessage(ParseFixture("message_interactive_list_reply"));
  EXPECT_EQ(l.interactive().list_reply().id(), "priority_express");
  EXPECT_EQ(l.interactive().list_reply().description(), "Next Day to 2 Days");
  const v1::InboundMessage f =
      OnlyMessage(ParseFixture("message_interactive_nfm_reply_flow"));
  EXPECT_EQ(f.interactive().nfm_reply().name(), "flow");
  EXPECT_EQ(f.interactive().nfm_reply().body(), "Sent");
  EXPECT_EQ(f.interactive().nfm_reply().response_json(),
            R"({"flow_token":"AQAAAAACS5FpgQ_cAAAAAD0QI3s.","rating":"5"})");
  const v1::InboundMessage a =
      OnlyMessage(ParseFixture("message_interactive_nfm_reply_address"));
  EXPECT_EQ(a.interactive().nfm_reply().name(), "address_message");
  EXPECT_THAT(a.interactive().nfm_reply().response_json(),
              HasSubstr(R"("saved_address_id":"address1")"));
  const v1::InboundMessage p =
      OnlyMessage(ParseFixture("message_interactive_call_permission_reply"));
  EXPECT_EQ(p.interactive().call_permission_reply().response(), "accept");
  EXPECT_EQ(
      p.interactive().call_permission_reply().expiration_timestamp().seconds(),
      1753186982);
  EXPECT_EQ(p.interactive().call_permission_reply().response_source(),
            "user_action");
  const v1::InboundMessage button = OnlyMessage(ParseFixture("message_button"));
  EXPECT_EQ(button.button().payload(), "callback_data");
  EXPECT_EQ(button.button().text(), "title");
}

TEST(ParserTypesTest, ReactionAndRemoval) {
  const v1::InboundMessage r = OnlyMessage(ParseFixture("message_reaction"));
  EXPECT_EQ(r.reaction().emoji(), "\xF0\x9F\x98\x80");
  EXPECT_TRUE(absl::StartsWith(r.reaction().message_id(), "wamid."));
  const v1::InboundMessage removed =
      OnlyMessage(ParseFixture("message_reaction_removed"));
  ASSERT_TRUE(removed.has_reaction());
  EXPECT_EQ(removed.reaction().emoji(), "");
  // Meta (and the emulator) escape non-ASCII as UTF-16 surrogate pairs.
  auto escaped = ParseWebhook(
      R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
          {"field":"messages","value":{"messages":[{"id":"m","type":"reaction",
          "reaction":{"message_id":"x","emoji":"\ud83d\ude00"}}]}}]}]})",
      kReceived);
  ASSERT_TRUE(escaped.ok()) << escaped.status();
  EXPECT_EQ((*escaped)[0].message().reaction().emoji(), "\xF0\x9F\x98\x80");
}

TEST(ParserTypesTest, OrderWithNumericAndStringValues) {
  const v1::InboundMessage o = OnlyMessage(ParseFixture("message_order"));
  EXPECT_EQ(o.order().catalog_id(), "354160437058781");
  EXPECT_EQ(o.order().text(), "Love these!");
  ASSERT_EQ(o.order().product_items_size(), 2);
  EXPECT_EQ(o.order().product_items(0).product_retailer_id(), "SKU-1");
  EXPECT_EQ(o.order().product_items(0).quantity(), 3);
  EXPECT_DOUBLE_EQ(o.order().product_items(0).item_price(), 7.99);
  EXPECT_EQ(o.order().product_items(0).currency(), "USD");
  EXPECT_EQ(o.order().product_items(1).quantity(), 1);
  EXPECT_DOUBLE_EQ(o.order().product_items(1).item_price(), 12.5);
}

TEST(ParserTypesTest, SystemMessages) {
  const v1::InboundMessage n =
      OnlyMessage(ParseFixture("message_system_user_changed_number"));
  EXPECT_EQ(n.system().type(), "user_changed_number");
  EXPECT_EQ(n.system().wa_id(), "16505559999");
  EXPECT_THAT(n.system().body(), HasSubstr("changed from"));
  EXPECT_FALSE(n.has_contact());
  const v1::InboundMessage i =
      OnlyMessage(ParseFixture("message_system_identity_changed"));
  EXPECT_EQ(i.system().type(), "customer_identity_changed");
  EXPECT_TRUE(i.system().identity().acknowledged());
  EXPECT_EQ(i.system().identity().created_timestamp().seconds(), 1749416000);
  EXPECT_EQ(i.system().identity().hash(), "Sjvjlx8G6Z0=");
}

TEST(ParserTypesTest, WelcomeUnsupportedEditRevoke) {
  EXPECT_TRUE(OnlyMessage(ParseFixture("message_request_welcome"))
                  .has_request_welcome());
  const v1::InboundMessage u = OnlyMessage(ParseFixture("message_unsupported"));
  EXPECT_EQ(u.unsupported().type(), "edit");
  ASSERT_EQ(u.errors_size(), 1);
  EXPECT_EQ(u.errors(0).code(), 131051);
  EXPECT_EQ(u.errors(0).title(), "Message type unknown");
  const v1::InboundMessage e = OnlyMessage(ParseFixture("message_edit"));
  EXPECT_EQ(e.edit().original_message_id(), "wamid.ORIGINAL");
  EXPECT_EQ(e.edit().message().type(), "text");
  EXPECT_EQ(e.edit().message().text().body(), "Edited text");
  const v1::InboundMessage r = OnlyMessage(ParseFixture("message_revoke"));
  EXPECT_EQ(r.revoke().original_message_id(), "wamid.ORIGINAL");
}

TEST(ParserTypesTest, ReferralContextAndBsuid) {
  const v1::InboundMessage r = OnlyMessage(ParseFixture("message_referral"));
  EXPECT_EQ(r.referral().source_type(), "ad");
  EXPECT_EQ(r.referral().source_id(), "120226305854810726");
  EXPECT_EQ(r.referral().headline(), "Summer sale");
  EXPECT_EQ(r.referral().media_type(), "image");
  EXPECT_TRUE(absl::StartsWith(r.referral().ctwa_clid(), "ARAkLkA8"));
  EXPECT_EQ(r.referral().welcome_message_text(), "Hi! How can we help?");
  const v1::InboundMessage p =
      OnlyMessage(ParseFixture("message_forwarded_product_inquiry"));
  EXPECT_TRUE(p.context().forwarded());
  EXPECT_EQ(p.context().referred_product().catalog_id(), "354160437058781");
  EXPECT_EQ(p.context().referred_product().product_retailer_id(), "SKU-1");
  const v1::InboundMessage b =
      OnlyMessage(ParseFixture("message_bsuid_username_user"));
  EXPECT_EQ(b.from(), "");
  EXPECT_EQ(b.from_user_id(), "US.13491208655302741918");
  EXPECT_EQ(b.from_parent_user_id(), "US.ENT.11815799212886844830");
  EXPECT_EQ(b.timestamp().seconds(), 1749416383);  // an integer here
  EXPECT_EQ(b.contact_name(), "Username User");
  EXPECT_EQ(b.contact().username(), "@sheena");
  EXPECT_EQ(b.contact().identity_key_hash(), "DF2lS5v2W6x=");
}

// ---- Statuses.

v1::MessageStatus OnlyStatus(const std::vector<v1::Event>& events) {
  const v1::MessageStatus kEmpty;
  EXPECT_EQ(events.size(), 1u);
  if (events.size() != 1 || !events[0].has_status()) return kEmpty;
  return events[0].status();
}

TEST(ParserStatusTest, SentWithConversationAndPricing) {
  const v1::MessageStatus s = OnlyStatus(ParseFixture("status_sent"));
  EXPECT_EQ(s.status(), v1::MessageStatus::STATUS_SENT);
  EXPECT_EQ(s.status_raw(), "sent");
  EXPECT_EQ(s.recipient_id(), "16505551234");
  EXPECT_EQ(s.timestamp().seconds(), 1750030073);
  EXPECT_EQ(s.conversation().id(), "72b14d6bd5407799e66f64d1b338e567");
  EXPECT_EQ(s.conversation().expiration_timestamp().seconds(), 1750116480);
  EXPECT_EQ(s.conversation().origin_type(), "marketing");
  EXPECT_TRUE(s.pricing().billable());
  EXPECT_EQ(s.pricing().pricing_model(), "PMP");
  EXPECT_EQ(s.pricing().type(), "regular");
  EXPECT_EQ(s.pricing().category(), "marketing");
  EXPECT_EQ(s.biz_opaque_callback_data(), "order-42");
}

TEST(ParserStatusTest, EveryKind) {
  EXPECT_EQ(OnlyStatus(ParseFixture("status_delivered")).status(),
            v1::MessageStatus::STATUS_DELIVERED);
  const v1::MessageStatus read = OnlyStatus(ParseFixture("status_read"));
  EXPECT_EQ(read.status(), v1::MessageStatus::STATUS_READ);
  EXPECT_EQ(read.timestamp().seconds(), 1750030075);
  EXPECT_EQ(read.recipient_user_id(), "US.13491208655302741918");
  EXPECT_EQ(read.recipient_identity_key_hash(), "DF2lS5v2W6x=");
  EXPECT_FALSE(read.has_pricing());
  EXPECT_EQ(OnlyStatus(ParseFixture("status_played")).status(),
            v1::MessageStatus::STATUS_PLAYED);
  const v1::MessageStatus failed = OnlyStatus(ParseFixture("status_failed"));
  EXPECT_EQ(failed.status(), v1::MessageStatus::STATUS_FAILED);
  ASSERT_EQ(failed.errors_size(), 1);
  EXPECT_EQ(failed.errors(0).code(), 131049);
  EXPECT_THAT(failed.errors(0).details(), HasSubstr("healthy ecosystem"));
  EXPECT_EQ(failed.errors(0).href(),
            "/documentation/business-messaging/whatsapp/support/error-codes");
  const v1::MessageStatus group = OnlyStatus(ParseFixture("status_group"));
  EXPECT_EQ(group.recipient_type(), "group");
  EXPECT_EQ(group.recipient_participant_id(), "16505551234");
  EXPECT_EQ(group.recipient_participant_user_id(), "US.13491208655302741918");
  const v1::MessageStatus free =
      OnlyStatus(ParseFixture("status_free_entry_point"));
  EXPECT_FALSE(free.pricing().billable());
  EXPECT_EQ(free.pricing().type(), "free_entry_point");
  EXPECT_EQ(free.conversation().origin_type(), "referral_conversion");

  std::vector<v1::Event> more = ParseFixture("status_deleted_and_warning");
  ASSERT_EQ(more.size(), 3u);
  EXPECT_EQ(more[0].status().status(), v1::MessageStatus::STATUS_DELETED);
  EXPECT_EQ(more[1].status().status(), v1::MessageStatus::STATUS_WARNING);
  EXPECT_EQ(more[1].status().errors(0).code(), 131045);
  EXPECT_EQ(more[2].status().status(), v1::MessageStatus::STATUS_OTHER);
  EXPECT_EQ(more[2].status().status_raw(), "held_for_quality_assessment");
}

TEST(ParserStatusTest, CallStatuses) {
  std::vector<v1::Event> events = ParseFixture("field_calls_status");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].field(), "calls");
  EXPECT_EQ(events[0].status().type(), "call");
  EXPECT_EQ(events[0].status().status(), v1::MessageStatus::STATUS_RINGING);
  EXPECT_EQ(events[1].status().status(), v1::MessageStatus::STATUS_ACCEPTED);
  EXPECT_NE(events[0].id(), events[1].id());
}

TEST(ParserStatusTest, SystemErrorAlone) {
  std::vector<v1::Event> events = ParseFixture("system_error_rate_limit");
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_system_error());
  EXPECT_EQ(EventKind(events[0]), "system_error");
  ASSERT_EQ(events[0].system_error().errors_size(), 1);
  EXPECT_EQ(events[0].system_error().errors(0).code(), 130429);
  EXPECT_EQ(events[0].system_error().errors(0).title(), "Rate limit hit");
  EXPECT_EQ(events[0].phone_number_id(), "106540352242922");
}

TEST(ParserStatusTest, ValueErrorsBesideItemsAttachToThem) {
  auto events = ParseWebhook(
      R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
          {"field":"messages","value":{"messages":[{"id":"m","type":
          "interactive","timestamp":"1"}],"errors":[{"code":131000,
          "title":"Something went wrong"}]}},
          {"field":"smb_message_echoes","value":{"message_echoes":[{"id":"e",
          "type":"text","text":{"body":"x"}}],"errors":[{"code":1}]}}]}]})",
      kReceived);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].message().type(), "interactive");
  ASSERT_EQ((*events)[0].message().errors_size(), 1);
  EXPECT_EQ((*events)[0].message().errors(0).code(), 131000);
  EXPECT_TRUE((*events)[1].has_message_echo());
  EXPECT_EQ((*events)[2].system_error().errors(0).code(), 1);
}

// ---- Calls, echoes, preferences.

TEST(ParserFieldsTest, Calls) {
  std::vector<v1::Event> events = ParseFixture("field_calls");
  ASSERT_EQ(events.size(), 2u);
  const v1::CallEvent connect = events[0].call();
  EXPECT_EQ(EventKind(events[0]), "call");
  EXPECT_EQ(connect.event(), "connect");
  EXPECT_EQ(connect.direction(), "USER_INITIATED");
  EXPECT_EQ(connect.session().sdp_type(), "offer");
  EXPECT_THAT(connect.session().sdp(), HasSubstr("v=0"));
  EXPECT_EQ(connect.contact().name(), "Sheena Nelson");
  const v1::CallEvent end = events[1].call();
  EXPECT_EQ(end.status(), "COMPLETED");
  EXPECT_EQ(end.duration().seconds(), 118);
  EXPECT_EQ(end.start_time().seconds(), 1671644826);
  EXPECT_EQ(end.end_time().seconds(), 1671644944);
  EXPECT_EQ(end.biz_opaque_callback_data(), "call-7");
  EXPECT_NE(events[0].id(), events[1].id());
}

TEST(ParserFieldsTest, MessageEchoes) {
  std::vector<v1::Event> events = ParseFixture("field_smb_message_echoes");
  ASSERT_EQ(events.size(), 2u);
  const v1::MessageEcho text = events[0].message_echo();
  EXPECT_EQ(text.from(), "15550783881");
  EXPECT_EQ(text.to(), "16505551234");
  EXPECT_EQ(text.type(), "text");
  EXPECT_EQ(text.timestamp().seconds(), 1739321024);
  EXPECT_EQ(text.message().text().body(), "Sent from the Business app");
  const v1::MessageEcho image = events[1].message_echo();
  EXPECT_EQ(image.message().image().caption(), "Catalog");
  EXPECT_EQ(image.message().context().id(), "wamid.QUOTED");
}

TEST(ParserFieldsTest, UserPreferences) {
  std::vector<v1::Event> events = ParseFixture("field_user_preferences");
  ASSERT_EQ(events.size(), 1u);
  const v1::UserPreference p = events[0].user_preferences();
  EXPECT_EQ(p.wa_id(), "16505551234");
  EXPECT_EQ(p.category(), "marketing_messages");
  EXPECT_EQ(p.value(), "stop");
  EXPECT_EQ(p.timestamp().seconds(), 1731705721);
  EXPECT_EQ(p.contact().name(), "Sheena Nelson");
}

// ---- Management fields.

v1::Event Only(const std::vector<v1::Event>& events) {
  const v1::Event kEmpty;
  EXPECT_EQ(events.size(), 1u);
  return events.size() == 1 ? events[0] : kEmpty;
}

TEST(ParserFieldsTest, TemplateStatus) {
  std::vector<v1::Event> events =
      ParseFixture("field_message_template_status_update");
  const v1::Event e = Only(events);
  EXPECT_EQ(e.field(), "message_template_status_update");
  EXPECT_EQ(e.entry_time().seconds(), 1739321024);
  EXPECT_EQ(e.phone_number_id(), "");
  EXPECT_EQ(e.template_status().event(), "APPROVED");
  EXPECT_EQ(e.template_status().message_template_id(), "1689556908129832");
  EXPECT_EQ(e.template_status().reason(), "NONE");
  EXPECT_EQ(e.template_status().message_template_category(), "UTILITY");
  const v1::TemplateStatusUpdate rejected =
      Only(ParseFixture("field_message_template_status_update_rejected"))
          .template_status();
  EXPECT_EQ(rejected.reason(), "INVALID_FORMAT");
  EXPECT_THAT(rejected.rejection_info_reason(), HasSubstr("next to each"));
  EXPECT_THAT(rejected.rejection_info_recommendation(), HasSubstr("Separate"));
  const v1::TemplateStatusUpdate paused =
      Only(ParseFixture("field_message_template_status_update_paused"))
          .template_status();
  EXPECT_EQ(paused.reason(), "");  // null
  EXPECT_EQ(paused.other_info_title(), "FIRST_PAUSE");
  EXPECT_THAT(paused.other_info_description(), HasSubstr("3 hours"));
  const v1::TemplateStatusUpdate flagged =
      Only(ParseFixture("field_message_template_status_update_flagged"))
          .template_status();
  EXPECT_EQ(flagged.message_template_id(), "1689556908129835");  // a string
  EXPECT_EQ(flagged.disable_date(), "January 31, 2026");
}

TEST(ParserFieldsTest, TemplateQualityCategoryComponents) {
  const v1::TemplateQualityUpdate q =
      Only(ParseFixture("field_message_template_quality_update"))
          .template_quality();
  EXPECT_EQ(q.previous_quality_score(), "GREEN");
  EXPECT_EQ(q.new_quality_score(), "YELLOW");
  EXPECT_EQ(q.message_template_id(), "806312974732579");
  const v1::TemplateCategoryUpdate c =
      Only(ParseFixture("field_template_category_update")).template_category();
  EXPECT_EQ(c.previous_category(), "UTILITY");
  EXPECT_EQ(c.new_category(), "MARKETING");
  const v1::TemplateCategoryUpdate i =
      Only(ParseFixture("field_template_category_update_impending"))
          .template_category();
  EXPECT_EQ(i.correct_category(), "MARKETING");
  EXPECT_EQ(i.category_update_timestamp().seconds(), 1739407424);
  const v1::TemplateComponentsUpdate t =
      Only(ParseFixture("field_message_template_components_update"))
          .template_components();
  EXPECT_EQ(t.message_template_title(), "Your order is confirmed!");
  EXPECT_THAT(t.message_template_element(), HasSubstr("{{1}}"));
  EXPECT_EQ(t.message_template_footer(), "Lucky Shrub");
  ASSERT_EQ(t.message_template_buttons_size(), 2);
  EXPECT_EQ(t.message_template_buttons(0).message_template_button_url(),
            "https://www.luckyshrub.com/support");
  EXPECT_EQ(
      t.message_template_buttons(1).message_template_button_phone_number(),
      "+15550783881");
}

TEST(ParserFieldsTest, PhoneNumberQualityAndName) {
  const v1::Event e = Only(ParseFixture("field_phone_number_quality_update"));
  EXPECT_EQ(e.phone_number_quality().event(), "THROUGHPUT_UPGRADE");
  EXPECT_EQ(e.phone_number_quality().current_limit(), "TIER_UNLIMITED");
  EXPECT_EQ(e.phone_number_quality().max_daily_conversations_per_business(),
            "TIER_UNLIMITED");
  EXPECT_EQ(e.display_phone_number(), "15550783881");
  const v1::PhoneNumberQualityUpdate limit =
      Only(ParseFixture("field_phone_number_quality_update_limit"))
          .phone_number_quality();
  EXPECT_EQ(limit.old_limit(), "TIER_2K");
  EXPECT_EQ(limit.current_limit(), "TIER_10K");
  const v1::PhoneNumberNameUpdate n =
      Only(ParseFixture("field_phone_number_name_update")).phone_number_name();
  EXPECT_EQ(n.decision(), "APPROVED");
  EXPECT_EQ(n.requested_verified_name(), "Lucky Shrub");
  EXPECT_EQ(n.rejection_reason(), "");
}

TEST(ParserFieldsTest, AccountUpdates) {
  const v1::AccountUpdate v =
      Only(ParseFixture("field_account_update")).account_update();
  EXPECT_EQ(v.event(), "ACCOUNT_VIOLATION");
  EXPECT_EQ(v.violation_info().violation_type(), "ADULT");
  EXPECT_FALSE(v.has_ban_info());
  const v1::AccountUpdate d =
      Only(ParseFixture("field_account_update_disabled")).account_update();
  EXPECT_EQ(d.ban_info().waba_ban_state(), "SCHEDULE_FOR_DISABLE");
  EXPECT_EQ(d.ban_info().waba_ban_date(), "January 31, 2026");
  const v1::AccountUpdate t =
      Only(ParseFixture("field_account_update_volume_tier")).account_update();
  EXPECT_EQ(t.volume_tier_info().tier(), "25000001:50000000");
  EXPECT_EQ(t.volume_tier_info().tier_update_time().seconds(), 1743451903);
  EXPECT_EQ(t.volume_tier_info().region(), "India");
}

TEST(ParserFieldsTest, AccountUpdatesFromCorpus) {
  const std::string dir = CorpusDir() + "/pywa/";
  if (JsonFiles(CorpusDir() + "/pywa").empty()) GTEST_SKIP() << "no corpus";
  auto parse = [&](const std::string& name) {
    auto events = ParseWebhook(ReadFile(dir + name + ".json"), kReceived);
    EXPECT_TRUE(events.ok() && events->size() == 1) << name;
    return events.ok() && events->size() == 1 ? (*events)[0].account_update()
                                              : v1::AccountUpdate();
  };
  v1::AccountUpdate r = parse("account_update__account_restriction");
  ASSERT_EQ(r.restriction_info_size(), 2);
  EXPECT_EQ(r.restriction_info(0).restriction_type(),
            "RESTRICTED_BIZ_INITIATED_MESSAGING");
  EXPECT_EQ(r.restriction_info(0).expiration().seconds(), 1641330498);
  v1::AccountUpdate p = parse("account_update__partner_added");
  EXPECT_EQ(p.waba_info().solution_id(), "1715120619246906");
  EXPECT_THAT(p.waba_info().solution_partner_business_ids(),
              ElementsAre("2949482758682047", "520744086200222"));
  v1::AccountUpdate a =
      parse("account_update__authentication_international_eligibility");
  EXPECT_EQ(a.auth_international_rate_eligibility().start_time().seconds(),
            1748780624);
  EXPECT_EQ(a.auth_international_rate_eligibility()
                .exception_countries(0)
                .country_code(),
            "ID");
  v1::AccountUpdate c =
      parse("account_update__partner_led_business_verification_status");
  EXPECT_EQ(c.partner_client_certification_info().status(), "APPROVED");
  EXPECT_THAT(c.partner_client_certification_info().rejection_reasons(),
              ElementsAre("NONE"));
  v1::AccountUpdate x =
      parse("account_update__partner_removed_wa_app_disconnection");
  EXPECT_EQ(x.disconnection_info().reason(), "PRIMARY_INACTIVITY");
  EXPECT_EQ(x.disconnection_info().initiated_by(), "SYSTEM");
  EXPECT_EQ(parse("account_update__primary_business_location_set").country(),
            "IN");
  EXPECT_EQ(parse("account_update__ad_account_linked")
                .waba_info()
                .ad_account_linked(),
            "980198427534243");
}

// Shapes only the corpus has: errors beside calls and messages, an extra
// top-level key, placeholder timestamps, contacts matched per wa_id.
TEST(ParserCorpusTest, CorpusSpecifics) {
  const std::string corpus = CorpusDir();
  if (JsonFiles(corpus + "/pywa").empty()) GTEST_SKIP() << "no corpus";
  auto parse = [&](const std::string& name) {
    auto events =
        ParseWebhook(ReadFile(corpus + "/" + name + ".json"), kReceived);
    EXPECT_TRUE(events.ok()) << name << ": " << events.status();
    return events.ok() ? *events : std::vector<v1::Event>{};
  };
  v1::Event call = Only(parse("pywa/call_terminate__call_terminate"));
  ASSERT_EQ(call.call().errors_size(), 1);
  EXPECT_EQ(call.call().errors(0).code(), 12455);
  EXPECT_EQ(call.call().errors(0).details(), "ERROR_DETAILS");
  EXPECT_EQ(call.call().duration().seconds(), 120);
  // The fixture's contact is neither caller nor callee: not attached.
  EXPECT_FALSE(call.call().has_contact());
  v1::Event connect = Only(parse("pywa/call_connect__user_initiated"));
  EXPECT_EQ(connect.call().contact().user_id(), "US.13491208655302741918");
  EXPECT_EQ(connect.call().session().sdp_type(), "offer");

  v1::Event interactive =
      Only(parse("pywa/message__interactive_message_with_err"));
  EXPECT_EQ(interactive.message().type(), "interactive");
  ASSERT_EQ(interactive.message().errors_size(), 1);
  EXPECT_EQ(interactive.message().errors(0).code(), 131000);

  v1::Event components =
      Only(parse("pywa/template_components_update__element"));
  EXPECT_EQ(components.template_components().message_template_element(),
            "Hi {{1}}! Welcome to our service.");
  EXPECT_EQ(components.waba_id(), "57438975935");

  v1::Event restricted = Only(parse("java-api/accountRestricted"));
  ASSERT_EQ(restricted.account_update().restriction_info_size(), 3);
  EXPECT_FALSE(
      restricted.account_update().restriction_info(0).has_expiration());
  EXPECT_EQ(restricted.account_update().phone_number(), "<PHONE_NUMBER>");

  v1::Event group = Only(parse("pywa/message_status__group"));
  EXPECT_EQ(group.status().recipient_participant_parent_user_id(),
            "<PARENT_BSUID>");

  v1::Event edit = Only(parse("pywa/edited_message__image"));
  EXPECT_EQ(edit.message().edit().message().image().caption(),
            "Updated image caption");
  EXPECT_EQ(edit.message().edit().message().context().id(), "M0");

  v1::Event echo = Only(parse("pywa/outgoing_message__edit"));
  EXPECT_EQ(echo.message_echo().message().edit().message().text().body(),
            "Text was edited");

  v1::Event quality = Only(parse("java-api/qualityUpdate"));
  EXPECT_EQ(quality.phone_number_quality().event(), "FLAGGED");
  EXPECT_EQ(quality.display_phone_number(), "16505551111");
}

TEST(ParserFieldsTest, AlertsReviewCapabilitySecurity) {
  const v1::AccountAlert a =
      Only(ParseFixture("field_account_alerts")).account_alert();
  EXPECT_EQ(a.entity_type(), "BUSINESS");
  EXPECT_EQ(a.entity_id(), "506914307656634");
  EXPECT_EQ(a.alert_severity(), "WARNING");
  EXPECT_EQ(a.alert_status(), "ACTIVE");
  EXPECT_EQ(a.alert_type(), "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED");
  EXPECT_FALSE(a.alert_description().empty());
  EXPECT_EQ(Only(ParseFixture("field_account_review_update"))
                .account_review()
                .decision(),
            "APPROVED");
  const v1::BusinessCapabilityUpdate b =
      Only(ParseFixture("field_business_capability_update"))
          .business_capability();
  EXPECT_EQ(b.max_daily_conversations_per_business(), "TIER_UNLIMITED");
  EXPECT_EQ(b.max_phone_numbers_per_waba(), "25");
  const v1::BusinessCapabilityUpdate n =
      Only(ParseFixture("field_business_capability_update_numeric"))
          .business_capability();
  EXPECT_EQ(n.max_daily_conversations_per_business(), "2000");
  EXPECT_EQ(n.max_phone_numbers_per_business(), "2");
  EXPECT_EQ(n.max_daily_conversation_per_phone(), "-1");
  const v1::SecurityEvent s = Only(ParseFixture("field_security")).security();
  EXPECT_EQ(s.event(), "PIN_RESET_REQUEST");
  EXPECT_EQ(s.requester(), "61555822107539");
  EXPECT_EQ(s.display_phone_number(), "15550783881");
}

TEST(ParserFieldsTest, Flows) {
  const v1::FlowEvent s = Only(ParseFixture("field_flows")).flows();
  EXPECT_EQ(s.event(), "FLOW_STATUS_CHANGE");
  EXPECT_EQ(s.flow_id(), "6627390910605886");
  EXPECT_EQ(s.old_status(), "DRAFT");
  EXPECT_EQ(s.new_status(), "PUBLISHED");
  const v1::FlowEvent e =
      Only(ParseFixture("field_flows_endpoint_error_rate")).flows();
  EXPECT_DOUBLE_EQ(e.error_rate(), 12.5);
  EXPECT_DOUBLE_EQ(e.threshold(), 10);
  EXPECT_EQ(e.alert_state(), "ACTIVATED");
  ASSERT_EQ(e.errors_size(), 2);
  EXPECT_EQ(e.errors(0).error_type(), "TIMEOUT");
  EXPECT_EQ(e.errors(0).error_count(), 30);
  const v1::FlowEvent l =
      Only(ParseFixture("field_flows_endpoint_latency")).flows();
  EXPECT_EQ(l.p90_latency(), 6200);
  EXPECT_EQ(l.p50_latency(), 1800);
  EXPECT_EQ(l.requests_count(), 420);
  EXPECT_DOUBLE_EQ(Only(ParseFixture("field_flows_endpoint_availability"))
                       .flows()
                       .availability(),
                   75.5);
}

TEST(ParserFieldsTest, History) {
  std::vector<v1::Event> events = ParseFixture("field_history");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(EventKind(events[0]), "history");
  EXPECT_EQ(events[0].phone_number_id(), "106540352242922");
  const v1::HistoryChunk& chunk = events[0].history();
  EXPECT_EQ(chunk.phase(), 0);
  EXPECT_EQ(chunk.chunk_order(), 1);
  EXPECT_EQ(chunk.progress(), 55);
  ASSERT_EQ(chunk.threads_size(), 1);
  EXPECT_EQ(chunk.threads(0).id(), "16505551234");
  ASSERT_EQ(chunk.threads(0).messages_size(), 3);
  const v1::InboundMessage& in = chunk.threads(0).messages(0);
  EXPECT_EQ(in.text().body(), "Hi, are you open today?");
  EXPECT_EQ(in.history_status(), "READ");
  EXPECT_EQ(in.timestamp().seconds(), 1739230000);
  const v1::InboundMessage& out = chunk.threads(0).messages(1);
  EXPECT_EQ(out.to(), "16505551234");
  EXPECT_EQ(out.history_status(), "DELIVERED");
  EXPECT_EQ(chunk.threads(0).messages(2).type(), "media_placeholder");
  EXPECT_EQ(events[1].history().progress(), 100);
  EXPECT_NE(events[0].id(), events[1].id());

  const v1::HistoryChunk declined =
      Only(ParseFixture("field_history_declined")).history();
  ASSERT_EQ(declined.errors_size(), 1);
  EXPECT_EQ(declined.errors(0).code(), 2593109);
}

TEST(ParserFieldsTest, SmbAppStateSync) {
  std::vector<v1::Event> events = ParseFixture("field_smb_app_state_sync");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(EventKind(events[0]), "smb_app_state_sync");
  const v1::SmbAppStateSync& add = events[0].smb_app_state_sync();
  EXPECT_EQ(add.type(), "contact");
  EXPECT_EQ(add.action(), "add");
  EXPECT_EQ(add.contact().full_name(), "Sheena Nelson");
  EXPECT_EQ(add.contact().first_name(), "Sheena");
  EXPECT_EQ(add.contact().phone_number(), "16505551234");
  EXPECT_EQ(add.timestamp().seconds(), 1739321024);
  EXPECT_EQ(events[1].smb_app_state_sync().action(), "remove");
}

TEST(ParserFieldsTest, PartnerSolutionsAndPaymentConfiguration) {
  const v1::Event p = Only(ParseFixture("field_partner_solutions"));
  EXPECT_EQ(EventKind(p), "partner_solutions");
  EXPECT_EQ(p.waba_id(), "2949482758682047");
  EXPECT_EQ(p.partner_solutions().event(), "SOLUTION_CREATED");
  EXPECT_EQ(p.partner_solutions().solution_id(), "1715120619246906");
  EXPECT_EQ(p.partner_solutions().solution_status(), "INITIATED");
  const v1::PaymentConfigurationUpdate c =
      Only(ParseFixture("field_payment_configuration_update"))
          .payment_configuration_update();
  EXPECT_EQ(c.configuration_name(), "razorpay-main");
  EXPECT_EQ(c.provider_name(), "razorpay");
  EXPECT_EQ(c.provider_mid(), "acc_Ham7Kk8ZaZ");
  EXPECT_EQ(c.status(), "Active");
  EXPECT_EQ(c.created_timestamp().seconds(), 1739300000);
  EXPECT_EQ(c.updated_timestamp().seconds(), 1739321024);
}

TEST(ParserFieldsTest, AutomaticEvents) {
  std::vector<v1::Event> events = ParseFixture("field_automatic_events");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(EventKind(events[0]), "automatic_events");
  const v1::AutomaticEvent& purchase = events[0].automatic_events();
  EXPECT_EQ(purchase.id(), "wamid.AUTOEVENT001");
  EXPECT_EQ(purchase.event_name(), "Purchase");
  EXPECT_EQ(purchase.timestamp().seconds(), 1739321024);
  EXPECT_EQ(purchase.ctwa_clid(), "ARAkLkA8rmlFeiCktEJQ");
  EXPECT_EQ(purchase.currency(), "USD");
  EXPECT_EQ(purchase.value_1000(), 25000);
  EXPECT_EQ(events[1].automatic_events().event_name(), "LeadSubmitted");
  EXPECT_EQ(events[1].automatic_events().value_1000(), 0);
}

}  // namespace
}  // namespace wagate::webhook
