// A real redis-server for tests: started on 127.0.0.1 on a free port in a
// fresh temp dir, with the append-only file fsynced on every write (so a
// restart keeps everything acknowledged, and the event store's durability
// check at open passes; a test that overrides appendonly or appendfsync
// must add ?durability=relaxed to a store URL) and no RDB snapshots. Stopped
// (and its dir removed) by the destructor. Tests that need it skip when
// /usr/bin/redis-server is not installed.
//
//   if (!redis::TestRedisServer::Installed()) GTEST_SKIP() << "no redis";
//   redis::TestRedisServer server;
//   ASSERT_TRUE(server.Start().ok());
//   OpenStore(server.Url());          // "redis://127.0.0.1:PORT"
//   server.Stop();                    // Redis down: clients see UNAVAILABLE
//   ASSERT_TRUE(server.Start().ok()); // same port, same data
#ifndef WAGATE_SERVICE_REDIS_TESTING_REDIS_SERVER_H_
#define WAGATE_SERVICE_REDIS_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace wagate::redis {

class TestRedisServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/redis-server";
  static bool Installed();

  // `extra_args` are added to redis-server's command line, e.g.
  // {"--requirepass", "secret"}.
  explicit TestRedisServer(std::vector<std::string> extra_args = {});
  ~TestRedisServer();
  TestRedisServer(const TestRedisServer&) = delete;
  TestRedisServer& operator=(const TestRedisServer&) = delete;

  // Starts redis-server and waits until it answers PING. The first start
  // picks a free port; later starts (after Stop/Kill) reuse it.
  absl::Status Start();
  // SIGTERM and wait (Redis flushes the append-only file).
  void Stop();
  // SIGKILL and wait.
  void Kill();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  std::string Url() const;  // redis://127.0.0.1:PORT
  const std::string& dir() const { return dir_; }

 private:
  void Wait();

  std::vector<std::string> extra_args_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace wagate::redis

#endif  // WAGATE_SERVICE_REDIS_TESTING_REDIS_SERVER_H_
