// The emulator over real HTTP on 127.0.0.1: messages, Meta's answers and
// errors, limits, webhooks (signing, order, redelivery), control API.
#include "emulator/emulator.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "emulator/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/hmac.h"
#include "simdjson.h"

namespace wagate::emulator {
namespace {

using testing::EmulatorTest;
using ::testing::HasSubstr;
using testing::kPnid;
using testing::kSecret;
using testing::kToken;
using testing::kWaba;
using testing::Str;

std::string Text(const std::string& to, const std::string& body = "hi") {
  return absl::StrCat(R"({"messaging_product":"whatsapp","to":")", to,
                      R"(","type":"text","text":{"body":")", body, R"("}})");
}

std::string Messages() { return absl::StrCat("/v23.0/", kPnid, "/messages"); }

TEST_F(EmulatorTest, SendTextAnswersLikeMeta) {
  Start();
  http::ClientResponse r = Post(Messages(), Text("+1 (650) 555-1234"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  auto doc = Parse(r.body);
  EXPECT_EQ(std::string_view(doc["messaging_product"]), "whatsapp");
  EXPECT_EQ(std::string_view(doc["contacts"].at(0)["input"]),
            "+1 (650) 555-1234");
  EXPECT_EQ(std::string_view(doc["contacts"].at(0)["wa_id"]), "16505551234");
  std::string_view id = doc["messages"].at(0)["id"];
  EXPECT_TRUE(absl::StartsWith(std::string(id), "wamid.")) << id;
  EXPECT_EQ(doc["messages"].at(0)["message_status"].error(),
            simdjson::NO_SUCH_FIELD);
  // Ids are unique.
  http::ClientResponse r2 = Post(Messages(), Text("16505551234"));
  EXPECT_NE(r.body, r2.body);
}

TEST_F(EmulatorTest, BearerTokenIsRequired) {
  Start();
  ExpectError(caller_->Call("POST", Messages(), Text("16505551234"), ""), 401,
              190);
  ExpectError(
      caller_->Call("POST", Messages(), Text("16505551234"), "wrong-token"),
      401, 190);
  // Graph also takes access_token as a query parameter.
  EXPECT_EQ(caller_
                ->Call("POST", Messages() + "?access_token=" + kToken,
                       Text("16505551234"), "")
                .status,
            200);
}

TEST_F(EmulatorTest, UnknownPhoneNumberIdIsError100) {
  Start();
  ExpectError(Post("/v23.0/999/messages", Text("16505551234")), 400, 100);
}

TEST_F(EmulatorTest, ValidationErrorsUseTheEnvelope) {
  Start();
  ExpectError(Post(Messages(), R"({"to":"1650555","text":{"body":"x"}})"), 400,
              100);
  ExpectError(
      Post(Messages(), R"({"messaging_product":"whatsapp","to":"16505551234",)"
                       R"("type":"text"})"),
      400, 131008);
  ExpectError(
      Post(Messages(),
           R"({"messaging_product":"whatsapp","to":"16505551234","type":)"
           R"("interactive","interactive":{"type":"button","body":{"text":)"
           R"("b"},"action":{"buttons":[]}}})"),
      400, 131009);
}

TEST_F(EmulatorTest, Templates) {
  Start();
  const std::string hello =
      R"({"messaging_product":"whatsapp","to":"16505551234","type":"template",)"
      R"("template":{"name":"hello_world","language":{"code":"en_US"}}})";
  http::ClientResponse r = Post(Messages(), hello);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(std::string_view(Parse(r.body)["messages"].at(0)["message_status"]),
            "accepted");
  ExpectError(
      Post(
          Messages(),
          R"({"messaging_product":"whatsapp","to":"16505551234","type":)"
          R"("template","template":{"name":"nope","language":{"code":"en_US"}}})"),
      404, 132001);
  ExpectError(
      Post(
          Messages(),
          R"({"messaging_product":"whatsapp","to":"16505551234","type":)"
          R"("template","template":{"name":"hello_world","language":{"code":"pt_BR"}}})"),
      404, 132001);
  ExpectError(
      Post(Messages(),
           R"({"messaging_product":"whatsapp","to":"16505551234","type":)"
           R"("template","template":{"name":"hello_world","language":{"code":)"
           R"("en_US"},"components":[{"type":"body","parameters":[{"type":)"
           R"("text","text":"x"}]}]}})"),
      400, 132000);
}

TEST_F(EmulatorTest, MarkReadAndTypingIndicator) {
  Start();
  http::ClientResponse r = Post(
      Messages(),
      R"({"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"success":true})");
  r = Post(Messages(),
           R"({"messaging_product":"whatsapp","status":"read","message_id":)"
           R"("wamid.X","typing_indicator":{"type":"text"}})");
  EXPECT_EQ(r.body, R"({"success":true})");
}

TEST_F(EmulatorTest, ThroughputLimit130429) {
  EmulatorOptions options;
  options.throughput_mps = 5;
  Start(options, false);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Post(Messages(), Text(absl::StrCat("1650555000", i))).status,
              200);
  }
  http::ClientResponse r = Post(Messages(), Text("16505550009"));
  ExpectError(r, 400, 130429);
}

