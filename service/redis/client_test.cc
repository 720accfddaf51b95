#include "service/redis/client.h"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/redis/testing/redis_server.h"

namespace wagate::redis {
namespace {

using ::testing::HasSubstr;

TEST(ParseUrlTest, AcceptsHostPortDbAndPrefix) {
  auto a = ParseUrl("redis://127.0.0.1:6380/2?prefix=prod-eu");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  EXPECT_EQ(a->prefix, "prod-eu");
  auto d = ParseUrl("redis://redis.internal");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->host, "redis.internal");
  EXPECT_EQ(d->port, 6379);
  EXPECT_EQ(d->db, 0);
  EXPECT_EQ(d->prefix, "wagate");
  auto v6 = ParseUrl("redis://[::1]:7000/");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_EQ(v6->ToString(), "[::1]:7000/0");
  EXPECT_FALSE(v6->relaxed_durability);
}

TEST(ParseUrlTest, DurabilityOptionAloneOrWithPrefix) {
  auto relaxed = ParseUrl("redis://h:1/3?prefix=eu&durability=relaxed");
  ASSERT_TRUE(relaxed.ok()) << relaxed.status();
  EXPECT_EQ(relaxed->prefix, "eu");
  EXPECT_EQ(relaxed->db, 3);
  EXPECT_TRUE(relaxed->relaxed_durability);
  auto first = ParseUrl("redis://h?durability=relaxed&prefix=eu");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->prefix, "eu");
  EXPECT_TRUE(first->relaxed_durability);
  auto strict = ParseUrl("redis://h?durability=strict");
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_FALSE(strict->relaxed_durability);
  EXPECT_EQ(strict->prefix, "wagate");
}

TEST(ParseUrlTest, RejectsGarbageNamingTheUrl) {
  for (const char* bad : {"http://x:1",
                          "redis://",
                          "redis://:6379",
                          "redis://h:",
                          "redis://h:0",
                          "redis://h:70000",
                          "redis://h:-1",
                          "redis://h:12ab",
                          "redis://h/x",
                          "redis://h/-1",
                          "redis://user:pw@h:1",
                          "redis://[::1:1",
                          "redis://h?prefix=",
                          "redis://h?prefix=a{b}",
                          "redis://h?db=1",
                          "redis://h?durability=maybe",
                          "redis://h?durability=",
                          "redis://h?prefix=a&prefix=b",
                          "redis://h?prefix=a&",
                          "redis://h?&"}) {
    auto a = ParseUrl(bad);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(a.status().message(), HasSubstr(bad));
  }
}

// A write to a closed socket under the guard fails with EPIPE instead of
// killing the process (the default action of SIGPIPE), and leaves no
// SIGPIPE pending or blocked behind.
TEST(ScopedSigpipeBlockTest, WriteToAClosedSocketIsAnErrorNotAKill) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::close(fds[1]);
  {
    ScopedSigpipeBlock guard;
    errno = 0;
    EXPECT_EQ(::write(fds[0], "x", 1), -1);
    EXPECT_EQ(errno, EPIPE);
  }
  ::close(fds[0]);
  sigset_t pending, mask;
  ASSERT_EQ(sigpending(&pending), 0);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_EQ(sigismember(&mask, SIGPIPE), 0);
}

TEST(ScriptTest, Sha1IsRedisScriptId) {
  // SHA1("return 1"), as SCRIPT LOAD would answer.
  EXPECT_EQ(Script("return 1").sha1(),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!TestRedisServer::Installed()) {
      GTEST_SKIP() << TestRedisServer::kBinary << " is not installed";
    }
    ASSERT_TRUE(server_.Start().ok());
    address_ = ParseUrl(server_.Url()).value();
    options_.min_backoff = absl::Milliseconds(20);
    options_.max_backoff = absl::Milliseconds(100);
  }

  TestRedisServer server_;
  Address address_;
  ClientOptions options_;
};

