#include "service/resources/validation.h"

#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace wagate::resources {
namespace {

using ::testing::HasSubstr;

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message))
      << text;
  return message;
}

constexpr char kValidTemplate[] = R"pb(
  waba_id: "102290129340398"
  name: "order_update_2"
  language: "en_US"
  category: TEMPLATE_CATEGORY_UTILITY
  components { type: TYPE_HEADER format: FORMAT_TEXT text: "Your order" }
  components { type: TYPE_BODY text: "Hi {{1}}, order {{2}} shipped." }
  components { type: TYPE_FOOTER text: "Reply STOP to opt out" }
  components {
    type: TYPE_BUTTONS
    buttons { type: TYPE_QUICK_REPLY text: "Thanks" }
    buttons { type: TYPE_QUICK_REPLY text: "Stop" }
    buttons { type: TYPE_URL text: "Track" url: "https://x.example/{{1}}" }
  }
)pb";

struct Case {
  std::string name;
  std::function<void(v1::CreateTemplateRequest*)> mutate;
  std::string error;  // "" = valid
};

class CreateTemplateTest : public ::testing::TestWithParam<Case> {};

TEST_P(CreateTemplateTest, Validates) {
  auto request = Parse<v1::CreateTemplateRequest>(kValidTemplate);
  GetParam().mutate(&request);
  absl::Status s = ValidateCreateTemplate(request);
  if (GetParam().error.empty()) {
    EXPECT_TRUE(s.ok()) << s;
  } else {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(GetParam().error));
  }
}

v1::TemplateComponentDefinition* Buttons(v1::CreateTemplateRequest* r) {
  return r->mutable_components(3);
}

