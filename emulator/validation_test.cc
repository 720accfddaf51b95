#include "emulator/validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::emulator {
namespace {

using ::testing::HasSubstr;

// Wraps a message-specific JSON fragment into a full send body.
std::string Msg(const std::string& fragment) {
  return absl::StrCat(
      R"({"messaging_product":"whatsapp","to":"+1 (650) 555-1234",)", fragment,
      "}");
}

std::string Inter(const std::string& inner) {
  return Msg(
      absl::StrCat(R"("type":"interactive","interactive":{)", inner, "}"));
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::string Buttons(int n) {
  std::string b;
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&b, i ? "," : "", R"({"type":"reply","reply":{"id":"b)", i,
                    R"(","title":"Title )", i, R"("}})");
  }
  return absl::StrCat(R"("type":"button","body":{"text":"Pick"},)",
                      R"("action":{"buttons":[)", b, "]}");
}

TEST(ValidationTest, ValidMessagesOfEveryType) {
  const std::string valid[] = {
      Msg(R"("type":"text","text":{"body":"hi","preview_url":true})"),
      Msg(R"("text":{"body":"type defaults to text"})"),
      Msg(R"("type":"image","image":{"id":"123","caption":"c"})"),
      Msg(R"("type":"image","image":{"link":"https://x/y.jpg"})"),
      Msg(R"("type":"video","video":{"id":1234})"),
      Msg(R"("type":"document","document":{"link":"https://x/a.pdf","filename":"a.pdf"})"),
      Msg(R"("type":"audio","audio":{"id":"9","voice":true})"),
      Msg(R"("type":"sticker","sticker":{"id":"9"})"),
      Msg(R"("type":"location","location":{"latitude":"37.44","longitude":-122.16,"name":"n"})"),
      Msg(R"("type":"contacts","contacts":[{"name":{"formatted_name":"A B","first_name":"A"},"phones":[{"phone":"+1","wa_id":"1"}]}])"),
      Msg(R"("type":"reaction","reaction":{"message_id":"wamid.x","emoji":""})"),
      Inter(Buttons(3)),
      Inter(
          R"("type":"list","header":{"type":"text","text":"h"},"body":{"text":"b"},"footer":{"text":"f"},"action":{"button":"Choose","sections":[{"title":"s1","rows":[{"id":"r1","title":"t1","description":"d"}]},{"title":"s2","rows":[{"id":"r2","title":"t2"}]}]})"),
      Inter(
          R"("type":"cta_url","header":{"type":"image","image":{"link":"https://x"}},"body":{"text":"b"},"action":{"name":"cta_url","parameters":{"display_text":"Open","url":"https://example.com"}})"),
      Inter(
          R"("type":"flow","body":{"text":"b"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Book","flow_action":"navigate","flow_action_payload":{"screen":"S","data":{"k":"v"}}}})"),
      Inter(
          R"("type":"product","action":{"catalog_id":"1","product_retailer_id":"sku"})"),
      Inter(
          R"("type":"product_list","header":{"type":"text","text":"h"},"body":{"text":"b"},"action":{"catalog_id":"1","sections":[{"title":"s","product_items":[{"product_retailer_id":"a"},{"product_retailer_id":"b"}]}]})"),
      Inter(
          R"("type":"catalog_message","body":{"text":"b"},"action":{"name":"catalog_message","parameters":{"thumbnail_product_retailer_id":"a"}})"),
      Inter(
          R"("type":"location_request_message","body":{"text":"where?"},"action":{"name":"send_location"})"),
      Inter(
          R"("type":"address_message","body":{"text":"b"},"action":{"name":"address_message","parameters":{"country":"IN"}})"),
      Inter(
          R"("type":"carousel","body":{"text":"b"},"action":{"cards":[{"card_index":0,"header":{"type":"image","image":{"link":"https://x"}},"body":{"text":"c"},"action":{"buttons":[{"type":"quick_reply","quick_reply":{"id":"q","title":"Q"}}]}},{"card_index":1,"header":{"type":"image","image":{"link":"https://x"}},"action":{"buttons":[{"type":"quick_reply","quick_reply":{"id":"q2","title":"Q"}}]}}]})"),
      Inter(
          R"("type":"call_permission_request","body":{"text":"b"},"action":{"name":"call_permission_request"})"),
      Msg(R"("type":"template","template":{"name":"hello_world","language":{"code":"en_US"}})"),
      Msg(R"("type":"template","template":{"name":"order","language":{"code":"en_US","policy":"deterministic"},"components":[{"type":"header","parameters":[{"type":"image","image":{"id":"1"}}]},{"type":"body","parameters":[{"type":"text","text":"Pablo"},{"type":"currency","currency":{"fallback_value":"$1","code":"USD","amount_1000":1000}}]},{"type":"button","sub_type":"url","index":1,"parameters":[{"type":"text","text":"x"}]}]})"),
  };
  for (const std::string& body : valid) {
    SendRequest req;
    GraphError err;
    EXPECT_TRUE(ParseSendRequest(body, &req, &err))
        << body << "\n→ " << err.code << " " << err.details;
  }
}

TEST(ValidationTest, ParsedFields) {
  SendRequest req;
  GraphError err;
  ASSERT_TRUE(ParseSendRequest(
      Msg(R"("biz_opaque_callback_data":"track","context":{"message_id":"wamid.q"},"type":"template","template":{"name":"order","language":{"code":"pt_BR"},"components":[{"type":"BODY","parameters":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"P"}]}]})"),
      &req, &err));
  EXPECT_EQ(req.kind, SendKind::kMessage);
  EXPECT_EQ(req.to, "+1 (650) 555-1234");
  EXPECT_EQ(req.wa_id, "16505551234");
  EXPECT_EQ(req.type, "template");
  EXPECT_EQ(req.biz_opaque_callback_data, "track");
  EXPECT_EQ(req.context_message_id, "wamid.q");
  EXPECT_EQ(req.tmpl.name, "order");
  EXPECT_EQ(req.tmpl.language, "pt_BR");
  ASSERT_EQ(req.tmpl.components.size(), 2u);
  EXPECT_EQ(req.tmpl.components[0].type, "body");
  EXPECT_EQ(req.tmpl.components[0].parameter_count, 2);
  EXPECT_EQ(req.tmpl.components[1].sub_type, "quick_reply");
  EXPECT_EQ(req.tmpl.components[1].index, 0);
}

TEST(ValidationTest, MarkReadAndTypingIndicator) {
  SendRequest req;
  GraphError err;
  ASSERT_TRUE(ParseSendRequest(
      R"({"messaging_product":"whatsapp","status":"read","message_id":"wamid.A"})",
      &req, &err));
  EXPECT_EQ(req.kind, SendKind::kMarkRead);
  EXPECT_EQ(req.message_id, "wamid.A");
  SendRequest typing;
  ASSERT_TRUE(ParseSendRequest(
      R"({"messaging_product":"whatsapp","status":"read","message_id":"wamid.A","typing_indicator":{"type":"text"}})",
      &typing, &err));
  EXPECT_EQ(typing.kind, SendKind::kTypingIndicator);
  EXPECT_FALSE(ParseSendRequest(
      R"({"messaging_product":"whatsapp","status":"read"})", &req, &err));
  EXPECT_EQ(err.code, 131008);
}

struct Case {
  std::string body;
  int code;
  int http;
  std::string details;
};

TEST(ValidationTest, Errors) {
  const Case
      cases
          [] =
              {
                  {"not json", 100, 400, "not valid JSON"},
                  {"[1]", 100, 400, "JSON object"},
                  {R"({"to":"1650555","type":"text","text":{"body":"x"}})", 100,
                   400, "messaging_product is required"},
                  {R"({"messaging_product":"sms","to":"1650555","text":{"body":"x"}})",
                   100, 400, "must be one of {WHATSAPP}"},
                  {R"({"messaging_product":"whatsapp","type":"text","text":{"body":"x"}})",
                   131008, 400, "The parameter to is required."},
                  {Msg(R"("to":"x","text":{"body":"x"})"), 0, 0,
                   ""},  // duplicate key
                  {R"({"messaging_product":"whatsapp","to":"abc","text":{"body":"x"}})",
                   100, 400, "not a valid phone number"},
                  {Msg(R"("type":"text")"), 131008, 400, "text is required"},
                  {Msg(R"("type":"text","text":{})"), 131008, 400,
                   "text['body']"},
                  {Msg(absl::StrCat(R"("type":"text","text":{"body":")",
                                    Repeat("a", 4097), R"("})")),
                   100, 400,
                   "text['body'] must be at most 4096 characters long"},
                  {Msg(R"("type":"text","text":{"body":"x","preview_url":"yes"})"),
                   100, 400, "preview_url'] must be a boolean"},
                  {Msg(R"("type":"fax","fax":{})"), 100, 400,
                   "Param type must be one of"},
                  {Msg(R"("type":"image","image":{})"), 131008, 400,
                   "image['id']"},
                  {Msg(R"("type":"image","image":{"id":"1","link":"https://x"})"),
                   131009, 400, "not both"},
                  {Msg(R"("type":"image","image":{"link":"ftp://x"})"), 131009,
                   400, "http(s) URL"},
                  {Msg(absl::StrCat(
                       R"("type":"image","image":{"id":"1","caption":")",
                       Repeat("é", 1025), R"("})")),
                   100, 400, "at most 1024"},
                  {Msg(R"("type":"audio","audio":{"id":"1","caption":"c"})"),
                   100, 400, "not supported"},
                  {Msg(R"("type":"location","location":{"latitude":"91","longitude":"1"})"),
                   131009, 400, "between"},
                  {Msg(R"("type":"location","location":{"latitude":"1"})"),
                   131008, 400, "longitude"},
                  {Msg(R"("type":"contacts","contacts":[])"), 131009, 400,
                   "at least one"},
                  {Msg(R"("type":"contacts","contacts":[{"name":{"formatted_name":"A"}}])"),
                   131009, 400, "first_name"},
                  {Msg(R"("type":"reaction","reaction":{"message_id":"w"})"),
                   131008, 400, "emoji"},
                  {Msg(R"("type":"reaction","context":{"message_id":"w"},"reaction":{"message_id":"w","emoji":"x"})"),
                   131009, 400, "contextual reply"},
                  {Inter(Buttons(4)), 131009, 400, "Invalid buttons count"},
                  {Inter(
                       R"("type":"button","body":{"text":"b"},"action":{"buttons":[]})"),
                   131009, 400, "Invalid buttons count"},
                  {Inter(
                       R"("type":"button","body":{"text":"b"},"action":{"buttons":[{"type":"reply","reply":{"id":"1","title":"123456789012345678901"}}]})"),
                   131009, 400, "Button title length invalid"},
                  {Inter(
                       R"("type":"button","body":{"text":"b"},"action":{"buttons":[{"type":"reply","reply":{"id":"1","title":"a"}},{"type":"reply","reply":{"id":"1","title":"b"}}]})"),
                   131009, 400, "Duplicate buttons ids"},
                  {Inter(
                       R"("type":"button","action":{"buttons":[{"type":"reply","reply":{"id":"1","title":"a"}}]})"),
                   131008, 400, "interactive['body']"},
                  {Inter(absl::StrCat(
                       R"("type":"button","header":{"type":"text","text":")",
                       Repeat("h", 61),
                       R"("},"body":{"text":"b"},"action":{"buttons":[{"type":"reply","reply":{"id":"1","title":"a"}}]})")),
                   100, 400,
                   "interactive['header']['text'] must be at most 60"},
                  {Inter(absl::StrCat(
                       R"("type":"button","footer":{"text":")", Repeat("f", 61),
                       R"("},"body":{"text":"b"},"action":{"buttons":[{"type":"reply","reply":{"id":"1","title":"a"}}]})")),
                   100, 400,
                   "interactive['footer']['text'] must be at most 60"},
                  {Inter(
                       R"("type":"list","header":{"type":"image","image":{"id":"1"}},"body":{"text":"b"},"action":{"button":"B","sections":[{"rows":[{"id":"r","title":"t"}]}]})"),
                   131009, 400, "must be one of {text}"},
                  {Inter(
                       R"("type":"list","body":{"text":"b"},"action":{"button":"B","sections":[{"rows":[{"id":"r","title":"t"}]},{"rows":[{"id":"r2","title":"t"}]}]})"),
                   131008, 400, "['title']"},
                  {Inter(
                       R"("type":"list","body":{"text":"b"},"action":{"button":"B","sections":[{"rows":[]}]})"),
                   131009, 400, "at least one row"},
                  {Inter(absl::StrCat(
                       R"("type":"list","body":{"text":"b"},"action":{"button":"B","sections":[{"rows":[)",
                       [] {
                         std::string r;
                         for (int i = 0; i < 11; ++i)
                           absl::StrAppend(&r, i ? "," : "", R"({"id":"r)", i,
                                           R"(","title":"t"})");
                         return r;
                       }(),
                       "]}]}")),
                   131009, 400, "rows"},
                  {Inter(
                       R"("type":"list","body":{"text":"b"},"action":{"button":"B","sections":[{"rows":[{"id":"r","title":"1234567890123456789012345"}]}]})"),
                   100, 400, "['title'] must be at most 24"},
                  {Inter(
                       R"("type":"cta_url","body":{"text":"b"},"action":{"name":"cta_url","parameters":{"display_text":"Open","url":"example.com"}})"),
                   131009, 400, "http(s) URL"},
                  {Inter(
                       R"("type":"flow","body":{"text":"b"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_id":"1","flow_cta":"Go","flow_action":"navigate"}})"),
                   131008, 400, "flow_action_payload"},
                  {Inter(
                       R"("type":"flow","body":{"text":"b"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_cta":"Go","flow_action":"data_exchange"}})"),
                   131009, 400, "flow_id or flow_name"},
                  {Inter(
                       R"("type":"product_list","body":{"text":"b"},"action":{"catalog_id":"1","sections":[{"product_items":[{"product_retailer_id":"a"}]}]})"),
                   131008, 400, "interactive['header']"},
                  {Inter(
                       R"("type":"carousel","body":{"text":"b"},"action":{"cards":[{"card_index":0,"header":{"type":"image","image":{"link":"https://x"}},"action":{"buttons":[{"type":"quick_reply","quick_reply":{"id":"q","title":"Q"}}]}}]})"),
                   131009, 400, "number of cards"},
                  {Inter(
                       R"("type":"carousel","body":{"text":"b"},"action":{"cards":[{"card_index":0,"header":{"type":"image","image":{"link":"https://x"}},"action":{"buttons":[{"type":"quick_reply","quick_reply":{"id":"q","title":"Q"}}]}},{"card_index":1,"header":{"type":"image","image":{"link":"https://x"}},"action":{"name":"cta_url","parameters":{"display_text":"d","url":"https://x"}}}]})"),
                   131009, 400, "same button types"},
                  {Inter(R"("type":"poll","body":{"text":"b"})"), 100, 400,
                   "interactive['type'] must be one of"},
                  {Msg(R"("type":"template","template":{"language":{"code":"en_US"}})"),
                   131008, 400, "template['name']"},
                  {Msg(R"("type":"template","template":{"name":"x"})"), 131008,
                   400, "template['language']"},
                  {Msg(R"("type":"template","template":{"name":"x","language":{"code":"en"},"components":[{"type":"button","parameters":[]}]})"),
                   131008, 400, "sub_type"},
                  {Msg(R"("type":"template","template":{"name":"x","language":{"code":"en"},"components":[{"type":"footer"}]})"),
                   131009, 400, "must be one of {header, body"},
              };
  for (const Case& c : cases) {
    if (c.code == 0) continue;
    SendRequest req;
    GraphError err;
    EXPECT_FALSE(ParseSendRequest(c.body, &req, &err)) << c.body;
    EXPECT_EQ(err.code, c.code) << c.body << "\n→ " << err.details;
    EXPECT_EQ(err.http_status, c.http) << c.body;
    EXPECT_THAT(err.details, HasSubstr(c.details)) << c.body;
  }
}

TEST(ValidationTest, LimitsCountCharactersNotBytes) {
  // 4096 two-byte characters are within the text limit.
  SendRequest req;
  GraphError err;
  EXPECT_TRUE(ParseSendRequest(
      Msg(absl::StrCat(R"("text":{"body":")", Repeat("é", 4096), R"("})")),
      &req, &err));
  EXPECT_EQ(Utf8Length("a\xc3\xa9\xf0\x9f\x98\x80"), 3u);
}

TEST(ValidationTest, NormalizePhoneNumber) {
  EXPECT_EQ(NormalizePhoneNumber("+1 (650) 555-1234"), "16505551234");
  EXPECT_EQ(NormalizePhoneNumber("16505551234"), "16505551234");
  EXPECT_EQ(NormalizePhoneNumber("1650x"), "");
}

}  // namespace
}  // namespace wagate::emulator
