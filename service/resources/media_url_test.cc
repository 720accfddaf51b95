#include "service/resources/media_url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::resources {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGraph[] = "https://graph.facebook.com";

TEST(MediaUrlTest, MetaMediaHostsOverHttps) {
  for (const char* url :
       {"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
        "https://LOOKASIDE.fbsbx.com:443/x",
        "https://scontent.xx.fbcdn.net/v/t1?x=1",
        "https://graph.facebook.com/whatsapp_business/attachments/?mid=1"}) {
    EXPECT_TRUE(CheckMediaDownloadUrl(url, kGraph).ok()) << url;
  }
}

TEST(MediaUrlTest, OtherHostsAndPlainHttpAreRefused) {
  for (const char* url :
       {"http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
        "https://evil.example/steal", "https://fbsbx.com.evil.example/x",
        "https://lookaside.fbsbx.com@evil.example/x", "https://evilfbsbx.com/x",
        "https://lookaside.fbsbx.com:8443/x", "ftp://lookaside.fbsbx.com/x",
        "//lookaside.fbsbx.com/x", "", "https://", "https://[::1]/x",
        "https://127.0.0.1/x"}) {
    absl::Status s = CheckMediaDownloadUrl(url, kGraph);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << url;
  }
}

TEST(MediaUrlTest, TheGraphBaseUrlsOriginIsAllowedEvenOverHttp) {
  const char* emulator = "http://127.0.0.1:8089";
  EXPECT_TRUE(CheckMediaDownloadUrl(
                  "http://127.0.0.1:8089/whatsapp_business/attachments/?mid=1",
                  emulator)
                  .ok());
  // Another port or scheme of the same host is another origin.
  EXPECT_FALSE(CheckMediaDownloadUrl("http://127.0.0.1:8090/x", emulator).ok());
  EXPECT_FALSE(
      CheckMediaDownloadUrl("https://127.0.0.1:8089/x", emulator).ok());
}

TEST(MediaUrlTest, TheMessageNamesTheHostButNotTheSignedQuery) {
  absl::Status s = CheckMediaDownloadUrl(
      "https://evil.example/x?hash=SECRETSIG&mid=1", kGraph);
  EXPECT_THAT(std::string(s.message()), HasSubstr("evil.example"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("SECRETSIG")));
}

TEST(MediaUrlTest, ParseUrlOrigin) {
  UrlOrigin o;
  ASSERT_TRUE(ParseUrlOrigin("HTTPS://Graph.Facebook.com/v24.0", &o).ok());
  EXPECT_EQ(o.scheme, "https");
  EXPECT_EQ(o.host, "graph.facebook.com");
  EXPECT_EQ(o.port, 443);
  ASSERT_TRUE(ParseUrlOrigin("http://[::1]:9000", &o).ok());
  EXPECT_EQ(o.host, "[::1]");
  EXPECT_EQ(o.port, 9000);
  EXPECT_FALSE(ParseUrlOrigin("http://host:0/", &o).ok());
  EXPECT_FALSE(ParseUrlOrigin("http://host:99999/", &o).ok());
  EXPECT_FALSE(ParseUrlOrigin("http://ho st/", &o).ok());
}

}  // namespace
}  // namespace wagate::resources
