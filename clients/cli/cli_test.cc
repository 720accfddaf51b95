#include "clients/cli/cli.h"

#include <cstdio>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/graph/graph_error.h"

namespace wagate::cli {
namespace {

using ::testing::HasSubstr;

SendOptions Base() {
  SendOptions o;
  o.from = "106540352242922";
  o.to = "16505551234";
  return o;
}

TEST(BuildSendRequestTest, Text) {
  SendOptions o = Base();
  o.text = "Hello";
  o.idempotency_key = "k1";
  absl::StatusOr<v1::SendRequest> r = BuildSendRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->phone_number_id(), "106540352242922");
  EXPECT_EQ(r->to(), "16505551234");
  EXPECT_EQ(r->text().body(), "Hello");
  EXPECT_EQ(r->idempotency_key(), "k1");
}

TEST(BuildSendRequestTest, MediaByIdOrLink) {
  SendOptions o = Base();
  o.image = "https://example.com/a.jpg";
  o.caption = "look";
  absl::StatusOr<v1::SendRequest> r = BuildSendRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->image().link(), "https://example.com/a.jpg");
  EXPECT_EQ(r->image().caption(), "look");

  o = Base();
  o.document = "1234567890";
  o.filename = "a.pdf";
  r = BuildSendRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->document().id(), "1234567890");
  EXPECT_EQ(r->document().filename(), "a.pdf");

  o = Base();
  o.audio = "987";
  o.voice = true;
  r = BuildSendRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->audio().voice());
  EXPECT_EQ(r->audio().id(), "987");
}

TEST(BuildSendRequestTest, LocationReactionTemplateButtons) {
  SendOptions o = Base();
  o.has_location = true;
  o.latitude = 52.5;
  o.longitude = 13.4;
  o.location_name = "Berlin";
  absl::StatusOr<v1::SendRequest> r = BuildSendRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->location().latitude(), 52.5);
  EXPECT_EQ(r->location().name(), "Berlin");

  o = Base();
  o.react_to = "wamid.X";
  o.emoji = "👍";
  o.has_reaction = true;
  r = BuildSendRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->reaction().message_id(), "wamid.X");
  EXPECT_EQ(r->reaction().emoji(), "👍");

  o = Base();
  o.template_name = "order_update";
  o.language = "de";
  o.body_params = {"Ada", "42"};
  r = BuildSendRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->template_().name(), "order_update");
  EXPECT_EQ(r->template_().language().code(), "de");
  ASSERT_EQ(r->template_().components_size(), 1);
  EXPECT_EQ(r->template_().components(0).type(),
            v1::TemplateComponent::TYPE_BODY);
  ASSERT_EQ(r->template_().components(0).parameters_size(), 2);
  EXPECT_EQ(r->template_().components(0).parameters(1).text(), "42");

  o = Base();
  o.buttons = {"yes:Yes please", "no"};
  o.body = "Confirm?";
  o.footer = "reply below";
  r = BuildSendRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::Interactive& i = r->interactive();
  EXPECT_EQ(i.body().text(), "Confirm?");
  EXPECT_EQ(i.footer().text(), "reply below");
  ASSERT_EQ(i.button().buttons_size(), 2);
  EXPECT_EQ(i.button().buttons(0).id(), "yes");
  EXPECT_EQ(i.button().buttons(0).title(), "Yes please");
  EXPECT_EQ(i.button().buttons(1).id(), "no");
  EXPECT_EQ(i.button().buttons(1).title(), "no");
}

TEST(BuildSendRequestTest, RejectsMissingOrConflictingContent) {
  SendOptions o = Base();
  EXPECT_THAT(BuildSendRequest(o).status().message(),
              HasSubstr("nothing to send"));
  o.text = "a";
  o.image = "1";
  EXPECT_THAT(BuildSendRequest(o).status().message(), HasSubstr("only one"));
  o = Base();
  o.text = "a";
  o.from.clear();
  EXPECT_THAT(BuildSendRequest(o).status().message(), HasSubstr("--from"));
  o = Base();
  o.buttons = {"a"};
  EXPECT_THAT(BuildSendRequest(o).status().message(), HasSubstr("--body"));
  o = Base();
  o.body_params = {"x"};
  o.text = "a";
  EXPECT_THAT(BuildSendRequest(o).status().message(), HasSubstr("--template"));
}

