#include "service/common/log.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace wagate::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetSinkForTesting([this](absl::string_view line) {
      lines_.emplace_back(line);
    });
  }
  void TearDown() override {
    SetSinkForTesting(nullptr);
    SetMinLevel(Level::kInfo);
  }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, WritesOneJsonObjectPerLine) {
  Info("http", "listening", {{"address", "127.0.0.1:8080"}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("\"level\":\"info\""), std::string::npos);
  EXPECT_NE(lines_[0].find("\"component\":\"http\""), std::string::npos);
  EXPECT_NE(lines_[0].find("\"msg\":\"listening\""), std::string::npos);
  EXPECT_NE(lines_[0].find("\"address\":\"127.0.0.1:8080\""),
            std::string::npos);
  EXPECT_EQ(lines_[0].back(), '\n');
}

TEST_F(LogTest, EscapesQuotesAndControlCharacters) {
  Error("x", "a \"quoted\"\nline\x01");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("a \\\"quoted\\\"\\nline\\u0001"),
            std::string::npos);
}

TEST_F(LogTest, DropsLinesBelowTheMinimumLevel) {
  SetMinLevel(Level::kWarning);
  Info("x", "dropped");
  Warning("x", "kept");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("kept"), std::string::npos);
}

TEST_F(LogTest, EnabledFollowsTheMinimumLevel) {
  SetMinLevel(Level::kInfo);
  EXPECT_FALSE(Enabled(Level::kDebug));
  EXPECT_TRUE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
}

TEST(ParseLevelTest, KnownAndUnknown) {
  Level level;
  EXPECT_TRUE(ParseLevel("debug", &level));
  EXPECT_EQ(level, Level::kDebug);
  EXPECT_FALSE(ParseLevel("loud", &level));
}

}  // namespace
}  // namespace wagate::log