TEST_F(ClientTest, CommandsAndReplyTypes) {
  Client client(address_, options_);
  auto pong = client.Command({"PING"});
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->type, Reply::Type::kStatus);
  EXPECT_EQ(pong->str, "PONG");
  const std::string binary("a\0b\r\nc", 6);
  ASSERT_TRUE(client.Command({"SET", "k", binary}).ok());
  auto get = client.Command({"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_TRUE(get->is_string());
  EXPECT_EQ(get->str, binary);
  EXPECT_TRUE(client.Command({"GET", "missing"})->is_nil());
  EXPECT_EQ(client.Command({"INCRBY", "n", "41"})->integer, 41);
  auto arr = client.Command({"MGET", "k", "missing"});
  ASSERT_TRUE(arr->is_array());
  ASSERT_EQ(arr->elements.size(), 2u);
  EXPECT_TRUE(arr->elements[1].is_nil());
  // An error reply that is a caller bug is INTERNAL and names Redis's error.
  auto wrong = client.Command({"INCR", "k"});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(wrong.status().message(), HasSubstr("ERR"));
  // The connection is still fine after an error reply.
  EXPECT_TRUE(client.Command({"PING"}).ok());
}

TEST_F(ClientTest, SelectsTheDatabaseOfTheUrl) {
  Address db3 = ParseUrl(server_.Url() + "/3").value();
  Client client3(db3, options_);
  Client client0(address_, options_);
  ASSERT_TRUE(client3.Command({"SET", "only3", "x"}).ok());
  EXPECT_TRUE(client0.Command({"GET", "only3"})->is_nil());
  EXPECT_EQ(client3.Command({"GET", "only3"})->str, "x");
}

TEST_F(ClientTest, EvalFallsBackToEvalWhenTheScriptIsNotCached) {
  Client client(address_, options_);
  static const Script kScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  EXPECT_EQ(client.Eval(kScript, {"{t}:n"}, {"2"})->integer, 2);
  EXPECT_EQ(client.Eval(kScript, {"{t}:n"}, {"3"})->integer, 5);
  ASSERT_TRUE(client.Command({"SCRIPT", "FLUSH"}).ok());
  EXPECT_EQ(client.Eval(kScript, {"{t}:n"}, {"1"})->integer, 6);
  auto exists = client.Command({"SCRIPT", "EXISTS", kScript.sha1()});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->elements[0].integer, 1);
}

TEST_F(ClientTest, UnreachableIsUnavailableThenRecovers) {
  Client client(address_, options_);
  ASSERT_TRUE(client.Command({"SET", "kept", "1"}).ok());
  server_.Stop();
  auto down = client.Command({"GET", "kept"});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  // While backing off, commands fail at once without connecting.
  auto again = client.Command({"GET", "kept"});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(server_.Start().ok());
  absl::StatusOr<Reply> up;
  for (int i = 0; i < 100; ++i) {
    up = client.Command({"GET", "kept"});
    if (up.ok()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->str, "1");  // append-only file kept it
}

TEST_F(ClientTest, IdleConnectionClosedByARestartIsReplacedBeforeUse) {
  Client client(address_, options_);
  ASSERT_TRUE(client.Command({"PING"}).ok());
  server_.Stop();
  ASSERT_TRUE(server_.Start().ok());
  // The first command after the restart already works: the client notices
  // the closed connection before sending.
  auto r = client.Command({"PING"});
  EXPECT_TRUE(r.ok()) << r.status();
}

TEST_F(ClientTest, CommandTimeoutIsUnavailable) {
  options_.command_timeout = absl::Milliseconds(200);
  Client client(address_, options_);
  auto blocked = client.Command({"BLPOP", "never", "5"});
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kUnavailable);
  // A longer timeout for one command.
  auto waited = client.Command({"BLPOP", "never", "0.3"}, absl::Seconds(2));
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_TRUE(waited->is_nil());
}

TEST_F(ClientTest, ShutdownWakesABlockedCommand) {
  Client client(address_, options_);
  ASSERT_TRUE(client.Command({"PING"}).ok());
  absl::Notification returned;
  absl::Status status;
  std::thread t([&] {
    status =
        client.Command({"BLPOP", "never", "30"}, absl::Seconds(60)).status();
    returned.Notify();
  });
  absl::SleepFor(absl::Milliseconds(100));
  client.Shutdown();
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(5)));
  t.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client.Command({"PING"}).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(ClientAuthTest, AuthenticatesWithoutEverShowingThePassword) {
  if (!TestRedisServer::Installed()) GTEST_SKIP() << "no redis-server";
  TestRedisServer server({"--requirepass", "s3cret-pw"});
  ASSERT_TRUE(server.Start().ok());
  Address address = ParseUrl(server.Url()).value();
  ClientOptions options;
  Client anonymous(address, options);
  auto refused = anonymous.Command({"GET", "k"});
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("NOAUTH"));

  options.password = "wrong-pw";
  Client wrong(address, options);
  auto bad = wrong.Command({"GET", "k"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(bad.status().message(), HasSubstr("AUTH"));
  EXPECT_THAT(bad.status().message(), ::testing::Not(HasSubstr("wrong-pw")));

  options.password = "s3cret-pw";
  Client good(address, options);
  EXPECT_TRUE(good.Command({"SET", "k", "v"}).ok());
  // With a database too (AUTH, then SELECT).
  Client good3(ParseUrl(server.Url() + "/3").value(), options);
  EXPECT_TRUE(good3.Command({"GET", "k"})->is_nil());
}

}  // namespace
}  // namespace wagate::redis
