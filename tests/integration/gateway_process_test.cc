// The wagate executable as an operator runs it: flags and WAGATE_* variables,
// config errors, the "serving" line, SIGTERM → graceful exit 0.
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/util/subprocess.h"

namespace wagate::testing {
namespace {

using ::testing::HasSubstr;

std::string WriteFile(const std::string& dir, const std::string& name,
                      const std::string& contents) {
  std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(contents.c_str(), f);
  std::fclose(f);
  return path;
}

TEST(GatewayProcessTest, ServesUntilSigtermThenExitsZero) {
  const std::string dir = MakeTempDir("gateway_process");
  // Addresses come from the environment here, to test WAGATE_<FLAG>.
  Subprocess gateway(
      {BinaryPath("service/wagate"), "--store=sqlite:" + dir + "/w.db"},
      {"WAGATE_GRPC_ADDRESS=127.0.0.1:0", "WAGATE_HTTP_ADDRESS=127.0.0.1:0"});
  ASSERT_TRUE(gateway.Start().ok());
  std::string serving =
      gateway.WaitForLine("\"msg\":\"serving\"", absl::Seconds(20));
  ASSERT_FALSE(serving.empty()) << gateway.Stderr();
  const std::string grpc_address = JsonLogField(serving, "grpc_address");
  EXPECT_THAT(grpc_address, HasSubstr("127.0.0.1:"));
  ASSERT_NE(PortOf(grpc_address), 0);

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
       "--grpc_address=127.0.0.1:0", "--http_address=127.0.0.1:0"},
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
  Subprocess gateway({BinaryPath("service/wagate"), "--config=" + config,
                      "--grpc_address=127.0.0.1:0",
                      "--http_address=127.0.0.1:0",
                      "--store=sqlite:" + dir + "/w.db"});
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
       "--store=sqlite:" + dir + "/w.db"},
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
       "--store=sqlite:" + dir + "/w.db"},
      {"WAGATE_ACCESS_TOKEN=super-secret-token-value"});
  ASSERT_TRUE(gateway.Start().ok());
  absl::optional<int> code = gateway.Wait(absl::Seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(gateway.Stderr(), HasSubstr("MISSING_TOKEN"));
  EXPECT_THAT(gateway.Stderr(), ::testing::Not(HasSubstr("super-secret")));
}

}  // namespace
}  // namespace wagate::testing
