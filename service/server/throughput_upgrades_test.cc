#include "service/server/throughput_upgrades.h"

#include <map>

#include "gtest/gtest.h"
#include "service/config/config.h"
#include "wagate/v1/events.pb.h"

namespace wagate::server {
namespace {

events::EventRecord Record(const v1::Event& event, const std::string& kind) {
  events::EventRecord record;
  record.id = event.id();
  record.kind = kind;
  record.phone_number_id = event.phone_number_id();
  record.payload = event.SerializeAsString();
  return record;
}

v1::Event Upgrade(const std::string& display) {
  v1::Event event;
  event.set_id("upgrade-" + display);
  event.set_field("phone_number_quality_update");
  event.mutable_phone_number_quality()->set_display_phone_number(display);
  event.mutable_phone_number_quality()->set_event("THROUGHPUT_UPGRADE");
  event.mutable_phone_number_quality()->set_current_limit("TIER_UNLIMITED");
  return event;
}

config::EnvLookup Env() {
  return [](absl::string_view name) -> absl::optional<std::string> {
    if (name == "TOKEN") return std::string("t");
    return absl::nullopt;
  };
}

TEST(ThroughputUpgradesTest, ConfiguredDisplayNumberIsUpgraded) {
  absl::StatusOr<config::v1::Config> config = config::ParseConfig(R"({
    "accounts": [{"waba_id": "1", "access_token_env": "TOKEN",
      "phone_numbers": [{"id": "106540352242922",
                         "display_phone_number": "+1 555-078-3881"}]}]})");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<config::Accounts> accounts =
      config::Accounts::Create(*config, Env());
  ASSERT_TRUE(accounts.ok());
  std::map<std::string, int> set;
  ThroughputUpgrades upgrades(
      *accounts, [&](const std::string& id, int mps) { set[id] = mps; });
  upgrades.OnStored({Record(Upgrade("15550783881"), "phone_number_quality")});
  EXPECT_EQ(set["106540352242922"], 1000);
}

TEST(ThroughputUpgradesTest, NumberLearnedFromMessagesWebhooks) {
  absl::StatusOr<config::Accounts> accounts =
      config::Accounts::Create(config::v1::Config(), Env());
  ASSERT_TRUE(accounts.ok());
  std::map<std::string, int> set;
  ThroughputUpgrades upgrades(
      *accounts, [&](const std::string& id, int mps) { set[id] = mps; });
  // Unknown yet: nothing happens.
  upgrades.OnStored({Record(Upgrade("15550001111"), "phone_number_quality")});
  EXPECT_TRUE(set.empty());
  // A status webhook names both the id and the display number.
  v1::Event status;
  status.set_id("wamid.1:sent");
  status.set_phone_number_id("222");
  status.set_display_phone_number("15550001111");
  status.mutable_status()->set_message_id("wamid.1");
  upgrades.OnStored({Record(status, "status")});
  upgrades.OnStored({Record(Upgrade("15550001111"), "phone_number_quality")});
  EXPECT_EQ(set["222"], 1000);
}

TEST(ThroughputUpgradesTest, OtherQualityEventsChangeNothing) {
  absl::StatusOr<config::v1::Config> config = config::ParseConfig(R"({
    "accounts": [{"waba_id": "1", "access_token_env": "TOKEN",
      "phone_numbers": [{"id": "9", "display_phone_number": "15550783881"}]}]})");
  ASSERT_TRUE(config.ok());
  absl::StatusOr<config::Accounts> accounts =
      config::Accounts::Create(*config, Env());
  ASSERT_TRUE(accounts.ok());
  int calls = 0;
  ThroughputUpgrades upgrades(*accounts,
                              [&](const std::string&, int) { ++calls; });
  v1::Event onboarding = Upgrade("15550783881");
  onboarding.mutable_phone_number_quality()->set_event("ONBOARDING");
  upgrades.OnStored({Record(onboarding, "phone_number_quality")});
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace wagate::server
