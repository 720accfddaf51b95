// Templates over gRPC against the emulator (typed answers, approval, paging,
// errors) and a recording fake Graph (exact method, path, query and body).
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "service/graph/graph_error.h"
#include "tests/integration/resources_harness.h"
#include "wagate/v1/templates.grpc.pb.h"

namespace wagate::resources::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message));
  return message;
}

v1::CreateTemplateRequest NewTemplate(const std::string& name) {
  auto r = Parse<v1::CreateTemplateRequest>(R"pb(
    language: "en_US"
    category: TEMPLATE_CATEGORY_UTILITY
    components {
      type: TYPE_BODY
      text: "Order {{1}} shipped"
      example { body_text { values: "42" } }
    }
    components { type: TYPE_FOOTER text: "Thanks" }
    components {
      type: TYPE_BUTTONS
      buttons { type: TYPE_QUICK_REPLY text: "OK" }
    }
  )pb");
  r.set_waba_id(kWaba);
  r.set_name(name);
  return r;
}

TEST(ResourcesTemplatesTest, CreatedTemplateBecomesApprovedInTheEmulator) {
  ResourcesHarness h;
  auto stub = v1::Templates::NewStub(h.channel());
  grpc::ClientContext c1;
  v1::CreateTemplateResponse created;
  grpc::Status s =
      stub->CreateTemplate(&c1, NewTemplate("order_shipped"), &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.status(), "PENDING");
  EXPECT_EQ(created.category(), "UTILITY");

  // Approval comes after the emulator's delay (300 ms here).
  std::string status;
  v1::GetTemplateResponse got;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    grpc::ClientContext c;
    v1::GetTemplateRequest get;
    get.set_template_id(created.id());
    ASSERT_TRUE(stub->GetTemplate(&c, get, &got).ok());
    status = got.template_().status();
    if (status == "APPROVED") break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(status, "APPROVED");
  const v1::Template& t = got.template_();
  EXPECT_EQ(t.id(), created.id());
  EXPECT_EQ(t.name(), "order_shipped");
  EXPECT_EQ(t.language(), "en_US");
  EXPECT_EQ(t.category(), "UTILITY");
  EXPECT_EQ(t.parameter_format(), v1::PARAMETER_FORMAT_POSITIONAL);
  ASSERT_EQ(t.components_size(), 3);
  EXPECT_EQ(t.components(0).type(), v1::TemplateComponentDefinition::TYPE_BODY);
  EXPECT_EQ(t.components(0).text(), "Order {{1}} shipped");
  EXPECT_EQ(t.components(0).example().body_text(0).values(0), "42");
  EXPECT_EQ(t.components(2).buttons(0).type(),
            v1::TemplateButtonDefinition::TYPE_QUICK_REPLY);
}

// Polls GetTemplate until the emulator approves `id` (its 300 ms delay).
v1::Template WaitApproved(v1::Templates::Stub* stub, const std::string& id) {
  v1::GetTemplateResponse got;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    grpc::ClientContext c;
    v1::GetTemplateRequest get;
    get.set_template_id(id);
    EXPECT_TRUE(stub->GetTemplate(&c, get, &got).ok());
    if (got.template_().status() == "APPROVED") break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return got.template_();
}

// The names ListTemplates returns for `filter` (waba_id set here).
std::vector<std::string> Names(v1::Templates::Stub* stub,
                               v1::ListTemplatesRequest filter,
                               std::vector<std::string>* statuses = nullptr) {
  grpc::ClientContext c;
  filter.set_waba_id(kWaba);
  v1::ListTemplatesResponse page;
  grpc::Status s = stub->ListTemplates(&c, filter, &page);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> names;
  for (const auto& t : page.templates()) {
    names.push_back(t.name());
    if (statuses != nullptr) statuses->push_back(t.status());
  }
  return names;
}