INSTANTIATE_TEST_SUITE_P(
    Table, CreateTemplateTest,
    ::testing::Values(
        Case{"Valid", [](auto*) {}, ""},
        Case{"NoWaba", [](auto* r) { r->clear_waba_id(); },
             "waba_id: required"},
        Case{"WabaWithSlash", [](auto* r) { r->set_waba_id("1/messages"); },
             "waba_id"},
        Case{"NoName", [](auto* r) { r->clear_name(); }, "name: required"},
        Case{"UpperName", [](auto* r) { r->set_name("Order"); },
             "name: only lowercase"},
        Case{"DashName", [](auto* r) { r->set_name("order-1"); }, "name"},
        Case{"LongName", [](auto* r) { r->set_name(std::string(513, 'a')); },
             "name: at most 512"},
        Case{"MaxName", [](auto* r) { r->set_name(std::string(512, 'a')); },
             ""},
        Case{"NoLanguage", [](auto* r) { r->clear_language(); },
             "language: required"},
        Case{"BadLanguage", [](auto* r) { r->set_language("en-US"); },
             "language"},
        Case{"NoCategory", [](auto* r) { r->clear_category(); },
             "category: required"},
        Case{"NoComponents", [](auto* r) { r->clear_components(); },
             "components: required"},
        Case{"NoBody",
             [](auto* r) { r->mutable_components()->DeleteSubrange(1, 1); },
             "BODY component is required"},
        Case{"TwoBodies",
             [](auto* r) { *r->add_components() = r->components(1); },
             "components[4]: at most one BODY"},
        Case{"EmptyBody",
             [](auto* r) { r->mutable_components(1)->clear_text(); },
             "components[1].text: required"},
        Case{"BodyAt1024",
             [](auto* r) {
               r->mutable_components(1)->set_text(std::string(1024, 'x'));
             },
             ""},
        Case{"BodyOver1024",
             [](auto* r) {
               r->mutable_components(1)->set_text(std::string(1025, 'x'));
             },
             "components[1].text: at most 1024"},
        Case{"BodyUtf8CountsCharacters",
             [](auto* r) {
               std::string s;
               for (int i = 0; i < 1024; ++i) s += "\xc3\xa9";  // é
               r->mutable_components(1)->set_text(s);
             },
             ""},
        Case{"HeaderOver60",
             [](auto* r) {
               r->mutable_components(0)->set_text(std::string(61, 'h'));
             },
             "components[0].text: at most 60"},
        Case{"HeaderNoFormat",
             [](auto* r) { r->mutable_components(0)->clear_format(); },
             "components[0].format"},
        Case{"FooterOver60",
             [](auto* r) {
               r->mutable_components(2)->set_text(std::string(61, 'f'));
             },
             "components[2].text: at most 60"},
        Case{"ComponentWithoutType",
             [](auto* r) { r->mutable_components(2)->clear_type(); },
             "components[2].type: required"},
        Case{"ElevenButtons",
             [](auto* r) {
               auto* b = Buttons(r);
               while (b->buttons_size() < 11) *b->add_buttons() = b->buttons(0);
             },
             "at most 10 buttons"},
        Case{"TenQuickReplies",
             [](auto* r) {
               auto* b = Buttons(r);
               b->mutable_buttons()->DeleteSubrange(2, 1);
               while (b->buttons_size() < 10) *b->add_buttons() = b->buttons(0);
             },
             ""},
        Case{"ButtonLabelOver25",
             [](auto* r) {
               Buttons(r)->mutable_buttons(1)->set_text(std::string(26, 'b'));
             },
             "components[3].buttons[1].text: at most 25"},
        Case{"ThreeUrlButtons",
             [](auto* r) {
               auto* b = Buttons(r);
               *b->add_buttons() = b->buttons(2);
               *b->add_buttons() = b->buttons(2);
             },
             "at most 2 URL buttons"},
        Case{"UrlWithoutScheme",
             [](auto* r) {
               Buttons(r)->mutable_buttons(2)->set_url("x.example/a");
             },
             "buttons[2].url: must start with http"},
        Case{"UrlOver2000",
             [](auto* r) {
               Buttons(r)->mutable_buttons(2)->set_url("https://" +
                                                       std::string(1993, 'u'));
             },
             "buttons[2].url: at most 2000"},
        Case{"TwoPhoneButtons",
             [](auto* r) {
               auto* b = Buttons(r);
               for (int i = 0; i < 2; ++i) {
                 auto* p = b->add_buttons();
                 p->set_type(v1::TemplateButtonDefinition::TYPE_PHONE_NUMBER);
                 p->set_text("Call");
                 p->set_phone_number("+15551234567");
               }
             },
             "at most 1 PHONE_NUMBER"},
        Case{"PhoneNumberOver20",
             [](auto* r) {
               auto* p = Buttons(r)->add_buttons();
               p->set_type(v1::TemplateButtonDefinition::TYPE_PHONE_NUMBER);
               p->set_text("Call");
               p->set_phone_number(std::string(21, '1'));
             },
             "buttons[3].phone_number: at most 20"},
        Case{"CopyCodeOver15",
             [](auto* r) {
               auto* p = Buttons(r)->add_buttons();
               p->set_type(v1::TemplateButtonDefinition::TYPE_COPY_CODE);
               p->add_example(std::string(16, 'C'));
             },
             "buttons[3].example[0]: at most 15"},
        Case{"QuickRepliesSplit",
             [](auto* r) {
               auto* b = Buttons(r);
               *b->add_buttons() = b->buttons(0);  // QR, QR, URL, QR
             },
             "QUICK_REPLY buttons must be grouped"},
        Case{"QuickRepliesAfterOthers",
             [](auto* r) {
               auto* b = Buttons(r);
               b->mutable_buttons()->SwapElements(0, 2);  // URL, QR, QR
             },
             ""},
        Case{"ButtonWithoutType",
             [](auto* r) { Buttons(r)->mutable_buttons(0)->clear_type(); },
             "buttons[0].type: required"},
        Case{"NoButtons", [](auto* r) { Buttons(r)->clear_buttons(); },
             "components[3].buttons: required"},
        Case{"LocationHeaderOnAuth",
             [](auto* r) {
               r->set_category(v1::TEMPLATE_CATEGORY_AUTHENTICATION);
               r->mutable_components(0)->set_format(
                   v1::TemplateComponentDefinition::FORMAT_LOCATION);
             },
             "LOCATION headers"},
        Case{"TtlUtility",
             [](auto* r) { r->set_message_send_ttl_seconds(600); }, ""},
        Case{"TtlMarketingTooShort",
             [](auto* r) {
               r->set_category(v1::TEMPLATE_CATEGORY_MARKETING);
               r->set_message_send_ttl_seconds(600);
             },
             "message_send_ttl_seconds: must be 43200-2592000"},
        Case{"ElevenCards",
             [](auto* r) {
               auto* c = r->add_components();
               c->set_type(v1::TemplateComponentDefinition::TYPE_CAROUSEL);
               for (int i = 0; i < 11; ++i) {
                 auto* body = c->add_cards()->add_components();
                 body->set_type(v1::TemplateComponentDefinition::TYPE_BODY);
                 body->set_text("card");
               }
             },
             "at most 10 cards"},
        Case{"LtoOver16",
             [](auto* r) {
               auto* c = r->add_components();
               c->set_type(
                   v1::TemplateComponentDefinition::TYPE_LIMITED_TIME_OFFER);
               c->mutable_limited_time_offer()->set_text(std::string(17, 'o'));
             },
             "limited_time_offer.text: at most 16"}),
    [](const auto& info) { return info.param.name; });

