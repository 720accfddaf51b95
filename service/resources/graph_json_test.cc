#include "service/resources/graph_json.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace wagate::resources {
namespace {

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message));
  return message;
}

graph::JsonObject Root(graph::JsonDocument& doc, const std::string& json) {
  EXPECT_TRUE(doc.Parse(json).ok()) << json;
  return doc.root();
}

TEST(GraphJsonTest, CreateTemplateBody) {
  auto r = Parse<v1::CreateTemplateRequest>(R"pb(
    waba_id: "1"
    name: "order_update"
    language: "en_US"
    category: TEMPLATE_CATEGORY_UTILITY
    parameter_format: PARAMETER_FORMAT_NAMED
    message_send_ttl_seconds: 600
    allow_category_change: true
    components {
      type: TYPE_HEADER
      format: FORMAT_TEXT
      text: "Hi {{name}}"
      example { header_text_named_params { param_name: "name" example: "Ann" } }
    }
    components {
      type: TYPE_BODY
      text: "Order {{id}}"
      example { body_text { values: "a" values: "b" } }
    }
    components {
      type: TYPE_BUTTONS
      buttons {
        type: TYPE_URL
        text: "Track"
        url: "https://x.io/{{1}}"
        example: "https://x.io/1"
      }
      buttons { type: TYPE_COPY_CODE example: "SAVE10" }
    }
  )pb");
  EXPECT_EQ(
      CreateTemplateJson(r),
      R"({"name":"order_update","language":"en_US","category":"UTILITY",)"
      R"("parameter_format":"NAMED","allow_category_change":true,)"
      R"("message_send_ttl_seconds":600,"components":[)"
      R"({"type":"HEADER","format":"TEXT","text":"Hi {{name}}","example":)"
      R"({"header_text_named_params":[{"param_name":"name","example":"Ann"}]}},)"
      R"({"type":"BODY","text":"Order {{id}}","example":{"body_text":[["a","b"]]}},)"
      R"({"type":"BUTTONS","buttons":[{"type":"URL","text":"Track",)"
      R"("url":"https://x.io/{{1}}","example":["https://x.io/1"]},)"
      R"({"type":"COPY_CODE","example":"SAVE10"}]}]})");
}

TEST(GraphJsonTest, UpdateTemplateBodyHasOnlySetFields) {
  v1::UpdateTemplateRequest r;
  r.set_template_id("9");
  r.set_category(v1::TEMPLATE_CATEGORY_MARKETING);
  EXPECT_EQ(UpdateTemplateJson(r), R"({"category":"MARKETING"})");
  r.clear_category();
  r.set_message_send_ttl_seconds(-1);
  EXPECT_EQ(UpdateTemplateJson(r), R"({"message_send_ttl_seconds":-1})");
}

