// PhoneNumbers over gRPC against the emulator (typed answers, registration,
// verification, business profile round trip, errors) and a recording fake
// Graph (exact method, path, query and body).
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/graph/graph_error.h"
#include "tests/integration/resources_harness.h"
#include "wagate/v1/phone_numbers.grpc.pb.h"

namespace wagate::resources::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(ResourcesPhoneNumbersTest, ListAndGetFromTheEmulator) {
  ResourcesHarness h;
  auto stub = v1::PhoneNumbers::NewStub(h.channel());
  grpc::ClientContext c;
  v1::ListPhoneNumbersRequest list;
  list.set_waba_id(kWaba);
  v1::ListPhoneNumbersResponse numbers;
  grpc::Status s = stub->ListPhoneNumbers(&c, list, &numbers);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(numbers.phone_numbers_size(), 1);
  EXPECT_EQ(numbers.phone_numbers(0).id(), kPhone);
  EXPECT_FALSE(numbers.phone_numbers(0).display_phone_number().empty());
  EXPECT_EQ(numbers.next_page_token(), "");

  grpc::ClientContext c2;
  v1::GetPhoneNumberRequest get;
  get.set_phone_number_id(kPhone);
  v1::GetPhoneNumberResponse got;
  s = stub->GetPhoneNumber(&c2, get, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const v1::PhoneNumber& n = got.phone_number();
  EXPECT_EQ(n.id(), kPhone);
  EXPECT_EQ(n.verified_name(), "Wagate Sandbox");
  EXPECT_EQ(n.quality_rating(), "GREEN");
  EXPECT_EQ(n.name_status(), "APPROVED");
  EXPECT_EQ(n.code_verification_status(), "VERIFIED");
  EXPECT_EQ(n.throughput().level(), "STANDARD");
  EXPECT_EQ(n.whatsapp_business_manager_messaging_limit(), "TIER_250");
  EXPECT_EQ(n.health_status().can_send_message(), "AVAILABLE");

  // Only the fields asked for.
  grpc::ClientContext c3;
  get.add_fields("throughput");
  s = stub->GetPhoneNumber(&c3, get, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.phone_number().throughput().level(), "STANDARD");
  EXPECT_EQ(got.phone_number().name_status(), "");
}

TEST(ResourcesPhoneNumbersTest, RegistrationAndVerificationInTheEmulator) {
  ResourcesHarness h;
  auto stub = v1::PhoneNumbers::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::DeregisterPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    v1::DeregisterPhoneNumberResponse out;
    grpc::Status s = stub->DeregisterPhoneNumber(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(out.success());
  }
  {
    grpc::ClientContext c;
    v1::RegisterPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    r.set_pin("212834");
    r.set_data_localization_region("CH");
    v1::RegisterPhoneNumberResponse out;
    grpc::Status s = stub->RegisterPhoneNumber(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(out.success());
  }
  {
    grpc::ClientContext c;
    v1::RequestVerificationCodeRequest r;
    r.set_phone_number_id(kPhone);
    r.set_code_method(v1::CODE_METHOD_SMS);
    r.set_language("en");
    v1::RequestVerificationCodeResponse out;
    grpc::Status s = stub->RequestVerificationCode(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(out.success());
  }
  {
    grpc::ClientContext c;
    v1::VerifyCodeRequest r;
    r.set_phone_number_id(kPhone);
    r.set_code("123456");
    v1::VerifyCodeResponse out;
    grpc::Status s = stub->VerifyCode(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(out.success());
  }
  {
    grpc::ClientContext c;
    v1::GetPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    r.add_fields("code_verification_status");
    v1::GetPhoneNumberResponse out;
    ASSERT_TRUE(stub->GetPhoneNumber(&c, r, &out).ok());
    EXPECT_EQ(out.phone_number().code_verification_status(), "VERIFIED");
  }
  // Meta allows 10 register/deregister calls per number per 72 h: the
  // 11th is 133016, a rate limit.
  grpc::Status s;
  int calls = 2;
  while (s.ok() && calls < 20) {
    grpc::ClientContext c;
    v1::DeregisterPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    v1::DeregisterPhoneNumberResponse out;
    s = stub->DeregisterPhoneNumber(&c, r, &out);
    ++calls;
  }
  EXPECT_EQ(calls, 11);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto e = graph::GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), 133016);
  EXPECT_FALSE(e->fbtrace_id().empty());
}

TEST(ResourcesPhoneNumbersTest, BusinessProfileRoundTripInTheEmulator) {
  ResourcesHarness h;
  auto stub = v1::PhoneNumbers::NewStub(h.channel());
  grpc::ClientContext c;
  v1::UpdateBusinessProfileRequest u;
  u.set_phone_number_id(kPhone);
  u.mutable_business_profile()->set_about("Fresh plants daily");
  u.mutable_business_profile()->set_email("shop@lucky.example");
  u.mutable_business_profile()->add_websites("https://lucky.example");
  u.mutable_business_profile()->set_vertical("RETAIL");
  v1::UpdateBusinessProfileResponse updated;
  grpc::Status s = stub->UpdateBusinessProfile(&c, u, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(updated.success());

  grpc::ClientContext c2;
  v1::GetBusinessProfileRequest g;
  g.set_phone_number_id(kPhone);
  v1::GetBusinessProfileResponse got;
  s = stub->GetBusinessProfile(&c2, g, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.business_profile().about(), "Fresh plants daily");
  EXPECT_EQ(got.business_profile().email(), "shop@lucky.example");
  EXPECT_THAT(got.business_profile().websites(),
              ElementsAre("https://lucky.example"));
  EXPECT_EQ(got.business_profile().vertical(), "RETAIL");
  EXPECT_EQ(got.business_profile().profile_picture_url(), "");

  // The other fields and a picture handle; then a mask clears the address.
  {
    grpc::ClientContext c;
    v1::UpdateBusinessProfileRequest r;
    r.set_phone_number_id(kPhone);
    r.mutable_business_profile()->set_address("1 Garden Way");
    r.mutable_business_profile()->set_description("Plants and pots");
    r.mutable_business_profile()->set_profile_picture_handle("4::aW1n:ARb");
    v1::UpdateBusinessProfileResponse out;
    grpc::Status s = stub->UpdateBusinessProfile(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  {
    grpc::ClientContext c;
    v1::GetBusinessProfileResponse out;
    ASSERT_TRUE(stub->GetBusinessProfile(&c, g, &out).ok());
    const v1::BusinessProfile& p = out.business_profile();
    EXPECT_EQ(p.about(), "Fresh plants daily");  // untouched
    EXPECT_EQ(p.address(), "1 Garden Way");
    EXPECT_EQ(p.description(), "Plants and pots");
    EXPECT_THAT(p.profile_picture_url(), HasSubstr("https://"));
  }
  {
    grpc::ClientContext c;
    v1::UpdateBusinessProfileRequest r;
    r.set_phone_number_id(kPhone);
    r.mutable_update_mask()->add_paths("address");
    v1::UpdateBusinessProfileResponse out;
    ASSERT_TRUE(stub->UpdateBusinessProfile(&c, r, &out).ok());
  }
  {
    grpc::ClientContext c;
    v1::GetBusinessProfileResponse out;
    ASSERT_TRUE(stub->GetBusinessProfile(&c, g, &out).ok());
    EXPECT_EQ(out.business_profile().address(), "");
    EXPECT_EQ(out.business_profile().description(), "Plants and pots");
  }
}

TEST(ResourcesPhoneNumbersTest, EmulatorErrorsAreMapped) {
  ResourcesHarness h;
  auto stub = v1::PhoneNumbers::NewStub(h.channel());
  grpc::ClientContext c;
  v1::GetPhoneNumberRequest get;
  get.set_phone_number_id("999000999");
  v1::GetPhoneNumberResponse got;
  grpc::Status s = stub->GetPhoneNumber(&c, get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  auto e = graph::GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), 100);
  EXPECT_EQ(e->error_subcode(), 33);
}

TEST(ResourcesPhoneNumbersTest, RequestsReachGraphExactly) {
  ResourcesHarness h({.target = Target::kFake});
  const std::string node = absl::StrCat("/v24.0/", kPhone);
  for (const char* edge : {"/register", "/deregister", "/request_code",
                           "/verify_code", "/whatsapp_business_profile"}) {
    h.fake().Answer("POST", node + edge, 200, R"({"success":true})");
  }
  h.fake().Answer("GET", node + "/whatsapp_business_profile", 200,
                  R"({"data":[{"about":"A","address":"Ad","description":"D",
                      "email":"e@x.io","profile_picture_url":"https://p",
                      "websites":["https://w"],"vertical":"HOTEL",
                      "messaging_product":"whatsapp"}]})");
  h.fake().Answer("GET", node, 200,
                  R"({"id":"106540352242922","throughput":{"level":"HIGH"}})");
  h.fake().Answer("GET", absl::StrCat("/v24.0/", kWaba, "/phone_numbers"), 200,
                  R"({"data":[{"id":"1"},{"id":"2"}],
                      "paging":{"cursors":{"before":"b","after":"a2"},
                                "next":"https://next"}})");
  auto stub = v1::PhoneNumbers::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::ListPhoneNumbersRequest r;
    r.set_waba_id(kWaba);
    r.set_page_size(2);
    v1::ListPhoneNumbersResponse out;
    ASSERT_TRUE(stub->ListPhoneNumbers(&c, r, &out).ok());
    EXPECT_EQ(out.phone_numbers_size(), 2);
    EXPECT_EQ(out.next_page_token(), "a2");
  }
  {
    grpc::ClientContext c;
    v1::GetPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    r.add_fields("throughput");
    r.add_fields("name_status");
    v1::GetPhoneNumberResponse out;
    ASSERT_TRUE(stub->GetPhoneNumber(&c, r, &out).ok());
    EXPECT_EQ(out.phone_number().throughput().level(), "HIGH");
  }
  {
    grpc::ClientContext c;
    v1::RegisterPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    r.set_pin("212834");
    r.set_data_localization_region("CH");
    v1::RegisterPhoneNumberResponse out;
    ASSERT_TRUE(stub->RegisterPhoneNumber(&c, r, &out).ok());
  }
  {
    grpc::ClientContext c;
    v1::DeregisterPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    v1::DeregisterPhoneNumberResponse out;
    ASSERT_TRUE(stub->DeregisterPhoneNumber(&c, r, &out).ok());
  }
  {
    grpc::ClientContext c;
    v1::RequestVerificationCodeRequest r;
    r.set_phone_number_id(kPhone);
    r.set_code_method(v1::CODE_METHOD_VOICE);
    r.set_language("de");
    v1::RequestVerificationCodeResponse out;
    ASSERT_TRUE(stub->RequestVerificationCode(&c, r, &out).ok());
  }
  {
    grpc::ClientContext c;
    v1::VerifyCodeRequest r;
    r.set_phone_number_id(kPhone);
    r.set_code("654321");
    v1::VerifyCodeResponse out;
    ASSERT_TRUE(stub->VerifyCode(&c, r, &out).ok());
  }
  {
    grpc::ClientContext c;
    v1::GetBusinessProfileRequest r;
    r.set_phone_number_id(kPhone);
    v1::GetBusinessProfileResponse out;
    ASSERT_TRUE(stub->GetBusinessProfile(&c, r, &out).ok());
    const v1::BusinessProfile& p = out.business_profile();
    EXPECT_EQ(p.about(), "A");
    EXPECT_EQ(p.address(), "Ad");
    EXPECT_EQ(p.description(), "D");
    EXPECT_EQ(p.email(), "e@x.io");
    EXPECT_EQ(p.profile_picture_url(), "https://p");
    EXPECT_THAT(p.websites(), ElementsAre("https://w"));
    EXPECT_EQ(p.vertical(), "HOTEL");
  }
  {
    grpc::ClientContext c;
    v1::UpdateBusinessProfileRequest r;
    r.set_phone_number_id(kPhone);
    r.mutable_business_profile()->set_about("New");
    r.mutable_business_profile()->set_profile_picture_handle("4::h");
    r.mutable_update_mask()->add_paths("about");
    r.mutable_update_mask()->add_paths("address");
    r.mutable_update_mask()->add_paths("profile_picture_handle");
    v1::UpdateBusinessProfileResponse out;
    ASSERT_TRUE(stub->UpdateBusinessProfile(&c, r, &out).ok());
  }

  std::vector<http::Request> q = h.fake().requests();
  ASSERT_EQ(q.size(), 8u);
  EXPECT_EQ(q[0].path, absl::StrCat("/v24.0/", kWaba, "/phone_numbers"));
  EXPECT_THAT(q[0].query, ElementsAre(Pair("fields", kPhoneNumberFields),
                                      Pair("limit", "2")));
  EXPECT_EQ(q[1].path, node);
  EXPECT_THAT(q[1].query,
              ElementsAre(Pair("fields", "throughput,name_status")));
  EXPECT_EQ(q[2].method, "POST");
  EXPECT_EQ(q[2].path, node + "/register");
  EXPECT_EQ(q[2].body, R"({"messaging_product":"whatsapp","pin":"212834",)"
                       R"("data_localization_region":"CH"})");
  EXPECT_EQ(q[3].path, node + "/deregister");
  EXPECT_EQ(q[3].body, "");
  EXPECT_EQ(q[4].path, node + "/request_code");
  EXPECT_EQ(q[4].body, R"({"code_method":"VOICE","language":"de"})");
  EXPECT_EQ(q[5].path, node + "/verify_code");
  EXPECT_EQ(q[5].body, R"({"code":"654321"})");
  EXPECT_EQ(q[6].method, "GET");
  EXPECT_EQ(q[6].path, node + "/whatsapp_business_profile");
  EXPECT_THAT(q[6].query, ElementsAre(Pair("fields", kBusinessProfileFields)));
  EXPECT_EQ(q[7].method, "POST");
  EXPECT_EQ(q[7].body,
            R"({"messaging_product":"whatsapp","about":"New","address":"",)"
            R"("profile_picture_handle":"4::h"})");
  for (const auto& r : q) {
    EXPECT_EQ(r.Header("Authorization"), absl::StrCat("Bearer ", kToken));
  }
}