TEST(ResourcesTemplatesTest, FiltersUpdatesAndDeletesInTheEmulator) {
  ResourcesHarness h;
  auto stub = v1::Templates::NewStub(h.channel());
  auto promo = Parse<v1::CreateTemplateRequest>(R"pb(
    language: "de"
    category: TEMPLATE_CATEGORY_MARKETING
    parameter_format: PARAMETER_FORMAT_NAMED
    components {
      type: TYPE_BODY
      text: "Hallo {{first_name}}"
      example {
        body_text_named_params { param_name: "first_name" example: "Eva" }
      }
    }
  )pb");
  promo.set_waba_id(kWaba);
  promo.set_name("promo_de");
  v1::CreateTemplateResponse promo_created, notice_created;
  {
    grpc::ClientContext c;
    grpc::Status s = stub->CreateTemplate(&c, promo, &promo_created);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(promo_created.category(), "MARKETING");
  }
  {
    grpc::ClientContext c;
    ASSERT_TRUE(
        stub->CreateTemplate(&c, NewTemplate("notice_en"), &notice_created)
            .ok());
  }

  // Each filter reaches Graph: category, language, name, status.
  v1::ListTemplatesRequest f;
  f.set_category(v1::TEMPLATE_CATEGORY_MARKETING);
  EXPECT_THAT(Names(stub.get(), f), ElementsAre("promo_de"));
  f.Clear();
  f.set_language("de");
  EXPECT_THAT(Names(stub.get(), f), ElementsAre("promo_de"));
  f.Clear();
  f.set_category(v1::TEMPLATE_CATEGORY_UTILITY);
  EXPECT_THAT(Names(stub.get(), f),
              ::testing::UnorderedElementsAre("hello_world", "notice_en"));
  f.Clear();
  f.set_name("notice");
  EXPECT_THAT(Names(stub.get(), f), ElementsAre("notice_en"));
  f.Clear();
  f.set_status("APPROVED");
  std::vector<std::string> statuses;
  EXPECT_THAT(Names(stub.get(), f, &statuses),
              ::testing::Contains("hello_world"));
  EXPECT_THAT(statuses, ::testing::Each("APPROVED"));

  // The typed template comes back: named parameters and their samples.
  v1::Template t = WaitApproved(stub.get(), promo_created.id());
  EXPECT_EQ(t.status(), "APPROVED");
  EXPECT_EQ(t.language(), "de");
  EXPECT_EQ(t.parameter_format(), v1::PARAMETER_FORMAT_NAMED);
  ASSERT_EQ(t.components_size(), 1);
  ASSERT_EQ(t.components(0).example().body_text_named_params_size(), 1);
  EXPECT_EQ(t.components(0).example().body_text_named_params(0).example(),
            "Eva");

  // Edit the approved template's components; its category stays fixed.
  EXPECT_EQ(WaitApproved(stub.get(), notice_created.id()).status(), "APPROVED");
  {
    grpc::ClientContext c;
    v1::UpdateTemplateRequest u;
    u.set_template_id(notice_created.id());
    auto* body = u.add_components();
    body->set_type(v1::TemplateComponentDefinition::TYPE_BODY);
    body->set_text("Your order {{1}} is on its way");
    body->mutable_example()->add_body_text()->add_values("42");
    v1::UpdateTemplateResponse out;
    grpc::Status s = stub->UpdateTemplate(&c, u, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(out.success());
  }
  t = WaitApproved(stub.get(), notice_created.id());
  ASSERT_EQ(t.components_size(), 1);
  EXPECT_EQ(t.components(0).text(), "Your order {{1}} is on its way");
  {
    grpc::ClientContext c;
    v1::UpdateTemplateRequest u;
    u.set_template_id(notice_created.id());
    u.set_category(v1::TEMPLATE_CATEGORY_MARKETING);
    v1::UpdateTemplateResponse out;
    grpc::Status s = stub->UpdateTemplate(&c, u, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    auto e = graph::GraphErrorFromGrpcStatus(s);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code(), 100);
    EXPECT_THAT(e->details(), HasSubstr("category"));
  }

  // Delete one version by name and id: only that one goes.
  {
    grpc::ClientContext c;
    v1::DeleteTemplateRequest d;
    d.set_waba_id(kWaba);
    d.set_name("notice_en");
    d.set_template_id(notice_created.id());
    v1::DeleteTemplateResponse out;
    grpc::Status s = stub->DeleteTemplate(&c, d, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(out.success());
  }
  f.Clear();
  f.set_category(v1::TEMPLATE_CATEGORY_UTILITY);
  EXPECT_THAT(Names(stub.get(), f), ElementsAre("hello_world"));
}

TEST(ResourcesTemplatesTest, ListsFilterAndPageThroughTheEmulator) {
  ResourcesHarness h;
  auto stub = v1::Templates::NewStub(h.channel());
  for (const char* name : {"promo_a", "promo_b", "promo_c"}) {
    grpc::ClientContext c;
    v1::CreateTemplateResponse r;
    ASSERT_TRUE(stub->CreateTemplate(&c, NewTemplate(name), &r).ok());
  }
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext c;
    v1::ListTemplatesRequest list;
    list.set_waba_id(kWaba);
    list.set_name("promo");
    list.set_page_size(2);
    list.set_page_token(token);
    v1::ListTemplatesResponse page;
    grpc::Status s = stub->ListTemplates(&c, list, &page);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LE(page.templates_size(), 2);
    for (const auto& t : page.templates()) names.push_back(t.name());
    token = page.next_page_token();
    ASSERT_LT(++pages, 5);
  } while (!token.empty());
  EXPECT_EQ(pages, 2);
  EXPECT_THAT(names,
              ::testing::UnorderedElementsAre("promo_a", "promo_b", "promo_c"));

  // Delete by name: gone afterwards.
  grpc::ClientContext c;
  v1::DeleteTemplateRequest del;
  del.set_waba_id(kWaba);
  del.set_name("promo_b");
  v1::DeleteTemplateResponse deleted;
  ASSERT_TRUE(stub->DeleteTemplate(&c, del, &deleted).ok());
  EXPECT_TRUE(deleted.success());
  grpc::ClientContext c2;
  v1::ListTemplatesRequest list;
  list.set_waba_id(kWaba);
  list.set_name("promo_b");
  v1::ListTemplatesResponse after;
  ASSERT_TRUE(stub->ListTemplates(&c2, list, &after).ok());
  EXPECT_EQ(after.templates_size(), 0);
}

TEST(ResourcesTemplatesTest, EmulatorErrorsAreMappedWithDetails) {
  ResourcesHarness h;
  auto stub = v1::Templates::NewStub(h.channel());
  grpc::ClientContext c;
  v1::GetTemplateRequest get;
  get.set_template_id("999999999");
  v1::GetTemplateResponse r;
  grpc::Status s = stub->GetTemplate(&c, get, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  auto e = graph::GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), 100);
  EXPECT_EQ(e->error_subcode(), 33);
  EXPECT_FALSE(e->fbtrace_id().empty());

  // Deleting a name that does not exist.
  grpc::ClientContext c2;
  v1::DeleteTemplateRequest del;
  del.set_waba_id(kWaba);
  del.set_name("no_such_template");
  v1::DeleteTemplateResponse d;
  s = stub->DeleteTemplate(&c2, del, &d);
  EXPECT_FALSE(s.ok());
  ASSERT_TRUE(graph::GraphErrorFromGrpcStatus(s).has_value());
}