TEST(ValidationTest, AuthenticationTemplateNeedsNoBodyText) {
  auto r = Parse<v1::CreateTemplateRequest>(R"pb(
    waba_id: "1"
    name: "otp"
    language: "en"
    category: TEMPLATE_CATEGORY_AUTHENTICATION
    components { type: TYPE_BODY add_security_recommendation: true }
    components { type: TYPE_FOOTER code_expiration_minutes: 10 }
    components {
      type: TYPE_BUTTONS
      buttons { type: TYPE_OTP otp_type: "COPY_CODE" }
    }
  )pb");
  EXPECT_TRUE(ValidateCreateTemplate(r).ok()) << ValidateCreateTemplate(r);
  r.mutable_components(1)->set_code_expiration_minutes(91);
  EXPECT_THAT(std::string(ValidateCreateTemplate(r).message()),
              HasSubstr("code_expiration_minutes: must be 1-90"));
  r.mutable_components(1)->set_code_expiration_minutes(10);
  r.mutable_components(2)->mutable_buttons(0)->set_otp_type("SMS");
  EXPECT_THAT(std::string(ValidateCreateTemplate(r).message()),
              HasSubstr("otp_type"));
}

TEST(ValidationTest, UpdateTemplate) {
  v1::UpdateTemplateRequest r;
  EXPECT_THAT(std::string(ValidateUpdateTemplate(r).message()),
              HasSubstr("template_id: required"));
  r.set_template_id("123");
  EXPECT_THAT(std::string(ValidateUpdateTemplate(r).message()),
              HasSubstr("nothing to update"));
  r.set_category(v1::TEMPLATE_CATEGORY_MARKETING);
  EXPECT_TRUE(ValidateUpdateTemplate(r).ok());
  auto* c = r.add_components();
  c->set_type(v1::TemplateComponentDefinition::TYPE_FOOTER);
  c->set_text("x");
  EXPECT_THAT(std::string(ValidateUpdateTemplate(r).message()),
              HasSubstr("BODY component is required"));
  r.clear_components();
  r.set_message_send_ttl_seconds(10);
  EXPECT_THAT(std::string(ValidateUpdateTemplate(r).message()),
              HasSubstr("message_send_ttl_seconds"));
}

TEST(ValidationTest, GraphIdsAreDigitsOnly) {
  EXPECT_TRUE(RequireId("106540352242922", "media_id").ok());
  for (const char* bad : {"..", "me", "1/messages", "12?x=1", "1 2", "١٢",
                          "wamid.X", "%31"}) {
    absl::Status s = RequireId(bad, "media_id");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), HasSubstr("media_id")) << bad;
  }
  EXPECT_THAT(std::string(RequireId(std::string(33, '1'), "waba_id").message()),
              HasSubstr("waba_id: at most 32 digits"));
  v1::UpdateTemplateRequest r;
  r.set_template_id("..");
  r.set_category(v1::TEMPLATE_CATEGORY_MARKETING);
  EXPECT_THAT(std::string(ValidateUpdateTemplate(r).message()),
              HasSubstr("template_id"));
}

TEST(ValidationTest, DeleteAndListTemplates) {
  v1::DeleteTemplateRequest d;
  d.set_waba_id("1");
  EXPECT_THAT(std::string(ValidateDeleteTemplate(d).message()),
              HasSubstr("name: required"));
  d.set_name("Bad Name");
  EXPECT_FALSE(ValidateDeleteTemplate(d).ok());
  d.set_name("good_name");
  EXPECT_TRUE(ValidateDeleteTemplate(d).ok());

  v1::ListTemplatesRequest l;
  EXPECT_THAT(std::string(ValidateListTemplates(l).message()),
              HasSubstr("waba_id: required"));
  l.set_waba_id("1");
  l.set_page_size(-1);
  EXPECT_THAT(std::string(ValidateListTemplates(l).message()),
              HasSubstr("page_size"));
}

