// The control API and webhook behaviours it drives: events, duplicate and
// out-of-order deliveries, batching, added latency, throughput upgrade.
#include <string>

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
using testing::kWaba;
using testing::Str;

std::string Messages() { return absl::StrCat("/v23.0/", kPnid, "/messages"); }
std::string Text(const std::string& to) {
  return absl::StrCat(R"({"messaging_product":"whatsapp","to":")", to,
                      R"(","text":{"body":"hi"}})");
}

using ControlTest = EmulatorTest;

TEST_F(ControlTest, RawEventIsPostedVerbatimInTheEnvelope) {
  Start();
  http::ClientResponse r =
      Post("/_emulator/events",
           R"({"field":"account_update","value":{"event":"ACCOUNT_VIOLATION",)"
           R"("violation_info":{"violation_type":"ADULT"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto hooks = receiver_->WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_TRUE(common::VerifySignatureHeader(kSecret, hooks[0].body,
                                            hooks[0].signature));
  auto entry = Parse(hooks[0].body)["entry"].at(0);
  EXPECT_EQ(Str(entry["id"]), kWaba);
  EXPECT_EQ(Str(entry["changes"].at(0)["field"]), "account_update");
  EXPECT_EQ(
      Str(entry["changes"].at(0)["value"]["violation_info"]["violation_type"]),
      "ADULT");
  EXPECT_EQ(Post("/_emulator/events", R"({"value":{}})").status, 400);
}

TEST_F(ControlTest, TemplateStatusEventChangesTheTemplate) {
  Start();
  ASSERT_EQ(Post("/_emulator/template_status",
                 R"({"name":"hello_world","language":"en_US",)"
                 R"("event":"PAUSED","reason":"NONE"})")
                .status,
            200);
  auto hooks = receiver_->WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  auto value = Parse(hooks[0].body)["entry"].at(0)["changes"].at(0)["value"];
  EXPECT_EQ(Str(value["event"]), "PAUSED");
  EXPECT_EQ(Str(value["message_template_name"]), "hello_world");
  EXPECT_TRUE(value["message_template_id"].is_int64());
  const std::string hello =
      R"({"messaging_product":"whatsapp","to":"16505551234","type":"template",)"
      R"("template":{"name":"hello_world","language":{"code":"en_US"}}})";
  ExpectError(Post(Messages(), hello), 400, 132015);
  ASSERT_EQ(Post("/_emulator/template_status",
                 R"({"name":"hello_world","event":"REINSTATED"})")
                .status,
            200);
  EXPECT_EQ(Post(Messages(), hello).status, 200);
  EXPECT_EQ(
      Post("/_emulator/template_status", R"({"name":"nope","event":"PAUSED"})")
          .status,
      404);
}

