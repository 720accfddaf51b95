// Runs a program of the build (wagate, wagate-emulator) as a child process for
// integration tests: its stderr is captured line by line, so a test can wait
// for a log line (e.g. the "serving" line that names the bound ports).
//
//   Subprocess gateway({BinaryPath("service/wagate"),
//   "--grpc_address=127.0.0.1:0"}); ASSERT_TRUE(gateway.Start().ok());
//   std::string line = gateway.WaitForLine("\"msg\":\"serving\"",
//   absl::Seconds(10)); gateway.Signal(SIGTERM);
//   EXPECT_EQ(gateway.Wait(absl::Seconds(10)), 0);
#ifndef WAGATE_TESTS_INTEGRATION_UTIL_SUBPROCESS_H_
#define WAGATE_TESTS_INTEGRATION_UTIL_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace wagate::testing {

// $WAGATE_BINARY_DIR/<relative>, the build tree CTest runs in.
std::string BinaryPath(const std::string& relative);
// $WAGATE_SOURCE_DIR/<relative>.
std::string SourcePath(const std::string& relative);
// A fresh empty directory under the test's temp dir.
std::string MakeTempDir(const std::string& prefix);

class Subprocess {
 public:
  // argv[0] is the program path. `env` entries ("NAME=value") are added to
  // this process's environment for the child.
  explicit Subprocess(std::vector<std::string> argv,
                      std::vector<std::string> env = {});
  ~Subprocess();  // SIGKILLs the child if still running

  absl::Status Start();
  void Signal(int signal_number);
  // The exit code (or 128 + signal); nullopt if it did not exit in time.
  absl::optional<int> Wait(absl::Duration timeout);

  // Waits for a stderr line containing `needle` (lines already seen count).
  // Returns the line, or "" on timeout.
  std::string WaitForLine(const std::string& needle, absl::Duration timeout);
  // Everything the child wrote to stderr so far.
  std::string Stderr() const;
  pid_t pid() const { return pid_; }

 private:
  void ReadLoop(int fd);

  std::vector<std::string> argv_;
  std::vector<std::string> env_;
  pid_t pid_ = -1;
  absl::optional<int> exit_code_;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  std::string partial_ ABSL_GUARDED_BY(mu_);
};

// Extracts the string value of `"key":"value"` from a JSON log line.
std::string JsonLogField(const std::string& line, const std::string& key);
// The port of a "host:port" string, or 0.
int PortOf(const std::string& address);

// A loopback TCP port that was free a moment ago, for a server that needs its
// port fixed before it starts (the sandbox posts webhooks to it).
int FreeLoopbackPort();

}  // namespace wagate::testing

#endif  // WAGATE_TESTS_INTEGRATION_UTIL_SUBPROCESS_H_
