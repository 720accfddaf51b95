// Media, business profile, block users, subscribed apps, template management
// and Graph paging, over real HTTP.
#include <string>

#include "absl/strings/str_cat.h"
#include "emulator/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace wagate::emulator {
namespace {

using testing::EmulatorTest;
using ::testing::HasSubstr;
using testing::kPnid;
using testing::kToken;
using testing::kWaba;
using testing::Str;

std::string Multipart(const std::string& boundary, const std::string& mime,
                      const std::string& data, bool with_product = true) {
  std::string b;
  if (with_product) {
    absl::StrAppend(&b, "--", boundary,
                    "\r\nContent-Disposition: form-data; "
                    "name=\"messaging_product\"\r\n\r\nwhatsapp\r\n");
  }
  absl::StrAppend(&b, "--", boundary,
                  "\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n",
                  mime, "\r\n");
  absl::StrAppend(&b, "--", boundary,
                  "\r\nContent-Disposition: form-data; name=\"file\"; "
                  "filename=\"a.bin\"\r\nContent-Type: ",
                  mime, "\r\n\r\n", data, "\r\n--", boundary, "--\r\n");
  return b;
}

using GraphResourcesTest = EmulatorTest;

TEST_F(GraphResourcesTest, MediaUploadGetDownloadDelete) {
  Start();
  // Binary, with a NUL and a line that looks like a boundary.
  static constexpr char kBytes[] =
      "\xff\xd8\xff\xe0 jpeg\0bytes \r\n--not-a-boundary";
  const std::string data(kBytes, sizeof(kBytes) - 1);
  http::ClientResponse r =
      caller_->Call("POST", absl::StrCat("/v23.0/", kPnid, "/media"),
                    Multipart("XyZ", "image/jpeg", data), kToken,
                    "multipart/form-data; boundary=XyZ");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string id = Str(Parse(r.body)["id"]);

  r = caller_->Call("GET", absl::StrCat("/v23.0/", id));
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Parse(r.body);
  EXPECT_EQ(std::string_view(doc["messaging_product"]), "whatsapp");
  EXPECT_EQ(std::string_view(doc["mime_type"]), "image/jpeg");
  EXPECT_EQ(std::string_view(doc["file_size"]), std::to_string(data.size()));
  EXPECT_EQ(std::string_view(doc["sha256"]).size(), 64u);
  std::string url = Str(doc["url"]);
  std::string path = url.substr(emulator_->base_url().size());

  // Download needs the bearer token.
  EXPECT_EQ(caller_->Call("GET", path, "", "").status, 401);
  r = caller_->Call("GET", path);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, data);
  EXPECT_EQ(r.Header("Content-Type"), "image/jpeg");
  // A tampered URL is a 404.
  EXPECT_EQ(caller_->Call("GET", path + "0").status, 404);

  // phone_number_id must match the uploader.
  ExpectError(
      caller_->Call("GET", absl::StrCat("/v23.0/", id, "?phone_number_id=1")),
      400, 100);
  r = caller_->Call("DELETE", absl::StrCat("/v23.0/", id));
  EXPECT_EQ(r.body, R"({"success":true})");
  ExpectError(caller_->Call("GET", absl::StrCat("/v23.0/", id)), 400, 100);
  EXPECT_EQ(caller_->Call("GET", path).status, 404);
}

TEST_F(GraphResourcesTest, MediaUrlExpires) {
  EmulatorOptions options;
  options.media_url_ttl = absl::Seconds(-1);  // already expired
  Start(options);
  http::ClientResponse r =
      caller_->Call("POST", absl::StrCat("/v23.0/", kPnid, "/media"),
                    Multipart("b", "image/png", "png"), kToken,
                    "multipart/form-data; boundary=b");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string id = Str(Parse(r.body)["id"]);
  r = caller_->Call("GET", absl::StrCat("/v23.0/", id));
  std::string url = Str(Parse(r.body)["url"]);
  EXPECT_EQ(
      caller_->Call("GET", url.substr(emulator_->base_url().size())).status,
      404);
}

