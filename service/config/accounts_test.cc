#include "service/config/accounts.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config/config.h"

namespace wagate::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](absl::string_view name) -> absl::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

TEST(AccountsTest, SingleAccountServesAnyNumberWithTheEnvToken) {
  absl::StatusOr<Accounts> accounts =
      Accounts::Create(v1::Config(), FakeEnv({{"WAGATE_ACCESS_TOKEN", "tok"},
                                              {"WAGATE_APP_SECRET", "s1"},
                                              {"WAGATE_VERIFY_TOKEN", "v"}}));
  ASSERT_TRUE(accounts.ok()) << accounts.status();
  EXPECT_TRUE(accounts->single_account());
  absl::StatusOr<PhoneNumberAccount> a = accounts->ForPhoneNumber("123");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->access_token, "tok");
  EXPECT_EQ(a->throughput_mps, kDefaultThroughputMps);
  EXPECT_EQ(accounts->app_secrets(), std::vector<std::string>{"s1"});
  EXPECT_EQ(accounts->verify_token(), "v");
}

TEST(AccountsTest, SingleAccountWithoutTokenRefuses) {
  absl::StatusOr<Accounts> accounts =
      Accounts::Create(v1::Config(), FakeEnv({}));
  ASSERT_TRUE(accounts.ok());
  EXPECT_EQ(accounts->ForPhoneNumber("1").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(AccountsTest, MultiAccountResolvesTokensAndRefusesUnknownNumbers) {
  absl::StatusOr<v1::Config> config = ParseConfig(R"({
    "accounts": [
      {"waba_id": "1", "access_token_env": "TOKEN_A",
       "phone_numbers": [{"id": "11", "throughput_mps": 1000}]},
      {"waba_id": "2", "access_token_env": "TOKEN_B",
       "phone_numbers": [{"id": "21"}]}],
    "app_secrets_env": ["SECRET_NEW", "SECRET_OLD"]})");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<Accounts> accounts =
      Accounts::Create(*config, FakeEnv({{"TOKEN_A", "ta"},
                                         {"TOKEN_B", "tb"},
                                         {"SECRET_NEW", "new"},
                                         {"SECRET_OLD", "old"},
                                         {"WAGATE_ACCESS_TOKEN", "ignored"}}));
  ASSERT_TRUE(accounts.ok()) << accounts.status();
  EXPECT_EQ(accounts->ForPhoneNumber("11")->access_token, "ta");
  EXPECT_EQ(accounts->ForPhoneNumber("11")->throughput_mps, 1000);
  EXPECT_EQ(accounts->ForPhoneNumber("21")->waba_id, "2");
  EXPECT_EQ(accounts->ForPhoneNumber("21")->throughput_mps,
            kDefaultThroughputMps);
  absl::Status unknown = accounts->ForPhoneNumber("99").status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(unknown.message(), HasSubstr("99"));
  EXPECT_EQ(*accounts->TokenForWaba("2"), "tb");
  EXPECT_FALSE(accounts->TokenForWaba("3").ok());
  EXPECT_EQ(accounts->app_secrets(), (std::vector<std::string>{"new", "old"}));
  EXPECT_EQ(accounts->ConfiguredNumbers().size(), 2u);
}

TEST(AccountsTest, MissingEnvVariableIsNamedButNoValueEchoed) {
  absl::StatusOr<v1::Config> config = ParseConfig(R"({
    "accounts": [{"waba_id": "1", "access_token_env": "TOKEN_A"}]})");
  ASSERT_TRUE(config.ok());
  absl::StatusOr<Accounts> accounts =
      Accounts::Create(*config, FakeEnv({{"OTHER", "secret-value"}}));
  ASSERT_FALSE(accounts.ok());
  EXPECT_THAT(accounts.status().message(), HasSubstr("TOKEN_A"));
  EXPECT_THAT(accounts.status().message(), Not(HasSubstr("secret-value")));
}

}  // namespace
}  // namespace wagate::config
