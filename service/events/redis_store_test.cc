#include "service/events/redis_store.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/events/store.h"
#include "service/redis/client.h"
#include "service/redis/testing/redis_server.h"

namespace wagate::events {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

TEST(RedisCursorTest, RoundTripsAndSortsAsStrings) {
  std::vector<RedisStreamId> ids = {{0, 1},
                                    {1, 0},
                                    {1, 15},
                                    {1, 16},
                                    {255, 0},
                                    {1700000000000, 0},
                                    {1700000000000, 1},
                                    {1700000000001, 0},
                                    {UINT64_MAX, UINT64_MAX}};
  std::string previous;
  for (const RedisStreamId& id : ids) {
    std::string cursor = EncodeRedisCursor(id);
    auto parsed = ParseRedisCursor(cursor);
    ASSERT_TRUE(parsed.ok()) << cursor;
    EXPECT_EQ(parsed->ms, id.ms);
    EXPECT_EQ(parsed->seq, id.seq);
    EXPECT_LT(previous, cursor);
    previous = cursor;
  }
  EXPECT_EQ(ParseRedisCursor("")->ms, 0u);
  EXPECT_EQ(ParseRedisStreamId("1700000000000-3")->seq, 3u);
  EXPECT_EQ((RedisStreamId{12, 3}).ToString(), "12-3");
}

TEST(RedisCursorTest, GarbageIsInvalidArgument) {
  const std::string good = EncodeRedisCursor({1, 2});
  for (std::string bad :
       {std::string("x"), std::string("r1"), std::string("1-2"), good.substr(1),
        good + "0", "R" + good.substr(1), "e1" + good.substr(2),
        good.substr(0, 33) + "g", good.substr(0, 33) + "A",
        " " + good.substr(1)}) {
    EXPECT_EQ(ParseRedisCursor(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace wagate::events
