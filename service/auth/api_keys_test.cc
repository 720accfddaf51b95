#include "service/auth/api_keys.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config/config.h"

namespace wagate::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

config::EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](absl::string_view name) -> absl::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

// Two accounts (WABA 101: numbers 11, 12; WABA 102: number 21) and clients
// scoped by number, by WABA, by service, and unrestricted.
struct Fixture {
  std::unique_ptr<config::Accounts> accounts;
  std::shared_ptr<const ApiKeys> keys;
};

Fixture Make() {
  std::string json = absl::StrCat(R"({
    "accounts": [
      {"waba_id": "101", "access_token_env": "TOKEN_A",
       "phone_numbers": [{"id": "11"}, {"id": "12"}]},
      {"waba_id": "102", "access_token_env": "TOKEN_B",
       "phone_numbers": [{"id": "21"}]}],
    "clients": [
      {"name": "by-number", "api_key_sha256": ")",
                                  Sha256Hex("key-number"), R"(",
       "phone_number_ids": ["12"]},
      {"name": "by-waba", "api_key_sha256": ")",
                                  Sha256Hex("key-waba"), R"(",
       "waba_ids": ["102"], "services": ["wagate.v1.Events"]},
      {"name": "all", "api_key_sha256": ")",
                                  Sha256Hex("key-all"), R"("}]})");
  absl::StatusOr<config::v1::Config> config = config::ParseConfig(json);
  EXPECT_TRUE(config.ok()) << config.status();
  Fixture f;
  absl::StatusOr<config::Accounts> accounts = config::Accounts::Create(
      *config, FakeEnv({{"TOKEN_A", "ta"}, {"TOKEN_B", "tb"}}));
  EXPECT_TRUE(accounts.ok()) << accounts.status();
  f.accounts = std::make_unique<config::Accounts>(*std::move(accounts));
  absl::StatusOr<std::shared_ptr<const ApiKeys>> keys =
      ApiKeys::Create(*config, *f.accounts);
  EXPECT_TRUE(keys.ok()) << keys.status();
  f.keys = *keys;
  return f;
}

absl::StatusOr<Principal> Auth(const ApiKeys& keys, const std::string& header) {
  return keys.Authenticate(&header);
}

TEST(ParseBearerTest, AcceptsSchemeInAnyCaseAndSurroundingWhitespace) {
  EXPECT_EQ(*ParseBearer("Bearer abc"), "abc");
  EXPECT_EQ(*ParseBearer("bearer abc"), "abc");
  EXPECT_EQ(*ParseBearer("BEARER abc"), "abc");
  EXPECT_EQ(*ParseBearer("  Bearer \t abc  "), "abc");
}

TEST(ParseBearerTest, RefusesMissingOrMalformedWithoutEchoingTheKey) {
  for (const char* header :
       {"", "Bearer", "Bearer ", "Bearer    ", "Basic abc", "Bearerabc", "abc",
        "Bearer a b", "Token secret-key"}) {
    absl::StatusOr<absl::string_view> key = ParseBearer(header);
    ASSERT_FALSE(key.ok()) << header;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(key.status().message(), kUnauthenticatedMessage);
  }
}

TEST(Sha256HexTest, KnownVector) {
  EXPECT_EQ(Sha256Hex("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST(ApiKeysTest, DigestMatchSelectsTheClient) {
  Fixture f = Make();
  ASSERT_TRUE(f.keys->enabled());
  absl::StatusOr<Principal> p = Auth(*f.keys, "Bearer key-waba");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name(), "by-waba");
  p = Auth(*f.keys, "bearer   key-all ");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name(), "all");
}

TEST(ApiKeysTest, UnknownMissingOrMalformedKeyIsUnauthenticated) {
  Fixture f = Make();
  EXPECT_EQ(f.keys->Authenticate(nullptr).status().code(),
            absl::StatusCode::kUnauthenticated);
  for (const char* header : {"Bearer nope", "Bearer KEY-ALL", "key-all",
                             "Basic key-all", "Bearer key-al"}) {
    absl::StatusOr<Principal> p = Auth(*f.keys, header);
    ASSERT_FALSE(p.ok()) << header;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(p.status().message(), kUnauthenticatedMessage);  // no echo
  }
}

