// The wagate executable as an operator runs it: flags and WAGATE_* variables,
// config errors, the "serving" line, the admin listener, start-up refusals
// (plaintext API keys, --sandbox off loopback), SIGTERM → graceful exit 0.
// Every run passes an admin address with port 0: the default 9464 would
// collide between tests running in parallel.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/util/subprocess.h"

namespace wagate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string WriteFile(const std::string& dir, const std::string& name,
                      const std::string& contents) {
  std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(contents.c_str(), f);
  std::fclose(f);
  return path;
}

// What GET `path` on 127.0.0.1:`port` answers, head and body ("" if
// nothing).
std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string all;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = absl::StrCat(
        "GET ", path, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    for (int i = 0; i < 50; ++i) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[16384];
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      all.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return all;
}

// Runs wagate with `args` (and `env`) expecting it to refuse to start;
// returns its stderr.
std::string ExpectRefusal(std::vector<std::string> args,
                          std::vector<std::string> env = {}) {
  args.insert(args.begin(), BinaryPath("service/wagate"));
  Subprocess gateway(std::move(args), std::move(env));
  EXPECT_TRUE(gateway.Start().ok());
  absl::optional<int> code = gateway.Wait(absl::Seconds(20));
  EXPECT_TRUE(code.has_value()) << "still running: " << gateway.Stderr();
  EXPECT_NE(code.value_or(0), 0) << gateway.Stderr();
  EXPECT_THAT(gateway.Stderr(), Not(HasSubstr("\"msg\":\"serving\"")));
  return gateway.Stderr();
}

TEST(GatewayProcessTest, ServesUntilSigtermThenExitsZero) {
  const std::string dir = MakeTempDir("gateway_process");
  // Addresses come from the environment here, to test WAGATE_<FLAG>.
  Subprocess gateway(
      {BinaryPath("service/wagate"), "--store=sqlite:" + dir + "/w.db"},
      {"WAGATE_GRPC_ADDRESS=127.0.0.1:0", "WAGATE_HTTP_ADDRESS=127.0.0.1:0",
       "WAGATE_ADMIN_ADDRESS=127.0.0.1:0"});
  ASSERT_TRUE(gateway.Start().ok());
  std::string serving =
      gateway.WaitForLine("\"msg\":\"serving\"", absl::Seconds(20));
  ASSERT_FALSE(serving.empty()) << gateway.Stderr();
  const std::string grpc_address = JsonLogField(serving, "grpc_address");
  EXPECT_THAT(grpc_address, HasSubstr("127.0.0.1:"));
  ASSERT_NE(PortOf(grpc_address), 0);
  // The admin listener, from WAGATE_ADMIN_ADDRESS, serves the metrics.
  const std::string admin_address = JsonLogField(serving, "admin_address");
  EXPECT_THAT(admin_address, HasSubstr("127.0.0.1:"));
  ASSERT_NE(PortOf(admin_address), 0);
  EXPECT_THAT(HttpGet(PortOf(admin_address), "/metrics"),
              HasSubstr("wagate_grpc_requests_total"));

  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(grpc_address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(
      stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response)
          .ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  gateway.Signal(SIGTERM);
  absl::optional<int> code = gateway.Wait(absl::Seconds(20));
  ASSERT_TRUE(code.has_value()) << "did not exit after SIGTERM";
  EXPECT_EQ(*code, 0) << gateway.Stderr();
  EXPECT_THAT(gateway.Stderr(), HasSubstr("\"msg\":\"stopped\""));
}

TEST(GatewayProcessTest, FlagsOverrideTheEnvironment) {
  const std::string dir = MakeTempDir("gateway_process");
  Subprocess gateway(
      {BinaryPath("service/wagate"), "--store=sqlite:" + dir + "/w.db",
       "--grpc_address=127.0.0.1:0", "--http_address=127.0.0.1:0",
       "--admin_address=127.0.0.1:0"},
      {"WAGATE_GRPC_ADDRESS=not an address"});
  ASSERT_TRUE(gateway.Start().ok());
  EXPECT_FALSE(
      gateway.WaitForLine("\"msg\":\"serving\"", absl::Seconds(20)).empty())
      << gateway.Stderr();
  gateway.Signal(SIGINT);
  EXPECT_EQ(gateway.Wait(absl::Seconds(20)), absl::optional<int>(0));
}

TEST(GatewayProcessTest, BadConfigKeyFailsNamingTheKey) {
  const std::string dir = MakeTempDir("gateway_process");
  std::string config = WriteFile(dir, "bad.json", R"({"acounts": []})");
  Subprocess gateway(
      {BinaryPath("service/wagate"), "--config=" + config,
       "--grpc_address=127.0.0.1:0", "--http_address=127.0.0.1:0",
       "--admin_address=127.0.0.1:0", "--store=sqlite:" + dir + "/w.db"});
  ASSERT_TRUE(gateway.Start().ok());
  absl::optional<int> code = gateway.Wait(absl::Seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(gateway.Stderr(), HasSubstr("acounts"));
}

TEST(GatewayProcessTest, BadConfigValueFailsNamingTheKey) {
  const std::string dir = MakeTempDir("gateway_process");
  std::string config =
      WriteFile(dir, "bad.json",
                R"({"accounts": [{"waba_id": "1", "access_token_env": "T",
          "phone_numbers": [{"id": "12", "throughput_mps": -5}]}]})");
  Subprocess gateway(
      {BinaryPath("service/wagate"), "--config=" + config,
       "--grpc_address=127.0.0.1:0", "--http_address=127.0.0.1:0",
       "--admin_address=127.0.0.1:0", "--store=sqlite:" + dir + "/w.db"},
      {"T=token"});
  ASSERT_TRUE(gateway.Start().ok());
  absl::optional<int> code = gateway.Wait(absl::Seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(gateway.Stderr(),
              HasSubstr("accounts[0].phone_numbers[0].throughput_mps"));
}

