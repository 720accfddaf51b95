#include "service/http/message.h"

#include "gtest/gtest.h"

namespace wagate::http {
namespace {

TEST(FindHeader, CaseInsensitiveFirstMatch) {
  HeaderList headers = {{"Content-Type", "a"}, {"X-Hub", "b"}, {"x-hub", "c"}};
  EXPECT_EQ(FindHeader(headers, "content-type"), "a");
  EXPECT_EQ(FindHeader(headers, "X-HUB"), "b");
  EXPECT_EQ(FindHeader(headers, "missing"), "");
}

TEST(PercentDecode, EscapesAndPlus) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%e2%9C%93", false), "\xE2\x9C\x93");
}

TEST(PercentDecode, MalformedEscapesKeptLiterally) {
  EXPECT_EQ(PercentDecode("100%", false), "100%");
  EXPECT_EQ(PercentDecode("%4", false), "%4");
  EXPECT_EQ(PercentDecode("%zz1", false), "%zz1");
}

TEST(PercentEncode, OnlyUnreservedKept) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode("a b/c+&="), "a%20b%2Fc%2B%26%3D");
  EXPECT_EQ(PercentEncode("\xE2\x9C\x93"), "%E2%9C%93");
  EXPECT_EQ(PercentDecode(PercentEncode("x=1&y=ä b"), false), "x=1&y=ä b");
}

TEST(Request, QueryParamFirstMatch) {
  Request request;
  request.query = {{"hub.mode", "subscribe"}, {"a", "1"}, {"a", "2"}};
  EXPECT_EQ(request.QueryParam("a"), "1");
  EXPECT_EQ(request.QueryParam("hub.mode"), "subscribe");
  EXPECT_FALSE(request.QueryParam("b").has_value());
}

TEST(Responses, TextAndJson) {
  Response text = TextResponse(404, "nope\n");
  EXPECT_EQ(text.status, 404);
  EXPECT_EQ(text.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(text.body, "nope\n");
  Response json = JsonResponse(200, "{}");
  EXPECT_EQ(json.status, 200);
  EXPECT_EQ(json.content_type, "application/json");
  EXPECT_EQ(json.body, "{}");
  EXPECT_FALSE(json.drop_connection);
}

}  // namespace
}  // namespace wagate::http