TEST(ResourcesTemplatesTest, RequestsReachGraphExactly) {
  ResourcesHarness h({.target = Target::kFake});
  const std::string list_path =
      absl::StrCat("/v24.0/", kWaba, "/message_templates");
  h.fake().Answer("GET", list_path, 200, R"({"data":[{"id":"1","name":"a",
      "language":"en","status":"APPROVED","category":"MARKETING",
      "sub_category":"CUSTOM","previous_category":"UTILITY",
      "quality_score":{"score":"GREEN","date":1700000000},
      "rejected_reason":"NONE","parameter_format":"NAMED",
      "message_send_ttl_seconds":43200,
      "components":[{"type":"BODY","text":"x"}]}],
      "paging":{"cursors":{"before":"B1","after":"A1"},"next":"https://n",
                 "previous":"https://p"}})");
  h.fake().Answer("POST", list_path, 200,
                  R"({"id":"77","status":"PENDING","category":"UTILITY"})");
  h.fake().Answer("DELETE", list_path, 200, R"({"success":true})");
  h.fake().Answer("POST", "/v24.0/77", 200, R"({"success":true})");
  h.fake().Answer("GET", "/v24.0/77", 200, R"({"id":"77","name":"n"})");
  auto stub = v1::Templates::NewStub(h.channel());

  {
    grpc::ClientContext c;
    v1::ListTemplatesRequest list;
    list.set_waba_id(kWaba);
    list.set_name("a");
    list.set_status("APPROVED");
    list.set_category(v1::TEMPLATE_CATEGORY_MARKETING);
    list.set_language("en");
    list.set_page_size(5);
    list.set_page_token("CUR");
    v1::ListTemplatesResponse r;
    ASSERT_TRUE(stub->ListTemplates(&c, list, &r).ok());
    ASSERT_EQ(r.templates_size(), 1);
    const v1::Template& t = r.templates(0);
    EXPECT_EQ(t.sub_category(), "CUSTOM");
    EXPECT_EQ(t.previous_category(), "UTILITY");
    EXPECT_EQ(t.quality_score().score(), "GREEN");
    EXPECT_EQ(t.quality_score().date(), 1700000000);
    EXPECT_EQ(t.rejected_reason(), "NONE");
    EXPECT_EQ(t.parameter_format(), v1::PARAMETER_FORMAT_NAMED);
    EXPECT_EQ(t.message_send_ttl_seconds(), 43200);
    EXPECT_EQ(r.next_page_token(), "A1");
    EXPECT_EQ(r.previous_page_token(), "before:B1");
  }
  {
    // The previous page: Graph's `before` cursor.
    grpc::ClientContext c;
    v1::ListTemplatesRequest list;
    list.set_waba_id(kWaba);
    list.set_page_token("before:B1");
    v1::ListTemplatesResponse r;
    ASSERT_TRUE(stub->ListTemplates(&c, list, &r).ok());
  }
  {
    grpc::ClientContext c;
    v1::CreateTemplateResponse r;
    ASSERT_TRUE(stub->CreateTemplate(&c, NewTemplate("n"), &r).ok());
    EXPECT_EQ(r.id(), "77");
  }
  {
    grpc::ClientContext c;
    v1::UpdateTemplateRequest u;
    u.set_template_id("77");
    u.set_category(v1::TEMPLATE_CATEGORY_MARKETING);
    u.set_message_send_ttl_seconds(86400);
    v1::UpdateTemplateResponse r;
    ASSERT_TRUE(stub->UpdateTemplate(&c, u, &r).ok());
    EXPECT_TRUE(r.success());
  }
  {
    grpc::ClientContext c;
    v1::GetTemplateRequest g;
    g.set_template_id("77");
    v1::GetTemplateResponse r;
    ASSERT_TRUE(stub->GetTemplate(&c, g, &r).ok());
    EXPECT_EQ(r.template_().name(), "n");
  }
  {
    grpc::ClientContext c;
    v1::DeleteTemplateRequest d;
    d.set_waba_id(kWaba);
    d.set_name("n");
    d.set_template_id("77");
    v1::DeleteTemplateResponse r;
    ASSERT_TRUE(stub->DeleteTemplate(&c, d, &r).ok());
  }

  std::vector<http::Request> requests = h.fake().requests();
  ASSERT_EQ(requests.size(), 6u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.Header("Authorization"), absl::StrCat("Bearer ", kToken));
  }
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, list_path);
  EXPECT_THAT(requests[0].query,
              ElementsAre(Pair("fields", kTemplateFields), Pair("name", "a"),
                          Pair("status", "APPROVED"),
                          Pair("category", "MARKETING"), Pair("language", "en"),
                          Pair("limit", "5"), Pair("after", "CUR")));
  EXPECT_THAT(requests[1].query, ElementsAre(Pair("fields", kTemplateFields),
                                             Pair("before", "B1")));
  requests.erase(requests.begin() + 1);  // the rest as before
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].path, list_path);
  EXPECT_EQ(requests[1].Header("Content-Type"), "application/json");
  EXPECT_EQ(
      requests[1].body,
      R"({"name":"n","language":"en_US","category":"UTILITY",)"
      R"("components":[{"type":"BODY","text":"Order {{1}} shipped",)"
      R"("example":{"body_text":[["42"]]}},{"type":"FOOTER","text":"Thanks"},)"
      R"({"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"OK"}]}]})");
  EXPECT_EQ(requests[2].method, "POST");
  EXPECT_EQ(requests[2].path, "/v24.0/77");
  EXPECT_EQ(requests[2].body,
            R"({"category":"MARKETING","message_send_ttl_seconds":86400})");
  EXPECT_EQ(requests[3].method, "GET");
  EXPECT_EQ(requests[3].path, "/v24.0/77");
  EXPECT_THAT(requests[3].query, ElementsAre(Pair("fields", kTemplateFields)));
  EXPECT_EQ(requests[4].method, "DELETE");
  EXPECT_EQ(requests[4].path, list_path);
  EXPECT_THAT(requests[4].query,
              ElementsAre(Pair("name", "n"), Pair("hsm_id", "77")));
}

