#include "service/redis/testing/redis_server.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace wagate::redis {
namespace {

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool Pings(int port) {
  timeval tv{0, 200000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr) return false;
  bool ok = false;
  if (!c->err) {
    redisSetTimeout(c, tv);
    auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
    // Up (and done loading its append-only file), even if it wants AUTH
    // first.
    ok =
        r != nullptr && (r->type == REDIS_REPLY_STATUS ||
                         (r->type == REDIS_REPLY_ERROR &&
                          std::string(r->str, r->len).rfind("NOAUTH", 0) == 0));
    if (r != nullptr) freeReplyObject(r);
  }
  redisFree(c);
  return ok;
}

}  // namespace

bool TestRedisServer::Installed() { return ::access(kBinary, X_OK) == 0; }

TestRedisServer::TestRedisServer(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
  std::string base = std::filesystem::temp_directory_path().string();
  if (const char* t = std::getenv("TEST_TMPDIR"); t != nullptr && *t) base = t;
  std::string pattern = base + "/wagate-redis-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) != nullptr) dir_ = buf.data();
}

TestRedisServer::~TestRedisServer() {
  Kill();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string TestRedisServer::Url() const {
  return absl::StrCat("redis://127.0.0.1:", port_);
}

absl::Status TestRedisServer::Start() {
  if (pid_ > 0) return absl::OkStatus();
  if (dir_.empty()) return absl::InternalError("no temp dir for redis-server");
  const bool pick_port = port_ == 0;
  for (int attempt = 0; attempt < (pick_port ? 5 : 1); ++attempt) {
    if (pick_port) port_ = FreePort();
    if (port_ == 0) return absl::InternalError("no free port");
    std::vector<std::string> args = {kBinary,
                                     "--port",
                                     absl::StrCat(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir_,
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "yes",
                                     "--appendfsync",
                                     "always",
                                     "--daemonize",
                                     "no",
                                     "--logfile",
                                     dir_ + "/redis.log"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    // Not the test's stdout/stderr: a test that dies (a crash, a signal)
    // leaves redis-server running, and an inherited pipe would keep ctest
    // waiting for its output until the test's timeout.
    const std::string output = dir_ + "/redis.stdout";
    pid_t pid = ::fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (out >= 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
      }
      // Keep none of the test's sockets open in redis-server.
      for (int fd = 3; fd < 1024; ++fd) ::close(fd);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kBinary, argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      if (Pings(port_)) return absl::OkStatus();
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited: port taken, most likely
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (pid_ > 0) {
      Kill();
      return absl::DeadlineExceededError("redis-server did not answer PING");
    }
  }
  return absl::UnavailableError(
      absl::StrCat("redis-server did not start on port ", port_, "; see ", dir_,
                   "/redis.log and redis.stdout"));
}

void TestRedisServer::Wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void TestRedisServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  Wait();
}

void TestRedisServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  Wait();
}

}  // namespace wagate::redis
