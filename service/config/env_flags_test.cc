#include "service/config/env_flags.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, env_test_address, "127.0.0.1:1", "test flag");
ABSL_FLAG(int, env_test_count, 1, "test flag");

namespace wagate::config {
namespace {

TEST(EnvFlagsTest, NameIsPrefixedAndUpperCased) {
  EXPECT_EQ(EnvironmentName("grpc_address"), "WAGATE_GRPC_ADDRESS");
}

TEST(EnvFlagsTest, EnvironmentSetsFlags) {
  setenv("WAGATE_ENV_TEST_ADDRESS", "0.0.0.0:9", 1);
  ASSERT_TRUE(
      ApplyFlagEnvironment({"env_test_address", "env_test_count"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_env_test_address), "0.0.0.0:9");
  EXPECT_EQ(absl::GetFlag(FLAGS_env_test_count), 1);  // unset: default kept
  unsetenv("WAGATE_ENV_TEST_ADDRESS");
}

TEST(EnvFlagsTest, BadValueNamesTheVariable) {
  setenv("WAGATE_ENV_TEST_COUNT", "lots", 1);
  absl::Status status = ApplyFlagEnvironment({"env_test_count"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("WAGATE_ENV_TEST_COUNT"));
  unsetenv("WAGATE_ENV_TEST_COUNT");
}

TEST(EnvFlagsTest, UnknownFlagIsNotFound) {
  EXPECT_EQ(ApplyFlagEnvironment({"no_such_flag"}).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace wagate::config
