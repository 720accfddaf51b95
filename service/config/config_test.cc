#include "service/config/config.h"

#include <cstdio>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::config {
namespace {

using ::testing::HasSubstr;

constexpr char kGood[] = R"json({
  "accounts": [{
    "waba_id": "102290129340398",
    "access_token_env": "ACME_TOKEN",
    "phone_numbers": [{"id": "106540352242922", "throughput_mps": 1000}]
  }],
  "app_secrets_env": ["APP_SECRET_NEW", "APP_SECRET_OLD"],
  "verify_token_env": "VERIFY",
  "clients": [{
    "name": "billing",
    "api_key_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "phone_number_ids": ["106540352242922"],
    "services": ["wagate.v1.Messaging", "wagate.v1.Events"]
  }],
  "retention": {"max_age": "86400s", "max_bytes": 1000000},
  "limits": {"http_max_body_bytes": 3145728}
})json";

TEST(ConfigTest, ParsesAGoodFile) {
  absl::StatusOr<v1::Config> config = ParseConfig(kGood);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->accounts(0).phone_numbers(0).throughput_mps(), 1000);
  EXPECT_EQ(config->app_secrets_env_size(), 2);
  EXPECT_EQ(config->retention().max_age().seconds(), 86400);
  EXPECT_EQ(config->clients(0).services(1), "wagate.v1.Events");
}

TEST(ConfigTest, UnknownKeyIsAnErrorNamingTheKey) {
  absl::StatusOr<v1::Config> config =
      ParseConfig(R"({"accounts": [], "acounts_typo": 1})");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("acounts_typo"));
}

TEST(ConfigTest, InvalidValueIsAnErrorNamingTheKey) {
  absl::StatusOr<v1::Config> config =
      ParseConfig(R"({"limits": {"http_max_connections": "many"}})");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("http_max_connections"));
}

TEST(ConfigTest, SemanticErrorsNameTheKey) {
  struct Case {
    const char* json;
    const char* key;
  } cases[] = {
      {R"({"accounts": [{"waba_id": "x1", "access_token_env": "T"}]})",
       "accounts[0].waba_id"},
      {R"({"accounts": [{"waba_id": "1"}]})", "accounts[0].access_token_env"},
      {R"({"accounts": [{"waba_id": "1", "access_token_env": "T",
            "phone_numbers": [{"id": "5"}, {"id": "5"}]}]})",
       "accounts[0].phone_numbers[1].id"},
      {R"({"clients": [{"name": "a", "api_key_sha256": "abc"}]})",
       "clients[0].api_key_sha256"},
      {R"({"clients": [{"name": "a", "api_key_sha256":
          "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
          "services": ["Messaging"]}]})",
       "clients[0].services[0]"},
      {R"({"app_secrets_env": ["not a name"]})", "app_secrets_env[0]"},
      {R"({"tls": {"grpc": {"cert_file": "a.pem"}}})", "tls.grpc"},
      {R"({"limits": {"http_max_connections_per_ip": -1}})", "limits"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::Config> config = ParseConfig(c.json);
    ASSERT_FALSE(config.ok()) << c.json;
    EXPECT_THAT(config.status().message(), HasSubstr(c.key)) << c.json;
  }
}

TEST(ConfigTest, LoadsAFileAndReportsAMissingOne) {
  std::string path = ::testing::TempDir() + "/wagate_config_test.json";
  {
    std::ofstream out(path);
    out << kGood;
  }
  EXPECT_TRUE(LoadConfigFile(path).ok());
  std::remove(path.c_str());
  absl::StatusOr<v1::Config> missing = LoadConfigFile(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace wagate::config
