// Accounts over gRPC against the emulator (subscriptions, blocklist with the
// 24 h rule and mixed results, paging) and a recording fake Graph.
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/graph/graph_error.h"
#include "tests/integration/resources_harness.h"
#include "wagate/v1/accounts.grpc.pb.h"

namespace wagate::resources::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(ResourcesAccountsTest, SubscribeListUnsubscribeInTheEmulator) {
  ResourcesHarness h;
  auto stub = v1::Accounts::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::SubscribeAppRequest r;
    r.set_waba_id(kWaba);
    r.set_override_callback_uri("https://hooks.example/wa");
    r.set_verify_token("vt");
    v1::SubscribeAppResponse out;
    grpc::Status s = stub->SubscribeApp(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(out.success());
  }
  {
    grpc::ClientContext c;
    v1::ListSubscribedAppsRequest r;
    r.set_waba_id(kWaba);
    v1::ListSubscribedAppsResponse out;
    ASSERT_TRUE(stub->ListSubscribedApps(&c, r, &out).ok());
    ASSERT_EQ(out.apps_size(), 1);
    EXPECT_FALSE(out.apps(0).id().empty());
    EXPECT_FALSE(out.apps(0).name().empty());
    EXPECT_FALSE(out.apps(0).link().empty());
    EXPECT_EQ(out.apps(0).override_callback_uri(), "https://hooks.example/wa");
  }
  {
    grpc::ClientContext c;
    v1::UnsubscribeAppRequest r;
    r.set_waba_id(kWaba);
    v1::UnsubscribeAppResponse out;
    ASSERT_TRUE(stub->UnsubscribeApp(&c, r, &out).ok());
    EXPECT_TRUE(out.success());
  }
  {
    grpc::ClientContext c;
    v1::ListSubscribedAppsRequest r;
    r.set_waba_id(kWaba);
    v1::ListSubscribedAppsResponse out;
    ASSERT_TRUE(stub->ListSubscribedApps(&c, r, &out).ok());
    EXPECT_EQ(out.apps_size(), 0);
  }
}

TEST(ResourcesAccountsTest, BlockListPageAndUnblockInTheEmulator) {
  ResourcesHarness h;
  for (const char* u : {"15550000001", "15550000002", "15550000003"}) {
    h.emulator().state().RecordInbound(kPhone, u, absl::Now());
  }
  auto stub = v1::Accounts::NewStub(h.channel());
  {
    // One user never wrote: a mixed result, unwrapped into failed_users.
    grpc::ClientContext c;
    v1::BlockUsersRequest r;
    r.set_phone_number_id(kPhone);
    for (const char* u :
         {"15550000001", "15550000002", "15550000003", "15559999999"}) {
      r.add_users(u);
    }
    v1::BlockUsersResponse out;
    grpc::Status s = stub->BlockUsers(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.added_users_size(), 3);
    ASSERT_EQ(out.failed_users_size(), 1);
    EXPECT_EQ(out.failed_users(0).input(), "15559999999");
    ASSERT_GE(out.failed_users(0).errors_size(), 1);
    EXPECT_EQ(out.failed_users(0).errors(0).code(), 131047);
  }
  std::vector<std::string> blocked;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext c;
    v1::ListBlockedUsersRequest r;
    r.set_phone_number_id(kPhone);
    r.set_page_size(2);
    r.set_page_token(token);
    v1::ListBlockedUsersResponse out;
    grpc::Status s = stub->ListBlockedUsers(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const auto& u : out.blocked_users()) blocked.push_back(u.wa_id());
    token = out.next_page_token();
    ASSERT_LT(++pages, 5);
  } while (!token.empty());
  EXPECT_EQ(pages, 2);
  EXPECT_THAT(blocked,
              ElementsAre("15550000001", "15550000002", "15550000003"));
  {
    grpc::ClientContext c;
    v1::UnblockUsersRequest r;
    r.set_phone_number_id(kPhone);
    r.add_users("15550000002");
    v1::UnblockUsersResponse out;
    grpc::Status s = stub->UnblockUsers(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(out.removed_users_size(), 1);
    EXPECT_EQ(out.removed_users(0).wa_id(), "15550000002");
    EXPECT_EQ(out.failed_users_size(), 0);
  }
}