TEST_F(ControlTest, ThroughputUpgrade) {
  EmulatorOptions options;
  options.throughput_mps = 1;
  Start(options);
  ASSERT_EQ(Post(Messages(), Text("16505550001")).status, 200);
  ExpectError(Post(Messages(), Text("16505550002")), 400, 130429);
  ASSERT_EQ(Post("/_emulator/phone_number_quality",
                 R"({"event":"THROUGHPUT_UPGRADE"})")
                .status,
            200);
  EXPECT_EQ(Post(Messages(), Text("16505550003")).status, 200);
  http::ClientResponse r = caller_->Call(
      "GET", absl::StrCat("/v23.0/", kPnid, "?fields=throughput"));
  EXPECT_EQ(Str(Parse(r.body)["throughput"]["level"]), "HIGH");
  // The quality webhook is among the posts (with the statuses).
  bool found = false;
  for (int i = 0; i < 50 && !found; ++i) {
    for (const auto& h : receiver_->WaitFor(7, absl::Milliseconds(100))) {
      if (h.body.find("phone_number_quality_update") != std::string::npos) {
        found = true;
        EXPECT_THAT(h.body, HasSubstr(R"("event":"THROUGHPUT_UPGRADE")"));
        EXPECT_THAT(h.body, HasSubstr(R"("current_limit":"TIER_UNLIMITED")"));
      }
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ControlTest, DuplicateWebhooks) {
  Start();
  ASSERT_EQ(
      Post("/_emulator/faults", R"({"webhook_duplicate_rate":1.0})").status,
      200);
  ASSERT_EQ(Post(Messages(), Text("16505551234")).status, 200);
  auto hooks = receiver_->WaitFor(6);
  ASSERT_EQ(hooks.size(), 6u);
  int sent = 0;
  for (const auto& h : hooks) {
    sent += h.body.find(R"("status":"sent")") != std::string::npos;
  }
  EXPECT_EQ(sent, 2);
  EXPECT_EQ(WaitIdle().duplicated, 3u);
}

TEST_F(ControlTest, OutOfOrderWebhooks) {
  Start();
  ASSERT_EQ(
      Post("/_emulator/faults", R"({"webhook_out_of_order_rate":1.0})").status,
      200);
  ASSERT_EQ(Post(Messages(), Text("16505551234")).status, 200);
  auto hooks = receiver_->WaitFor(3);
  ASSERT_EQ(hooks.size(), 3u);
  EXPECT_THAT(hooks[0].body, HasSubstr(R"("status":"delivered")"));
  EXPECT_THAT(hooks[1].body, HasSubstr(R"("status":"sent")"));
}

TEST_F(ControlTest, AddedLatencyAndFaultsReadBack) {
  Start(EmulatorOptions{}, false);
  ASSERT_EQ(Post("/_emulator/faults",
                 R"({"added_latency_ms":30,"error_rates":{"131056":0.5}})")
                .status,
            200);
  http::ClientResponse r = caller_->Call("GET", "/_emulator/faults");
  auto doc = Parse(r.body);
  EXPECT_EQ(double(doc["added_latency_ms"]), 30.0);
  EXPECT_EQ(double(doc["error_rates"]["131056"]), 0.5);
  r = Post(Messages(), Text("16505551234"));
  // Delayed, not refused: at least the added latency passed.
  EXPECT_TRUE(r.status == 200 || r.status == 400);
  EXPECT_GE(r.elapsed, absl::Milliseconds(30));
  EXPECT_EQ(Post("/_emulator/faults", R"({"error_rates":{"x":1}})").status,
            400);
}

TEST_F(ControlTest, WebhookBodiesAreAsciiLikeMetas) {
  Start();
  ASSERT_EQ(Post("/_emulator/inbound",
                 "{\"from\":\"16505551234\",\"name\":\"Jos\xc3\xa9\","
                 "\"text\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}")
                .status,
            200);
  auto hooks = receiver_->WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  for (char c : hooks[0].body) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  EXPECT_THAT(hooks[0].body, HasSubstr(R"("name":"Jos\u00e9")"));
  EXPECT_THAT(hooks[0].body, HasSubstr(R"("body":"caf\u00e9 \ud83d\ude00")"));
  EXPECT_TRUE(common::VerifySignatureHeader(kSecret, hooks[0].body,
                                            hooks[0].signature));
  // simdjson decodes the escapes back to the UTF-8 text.
  EXPECT_EQ(Str(Parse(hooks[0].body)["entry"]
                    .at(0)["changes"]
                    .at(0)["value"]["messages"]
                    .at(0)["text"]["body"]),
            "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST_F(ControlTest, UnknownRouteAndBadBody) {
  Start(EmulatorOptions{}, false);
  EXPECT_EQ(Post("/_emulator/nope", "{}").status, 404);
  EXPECT_EQ(Post("/_emulator/inbound", "not json").status, 400);
  EXPECT_EQ(Post("/_emulator/inbound", R"({"text":"no sender"})").status, 400);
}

class BatchingTest : public EmulatorTest {};

TEST_F(BatchingTest, SeveralChangesPerPost) {
  EmulatorOptions options;
  options.webhook_batch = 10;
  options.webhook_concurrency = 1;
  options.read_probability = 0;
  options.delivered_probability = 0;
  Start(options);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Post(Messages(), Text(absl::StrCat("165055500", 10 + i))).status,
              200);
  }
  WebhookStats s = WaitIdle();
  EXPECT_EQ(s.changes, 20u);
  EXPECT_LT(s.posted, 20u);  // at least one POST carried several changes
  size_t changes = 0;
  for (const auto& h : receiver_->received()) {
    EXPECT_TRUE(common::VerifySignatureHeader(kSecret, h.body, h.signature));
    changes += Parse(h.body)["entry"].at(0)["changes"].get_array().size();
  }
  EXPECT_EQ(changes, 20u);
}

}  // namespace
}  // namespace wagate::emulator