// A template id of one WABA named with another WABA's id is refused before
// anything is read or changed: one token may reach both (issue 14).
TEST(ResourcesTemplatesTest, TemplateOfAnotherWabaIsRefusedBeforeActing) {
  ResourcesHarness h({.target = Target::kFake});
  // Template 555 is "promo", but the WABA's templates named "promo" are
  // 556 and 557: 555 belongs elsewhere.
  h.fake().Answer("GET", "/v24.0/555", 200, R"({"id":"555","name":"promo"})");
  h.fake().Answer("GET", absl::StrCat("/v24.0/", kWaba, "/message_templates"),
                  200, R"({"data":[{"id":"556","name":"promo"},
                                   {"id":"557","name":"promo"}]})");
  auto stub = v1::Templates::NewStub(h.channel());
  auto expect_denied = [](const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("template_id 555"));
    EXPECT_THAT(s.error_message(), HasSubstr(kWaba));
  };
  {
    grpc::ClientContext c;
    v1::GetTemplateRequest r;
    r.set_waba_id(kWaba);
    r.set_template_id("555");
    v1::GetTemplateResponse out;
    expect_denied(stub->GetTemplate(&c, r, &out));
    EXPECT_FALSE(out.has_template_());
  }
  {
    grpc::ClientContext c;
    v1::UpdateTemplateRequest r;
    r.set_waba_id(kWaba);
    r.set_template_id("555");
    r.set_category(v1::TEMPLATE_CATEGORY_MARKETING);
    v1::UpdateTemplateResponse out;
    expect_denied(stub->UpdateTemplate(&c, r, &out));
  }
  {
    grpc::ClientContext c;
    v1::DeleteTemplateRequest r;
    r.set_waba_id(kWaba);
    r.set_name("promo");
    r.set_template_id("555");
    v1::DeleteTemplateResponse out;
    expect_denied(stub->DeleteTemplate(&c, r, &out));
  }
  // Only the two verification reads (the template's name, then the WABA's
  // templates of that name) ever went out: no full read, no POST, no
  // DELETE.
  for (const http::Request& r : h.fake().requests()) {
    EXPECT_EQ(r.method, "GET") << r.path;
    if (r.path == "/v24.0/555") {
      EXPECT_THAT(r.query, ElementsAre(Pair("fields", "id,name")));
    } else {
      EXPECT_THAT(r.query, ElementsAre(Pair("name", "promo"),
                                       Pair("fields", "id,name"),
                                       Pair("limit", "100")));
    }
  }
}

