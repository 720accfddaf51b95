#include "service/graph/graph_response.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace wagate::graph {
namespace {

TEST(ParseSendResponseTest, PlainSend) {
  auto r = ParseSendResponse(
      R"({"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],)"
      R"("messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->message_id(),
            "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA");
  EXPECT_EQ(r->wa_id(), "16505551234");
  EXPECT_EQ(r->input(), "+16505551234");
  EXPECT_EQ(r->message_status(), v1::SEND_STATUS_UNSPECIFIED);
  EXPECT_EQ(r->message_status_raw(), "");
  EXPECT_EQ(r->group_id(), "");
}

TEST(ParseSendResponseTest, TemplateUnderPacingAndGroup) {
  auto r = ParseSendResponse(
      R"({"messaging_product":"whatsapp","contacts":[{"input":"g1","wa_id":"g1"}],)"
      R"("messages":[{"id":"wamid.X","message_status":"held_for_quality_assessment","group_id":"g1"}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->message_status(), v1::SEND_STATUS_HELD_FOR_QUALITY_ASSESSMENT);
  EXPECT_EQ(r->message_status_raw(), "held_for_quality_assessment");
  EXPECT_EQ(r->group_id(), "g1");
}

TEST(ParseSendResponseTest, StatusValues) {
  EXPECT_EQ(ParseSendStatus("accepted"), v1::SEND_STATUS_ACCEPTED);
  EXPECT_EQ(ParseSendStatus("paused"), v1::SEND_STATUS_PAUSED);
  EXPECT_EQ(ParseSendStatus("something_new"), v1::SEND_STATUS_OTHER);
  EXPECT_EQ(ParseSendStatus(""), v1::SEND_STATUS_UNSPECIFIED);
  auto r = ParseSendResponse(
      R"({"messages":[{"id":"wamid.Y","message_status":"something_new"}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->message_status(), v1::SEND_STATUS_OTHER);
  EXPECT_EQ(r->message_status_raw(), "something_new");
  EXPECT_EQ(r->wa_id(), "");  // contacts absent: not an error
}

TEST(ParseSendResponseTest, UnusableAnswersAreInternal) {
  for (const char* body :
       {"", "<html>", "[]", "{}", R"({"messages":[]})",
        R"({"messages":[{"id":""}]})", R"({"messages":[{"id":5}]})"}) {
    SCOPED_TRACE(body);
    auto r = ParseSendResponse(body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  }
  // The body is not echoed.
  auto r = ParseSendResponse("secret-looking-body");
  EXPECT_FALSE(absl::StrContains(r.status().message(), "secret"));
}

TEST(ParseSuccessTest, Values) {
  EXPECT_EQ(ParseSuccess(R"({"success":true})").value(), true);
  EXPECT_EQ(ParseSuccess(R"({"success":false})").value(), false);
  EXPECT_FALSE(ParseSuccess(R"({"id":"1"})").ok());
  EXPECT_FALSE(ParseSuccess("nope").ok());
}

TEST(JsonObjectTest, ReadsGraphObjectsLeniently) {
  JsonDocument doc;
  ASSERT_TRUE(doc.Parse(R"({"messaging_product":"whatsapp","url":"https://x",
      "mime_type":"image/jpeg","file_size":"12345","id":"77","count":3,
      "ratio":0.5,"flag":true,"throughput":{"level":"STANDARD"},
      "data":[{"name":"a"},5,{"name":"b"}],"fields":["x",1,"y"],
      "components":[{"type":"BODY","text":"Hi {{1}}"}]})")
                  .ok());
  JsonObject root = doc.root();
  EXPECT_TRUE(root.valid());
  EXPECT_EQ(root.GetString("url"), "https://x");
  EXPECT_EQ(root.GetString("absent"), "");
  EXPECT_EQ(root.GetString("count"), "3");     // number as text
  EXPECT_EQ(root.GetInt("file_size"), 12345);  // digits as string
  EXPECT_EQ(root.GetInt("count"), 3);
  EXPECT_EQ(root.GetInt("url"), 0);
  EXPECT_DOUBLE_EQ(root.GetDouble("ratio"), 0.5);
  EXPECT_TRUE(root.GetBool("flag"));
  EXPECT_FALSE(root.GetBool("absent"));
  EXPECT_TRUE(root.Has("flag"));
  EXPECT_FALSE(root.Has("absent"));
  EXPECT_EQ(root.GetObject("throughput").GetString("level"), "STANDARD");
  EXPECT_FALSE(root.GetObject("absent").valid());
  EXPECT_EQ(root.GetObject("absent").GetString("x"), "");
  auto data = root.GetArray("data");
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[1].GetString("name"), "b");
  EXPECT_EQ(root.GetStringArray("fields"),
            (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(root.GetRaw("components"),
            R"([{"type":"BODY","text":"Hi {{1}}"}])");
  EXPECT_EQ(root.Keys().front(), "messaging_product");

  EXPECT_EQ(doc.Parse("[1]").code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(doc.root().valid());
}

}  // namespace
}  // namespace wagate::graph