TEST(GatewayProcessTest, ConfigSecretsAreNotEchoed) {
  const std::string dir = MakeTempDir("gateway_process");
  std::string config = WriteFile(
      dir, "c.json",
      R"({"accounts": [{"waba_id": "1", "access_token_env": "MISSING_TOKEN"}]})");
  Subprocess gateway(
      {BinaryPath("service/wagate"), "--config=" + config,
       "--grpc_address=127.0.0.1:0", "--http_address=127.0.0.1:0",
       "--admin_address=127.0.0.1:0", "--store=sqlite:" + dir + "/w.db"},
      {"WAGATE_ACCESS_TOKEN=super-secret-token-value"});
  ASSERT_TRUE(gateway.Start().ok());
  absl::optional<int> code = gateway.Wait(absl::Seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(gateway.Stderr(), HasSubstr("MISSING_TOKEN"));
  EXPECT_THAT(gateway.Stderr(), ::testing::Not(HasSubstr("super-secret")));
}

TEST(GatewayProcessTest, EmptyAdminAddressTurnsTheAdminListenerOff) {
  const std::string dir = MakeTempDir("gateway_process");
  Subprocess gateway({BinaryPath("service/wagate"),
                      "--store=sqlite:" + dir + "/w.db",
                      "--grpc_address=127.0.0.1:0",
                      "--http_address=127.0.0.1:0", "--admin_address="});
  ASSERT_TRUE(gateway.Start().ok());
  std::string serving =
      gateway.WaitForLine("\"msg\":\"serving\"", absl::Seconds(20));
  ASSERT_FALSE(serving.empty()) << gateway.Stderr();
  EXPECT_THAT(serving, HasSubstr("\"admin_address\":\"\""));
  // The loopback webhook listener still answers /metrics.
  EXPECT_THAT(
      HttpGet(PortOf(JsonLogField(serving, "http_address")), "/metrics"),
      HasSubstr("HTTP/1.1 200"));
  gateway.Signal(SIGTERM);
  EXPECT_EQ(gateway.Wait(absl::Seconds(20)), absl::optional<int>(0));
}

// A config with one client API key (the key itself is not needed here).
std::string ClientKeyConfig(const std::string& dir) {
  return WriteFile(
      dir, "keys.json",
      R"({"clients": [{"name": "app", "api_key_sha256": )"
      R"("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]})");
}

TEST(GatewayProcessTest, ApiKeysOverPlaintextOffLoopbackNeedTheFlag) {
  const std::string dir = MakeTempDir("gateway_process");
  const std::vector<std::string> args = {
      "--config=" + ClientKeyConfig(dir), "--grpc_address=0.0.0.0:0",
      "--http_address=127.0.0.1:0", "--admin_address=127.0.0.1:0",
      "--store=sqlite:" + dir + "/w.db"};
  std::string refused = ExpectRefusal(args);
  EXPECT_THAT(refused, HasSubstr("--grpc_address"));
  EXPECT_THAT(refused, HasSubstr("tls.grpc"));
  EXPECT_THAT(refused, HasSubstr("--allow_insecure_grpc"));

  // Allowed from the environment, as every flag: serves, warning loudly.
  Subprocess gateway(
      [&] {
        std::vector<std::string> all = args;
        all.insert(all.begin(), BinaryPath("service/wagate"));
        return all;
      }(),
      {"WAGATE_ALLOW_INSECURE_GRPC=true"});
  ASSERT_TRUE(gateway.Start().ok());
  ASSERT_FALSE(
      gateway.WaitForLine("\"msg\":\"serving\"", absl::Seconds(20)).empty())
      << gateway.Stderr();
  EXPECT_THAT(gateway.Stderr(), HasSubstr("INSECURE"));
  gateway.Signal(SIGTERM);
  EXPECT_EQ(gateway.Wait(absl::Seconds(20)), absl::optional<int>(0));
}

TEST(GatewayProcessTest, SandboxRefusesNonLoopbackListeners) {
  const std::string dir = MakeTempDir("gateway_process");
  struct Case {
    std::string flag;
    std::vector<std::string> addresses;
  } cases[] = {
      {"--grpc_address",
       {"--grpc_address=0.0.0.0:0", "--http_address=127.0.0.1:1",
        "--admin_address=127.0.0.1:0"}},
      {"--http_address",
       {"--grpc_address=127.0.0.1:0", "--http_address=0.0.0.0:1",
        "--admin_address=127.0.0.1:0"}},
      {"--admin_address",
       {"--grpc_address=127.0.0.1:0", "--http_address=127.0.0.1:1",
        "--admin_address=0.0.0.0:0"}},
  };
  for (const Case& test : cases) {
    std::vector<std::string> args = test.addresses;
    args.push_back("--sandbox");
    args.push_back("--store=sqlite:" + dir + "/w.db");
    std::string refused = ExpectRefusal(args);
    EXPECT_THAT(refused, HasSubstr("--sandbox")) << test.flag;
    EXPECT_THAT(refused, HasSubstr(test.flag + " 0.0.0.0:")) << test.flag;
    EXPECT_THAT(refused, HasSubstr("not a loopback address")) << test.flag;
  }
}

}  // namespace
}  // namespace wagate::testing