TEST(ResourcesTemplatesTest, TemplateOfTheWabaIsVerifiedOnceThenRemembered) {
  ResourcesHarness h({.target = Target::kFake});
  const std::string list_path =
      absl::StrCat("/v24.0/", kWaba, "/message_templates");
  h.fake().Answer("GET", "/v24.0/556", 200, R"({"id":"556","name":"promo"})");
  h.fake().Answer("GET", list_path, 200,
                  R"({"data":[{"id":"557","name":"promo"},
                              {"id":"556","name":"promo"}]})");
  h.fake().Answer("POST", "/v24.0/556", 200, R"({"success":true})");
  auto stub = v1::Templates::NewStub(h.channel());
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext c;
    v1::UpdateTemplateRequest r;
    r.set_waba_id(kWaba);
    r.set_template_id("556");
    r.set_category(v1::TEMPLATE_CATEGORY_MARKETING);
    v1::UpdateTemplateResponse out;
    grpc::Status s = stub->UpdateTemplate(&c, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(out.success());
  }
  int name_reads = 0, list_reads = 0, updates = 0;
  for (const http::Request& r : h.fake().requests()) {
    if (r.method == "GET" && r.path == "/v24.0/556") ++name_reads;
    if (r.method == "GET" && r.path == list_path) ++list_reads;
    if (r.method == "POST" && r.path == "/v24.0/556") ++updates;
  }
  EXPECT_EQ(name_reads, 1);  // verified once...
  EXPECT_EQ(list_reads, 1);
  EXPECT_EQ(updates, 2);  // ...then remembered
}