TEST_F(EmulatorTest, PairRateLimit131056AtThe46thMessage) {
  EmulatorOptions options;
  options.throughput_mps = 0;  // unlimited: only the pair limit applies
  Start(options, false);
  for (int i = 0; i < 45; ++i) {
    ASSERT_EQ(Post(Messages(), Text("16505551234")).status, 200) << i;
  }
  ExpectError(Post(Messages(), Text("16505551234")), 400, 131056);
  // Other recipients are unaffected.
  EXPECT_EQ(Post(Messages(), Text("16505559999")).status, 200);
}

TEST_F(EmulatorTest, CustomerServiceWindow131047) {
  Start();
  ASSERT_EQ(Post("/_emulator/settings", R"({"enforce_window":true})").status,
            200);
  ExpectError(Post(Messages(), Text("16505551234")), 400, 131047);
  // Templates are allowed outside the window.
  EXPECT_EQ(
      Post(
          Messages(),
          R"({"messaging_product":"whatsapp","to":"16505551234","type":)"
          R"("template","template":{"name":"hello_world","language":{"code":"en_US"}}})")
          .status,
      200);
  // An inbound message opens the window.
  ASSERT_EQ(Post("/_emulator/inbound",
                 R"({"from":"16505551234","name":"Sheena","text":"hello"})")
                .status,
            200);
  EXPECT_EQ(Post(Messages(), Text("16505551234")).status, 200);
}