TEST(ApiKeysTest, NoClientsMeansAnonymousUnrestricted) {
  config::v1::Config config;
  absl::StatusOr<config::Accounts> accounts =
      config::Accounts::Create(config, FakeEnv({}));
  ASSERT_TRUE(accounts.ok());
  auto keys = ApiKeys::Create(config, *accounts);
  ASSERT_TRUE(keys.ok());
  EXPECT_FALSE((*keys)->enabled());
  absl::StatusOr<Principal> p = (*keys)->Authenticate(nullptr);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->anonymous());
  EXPECT_TRUE(p->CanCall(kMediaService));
  EXPECT_TRUE(p->CanUsePhoneNumber("anything"));
  EXPECT_TRUE(p->CanUseWaba("anything"));
}

TEST(ApiKeysTest, NumberScope) {
  Fixture f = Make();
  Principal p = *Auth(*f.keys, "Bearer key-number");
  EXPECT_TRUE(p.CanCall(kMessagingService));  // services empty = all
  EXPECT_TRUE(p.CanUsePhoneNumber("12"));
  EXPECT_FALSE(p.CanUsePhoneNumber("11"));  // same WABA, not listed
  EXPECT_FALSE(p.CanUsePhoneNumber("21"));
  EXPECT_FALSE(p.CanUsePhoneNumber(""));
  EXPECT_FALSE(p.CanUseWaba("101"));  // numbers give no WABA-wide access
  EXPECT_FALSE(p.AllNumbers());
  EXPECT_THAT(p.PhoneNumbers(), ElementsAre("12"));
  absl::Status denied = p.CheckPhoneNumber("21");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.message(), HasSubstr("21"));
  EXPECT_THAT(denied.message(), HasSubstr("by-number"));
}

TEST(ApiKeysTest, WabaScopeBringsItsNumbersPerAccounts) {
  Fixture f = Make();
  Principal p = *Auth(*f.keys, "Bearer key-waba");
  EXPECT_TRUE(p.CanUseWaba("102"));
  EXPECT_FALSE(p.CanUseWaba("101"));
  EXPECT_TRUE(p.CanUsePhoneNumber("21"));  // via accounts: 21 ∈ 102
  EXPECT_FALSE(p.CanUsePhoneNumber("11"));
  EXPECT_FALSE(p.CanUsePhoneNumber("99"));  // unknown number
  EXPECT_THAT(p.PhoneNumbers(), ElementsAre("21"));
  EXPECT_EQ(p.CheckWaba("101").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(p.CheckWaba("101").message(), HasSubstr("101"));
}

TEST(ApiKeysTest, ServiceScope) {
  Fixture f = Make();
  Principal p = *Auth(*f.keys, "Bearer key-waba");
  EXPECT_TRUE(p.CanCall(kEventsService));
  EXPECT_FALSE(p.CanCall(kMessagingService));
  absl::Status denied = p.CheckService(kMessagingService);
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.message(), HasSubstr("wagate.v1.Messaging"));
}

TEST(ApiKeysTest, UnrestrictedClient) {
  Fixture f = Make();
  Principal p = *Auth(*f.keys, "Bearer key-all");
  EXPECT_FALSE(p.anonymous());
  EXPECT_TRUE(p.AllNumbers());
  EXPECT_TRUE(p.CanUsePhoneNumber("21"));
  EXPECT_TRUE(p.CanUseWaba("101"));
  EXPECT_TRUE(p.CanCall(kAccountsService));
}