TEST(ResourcesAccountsTest, RequestsReachGraphExactly) {
  ResourcesHarness h({.target = Target::kFake});
  const std::string apps = absl::StrCat("/v24.0/", kWaba, "/subscribed_apps");
  const std::string block = absl::StrCat("/v24.0/", kPhone, "/block_users");
  h.fake().Answer("POST", apps, 200, R"({"success":true})");
  h.fake().Answer("DELETE", apps, 200, R"({"success":true})");
  h.fake().Answer("GET", apps, 200,
                  R"({"data":[{"whatsapp_business_api_data":{"id":"67",
                      "name":"Shop","link":"https://shop.example"},
                      "override_callback_uri":"https://hooks.example/wa"}]})");
  h.fake().Answer("POST", block, 200,
                  R"({"messaging_product":"whatsapp","block_users":{
                      "added_users":[{"input":"+1 555","wa_id":"1555"}]}})");
  h.fake().Answer("DELETE", block, 400,
                  R"({"messaging_product":"whatsapp","block_users":{
                      "removed_users":[],"failed_users":[{"input":"1666",
                      "errors":[{"message":"no","code":131047,
                      "error_data":{"details":"not in window"}}]}]},
                      "error":{"message":"(#139100) Failed to block/unblock users",
                      "type":"OAuthException","code":139100,"fbtrace_id":"T"}})");
  h.fake().Answer(
      "GET", block, 200,
      R"({"data":[{"block_users":[{"input":"1555","wa_id":"1555"}]}],
                      "paging":{"cursors":{"after":"X"},"next":"https://n"}})");
  auto stub = v1::Accounts::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::SubscribeAppRequest r;
    r.set_waba_id(kWaba);
    v1::SubscribeAppResponse out;
    ASSERT_TRUE(stub->SubscribeApp(&c, r, &out).ok());
  }
  {
    grpc::ClientContext c;
    v1::SubscribeAppRequest r;
    r.set_waba_id(kWaba);
    r.set_override_callback_uri("https://hooks.example/wa");
    r.set_verify_token("vt");
    v1::SubscribeAppResponse out;
    ASSERT_TRUE(stub->SubscribeApp(&c, r, &out).ok());
    EXPECT_TRUE(out.success());
  }
  {
    grpc::ClientContext c;
    v1::ListSubscribedAppsRequest r;
    r.set_waba_id(kWaba);
    v1::ListSubscribedAppsResponse out;
    ASSERT_TRUE(stub->ListSubscribedApps(&c, r, &out).ok());
    ASSERT_EQ(out.apps_size(), 1);
    EXPECT_EQ(out.apps(0).id(), "67");
    EXPECT_EQ(out.apps(0).name(), "Shop");
    EXPECT_EQ(out.apps(0).link(), "https://shop.example");
    EXPECT_EQ(out.apps(0).override_callback_uri(), "https://hooks.example/wa");
  }
  {
    grpc::ClientContext c;
    v1::UnsubscribeAppRequest r;
    r.set_waba_id(kWaba);
    v1::UnsubscribeAppResponse out;
    ASSERT_TRUE(stub->UnsubscribeApp(&c, r, &out).ok());
  }
  {
    grpc::ClientContext c;
    v1::BlockUsersRequest r;
    r.set_phone_number_id(kPhone);
    r.add_users("+1 555");
    v1::BlockUsersResponse out;
    ASSERT_TRUE(stub->BlockUsers(&c, r, &out).ok());
    ASSERT_EQ(out.added_users_size(), 1);
    EXPECT_EQ(out.added_users(0).input(), "+1 555");
    EXPECT_EQ(out.added_users(0).wa_id(), "1555");
  }
  {
    grpc::ClientContext c;
    v1::UnblockUsersRequest r;
    r.set_phone_number_id(kPhone);
    r.add_users("1666");
    v1::UnblockUsersResponse out;
    grpc::Status s = stub->UnblockUsers(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(out.failed_users_size(), 1);
    EXPECT_EQ(out.failed_users(0).errors(0).code(), 131047);
    EXPECT_EQ(out.failed_users(0).errors(0).details(), "not in window");
  }
  {
    grpc::ClientContext c;
    v1::ListBlockedUsersRequest r;
    r.set_phone_number_id(kPhone);
    r.set_page_size(1);
    r.set_page_token("W");
    v1::ListBlockedUsersResponse out;
    ASSERT_TRUE(stub->ListBlockedUsers(&c, r, &out).ok());
    EXPECT_EQ(out.blocked_users_size(), 1);
    EXPECT_EQ(out.next_page_token(), "X");
  }
  std::vector<http::Request> q = h.fake().requests();
  ASSERT_EQ(q.size(), 7u);
  EXPECT_EQ(q[0].method, "POST");
  EXPECT_EQ(q[0].path, apps);
  EXPECT_EQ(q[0].body, "");
  EXPECT_EQ(q[1].method, "POST");
  EXPECT_EQ(q[1].Header("Content-Type"), "application/json");
  EXPECT_EQ(q[1].body, R"({"override_callback_uri":"https://hooks.example/wa",)"
                       R"("verify_token":"vt"})");
  EXPECT_EQ(q[2].method, "GET");
  EXPECT_EQ(q[2].path, apps);
  EXPECT_TRUE(q[2].query.empty());
  q.erase(q.begin() + 1, q.begin() + 3);  // the rest as before
  EXPECT_EQ(q[1].method, "DELETE");
  EXPECT_EQ(q[1].path, apps);
  EXPECT_EQ(q[2].method, "POST");
  EXPECT_EQ(q[2].path, block);
  EXPECT_EQ(q[2].Header("Content-Type"), "application/json");
  EXPECT_EQ(
      q[2].body,
      R"({"messaging_product":"whatsapp","block_users":[{"user":"+1 555"}]})");
  EXPECT_EQ(q[3].method, "DELETE");
  EXPECT_EQ(
      q[3].body,
      R"({"messaging_product":"whatsapp","block_users":[{"user":"1666"}]})");
  EXPECT_EQ(q[4].method, "GET");
  EXPECT_THAT(q[4].query, ElementsAre(Pair("limit", "1"), Pair("after", "W")));
  for (const auto& r : q) {
    EXPECT_EQ(r.Header("Authorization"), absl::StrCat("Bearer ", kToken));
  }
}