TEST(BuildSendRequestTest, JsonFileWithFlagsFillingGaps) {
  std::string path = ::testing::TempDir() + "/send_request.json";
  {
    std::ofstream f(path);
    f << R"({"to":"15550001111","text":{"body":"from json"},)"
      << R"("biz_opaque_callback_data":"x"})";
  }
  SendOptions o;
  o.json_file = path;
  o.from = "106540352242922";
  absl::StatusOr<v1::SendRequest> r = BuildSendRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->phone_number_id(), "106540352242922");
  EXPECT_EQ(r->to(), "15550001111");
  EXPECT_EQ(r->text().body(), "from json");
  EXPECT_EQ(r->biz_opaque_callback_data(), "x");

  {
    std::ofstream f(path);
    f << R"({"text":{"bodyy":"typo"}})";
  }
  EXPECT_EQ(BuildSendRequest(o).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::remove(path.c_str());
}

TEST(BuildCreateTemplateRequestTest, Components) {
  absl::StatusOr<v1::CreateTemplateRequest> r = BuildCreateTemplateRequest(
      "waba", "order_update", "en_US", "utility", "Order", "Hi {{1}}", "Bye");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->category(), v1::TEMPLATE_CATEGORY_UTILITY);
  ASSERT_EQ(r->components_size(), 3);
  EXPECT_EQ(r->components(0).type(),
            v1::TemplateComponentDefinition::TYPE_HEADER);
  EXPECT_EQ(r->components(1).text(), "Hi {{1}}");
  EXPECT_EQ(r->components(2).type(),
            v1::TemplateComponentDefinition::TYPE_FOOTER);
  EXPECT_FALSE(
      BuildCreateTemplateRequest("w", "n", "en", "spam", "", "b", "").ok());
}

TEST(ParseEventKindTest, ShortAndFullNames) {
  EXPECT_EQ(*ParseEventKind("status"), v1::EVENT_KIND_STATUS);
  EXPECT_EQ(*ParseEventKind("EVENT_KIND_MESSAGE"), v1::EVENT_KIND_MESSAGE);
  EXPECT_FALSE(ParseEventKind("bogus").ok());
  EXPECT_FALSE(ParseEventKind("unspecified").ok());
}

TEST(DescribeErrorTest, DecodesGraphErrorDetail) {
  v1::GraphError e;
  e.set_code(130429);
  e.set_error_subcode(2494055);
  e.set_type("OAuthException");
  e.set_fbtrace_id("AbC123");
  e.set_details("Rate limit hit");
  e.set_http_status(400);
  e.mutable_retry_delay()->set_seconds(1);
  e.mutable_retry_delay()->set_nanos(500000000);
  grpc::Status status(grpc::RESOURCE_EXHAUSTED, "Graph error 130429",
                      graph::EncodeStatusDetails(grpc::RESOURCE_EXHAUSTED,
                                                 "Graph error 130429", e));
  std::string text = DescribeError(status);
  EXPECT_THAT(text, HasSubstr("error: RESOURCE_EXHAUSTED: Graph error 130429"));
  EXPECT_THAT(text, HasSubstr("graph_error: code=130429 subcode=2494055 "
                              "type=OAuthException http_status=400 "
                              "fbtrace_id=AbC123"));
  EXPECT_THAT(text, HasSubstr("details: Rate limit hit"));
  EXPECT_THAT(text, HasSubstr("retry_delay: 1.500s"));

  EXPECT_EQ(DescribeError(grpc::Status(grpc::UNAVAILABLE, "down")),
            "error: UNAVAILABLE: down\n");
}

TEST(EventSummaryTest, StatusLine) {
  v1::Event event;
  event.set_cursor("e1");
  event.set_phone_number_id("106");
  event.mutable_received_at()->set_seconds(1700000000);
  event.mutable_status()->set_message_id("wamid.A");
  event.mutable_status()->set_status(v1::MessageStatus::STATUS_DELIVERED);
  event.mutable_status()->set_recipient_id("1650");
  EXPECT_EQ(EventSummary(event),
            "e1  2023-11-14T22:13:20Z  status  106  delivered wamid.A to 1650");
  EXPECT_THAT(ToJson(event), HasSubstr(R"("message_id":"wamid.A")"));
}

}  // namespace
}  // namespace wagate::cli