TEST(ResourcesTemplatesTest, ListedAndCreatedTemplatesNeedNoVerification) {
  ResourcesHarness h({.target = Target::kFake});
  const std::string list_path =
      absl::StrCat("/v24.0/", kWaba, "/message_templates");
  h.fake().Answer("GET", list_path, 200,
                  R"({"data":[{"id":"61","name":"a","status":"APPROVED"}]})");
  h.fake().Answer("POST", list_path, 200,
                  R"({"id":"62","status":"PENDING","category":"UTILITY"})");
  h.fake().Answer("GET", "/v24.0/61", 200, R"({"id":"61","name":"a"})");
  h.fake().Answer("GET", "/v24.0/62", 200, R"({"id":"62","name":"n"})");
  auto stub = v1::Templates::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::ListTemplatesRequest r;
    r.set_waba_id(kWaba);
    v1::ListTemplatesResponse out;
    ASSERT_TRUE(stub->ListTemplates(&c, r, &out).ok());
  }
  {
    grpc::ClientContext c;
    v1::CreateTemplateResponse out;
    ASSERT_TRUE(stub->CreateTemplate(&c, NewTemplate("n"), &out).ok());
  }
  for (const char* id : {"61", "62"}) {
    grpc::ClientContext c;
    v1::GetTemplateRequest r;
    r.set_waba_id(kWaba);
    r.set_template_id(id);
    v1::GetTemplateResponse out;
    ASSERT_TRUE(stub->GetTemplate(&c, r, &out).ok()) << id;
  }
  std::vector<http::Request> requests = h.fake().requests();
  ASSERT_EQ(requests.size(), 4u);  // list, create, two full reads
  for (int i : {2, 3}) {
    EXPECT_THAT(requests[i].query,
                ElementsAre(Pair("fields", kTemplateFields)));
  }
}