TEST(GraphJsonTest, TemplateRoundTripsThroughGraphJson) {
  auto create = Parse<v1::CreateTemplateRequest>(R"pb(
    components {
      type: TYPE_HEADER
      format: FORMAT_IMAGE
      example { header_handle: "4::aW" }
    }
    components {
      type: TYPE_BODY
      text: "Hi {{1}}"
      example { body_text { values: "Ann" } }
    }
    components { type: TYPE_FOOTER text: "f" }
    components {
      type: TYPE_BUTTONS
      buttons { type: TYPE_QUICK_REPLY text: "Yes" }
      buttons { type: TYPE_PHONE_NUMBER text: "Call" phone_number: "+1555" }
      buttons { type: TYPE_COPY_CODE example: "CODE" }
      buttons {
        type: TYPE_OTP
        otp_type: "ONE_TAP"
        autofill_text: "Fill"
        supported_apps { package_name: "a.b" signature_hash: "h" }
        zero_tap_terms_accepted: true
      }
      buttons {
        type: TYPE_FLOW
        text: "Go"
        flow_id: "7"
        flow_action: "navigate"
        navigate_screen: "S"
      }
    }
    components {
      type: TYPE_CAROUSEL
      cards { components { type: TYPE_BODY text: "card" } }
    }
    components {
      type: TYPE_LIMITED_TIME_OFFER
      limited_time_offer { text: "Deal" has_expiration: true }
    }
  )pb");
  common::JsonWriter w;
  w.BeginObject().Field("id", "55").Field("name", "n").Field("language", "en");
  w.Field("status", "APPROVED").Field("category", "MARKETING");
  w.Field("sub_category", "CUSTOM").Field("previous_category", "UTILITY");
  w.Key("quality_score").BeginObject().Field("score", "GREEN");
  w.Field("date", int64_t{1700000000}).EndObject();
  w.Field("rejected_reason", "NONE").Field("parameter_format", "POSITIONAL");
  w.Field("message_send_ttl_seconds", 900);
  w.Key("components");
  WriteComponents(create.components(), &w);
  w.EndObject();
  graph::JsonDocument doc;
  v1::Template t = ParseTemplate(Root(doc, w.str()));
  EXPECT_EQ(t.id(), "55");
  EXPECT_EQ(t.status(), "APPROVED");
  EXPECT_EQ(t.sub_category(), "CUSTOM");
  EXPECT_EQ(t.previous_category(), "UTILITY");
  EXPECT_EQ(t.quality_score().score(), "GREEN");
  EXPECT_EQ(t.quality_score().date(), 1700000000);
  EXPECT_EQ(t.rejected_reason(), "NONE");
  EXPECT_EQ(t.parameter_format(), v1::PARAMETER_FORMAT_POSITIONAL);
  EXPECT_EQ(t.message_send_ttl_seconds(), 900);
  ASSERT_EQ(t.components_size(), create.components_size());
  for (int i = 0; i < t.components_size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        t.components(i), create.components(i)))
        << i << ": " << t.components(i).DebugString() << " vs "
        << create.components(i).DebugString();
  }
}

TEST(GraphJsonTest, PhoneNumberEveryField) {
  graph::JsonDocument doc;
  v1::PhoneNumber n = ParsePhoneNumber(Root(doc, R"({
    "id":"106","display_phone_number":"15550783881","verified_name":"Lucky",
    "quality_rating":"GREEN","name_status":"APPROVED","new_name_status":"NONE",
    "certificate":"c","new_certificate":"nc","code_verification_status":"VERIFIED",
    "throughput":{"level":"HIGH"},"platform_type":"CLOUD_API",
    "whatsapp_business_manager_messaging_limit":"TIER_2K",
    "messaging_limit_tier":"TIER_1K","account_mode":"LIVE","status":"CONNECTED",
    "is_on_biz_app":true,"is_official_business_account":true,
    "is_pin_enabled":true,"is_preverified_number":true,
    "quality_score":{"score":"YELLOW","date":17,"reasons":["r1"]},
    "webhook_configuration":{"application":"https://a","whatsapp_business_account":"https://w","phone_number":"https://p"},
    "last_onboarded_time":"2024-01-01T00:00:00+0000","search_visibility":"VISIBLE",
    "health_status":{"can_send_message":"LIMITED","entities":[{"entity_type":"WABA","id":"1",
      "can_send_message":"LIMITED","additional_info":["i"],
      "errors":[{"error_code":141006,"error_description":"d","possible_solution":"s"}]}]}})"));
  EXPECT_EQ(n.id(), "106");
  EXPECT_EQ(n.throughput().level(), "HIGH");
  EXPECT_EQ(n.whatsapp_business_manager_messaging_limit(), "TIER_2K");
  EXPECT_EQ(n.messaging_limit_tier(), "TIER_1K");
  EXPECT_TRUE(n.is_on_biz_app() && n.is_official_business_account() &&
              n.is_pin_enabled() && n.is_preverified_number());
  EXPECT_EQ(n.quality_score().reasons(0), "r1");
  EXPECT_EQ(n.webhook_configuration().phone_number(), "https://p");
  EXPECT_EQ(n.health_status().entities(0).errors(0).error_code(), 141006);
  EXPECT_EQ(n.health_status().entities(0).additional_info(0), "i");
  EXPECT_EQ(n.search_visibility(), "VISIBLE");
  EXPECT_EQ(n.new_certificate(), "nc");
}