TEST(ValidationTest, PinRegionCodeMethodAndCode) {
  v1::RegisterPhoneNumberRequest r;
  r.set_phone_number_id("106540352242922");
  for (const char* pin : {"", "12345", "1234567", "12345a", "12 456"}) {
    r.set_pin(pin);
    absl::Status s = ValidateRegister(r);
    EXPECT_THAT(std::string(s.message()), HasSubstr("pin: must be exactly 6"))
        << pin;
    if (*pin != '\0') {
      EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr(pin)));
    }
  }
  r.set_pin("212834");
  EXPECT_TRUE(ValidateRegister(r).ok());
  r.set_data_localization_region("ch");
  EXPECT_THAT(std::string(ValidateRegister(r).message()),
              HasSubstr("data_localization_region"));
  r.set_data_localization_region("CH");
  EXPECT_TRUE(ValidateRegister(r).ok());

  v1::RequestVerificationCodeRequest c;
  c.set_phone_number_id("1");
  c.set_language("en");
  EXPECT_THAT(std::string(ValidateRequestCode(c).message()),
              HasSubstr("code_method: required"));
  c.set_code_method(v1::CODE_METHOD_VOICE);
  EXPECT_TRUE(ValidateRequestCode(c).ok());
  c.clear_language();
  EXPECT_THAT(std::string(ValidateRequestCode(c).message()),
              HasSubstr("language: required"));

  v1::VerifyCodeRequest v;
  v.set_phone_number_id("1");
  EXPECT_THAT(std::string(ValidateVerifyCode(v).message()),
              HasSubstr("code: required"));
  v.set_code("12a456");
  EXPECT_FALSE(ValidateVerifyCode(v).ok());
  v.set_code("123456");
  EXPECT_TRUE(ValidateVerifyCode(v).ok());
}

struct ProfileCase {
  std::string name;
  std::string request;  // text proto of UpdateBusinessProfileRequest
  std::string error;
};

class ProfileTest : public ::testing::TestWithParam<ProfileCase> {};

TEST_P(ProfileTest, Validates) {
  auto r = Parse<v1::UpdateBusinessProfileRequest>(
      absl::StrCat("phone_number_id: \"1\" ", GetParam().request));
  absl::Status s = ValidateUpdateBusinessProfile(r);
  if (GetParam().error.empty()) {
    EXPECT_TRUE(s.ok()) << s;
  } else {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(GetParam().error));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ProfileTest,
    ::testing::Values(
        ProfileCase{"About", R"(business_profile { about: "Hi" })", ""},
        ProfileCase{"Nothing", "", "nothing to update"},
        ProfileCase{"AboutOver139",
                    absl::StrCat("business_profile { about: \"",
                                 std::string(140, 'a'), "\" }"),
                    "business_profile.about: at most 139"},
        ProfileCase{"AboutAt139",
                    absl::StrCat("business_profile { about: \"",
                                 std::string(139, 'a'), "\" }"),
                    ""},
        ProfileCase{"MaskedEmptyAbout", R"(update_mask { paths: "about" })",
                    "business_profile.about: required"},
        ProfileCase{"MaskedEmptyAddressClears",
                    R"(update_mask { paths: "address" })", ""},
        ProfileCase{"MaskUnknown",
                    R"(update_mask { paths: "profile_picture_url" })",
                    "update_mask.paths[0]: unknown or read-only"},
        ProfileCase{"AddressOver256",
                    absl::StrCat("business_profile { address: \"",
                                 std::string(257, 'a'), "\" }"),
                    "address: at most 256"},
        ProfileCase{"DescriptionOver512",
                    absl::StrCat("business_profile { description: \"",
                                 std::string(513, 'a'), "\" }"),
                    "description: at most 512"},
        ProfileCase{"Email", R"(business_profile { email: "a@b.example" })",
                    ""},
        ProfileCase{"EmailNoAt", R"(business_profile { email: "ab.example" })",
                    "email: not a valid email"},
        ProfileCase{"EmailNoDot", R"(business_profile { email: "a@example" })",
                    "email: not a valid email"},
        ProfileCase{"EmailSpace", R"(business_profile { email: "a b@x.io" })",
                    "email: not a valid email"},
        ProfileCase{"EmailOver128",
                    absl::StrCat("business_profile { email: \"",
                                 std::string(120, 'a'), "@example.com\" }"),
                    "email: at most 128"},
        ProfileCase{
            "TwoWebsites",
            R"(business_profile { websites: "https://a.io" websites: "http://b.io" })",
            ""},
        ProfileCase{
            "ThreeWebsites",
            R"(business_profile { websites: "https://a.io" websites: "https://b.io" websites: "https://c.io" })",
            "at most 2 websites"},
        ProfileCase{"WebsiteNoScheme",
                    R"(business_profile { websites: "a.io" })",
                    "websites[0]: must start with http"},
        ProfileCase{"WebsiteOver256",
                    absl::StrCat("business_profile { websites: \"https://",
                                 std::string(249, 'w'), "\" }"),
                    "websites[0]: at most 256"},
        ProfileCase{"Vertical", R"(business_profile { vertical: "RETAIL" })",
                    ""},
        ProfileCase{"VerticalUnknown",
                    R"(business_profile { vertical: "SHOPS" })",
                    "vertical: not a known vertical"}),
    [](const auto& info) { return info.param.name; });