// The emulator's template, named with a WABA the emulator does not hold
// (one token, single account): Graph cannot show it belongs there.
TEST(ResourcesTemplatesTest, EmulatorTemplateUnderAnotherWabaIsRefused) {
  ResourcesHarness h;
  auto stub = v1::Templates::NewStub(h.channel());
  grpc::ClientContext c;
  v1::GetTemplateRequest r;
  r.set_waba_id("222222");
  r.set_template_id("1234567890123456");  // the emulator's hello_world
  v1::GetTemplateResponse out;
  grpc::Status s = stub->GetTemplate(&c, r, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << s.error_message();
  EXPECT_FALSE(out.has_template_());
  // Under its own WABA it is served.
  grpc::ClientContext c2;
  r.set_waba_id(kWaba);
  s = stub->GetTemplate(&c2, r, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.template_().name(), "hello_world");
}

TEST(ResourcesTemplatesTest, InvalidRequestsNeverReachGraph) {
  ResourcesHarness h({.target = Target::kFake});
  auto stub = v1::Templates::NewStub(h.channel());
  auto bad = NewTemplate("Bad-Name");
  grpc::ClientContext c;
  v1::CreateTemplateResponse r;
  grpc::Status s = stub->CreateTemplate(&c, bad, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("name: only lowercase"));
  auto e = graph::GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), 0);
  EXPECT_THAT(e->details(), HasSubstr("name"));

  auto too_many = NewTemplate("ok_name");
  auto* buttons = too_many.mutable_components(2);
  while (buttons->buttons_size() < 11) {
    *buttons->add_buttons() = buttons->buttons(0);
  }
  grpc::ClientContext c2;
  s = stub->CreateTemplate(&c2, too_many, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("components[2].buttons"));
  EXPECT_TRUE(h.fake().requests().empty());
}

TEST(ResourcesTemplatesTest, UnknownAccountsAreRefusedBeforeAnyCall) {
  ResourcesHarness h({.target = Target::kFake, .multi_account = true});
  auto stub = v1::Templates::NewStub(h.channel());
  grpc::ClientContext c;
  v1::ListTemplatesRequest list;
  list.set_waba_id("555");
  v1::ListTemplatesResponse r;
  grpc::Status s = stub->ListTemplates(&c, list, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("555"));

  grpc::ClientContext c2;
  v1::GetTemplateRequest get;
  get.set_template_id("77");
  v1::GetTemplateResponse g;
  s = stub->GetTemplate(&c2, get, &g);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("waba_id"));
  EXPECT_TRUE(h.fake().requests().empty());
}

TEST(ResourcesTemplatesTest, GraphErrorsKeepTheirDetails) {
  ResourcesHarness h({.target = Target::kFake});
  h.fake().Answer(
      "POST", absl::StrCat("/v24.0/", kWaba, "/message_templates"), 400,
      R"({"error":{"message":"Invalid parameter","type":"OAuthException",
          "code":100,"error_subcode":2388024,"fbtrace_id":"AbC",
          "error_data":{"details":"name already exists"}}})");
  auto stub = v1::Templates::NewStub(h.channel());
  grpc::ClientContext c;
  v1::CreateTemplateResponse r;
  grpc::Status s = stub->CreateTemplate(&c, NewTemplate("dup"), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto e = graph::GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), 100);
  EXPECT_EQ(e->error_subcode(), 2388024);
  EXPECT_EQ(e->fbtrace_id(), "AbC");
  EXPECT_EQ(e->http_status(), 400);
}

TEST(ResourcesTemplatesTest, ApprovalOfACreatedTemplateIsAnnouncedByWebhook) {
  ResourcesHarness h({.record_webhooks = true});
  auto stub = v1::Templates::NewStub(h.channel());
  grpc::ClientContext c;
  v1::CreateTemplateResponse created;
  ASSERT_TRUE(
      stub->CreateTemplate(&c, NewTemplate("webhook_watch"), &created).ok());
  // The gateway's webhook ingress turns this into a template_status event
  // on Events.Subscribe; here the emulator's side of that chain.
  bool seen = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!seen && absl::Now() < give_up) {
    for (const std::string& body : h.webhook_bodies()) {
      seen =
          seen || (absl::StrContains(body, "message_template_status_update") &&
                   absl::StrContains(body, "APPROVED") &&
                   absl::StrContains(body, created.id()));
    }
    if (!seen) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(seen);
}