TEST_F(GraphResourcesTest, MediaUploadErrors) {
  Start();
  const std::string path = absl::StrCat("/v23.0/", kPnid, "/media");
  const std::string mp = "multipart/form-data; boundary=b";
  ExpectError(caller_->Call("POST", path, "{}"), 400, 100);
  ExpectError(
      caller_->Call("POST", path, Multipart("b", "image/jpeg", "x", false),
                    kToken, mp),
      400, 100);
  ExpectError(
      caller_->Call("POST", path, Multipart("b", "image/gif", "x"), kToken, mp),
      400, 131053);
  ExpectError(
      caller_->Call("POST", path,
                    Multipart("b", "image/webp", std::string(600 << 10, 'x')),
                    kToken, mp),
      400, 131053);
}

TEST_F(GraphResourcesTest, BusinessProfile) {
  Start();
  const std::string path =
      absl::StrCat("/v23.0/", kPnid, "/whatsapp_business_profile");
  http::ClientResponse r = caller_->Call(
      "POST", path,
      R"({"messaging_product":"whatsapp","about":"Open 9-5","email":)"
      R"("a@b.co","websites":["https://a.example"],"vertical":"RETAIL"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = caller_->Call("GET", path + "?fields=about,email,websites,vertical");
  ASSERT_EQ(r.status, 200) << r.body;
  auto data = Parse(r.body)["data"].at(0);
  EXPECT_EQ(std::string_view(data["about"]), "Open 9-5");
  EXPECT_EQ(std::string_view(data["email"]), "a@b.co");
  EXPECT_EQ(std::string_view(data["websites"].at(0)), "https://a.example");
  EXPECT_EQ(std::string_view(data["vertical"]), "RETAIL");
  EXPECT_EQ(std::string_view(data["messaging_product"]), "whatsapp");
  EXPECT_EQ(data["profile_picture_url"].error(), simdjson::NO_SUCH_FIELD);

  // A picture handle (Resumable Upload API) gives the profile a picture URL.
  r = caller_->Call("POST", path,
                    R"({"messaging_product":"whatsapp",)"
                    R"("profile_picture_handle":"4::aW1hZ2U=:ARb"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = caller_->Call("GET", path + "?fields=about,profile_picture_url");
  data = Parse(r.body)["data"].at(0);
  EXPECT_EQ(std::string_view(data["about"]), "Open 9-5");
  EXPECT_THAT(std::string(std::string_view(data["profile_picture_url"])),
              HasSubstr("https://pps.whatsapp.net/"));

  const char* bad[] = {
      R"({"about":"x"})",
      R"({"messaging_product":"whatsapp","about":""})",
      R"({"messaging_product":"whatsapp","email":"nope"})",
      R"({"messaging_product":"whatsapp","websites":["a.example"]})",
      R"({"messaging_product":"whatsapp","websites":["https://a","https://b","https://c"]})",
      R"({"messaging_product":"whatsapp","vertical":"SPACE"})",
  };
  for (const char* body : bad) {
    ExpectError(caller_->Call("POST", path, body), 400, 100);
  }
  ExpectError(
      caller_->Call("POST", path,
                    absl::StrCat(R"({"messaging_product":"whatsapp","about":")",
                                 std::string(140, 'a'), R"("})")),
      400, 100);
}

TEST_F(GraphResourcesTest, BlockUsers) {
  Start();
  const std::string path = absl::StrCat("/v23.0/", kPnid, "/block_users");
  ASSERT_EQ(caller_
                ->Call("POST", "/_emulator/inbound",
                       R"({"from":"16505551234","text":"hi"})")
                .status,
            200);
  // One user messaged in the last 24 h, one did not: mixed result, 400.
  http::ClientResponse r =
      caller_->Call("POST", path,
                    R"({"messaging_product":"whatsapp","block_users":[{"user":)"
                    R"("+16505551234"},{"user":"16505550000"}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  auto doc = Parse(r.body);
  EXPECT_EQ(std::string_view(doc["block_users"]["added_users"].at(0)["wa_id"]),
            "16505551234");
  EXPECT_EQ(
      int64_t(doc["block_users"]["failed_users"].at(0)["errors"].at(0)["code"]),
      131047);
  EXPECT_EQ(int64_t(doc["error"]["code"]), 139100);

  // A blocked user cannot be messaged.
  ExpectError(caller_->Call("POST", absl::StrCat("/v23.0/", kPnid, "/messages"),
                            R"({"messaging_product":"whatsapp","to":)"
                            R"("16505551234","text":{"body":"x"}})"),
              400, 131026);

  r = caller_->Call("GET", path);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(std::string_view(
                Parse(r.body)["data"].at(0)["block_users"].at(0)["wa_id"]),
            "16505551234");

  r = caller_->Call("DELETE", path,
                    R"({"messaging_product":"whatsapp","block_users":[{"user":)"
                    R"("16505551234"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("removed_users"));
  r = caller_->Call("GET", path);
  EXPECT_EQ(Parse(r.body)["data"].at(0)["block_users"].get_array().size(), 0u);
}

TEST_F(GraphResourcesTest, SubscribedApps) {
  Start();
  const std::string path = absl::StrCat("/v23.0/", kWaba, "/subscribed_apps");
  http::ClientResponse r = caller_->Call("GET", path);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Parse(r.body)["data"].get_array().size(), 1u);
  EXPECT_EQ(caller_->Call("DELETE", path).body, R"({"success":true})");
  EXPECT_EQ(Parse(caller_->Call("GET", path).body)["data"].get_array().size(),
            0u);
  // Unsubscribed: Meta sends no webhooks.
  ASSERT_EQ(caller_
                ->Call("POST", absl::StrCat("/v23.0/", kPnid, "/messages"),
                       R"({"messaging_product":"whatsapp","to":"16505551234",)"
                       R"("text":{"body":"x"}})")
                .status,
            200);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(emulator_->webhook_stats().changes, 0u);
  r = caller_->Call(
      "POST", path,
      R"({"override_callback_uri":"https://x.example/wh","verify_token":"v"})");
  EXPECT_EQ(r.body, R"({"success":true})");
  r = caller_->Call("GET", path);
  EXPECT_EQ(
      std::string_view(Parse(r.body)["data"].at(0)["override_callback_uri"]),
      "https://x.example/wh");
  ExpectError(
      caller_->Call(
          "POST", path,
          absl::StrCat(R"({"override_callback_uri":"https://)",
                       std::string(200, 'a'), R"(","verify_token":"v"})")),
      400, 100);
}

TEST_F(GraphResourcesTest, TemplateManagementAndPaging) {
  EmulatorOptions options;
  options.template_approval_delay = absl::Hours(1);  // stay PENDING here
  Start(options, false);
  const std::string path = absl::StrCat("/v23.0/", kWaba, "/message_templates");
  for (int i = 0; i < 3; ++i) {
    http::ClientResponse r = caller_->Call(
        "POST", path,
        absl::StrCat(R"({"name":"t)", i,
                     R"(","language":"en_US","category":"MARKETING",)"
                     R"("components":[{"type":"BODY","text":"Hi"}]})"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // Duplicate name + language; bad name; bad category; no body.
  ExpectError(caller_->Call("POST", path,
                            R"({"name":"t0","language":"en_US","category":)"
                            R"("MARKETING","components":[{"type":"BODY",)"
                            R"("text":"Hi"}]})"),
              400, 100);
  ExpectError(caller_->Call("POST", path,
                            R"({"name":"Bad Name","language":"en_US",)"
                            R"("category":"UTILITY","components":[]})"),
              400, 100);
  ExpectError(caller_->Call("POST", path,
                            R"({"name":"ok","language":"en_US",)"
                            R"("category":"SPAM","components":[]})"),
              400, 100);
  ExpectError(caller_->Call("POST", path,
                            R"({"name":"ok","language":"en_US","category":)"
                            R"("UTILITY","components":[{"type":"FOOTER",)"
                            R"("text":"f"}]})"),
              400, 100);

  // 4 templates (hello_world + 3), paged 2 at a time.
  http::ClientResponse r = caller_->Call("GET", path + "?limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Parse(r.body);
  EXPECT_EQ(doc["data"].get_array().size(), 2u);
  std::string after = Str(doc["paging"]["cursors"]["after"]);
  std::string next = Str(doc["paging"]["next"]);
  EXPECT_THAT(next, HasSubstr("after="));
  r = caller_->Call("GET", path + "?limit=2&after=" + after);
  doc = Parse(r.body);
  EXPECT_EQ(doc["data"].get_array().size(), 2u);
  EXPECT_EQ(doc["paging"]["next"].error(), simdjson::NO_SUCH_FIELD);
  std::string before = Str(doc["paging"]["cursors"]["before"]);
  r = caller_->Call("GET", path + "?limit=2&before=" + before);
  EXPECT_EQ(Parse(r.body)["data"].get_array().size(), 2u);

  // Filter by status and name; get by id; edit; delete.
  r = caller_->Call("GET", path + "?status=PENDING");
  EXPECT_EQ(Parse(r.body)["data"].get_array().size(), 3u);
  r = caller_->Call("GET", path + "?category=UTILITY");
  doc = Parse(r.body);
  ASSERT_EQ(doc["data"].get_array().size(), 1u);  // hello_world
  EXPECT_EQ(std::string_view(doc["data"].at(0)["name"]), "hello_world");
  r = caller_->Call("GET", path + "?category=MARKETING&status=PENDING");
  EXPECT_EQ(Parse(r.body)["data"].get_array().size(), 3u);
  r = caller_->Call("GET", path + "?name=hello_world");
  doc = Parse(r.body);
  ASSERT_EQ(doc["data"].get_array().size(), 1u);
  std::string id = Str(doc["data"].at(0)["id"]);
  EXPECT_EQ(std::string_view(doc["data"].at(0)["status"]), "APPROVED");
  r = caller_->Call("GET", absl::StrCat("/v23.0/", id, "?fields=status"));
  EXPECT_EQ(r.body,
            absl::StrCat(R"({"status":"APPROVED","id":")", id, R"("})"));
  ExpectError(caller_->Call("POST", absl::StrCat("/v23.0/", id),
                            R"({"category":"MARKETING"})"),
              400, 100);
  EXPECT_EQ(caller_
                ->Call("POST", absl::StrCat("/v23.0/", id),
                       R"({"components":[{"type":"BODY","text":"Hi {{1}}"}]})")
                .body,
            R"({"success":true})");
  EXPECT_EQ(caller_->Call("DELETE", path + "?name=t1").body,
            R"({"success":true})");
  ExpectError(caller_->Call("DELETE", path + "?name=t1"), 400, 100);
  r = caller_->Call("GET", path);
  EXPECT_EQ(Parse(r.body)["data"].get_array().size(), 3u);
}

TEST_F(GraphResourcesTest, RegisterDeregisterAndCodes) {
  Start(EmulatorOptions{}, false);
  const std::string base = absl::StrCat("/v23.0/", kPnid);
  ExpectError(caller_->Call("POST", base + "/register",
                            R"({"messaging_product":"whatsapp","pin":"12"})"),
              400, 100);
  EXPECT_EQ(caller_->Call("POST", base + "/deregister").body,
            R"({"success":true})");
  ExpectError(caller_->Call("POST", base + "/messages",
                            R"({"messaging_product":"whatsapp","to":)"
                            R"("16505551234","text":{"body":"x"}})"),
              400, 133010);
  EXPECT_EQ(caller_
                ->Call("POST", base + "/register",
                       R"({"messaging_product":"whatsapp","pin":"123456"})")
                .body,
            R"({"success":true})");
  EXPECT_EQ(
      caller_->Call("POST", base + "/request_code?code_method=SMS&language=en")
          .body,
      R"({"success":true})");
  ExpectError(caller_->Call("POST", base + "/request_code?code_method=FAX"),
              400, 100);
  EXPECT_EQ(caller_->Call("POST", base + "/verify_code?code=123456").body,
            R"({"success":true})");
  // 10 register/deregister calls per 72 h: the 11th fails with 133016.
  for (int i = 2; i < 10; ++i) {
    ASSERT_EQ(caller_->Call("POST", base + "/deregister").status, 200) << i;
  }
  ExpectError(caller_->Call("POST", base + "/deregister"), 400, 133016);
}

}  // namespace
}  // namespace wagate::emulator
