#include "service/http/target.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace wagate::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(ParseTargetTest, PathOnly) {
  Request request;
  ParseTarget("/a%20b%2Fc+d", &request);
  EXPECT_EQ(request.path, "/a b/c+d");
  EXPECT_TRUE(request.query.empty());
}

TEST(ParseTargetTest, QueryPairsInOrderDecoded) {
  Request request;
  ParseTarget("/q?hub.mode=sub+scribe&x=%26%3D&empty=&flag&&y=1#frag&z=2",
              &request);
  EXPECT_EQ(request.path, "/q");
  EXPECT_EQ(request.query, (Pairs{{"hub.mode", "sub scribe"},
                                  {"x", "&="},
                                  {"empty", ""},
                                  {"flag", ""},
                                  {"y", "1"}}));
}

TEST(ParseTargetTest, OddInputsDoNotFail) {
  for (const char* target : {"", "?", "?&&", "/%", "/%zz?%=%", "#", "?=#"}) {
    Request request;
    ParseTarget(target, &request);
    EXPECT_LE(request.path.size(), std::string(target).size()) << target;
  }
  Request request;
  ParseTarget("?=v", &request);
  EXPECT_EQ(request.path, "");
  EXPECT_EQ(request.query, (Pairs{{"", "v"}}));
}

}  // namespace
}  // namespace wagate::http
