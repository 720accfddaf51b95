#include "tests/integration/util/subprocess.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace wagate::testing {

std::string BinaryPath(const std::string& relative) {
  const char* dir = std::getenv("WAGATE_BINARY_DIR");
  return absl::StrCat(dir != nullptr ? dir : ".", "/", relative);
}

std::string SourcePath(const std::string& relative) {
  const char* dir = std::getenv("WAGATE_SOURCE_DIR");
  return absl::StrCat(dir != nullptr ? dir : ".", "/", relative);
}

std::string MakeTempDir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::filesystem::path dir =
      std::filesystem::path(base != nullptr ? base : "/tmp") /
      absl::StrCat(prefix, "-", getpid(), "-", counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

Subprocess::Subprocess(std::vector<std::string> argv,
                       std::vector<std::string> env)
    : argv_(std::move(argv)), env_(std::move(env)) {}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_code_.has_value()) {
    kill(pid_, SIGKILL);
    Wait(absl::Seconds(10));
  }
  if (reader_.joinable()) reader_.join();
}

absl::Status Subprocess::Start() {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError("pipe failed");
  }
  std::vector<char*> args;
  for (std::string& arg : argv_) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    for (std::string& var : env_) putenv(var.data());
    // Tests must not inherit a blocked signal mask or ignored signals.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  reader_ = std::thread([this, fd = pipe_fds[0]] { ReadLoop(fd); });
  return absl::OkStatus();
}

void Subprocess::ReadLoop(int fd) {
  char buffer[4096];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    absl::MutexLock lock(&mu_);
    partial_.append(buffer, n);
    size_t newline;
    while ((newline = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, newline));
      partial_.erase(0, newline + 1);
    }
  }
  close(fd);
}

void Subprocess::Signal(int signal_number) {
  if (pid_ > 0 && !exit_code_.has_value()) kill(pid_, signal_number);
}

absl::optional<int> Subprocess::Wait(absl::Duration timeout) {
  if (exit_code_.has_value()) return exit_code_;
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ =
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      // The child's end of the pipe is closed: everything it wrote is read
      // once the reader sees end-of-file.
      if (reader_.joinable()) reader_.join();
      return exit_code_;
    }
    if (absl::Now() >= deadline) return absl::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

std::string Subprocess::WaitForLine(const std::string& needle,
                                    absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  size_t seen = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      for (; seen < lines_.size(); ++seen) {
        if (lines_[seen].find(needle) != std::string::npos) return lines_[seen];
      }
    }
    if (absl::Now() >= deadline) return "";
    absl::SleepFor(absl::Milliseconds(10));
  }
}

std::string Subprocess::Stderr() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const std::string& line : lines_) absl::StrAppend(&out, line, "\n");
  return out + partial_;
}

std::string JsonLogField(const std::string& line, const std::string& key) {
  const std::string needle = absl::StrCat("\"", key, "\":\"");
  size_t start = line.find(needle);
  if (start == std::string::npos) return "";
  start += needle.size();
  size_t end = line.find('"', start);
  return line.substr(start, end - start);
}

int PortOf(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return 0;
  }
  return port;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace wagate::testing
