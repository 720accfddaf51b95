// Events.Subscribe behind AuthorizedEvents, over a real gRPC server on
// 127.0.0.1:0 with API keys from a config and a real SQLite store: which
// management events (template, account updates: a WABA, no phone number)
// each kind of client receives.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/auth/api_keys.h"
#include "service/auth/authorized_services.h"
#include "service/config/accounts.h"
#include "service/config/config.h"
#include "service/events/events_service.h"
#include "service/events/sqlite_store.h"
#include "service/events/subscribe_kinds.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::auth {
namespace {

using ::testing::ElementsAre;

config::EnvLookup FakeEnv() {
  return [](absl::string_view name) -> absl::optional<std::string> {
    return std::string("token");
  };
}

// WABA 101 (numbers 11, 12) and WABA 102 (number 21); a client scoped to
// number 11 only, one scoped to WABA 101, one unrestricted.
constexpr char kConfig[] = R"({
  "accounts": [
    {"waba_id": "101", "access_token_env": "TOKEN_A",
     "phone_numbers": [{"id": "11"}, {"id": "12"}]},
    {"waba_id": "102", "access_token_env": "TOKEN_B",
     "phone_numbers": [{"id": "21"}]}],
  "clients": [
    {"name": "by-number", "api_key_sha256": "NUMBER",
     "phone_number_ids": ["11"]},
    {"name": "by-waba", "api_key_sha256": "WABA", "waba_ids": ["101"]},
    {"name": "all", "api_key_sha256": "ALL"}]})";

class AuthorizedEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string json = kConfig;
    for (const auto& [placeholder, key] :
         std::map<std::string, std::string>{{"NUMBER", "key-number"},
                                            {"WABA", "key-waba"},
                                            {"ALL", "key-all"}}) {
      json.replace(json.find(placeholder), placeholder.size(), Sha256Hex(key));
    }
    absl::StatusOr<config::v1::Config> config = config::ParseConfig(json);
    ASSERT_TRUE(config.ok()) << config.status();
    absl::StatusOr<config::Accounts> accounts =
        config::Accounts::Create(*config, FakeEnv());
    ASSERT_TRUE(accounts.ok()) << accounts.status();
    absl::StatusOr<std::shared_ptr<const ApiKeys>> keys =
        ApiKeys::Create(*config, *accounts);
    ASSERT_TRUE(keys.ok()) << keys.status();

    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat(
               "authorized_events_test_", getpid(), "_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto store = events::OpenSqliteStore((dir_ / "events.db").string(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    events::EventsServiceOptions options;
    options.phone_number_wabas = {{"11", "101"}, {"12", "101"}, {"21", "102"}};
    auto service =
        std::make_unique<events::EventsService>(store_.get(), options);
    service_ = service.get();
    authorized_ = std::make_unique<AuthorizedEvents>(*keys, std::move(service));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(authorized_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Events::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (service_ != nullptr) service_->Shutdown();
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
    }
    server_.reset();
    authorized_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Appends events of `kind` ("message", "template_status" or
  // "account_update") as id@phone/waba.
  void Append(const std::vector<std::vector<std::string>>& specs) {
    std::vector<events::EventRecord> records;
    for (const auto& spec : specs) {
      const std::string &id = spec[0], &kind = spec[1], &phone = spec[2],
                        &waba = spec[3];
      v1::Event event;
      event.set_id(id);
      event.set_waba_id(waba);
      event.set_phone_number_id(phone);
      if (kind == "message") {
        event.mutable_message()->set_id(id);
      } else if (kind == "template_status") {
        event.mutable_template_status()->set_event("PAUSED");
      } else {
        event.mutable_account_update()->set_event("VERIFIED_ACCOUNT");
      }
      events::EventRecord r;
      r.id = id;
      r.kind = events::KindOfEvent(event);
      r.phone_number_id = phone;
      r.waba_id = waba;
      r.received_at = absl::Now();
      r.payload = event.SerializeAsString();
      records.push_back(std::move(r));
    }
    absl::Notification done;
    store_->Append(std::move(records),
                   [&](absl::StatusOr<events::AppendResult> r) {
                     EXPECT_TRUE(r.ok()) << r.status();
                     done.Notify();
                   });
    done.WaitForNotification();
  }

  // The ids `key` reads from the oldest event until the marker "end".
  std::vector<std::string> ReadUntilEnd(const std::string& key,
                                        v1::SubscribeRequest request = {}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    context.AddMetadata("authorization", "Bearer " + key);
    request.set_from_oldest(true);
    auto reader = stub_->Subscribe(&context, request);
    std::vector<std::string> ids;
    v1::Event event;
    while (reader->Read(&event)) {
      if (event.id() == "end") break;
      ids.push_back(event.id());
    }
    context.TryCancel();
    reader->Finish();
    return ids;
  }

  std::filesystem::path dir_;
  std::unique_ptr<events::Store> store_;
  events::EventsService* service_ = nullptr;
  std::unique_ptr<AuthorizedEvents> authorized_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Events::Stub> stub_;
};

// Issue 14: a client scoped to phone numbers received the template and
// account updates of its numbers' WABA, although Templates and Accounts
// refuse it that WABA. Number-less events now reach only clients that may
// use the WABA.
TEST_F(AuthorizedEventsTest, ManagementEventsReachOnlyClientsOfTheirWaba) {
  Append({{"m11", "message", "11", "101"},
          {"t101", "template_status", "", "101"},
          {"a101", "account_update", "", "101"},
          {"m12", "message", "12", "101"},
          {"t102", "template_status", "", "102"},
          {"m21", "message", "21", "102"},
          {"end", "message", "11", "101"}});
  // Its number's events only, whether it names the number or not.
  EXPECT_THAT(ReadUntilEnd("key-number"), ElementsAre("m11"));
  v1::SubscribeRequest named;
  named.add_phone_number_ids("11");
  EXPECT_THAT(ReadUntilEnd("key-number", named), ElementsAre("m11"));
  // Its WABA's numbers and management events, not the other WABA's.
  EXPECT_THAT(ReadUntilEnd("key-waba"),
              ElementsAre("m11", "t101", "a101", "m12"));
  // Unrestricted: everything, and a number filter brings the number's
  // WABA's management events as before.
  EXPECT_THAT(ReadUntilEnd("key-all"),
              ElementsAre("m11", "t101", "a101", "m12", "t102", "m21"));
  EXPECT_THAT(ReadUntilEnd("key-all", named),
              ElementsAre("m11", "t101", "a101"));
}

TEST_F(AuthorizedEventsTest, GroupOfAPhoneScopedClientSkipsManagementEvents) {
  Append({{"t101", "template_status", "", "101"},
          {"m11", "message", "11", "101"},
          {"a101", "account_update", "", "101"},
          {"end", "message", "11", "101"}});
  v1::SubscribeRequest group;
  group.set_group("g");
  EXPECT_THAT(ReadUntilEnd("key-number", group), ElementsAre("m11"));
  EXPECT_THAT(ReadUntilEnd("key-waba", group),
              ElementsAre("t101", "m11", "a101"));
}

}  // namespace
}  // namespace wagate::auth