TEST(ApiKeysTest, CreateRefusesBadClients) {
  config::v1::Config config;
  absl::StatusOr<config::Accounts> accounts =
      config::Accounts::Create(config, FakeEnv({}));
  ASSERT_TRUE(accounts.ok());
  auto check = [&](const std::function<void(config::v1::Config&)>& edit,
                   const std::string& expected) {
    config::v1::Config c;
    auto* a = c.add_clients();
    a->set_name("a");
    a->set_api_key_sha256(Sha256Hex("ka"));
    edit(c);
    auto keys = ApiKeys::Create(c, *accounts);
    ASSERT_FALSE(keys.ok()) << expected;
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(keys.status().message(), HasSubstr(expected));
  };
  check([](auto& c) { c.mutable_clients(0)->set_name(""); }, "clients[0].name");
  check([](auto& c) { c.mutable_clients(0)->set_api_key_sha256("abc"); },
        "clients[0].api_key_sha256");
  check(
      [](auto& c) {
        c.mutable_clients(0)->set_api_key_sha256(std::string(64, 'g'));
      },
      "clients[0].api_key_sha256");
  check([](auto& c) { c.mutable_clients(0)->add_services("Messaging"); },
        "unknown service");
  check(
      [](auto& c) {
        auto* b = c.add_clients();
        b->set_name("a");
        b->set_api_key_sha256(Sha256Hex("kb"));
      },
      "clients[1].name");
  check(
      [](auto& c) {
        auto* b = c.add_clients();
        b->set_name("b");
        b->set_api_key_sha256(Sha256Hex("ka"));
      },
      "clients[1].api_key_sha256");
  // A '/' would let client "a" join client "a/b"'s consumer groups
  // ("a/b/g" is both "a" + "b/g" and "a/b" + "g").
  check([](auto& c) { c.mutable_clients(0)->set_name("a/b"); },
        "clients[0].name");
  check([](auto& c) { c.mutable_clients(0)->set_name("crm bot"); },
        "clients[0].name");
  check([](auto& c) { c.mutable_clients(0)->set_name(std::string(65, 'x')); },
        "clients[0].name: at most 64");
  check([](auto& c) { c.mutable_clients(0)->add_phone_number_ids("12/34"); },
        "clients[0].phone_number_ids[0]");
  check([](auto& c) { c.mutable_clients(0)->add_waba_ids("me"); },
        "clients[0].waba_ids[0]");
}

TEST(ApiKeysTest, ClientNamesMayUseTheSafeCharacters) {
  config::v1::Config config;
  auto* a = config.add_clients();
  a->set_name("crm.prod_eu-1@team");
  a->set_api_key_sha256(Sha256Hex("ka"));
  absl::StatusOr<config::Accounts> accounts =
      config::Accounts::Create(config, FakeEnv({}));
  ASSERT_TRUE(accounts.ok());
  EXPECT_TRUE(ApiKeys::Create(config, *accounts).ok());
}

TEST(ApiKeysTest, UppercaseHexDigestIsAccepted) {
  config::v1::Config config;
  auto* a = config.add_clients();
  a->set_name("a");
  std::string hex = Sha256Hex("ka");
  for (char& c : hex) c = static_cast<char>(std::toupper(c));
  a->set_api_key_sha256(hex);
  absl::StatusOr<config::Accounts> accounts =
      config::Accounts::Create(config, FakeEnv({}));
  ASSERT_TRUE(accounts.ok());
  auto keys = ApiKeys::Create(config, *accounts);
  ASSERT_TRUE(keys.ok()) << keys.status();
  const std::string header = "Bearer ka";
  EXPECT_TRUE((*keys)->Authenticate(&header).ok());
}

TEST(IsLoopbackAddressTest, OnlyLocalAddresses) {
  for (const char* address :
       {"127.0.0.1:50051", "127.1.2.3:0", "localhost:50051", "LOCALHOST:1",
        "[::1]:50051", "ipv4:127.0.0.1:1", "unix:/tmp/wagate.sock"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address :
       {"0.0.0.0:50051", "[::]:50051", ":50051", "10.0.0.1:50051",
        "example.com:50051", "128.0.0.1:1", "[::2]:1", "localhost.evil:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

}  // namespace
}  // namespace wagate::auth