// Statuses arrive as separate signed POSTs, in order, with Meta's envelope.
TEST_F(EmulatorTest, StatusWebhooksAreSignedAndOrdered) {
  Start();
  http::ClientResponse r = Post(
      Messages(),
      R"({"messaging_product":"whatsapp","to":"16505551234","type":"text",)"
      R"("biz_opaque_callback_data":"track-1","text":{"body":"hi"}})");
  ASSERT_EQ(r.status, 200);
  std::string wamid = Str(Parse(r.body)["messages"].at(0)["id"]);
  auto hooks = receiver_->WaitFor(3);
  ASSERT_EQ(hooks.size(), 3u);
  const char* expected[] = {"sent", "delivered", "read"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(hooks[i].signature,
              common::SignatureHeader(kSecret, hooks[i].body));
    EXPECT_TRUE(common::VerifySignatureHeader(kSecret, hooks[i].body,
                                              hooks[i].signature));
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    ASSERT_EQ(p.parse(hooks[i].body).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(std::string_view(doc["object"]), "whatsapp_business_account");
    auto entry = doc["entry"].at(0);
    EXPECT_EQ(std::string_view(entry["id"]), kWaba);
    EXPECT_TRUE(entry["time"].is_int64());
    auto change = entry["changes"].at(0);
    EXPECT_EQ(std::string_view(change["field"]), "messages");
    auto value = change["value"];
    EXPECT_EQ(std::string_view(value["messaging_product"]), "whatsapp");
    EXPECT_EQ(std::string_view(value["metadata"]["phone_number_id"]), kPnid);
    auto status = value["statuses"].at(0);
    EXPECT_EQ(std::string_view(status["id"]), wamid);
    EXPECT_EQ(std::string_view(status["status"]), expected[i]);
    EXPECT_EQ(std::string_view(status["recipient_id"]), "16505551234");
    EXPECT_EQ(std::string_view(status["biz_opaque_callback_data"]), "track-1");
    EXPECT_TRUE(status["timestamp"].is_string());
    bool has_pricing = status["pricing"].error() == simdjson::SUCCESS;
    EXPECT_EQ(has_pricing, i < 2) << hooks[i].body;
    if (has_pricing) {
      EXPECT_EQ(std::string_view(status["pricing"]["category"]), "service");
      EXPECT_EQ(std::string_view(status["pricing"]["pricing_model"]), "PMP");
    }
  }
}

// Up to v23 statuses carry a conversation (expiration only on sent); from
// v24 they do not.
TEST_F(EmulatorTest, ConversationObjectOnlyUpToV23) {
  Start();
  ASSERT_EQ(Post(Messages(), Text("16505551234")).status, 200);
  auto hooks = receiver_->WaitFor(3);
  ASSERT_EQ(hooks.size(), 3u);
  std::string first_id;
  for (size_t i = 0; i < 3; ++i) {
    auto status = Parse(hooks[i].body)["entry"]
                      .at(0)["changes"]
                      .at(0)["value"]["statuses"]
                      .at(0);
    std::string id = Str(status["conversation"]["id"]);
    EXPECT_EQ(id.size(), 32u);
    if (i == 0) first_id = id;
    EXPECT_EQ(id, first_id);
    EXPECT_EQ(Str(status["conversation"]["origin"]["type"]), "service");
    EXPECT_EQ(status["conversation"]["expiration_timestamp"].error() ==
                  simdjson::SUCCESS,
              i == 0);
  }
  ASSERT_EQ(
      Post(absl::StrCat("/v24.0/", kPnid, "/messages"), Text("16505551234"))
          .status,
      200);
  hooks = receiver_->WaitFor(6);
  ASSERT_EQ(hooks.size(), 6u);
  for (size_t i = 3; i < 6; ++i) {
    EXPECT_EQ(hooks[i].body.find("conversation"), std::string::npos);
  }
}

TEST_F(EmulatorTest, WebhooksAreRedeliveredAfterNon200) {
  Start();
  receiver_->FailFirst(2, 500);
  ASSERT_EQ(Post(Messages(), Text("16505551234")).status, 200);
  auto hooks = receiver_->WaitFor(3);
  ASSERT_EQ(hooks.size(), 3u);
  EXPECT_THAT(hooks[0].body, HasSubstr(R"("status":"sent")"));
  EXPECT_GE(receiver_->attempts(), 5);
  WebhookStats s = WaitIdle();
  EXPECT_EQ(s.retried, 2u);
  EXPECT_EQ(s.acknowledged, 3u);
  EXPECT_EQ(s.pending, 0u);
}

TEST_F(EmulatorTest, FailedRecipientGetsFailedStatusWithErrors) {
  EmulatorOptions options;
  options.failed_recipients = {"16505550000"};
  Start(options);
  ASSERT_EQ(Post(Messages(), Text("16505550000")).status, 200);
  auto hooks = receiver_->WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  auto status = Parse(hooks[0].body)["entry"]
                    .at(0)["changes"]
                    .at(0)["value"]["statuses"]
                    .at(0);
  EXPECT_EQ(std::string_view(status["status"]), "failed");
  EXPECT_EQ(int64_t(status["errors"].at(0)["code"]), 131026);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(receiver_->received().size(), 1u);
}

TEST_F(EmulatorTest, InboundMessageWebhook) {
  Start();
  http::ClientResponse r =
      Post("/_emulator/inbound",
           R"({"from":"16505551234","name":"Sheena Nelson","message":{"type":)"
           R"("interactive","context":{"from":"15550783881","id":"wamid.Q"},)"
           R"("interactive":{"type":"button_reply","button_reply":{"id":"b1",)"
           R"("title":"Yes"}}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string id = Str(Parse(r.body)["id"]);
  auto hooks = receiver_->WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_TRUE(common::VerifySignatureHeader(kSecret, hooks[0].body,
                                            hooks[0].signature));
  auto value = Parse(hooks[0].body)["entry"].at(0)["changes"].at(0)["value"];
  EXPECT_EQ(std::string_view(value["contacts"].at(0)["profile"]["name"]),
            "Sheena Nelson");
  EXPECT_EQ(std::string_view(value["contacts"].at(0)["wa_id"]), "16505551234");
  auto msg = value["messages"].at(0);
  EXPECT_EQ(std::string_view(msg["from"]), "16505551234");
  EXPECT_EQ(std::string_view(msg["id"]), id);
  EXPECT_EQ(std::string_view(msg["type"]), "interactive");
  EXPECT_EQ(std::string_view(msg["interactive"]["button_reply"]["title"]),
            "Yes");
  EXPECT_EQ(std::string_view(msg["context"]["id"]), "wamid.Q");
}

TEST_F(EmulatorTest, FaultsAndCountersAndReset) {
  Start(EmulatorOptions{}, false);
  ASSERT_EQ(Post(Messages(), Text("16505551234")).status, 200);
  ASSERT_EQ(
      Post("/_emulator/faults", R"({"error_rates":{"131000":1.0}})").status,
      200);
  ExpectError(Post(Messages(), Text("16505551234")), 500, 131000);
  ASSERT_EQ(Post("/_emulator/faults", R"({"http_5xx_rate":1.0})").status, 200);
  ExpectError(Post(Messages(), Text("16505551234")), 503, 2);
  ASSERT_EQ(Post("/_emulator/faults", R"({"drop_connection_rate":1.0})").status,
            200);
  EXPECT_EQ(Post(Messages(), Text("16505551234")).status, -1);
  ASSERT_EQ(Post("/_emulator/faults", "{}").status, 200);

  http::ClientResponse c = caller_->Call("GET", "/_emulator/counters");
  ASSERT_EQ(c.status, 200) << c.body;
  auto doc = Parse(c.body);
  EXPECT_EQ(uint64_t(doc["messages"]["accepted"]), 1u);
  EXPECT_EQ(uint64_t(doc["messages"]["accepted_by_number"][kPnid]), 1u);
  EXPECT_EQ(
      uint64_t(
          doc["messages"]["accepted_by_recipient"]["16505551234"]["count"]),
      1u);
  EXPECT_EQ(doc["messages"]["accepted_by_recipient"]["16505551234"]["times_ms"]
                .get_array()
                .size(),
            1u);
  EXPECT_EQ(uint64_t(doc["messages"]["errors_by_code"]["131000"]), 1u);

  ASSERT_EQ(Post("/_emulator/reset", "").status, 200);
  c = caller_->Call("GET", "/_emulator/counters");
  EXPECT_EQ(uint64_t(Parse(c.body)["messages"]["accepted"]), 0u);
}

TEST_F(EmulatorTest, CreatedTemplateIsApprovedLaterWithWebhook) {
  Start();
  http::ClientResponse r = Post(
      absl::StrCat("/v23.0/", kWaba, "/message_templates"),
      R"({"name":"order_update","language":"en_US","category":"UTILITY",)"
      R"("components":[{"type":"BODY","text":"Hi {{1}}, order {{2}} shipped",)"
      R"("example":{"body_text":[["Pablo","42"]]}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Parse(r.body);
  EXPECT_EQ(std::string_view(doc["status"]), "PENDING");
  EXPECT_EQ(std::string_view(doc["category"]), "UTILITY");
  auto hooks = receiver_->WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  auto change = Parse(hooks[0].body)["entry"].at(0)["changes"].at(0);
  EXPECT_EQ(std::string_view(change["field"]),
            "message_template_status_update");
  EXPECT_EQ(std::string_view(change["value"]["event"]), "APPROVED");
  // Now sendable, with exactly two body parameters.
  const std::string send =
      R"({"messaging_product":"whatsapp","to":"16505551234","type":"template",)"
      R"("template":{"name":"order_update","language":{"code":"en_US"},)"
      R"("components":[{"type":"body","parameters":[{"type":"text","text":"A"},)"
      R"({"type":"text","text":"B"}]}]}})";
  EXPECT_EQ(Post(Messages(), send).status, 200);
}

TEST_F(EmulatorTest, PhoneNumbers) {
  Start();
  http::ClientResponse r = caller_->Call("GET", absl::StrCat("/v23.0/", kPnid));
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Parse(r.body);
  EXPECT_EQ(std::string_view(doc["id"]), kPnid);
  EXPECT_EQ(std::string_view(doc["quality_rating"]), "GREEN");
  EXPECT_EQ(doc["throughput"].error(), simdjson::NO_SUCH_FIELD);
  r = caller_->Call(
      "GET", absl::StrCat("/v23.0/", kPnid, "?fields=throughput,name_status"));
  doc = Parse(r.body);
  EXPECT_EQ(std::string_view(doc["throughput"]["level"]), "STANDARD");
  EXPECT_EQ(std::string_view(doc["name_status"]), "APPROVED");
  r = caller_->Call("GET", absl::StrCat("/v23.0/", kWaba, "/phone_numbers"));
  ASSERT_EQ(r.status, 200) << r.body;
  doc = Parse(r.body);
  EXPECT_EQ(doc["data"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(doc["data"].at(0)["platform_type"]), "CLOUD_API");
  EXPECT_TRUE(doc["paging"]["cursors"]["after"].is_string());
}

}  // namespace
}  // namespace wagate::emulator
