#include "service/events/store.h"

#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::events {
namespace {

using ::testing::HasSubstr;

TEST(OpenStoreTest, SqliteCreatesParentDirectories) {
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                              "open_store_test" / "a" / "b";
  const std::filesystem::path root = dir.parent_path().parent_path();
  std::filesystem::remove_all(root);
  auto store = OpenStore("sqlite:" + (dir / "events.db").string());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(std::filesystem::exists(dir / "events.db"));
  store->reset();
  std::filesystem::remove_all(root);
}

TEST(OpenStoreTest, RedisIsNotBuiltYet) {
  auto store = OpenStore("redis://127.0.0.1:6379");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(store.status().message(), HasSubstr("redis backend not built"));
}

TEST(OpenStoreTest, UnknownSpecNamesTheValue) {
  auto store = OpenStore("postgres://db");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr("postgres://db"));
  EXPECT_EQ(OpenStore("sqlite:").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FilterTest, EmptyListsMatchEverything) {
  EventRecord e;
  e.kind = "message";
  e.phone_number_id = "111";
  EXPECT_TRUE(Filter{}.Matches(e));
  EXPECT_TRUE((Filter{{"111", "222"}, {}}).Matches(e));
  EXPECT_FALSE((Filter{{"222"}, {}}).Matches(e));
  EXPECT_TRUE((Filter{{}, {"status", "message"}}).Matches(e));
  EXPECT_FALSE((Filter{{"111"}, {"status"}}).Matches(e));
}

}  // namespace
}  // namespace wagate::events