TEST(ResourcesPhoneNumbersTest, InvalidRequestsNeverReachGraph) {
  ResourcesHarness h({.target = Target::kFake, .multi_account = true});
  auto stub = v1::PhoneNumbers::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::RegisterPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    r.set_pin("12345");
    v1::RegisterPhoneNumberResponse out;
    grpc::Status s = stub->RegisterPhoneNumber(&c, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("pin"));
    EXPECT_THAT(s.error_message(), ::testing::Not(HasSubstr("12345")));
  }
  {
    grpc::ClientContext c;
    v1::UpdateBusinessProfileRequest r;
    r.set_phone_number_id(kPhone);
    r.mutable_business_profile()->set_about(std::string(140, 'a'));
    v1::UpdateBusinessProfileResponse out;
    grpc::Status s = stub->UpdateBusinessProfile(&c, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("business_profile.about"));
    ASSERT_TRUE(graph::GraphErrorFromGrpcStatus(s).has_value());
  }
  {
    grpc::ClientContext c;
    v1::GetPhoneNumberRequest r;
    r.set_phone_number_id("123");  // not configured
    v1::GetPhoneNumberResponse out;
    grpc::Status s = stub->GetPhoneNumber(&c, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(s.error_message(), HasSubstr("123"));
  }
  {
    grpc::ClientContext c;
    v1::GetPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    r.add_fields("throughput{level}");
    v1::GetPhoneNumberResponse out;
    EXPECT_EQ(stub->GetPhoneNumber(&c, r, &out).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_TRUE(h.fake().requests().empty());
}

TEST(ResourcesPhoneNumbersTest, EveryRpcFailureCarriesGraphsErrorDetails) {
  ResourcesHarness h;
  h.FailEveryGraphCall();
  auto stub = v1::PhoneNumbers::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::ListPhoneNumbersRequest r;
    r.set_waba_id(kWaba);
    v1::ListPhoneNumbersResponse out;
    ExpectInjected503(stub->ListPhoneNumbers(&c, r, &out), "ListPhoneNumbers");
  }
  {
    grpc::ClientContext c;
    v1::GetPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    v1::GetPhoneNumberResponse out;
    ExpectInjected503(stub->GetPhoneNumber(&c, r, &out), "GetPhoneNumber");
  }
  {
    grpc::ClientContext c;
    v1::RegisterPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    r.set_pin("212834");
    v1::RegisterPhoneNumberResponse out;
    ExpectInjected503(stub->RegisterPhoneNumber(&c, r, &out),
                      "RegisterPhoneNumber");
  }
  {
    grpc::ClientContext c;
    v1::DeregisterPhoneNumberRequest r;
    r.set_phone_number_id(kPhone);
    v1::DeregisterPhoneNumberResponse out;
    ExpectInjected503(stub->DeregisterPhoneNumber(&c, r, &out),
                      "DeregisterPhoneNumber");
  }
  {
    grpc::ClientContext c;
    v1::RequestVerificationCodeRequest r;
    r.set_phone_number_id(kPhone);
    r.set_code_method(v1::CODE_METHOD_SMS);
    r.set_language("en");
    v1::RequestVerificationCodeResponse out;
    ExpectInjected503(stub->RequestVerificationCode(&c, r, &out),
                      "RequestVerificationCode");
  }
  {
    grpc::ClientContext c;
    v1::VerifyCodeRequest r;
    r.set_phone_number_id(kPhone);
    r.set_code("123456");
    v1::VerifyCodeResponse out;
    ExpectInjected503(stub->VerifyCode(&c, r, &out), "VerifyCode");
  }
  {
    grpc::ClientContext c;
    v1::GetBusinessProfileRequest r;
    r.set_phone_number_id(kPhone);
    v1::GetBusinessProfileResponse out;
    ExpectInjected503(stub->GetBusinessProfile(&c, r, &out),
                      "GetBusinessProfile");
  }
  {
    grpc::ClientContext c;
    v1::UpdateBusinessProfileRequest r;
    r.set_phone_number_id(kPhone);
    r.mutable_business_profile()->set_about("Open");
    v1::UpdateBusinessProfileResponse out;
    ExpectInjected503(stub->UpdateBusinessProfile(&c, r, &out),
                      "UpdateBusinessProfile");
  }
  EXPECT_THAT(h.graph_operations(),
              ElementsAre("list_phone_numbers", "get_phone_number",
                          "register_phone_number", "deregister_phone_number",
                          "request_code", "verify_code", "get_business_profile",
                          "update_business_profile"));
}

TEST(ResourcesPhoneNumbersTest, PagesBackwardWithGraphsBeforeCursor) {
  ResourcesHarness h({.target = Target::kFake});
  const std::string path = absl::StrCat("/v24.0/", kWaba, "/phone_numbers");
  h.fake().Answer("GET", path, 200,
                  R"({"data":[{"id":"3"}],
                      "paging":{"cursors":{"before":"b3","after":"a3"},
                                "previous":"https://previous"}})");
  auto stub = v1::PhoneNumbers::NewStub(h.channel());
  grpc::ClientContext c;
  v1::ListPhoneNumbersRequest r;
  r.set_waba_id(kWaba);
  r.set_page_size(1);
  r.set_page_token("before:b4");
  v1::ListPhoneNumbersResponse out;
  ASSERT_TRUE(stub->ListPhoneNumbers(&c, r, &out).ok());
  EXPECT_EQ(out.next_page_token(), "");  // no `next`: nothing after
  EXPECT_EQ(out.previous_page_token(), "before:b3");
  std::vector<http::Request> q = h.fake().requests();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_THAT(q[0].query,
              ElementsAre(Pair("fields", kPhoneNumberFields),
                          Pair("limit", "1"), Pair("before", "b4")));
}

}  // namespace
}  // namespace wagate::resources::testing
