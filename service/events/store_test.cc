#include "service/events/store.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
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

TEST(OpenStoreTest, RedisUrlIsCheckedAndAnUnreachableRedisIsUnavailable) {
  auto bad = OpenStore("redis://127.0.0.1:notaport");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("redis://127.0.0.1:notaport"));
  // A loopback port nothing listens on (bound, then closed): refused at once.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  auto down =
      OpenStore(absl::StrCat("redis://127.0.0.1:", ntohs(addr.sin_port)));
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(down.status().message(), HasSubstr("127.0.0.1"));
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