TEST(ValidationTest, Users) {
  google::protobuf::RepeatedPtrField<std::string> users;
  EXPECT_THAT(std::string(ValidateUsers(users).message()),
              HasSubstr("users: at least one"));
  *users.Add() = "16505551234";
  EXPECT_TRUE(ValidateUsers(users).ok());
  *users.Add() = "";
  EXPECT_THAT(std::string(ValidateUsers(users).message()),
              HasSubstr("users[1]: required"));
  users.Clear();
  for (int i = 0; i <= kMaxUsersPerCall; ++i) *users.Add() = "1";
  EXPECT_THAT(std::string(ValidateUsers(users).message()),
              HasSubstr("at most 1000 users"));
}

TEST(ValidationTest, SubscribeApp) {
  v1::SubscribeAppRequest r;
  r.set_waba_id("1");
  EXPECT_TRUE(ValidateSubscribeApp(r).ok());
  r.set_override_callback_uri("https://hooks.example/wa");
  EXPECT_THAT(std::string(ValidateSubscribeApp(r).message()),
              HasSubstr("verify_token: required"));
  r.set_verify_token("t");
  EXPECT_TRUE(ValidateSubscribeApp(r).ok());
  r.set_override_callback_uri("https://" + std::string(193, 'x'));
  EXPECT_THAT(std::string(ValidateSubscribeApp(r).message()),
              HasSubstr("override_callback_uri: at most 200"));
}

TEST(ValidationTest, MediaKindsAndSizes) {
  struct {
    const char* mime;
    const char* kind;
    int64_t max;
  } table[] = {
      {"image/jpeg", "image", 5 << 20},
      {"image/png", "image", 5 << 20},
      {"image/webp", "sticker", 500 << 10},
      {"video/mp4", "video", 16 << 20},
      {"video/3gpp", "video", 16 << 20},
      {"audio/ogg; codecs=opus", "audio", 16 << 20},
      {"audio/mpeg", "audio", 16 << 20},
      {"application/pdf", "document", 100 << 20},
      {"text/plain", "document", 100 << 20},
      {"IMAGE/JPEG", "image", 5 << 20},
  };
  for (const auto& row : table) {
    absl::StatusOr<MediaKind> k = MediaKindFor(row.mime);
    ASSERT_TRUE(k.ok()) << row.mime;
    EXPECT_EQ(k->kind, row.kind) << row.mime;
    EXPECT_EQ(k->max_bytes, row.max) << row.mime;
  }
  for (const char* bad : {"", "image/gif", "application/zip", "video/webm"}) {
    EXPECT_EQ(MediaKindFor(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }

  v1::UploadMediaMetadata m;
  m.set_phone_number_id("1");
  m.set_mime_type("image/png");
  m.set_size_bytes(5 << 20);
  EXPECT_TRUE(ValidateUploadMetadata(m).ok());
  m.set_size_bytes((5 << 20) + 1);
  EXPECT_THAT(std::string(ValidateUploadMetadata(m).message()),
              HasSubstr("metadata.size_bytes"));
  m.set_size_bytes(0);
  m.set_mime_type("image/gif");
  EXPECT_THAT(std::string(ValidateUploadMetadata(m).message()),
              HasSubstr("metadata.mime_type"));
  m.set_mime_type("image/png");
  m.set_file_name("a\"b.png");
  EXPECT_THAT(std::string(ValidateUploadMetadata(m).message()),
              HasSubstr("metadata.file_name"));
  m.set_file_name("a.png");
  m.clear_phone_number_id();
  EXPECT_THAT(std::string(ValidateUploadMetadata(m).message()),
              HasSubstr("metadata.phone_number_id: required"));
}

}  // namespace
}  // namespace wagate::resources