TEST(ResourcesTemplatesTest, EveryRpcFailureCarriesGraphsErrorDetails) {
  ResourcesHarness h;
  h.FailEveryGraphCall();
  auto stub = v1::Templates::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::ListTemplatesRequest r;
    r.set_waba_id(kWaba);
    v1::ListTemplatesResponse out;
    ExpectInjected503(stub->ListTemplates(&c, r, &out), "ListTemplates");
  }
  {
    grpc::ClientContext c;
    v1::GetTemplateRequest r;
    r.set_template_id("1234567890123456");
    v1::GetTemplateResponse out;
    ExpectInjected503(stub->GetTemplate(&c, r, &out), "GetTemplate");
  }
  {
    grpc::ClientContext c;
    v1::CreateTemplateResponse out;
    ExpectInjected503(stub->CreateTemplate(&c, NewTemplate("x"), &out),
                      "CreateTemplate");
  }
  {
    grpc::ClientContext c;
    v1::UpdateTemplateRequest r;
    r.set_template_id("1234567890123456");
    r.set_message_send_ttl_seconds(3600);
    v1::UpdateTemplateResponse out;
    ExpectInjected503(stub->UpdateTemplate(&c, r, &out), "UpdateTemplate");
  }
  {
    grpc::ClientContext c;
    v1::DeleteTemplateRequest r;
    r.set_waba_id(kWaba);
    r.set_name("hello_world");
    v1::DeleteTemplateResponse out;
    ExpectInjected503(stub->DeleteTemplate(&c, r, &out), "DeleteTemplate");
  }
  EXPECT_THAT(h.graph_operations(),
              ElementsAre("list_templates", "get_template", "create_template",
                          "update_template", "delete_template"));
}

// Graph paging both ways: next_page_token forward, previous_page_token
// (Graph's `before` cursor) back to the same pages.
TEST(ResourcesTemplatesTest, PagesForwardAndBackwardThroughTheEmulator) {
  ResourcesHarness h;
  auto stub = v1::Templates::NewStub(h.channel());
  for (const char* name : {"page_a", "page_b", "page_c", "page_d", "page_e"}) {
    grpc::ClientContext c;
    v1::CreateTemplateResponse r;
    ASSERT_TRUE(stub->CreateTemplate(&c, NewTemplate(name), &r).ok());
  }
  auto list = [&](const std::string& token) {
    grpc::ClientContext c;
    v1::ListTemplatesRequest r;
    r.set_waba_id(kWaba);
    r.set_name("page_");
    r.set_page_size(2);
    r.set_page_token(token);
    v1::ListTemplatesResponse page;
    grpc::Status s = stub->ListTemplates(&c, r, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> names;
    for (const auto& t : page.templates()) names.push_back(t.name());
    return std::make_pair(names, page);
  };
  auto [first, p1] = list("");
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(p1.previous_page_token(), "");  // the first page
  ASSERT_FALSE(p1.next_page_token().empty());
  auto [second, p2] = list(p1.next_page_token());
  ASSERT_EQ(second.size(), 2u);
  ASSERT_FALSE(p2.previous_page_token().empty());
  auto [third, p3] = list(p2.next_page_token());
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(p3.next_page_token(), "");  // the last page

  // Back from the last page: the second, then the first again.
  auto [back2, b2] = list(p3.previous_page_token());
  EXPECT_EQ(back2, second);
  auto [back1, b1] = list(b2.previous_page_token());
  EXPECT_EQ(back1, first);
  EXPECT_EQ(b1.previous_page_token(), "");
  EXPECT_EQ(b1.next_page_token(), p1.next_page_token());
}

}  // namespace
}  // namespace wagate::resources::testing