TEST(GraphJsonTest, ProfileUpdateFollowsTheMask) {
  auto r = Parse<v1::UpdateBusinessProfileRequest>(R"pb(
    phone_number_id: "1"
    business_profile { about: "Hi" vertical: "RETAIL" profile_picture_url: "x" }
  )pb");
  EXPECT_EQ(
      UpdateBusinessProfileJson(r),
      R"({"messaging_product":"whatsapp","about":"Hi","vertical":"RETAIL"})");
  r.mutable_update_mask()->add_paths("address");
  r.mutable_update_mask()->add_paths("websites");
  EXPECT_EQ(UpdateBusinessProfileJson(r),
            R"({"messaging_product":"whatsapp","address":"","websites":[]})");
}

TEST(GraphJsonTest, PagingAndBlockUsers) {
  graph::JsonDocument doc;
  EXPECT_EQ(
      NextPageToken(Root(
          doc,
          R"({"data":[],"paging":{"cursors":{"before":"B","after":"A"},"next":"https://n"}})")),
      "A");
  EXPECT_EQ(
      NextPageToken(Root(
          doc,
          R"({"data":[],"paging":{"cursors":{"before":"B","after":"A"}}})")),
      "");
  QueryParams q;
  AddPaging(0, "", &q);
  EXPECT_TRUE(q.empty());
  AddPaging(10, "A", &q);
  EXPECT_EQ(q, (QueryParams{{"limit", "10"}, {"after", "A"}}));

  // Backward: `before` only when Graph says there is an earlier page, and
  // the token says which way it goes.
  EXPECT_EQ(
      PreviousPageToken(Root(
          doc,
          R"({"data":[],"paging":{"cursors":{"before":"B","after":"A"},"previous":"https://p"}})")),
      "before:B");
  EXPECT_EQ(
      PreviousPageToken(Root(
          doc,
          R"({"data":[],"paging":{"cursors":{"before":"B","after":"A"},"next":"https://n"}})")),
      "");
  EXPECT_EQ(PreviousPageToken(Root(doc, R"({"data":[]})")), "");
  QueryParams back;
  AddPaging(2, "before:B", &back);
  EXPECT_EQ(back, (QueryParams{{"limit", "2"}, {"before", "B"}}));

  google::protobuf::RepeatedPtrField<std::string> users;
  *users.Add() = "1555";
  *users.Add() = "1666";
  EXPECT_EQ(
      BlockUsersJson(users),
      R"({"messaging_product":"whatsapp","block_users":[{"user":"1555"},{"user":"1666"}]})");
  v1::FailedUser f = ParseFailedUser(Root(doc, R"({"input":"1666","errors":[
      {"message":"Re-engagement","code":131047,"error_data":{"details":"24h"}}]})"));
  EXPECT_EQ(f.input(), "1666");
  EXPECT_EQ(f.errors(0).code(), 131047);
  EXPECT_EQ(f.errors(0).details(), "24h");

  v1::SubscribedApp a = ParseSubscribedApp(Root(
      doc,
      R"({"whatsapp_business_api_data":{"id":"7","name":"App","link":"https://l"},"override_callback_uri":"https://o"})"));
  EXPECT_EQ(a.id(), "7");
  EXPECT_EQ(a.link(), "https://l");
  EXPECT_EQ(a.override_callback_uri(), "https://o");

  v1::MediaMetadata m = ParseMediaMetadata(Root(
      doc,
      R"({"url":"u","mime_type":"image/png","sha256":"s","file_size":"1234","id":"9"})"));
  EXPECT_EQ(m.file_size(), 1234);
  EXPECT_EQ(m.id(), "9");
}

}  // namespace
}  // namespace wagate::resources