TEST(ResourcesAccountsTest, WholeRequestFailuresAreMappedErrors) {
  ResourcesHarness h({.target = Target::kFake});
  h.fake().Answer("POST", absl::StrCat("/v24.0/", kPhone, "/block_users"), 400,
                  R"({"error":{"message":"Blocklist full","code":139101,
                      "fbtrace_id":"Z","error_data":{"details":"test-token"}}})");
  auto stub = v1::Accounts::NewStub(h.channel());
  grpc::ClientContext c;
  v1::BlockUsersRequest r;
  r.set_phone_number_id(kPhone);
  r.add_users("1555");
  v1::BlockUsersResponse out;
  grpc::Status s = stub->BlockUsers(&c, r, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto e = graph::GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), 139101);
  EXPECT_EQ(e->fbtrace_id(), "Z");
  // The token never comes back, even when Graph echoes it.
  EXPECT_THAT(e->details(), ::testing::Not(HasSubstr(kToken)));
  EXPECT_THAT(s.error_message(), ::testing::Not(HasSubstr(kToken)));
}

TEST(ResourcesAccountsTest, InvalidRequestsNeverReachGraph) {
  ResourcesHarness h({.target = Target::kFake, .multi_account = true});
  auto stub = v1::Accounts::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::BlockUsersRequest r;
    r.set_phone_number_id(kPhone);
    v1::BlockUsersResponse out;
    grpc::Status s = stub->BlockUsers(&c, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("users"));
  }
  {
    grpc::ClientContext c;
    v1::BlockUsersRequest r;
    r.set_phone_number_id("42");
    r.add_users("1555");
    v1::BlockUsersResponse out;
    EXPECT_EQ(stub->BlockUsers(&c, r, &out).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext c;
    v1::SubscribeAppRequest r;
    r.set_waba_id(kWaba);
    r.set_override_callback_uri("https://x.example");
    v1::SubscribeAppResponse out;
    grpc::Status s = stub->SubscribeApp(&c, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("verify_token"));
  }
  {
    grpc::ClientContext c;
    v1::UnsubscribeAppRequest r;
    r.set_waba_id("777");
    v1::UnsubscribeAppResponse out;
    EXPECT_EQ(stub->UnsubscribeApp(&c, r, &out).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  EXPECT_TRUE(h.fake().requests().empty());
}

TEST(ResourcesAccountsTest, EveryRpcFailureCarriesGraphsErrorDetails) {
  ResourcesHarness h;
  h.emulator().state().RecordInbound(kPhone, "15550000001", absl::Now());
  h.FailEveryGraphCall();
  auto stub = v1::Accounts::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::SubscribeAppRequest r;
    r.set_waba_id(kWaba);
    v1::SubscribeAppResponse out;
    ExpectInjected503(stub->SubscribeApp(&c, r, &out), "SubscribeApp");
  }
  {
    grpc::ClientContext c;
    v1::UnsubscribeAppRequest r;
    r.set_waba_id(kWaba);
    v1::UnsubscribeAppResponse out;
    ExpectInjected503(stub->UnsubscribeApp(&c, r, &out), "UnsubscribeApp");
  }
  {
    grpc::ClientContext c;
    v1::ListSubscribedAppsRequest r;
    r.set_waba_id(kWaba);
    v1::ListSubscribedAppsResponse out;
    ExpectInjected503(stub->ListSubscribedApps(&c, r, &out),
                      "ListSubscribedApps");
  }
  {
    grpc::ClientContext c;
    v1::BlockUsersRequest r;
    r.set_phone_number_id(kPhone);
    r.add_users("15550000001");
    v1::BlockUsersResponse out;
    ExpectInjected503(stub->BlockUsers(&c, r, &out), "BlockUsers");
  }
  {
    grpc::ClientContext c;
    v1::UnblockUsersRequest r;
    r.set_phone_number_id(kPhone);
    r.add_users("15550000001");
    v1::UnblockUsersResponse out;
    ExpectInjected503(stub->UnblockUsers(&c, r, &out), "UnblockUsers");
  }
  {
    grpc::ClientContext c;
    v1::ListBlockedUsersRequest r;
    r.set_phone_number_id(kPhone);
    v1::ListBlockedUsersResponse out;
    ExpectInjected503(stub->ListBlockedUsers(&c, r, &out), "ListBlockedUsers");
  }
  // Block and unblock used to bypass GraphClient: now they are measured
  // under their own operation like every other call.
  EXPECT_THAT(
      h.graph_operations(),
      ElementsAre("subscribe_app", "unsubscribe_app", "list_subscribed_apps",
                  "block_users", "unblock_users", "list_blocked_users"));

  // A connection dropped after the request was sent: the outcome is unknown.
  h.FailEveryGraphCall(/*drop=*/true);
  grpc::ClientContext c;
  v1::BlockUsersRequest r;
  r.set_phone_number_id(kPhone);
  r.add_users("15550000001");
  v1::BlockUsersResponse out;
  ExpectDroppedConnection(stub->BlockUsers(&c, r, &out), "BlockUsers");
}

TEST(ResourcesAccountsTest, BlocklistPagesForwardAndBackwardInTheEmulator) {
  ResourcesHarness h;
  std::vector<std::string> users;
  for (int i = 1; i <= 5; ++i) {
    users.push_back(absl::StrCat("1555000000", i));
    h.emulator().state().RecordInbound(kPhone, users.back(), absl::Now());
  }
  auto stub = v1::Accounts::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::BlockUsersRequest r;
    r.set_phone_number_id(kPhone);
    for (const auto& u : users) r.add_users(u);
    v1::BlockUsersResponse out;
    ASSERT_TRUE(stub->BlockUsers(&c, r, &out).ok());
    ASSERT_EQ(out.added_users_size(), 5);
  }
  auto list = [&](const std::string& token) {
    grpc::ClientContext c;
    v1::ListBlockedUsersRequest r;
    r.set_phone_number_id(kPhone);
    r.set_page_size(2);
    r.set_page_token(token);
    v1::ListBlockedUsersResponse page;
    grpc::Status s = stub->ListBlockedUsers(&c, r, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const auto& u : page.blocked_users()) ids.push_back(u.wa_id());
    return std::make_pair(ids, page);
  };
  auto [first, p1] = list("");
  EXPECT_EQ(p1.previous_page_token(), "");
  auto [second, p2] = list(p1.next_page_token());
  auto [third, p3] = list(p2.next_page_token());
  EXPECT_EQ(p3.next_page_token(), "");
  EXPECT_THAT(first, ElementsAre(users[0], users[1]));
  EXPECT_THAT(second, ElementsAre(users[2], users[3]));
  EXPECT_THAT(third, ElementsAre(users[4]));
  auto [back, b] = list(p3.previous_page_token());
  EXPECT_EQ(back, second);
  auto [front, f] = list(b.previous_page_token());
  EXPECT_EQ(front, first);
  EXPECT_EQ(f.previous_page_token(), "");
}

}  // namespace
}  // namespace wagate::resources::testing
