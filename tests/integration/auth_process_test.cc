// The wagate binary and client keys: without `clients` it refuses to serve
// gRPC on a non-loopback address; with keys, tokens and app secrets
// configured and traffic driven through every path that handles them (good
// and bad keys, Graph successes and refusals, signed webhooks), none of those
// secrets appears anywhere in its logs.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emulator/options.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/auth/api_keys.h"
#include "tests/integration/util/subprocess.h"
#include "wagate/v1/events.grpc.pb.h"
#include "wagate/v1/messaging.grpc.pb.h"
#include "wagate/v1/templates.grpc.pb.h"

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

TEST(AuthProcessTest, RefusesNonLoopbackGrpcWithoutClientKeys) {
  const std::string dir = MakeTempDir("auth_process");
  Subprocess gateway({BinaryPath("service/wagate"), "--grpc_address=0.0.0.0:0",
                      "--http_address=127.0.0.1:0",
                      "--admin_address=127.0.0.1:0",
                      "--store=sqlite:" + dir + "/w.db"});
  ASSERT_TRUE(gateway.Start().ok());
  absl::optional<int> code = gateway.Wait(absl::Seconds(20));
  ASSERT_TRUE(code.has_value()) << "still running: " << gateway.Stderr();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(gateway.Stderr(), HasSubstr("--grpc_address"));
  EXPECT_THAT(gateway.Stderr(), HasSubstr("`clients`"));
  EXPECT_THAT(gateway.Stderr(), Not(HasSubstr("\"msg\":\"serving\"")));
}

TEST(AuthProcessTest, LoopbackWithoutClientKeysServes) {
  const std::string dir = MakeTempDir("auth_process");
  Subprocess gateway(
      {BinaryPath("service/wagate"), "--grpc_address=127.0.0.1:0",
       "--http_address=127.0.0.1:0", "--admin_address=127.0.0.1:0",
       "--store=sqlite:" + dir + "/w.db"});
  ASSERT_TRUE(gateway.Start().ok());
  EXPECT_FALSE(
      gateway.WaitForLine("\"msg\":\"serving\"", absl::Seconds(20)).empty())
      << gateway.Stderr();
  gateway.Signal(SIGTERM);
  EXPECT_EQ(gateway.Wait(absl::Seconds(20)), absl::optional<int>(0));
}

TEST(AuthProcessTest, NoSecretInTheLogsOfAFullRun) {
  const std::string dir = MakeTempDir("auth_process");
  const emulator::EmulatorOptions sandbox;  // the --sandbox account's ids
  const std::string key_a = "api-key-A-7f3e9c1d2b";
  const std::string key_b = "api-key-B-5a8d0e6f4c";
  const std::string bad_key = "api-key-BAD-91c3e7a2";
  const std::string token_b = "graph-token-B-3d9f7a1e";
  const std::string old_app_secret = "app-secret-old-8c2e4b6d";
  // Account A uses the sandbox's token (so sends succeed and signed webhooks
  // flow); account B's token is refused by the emulator (error paths).
  std::string config = WriteFile(
      dir, "c.json",
      absl::StrCat(R"({"accounts": [
        {"waba_id": ")",
                   sandbox.waba_id,
                   R"(", "access_token_env": "WAGATE_ACCESS_TOKEN",
         "phone_numbers": [{"id": ")",
                   sandbox.phone_number_ids.front(), R"("}]},
        {"waba_id": "2222", "access_token_env": "TOKEN_B",
         "phone_numbers": [{"id": "22222"}]}],
      "app_secrets_env": ["APP_SECRET_OLD"],
      "clients": [
        {"name": "client-a", "api_key_sha256": ")",
                   auth::Sha256Hex(key_a), R"("},
        {"name": "client-b", "api_key_sha256": ")",
                   auth::Sha256Hex(key_b), R"(", "waba_ids": ["2222"]}]})"));
  const std::string grpc_port = std::to_string(FreeLoopbackPort());
  Subprocess gateway(
      {BinaryPath("service/wagate"), "--sandbox", "--log_level=debug",
       "--config=" + config, "--grpc_address=127.0.0.1:" + grpc_port,
       absl::StrCat("--http_address=127.0.0.1:", FreeLoopbackPort()),
       "--admin_address=127.0.0.1:0", "--store=sqlite:" + dir + "/w.db",
       "--shutdown_grace=2s"},
      {"TOKEN_B=" + token_b, "APP_SECRET_OLD=" + old_app_secret});
  ASSERT_TRUE(gateway.Start().ok());
  ASSERT_FALSE(
      gateway.WaitForLine("\"msg\":\"serving\"", absl::Seconds(30)).empty())
      << gateway.Stderr();

  auto channel = grpc::CreateChannel("127.0.0.1:" + grpc_port,
                                     grpc::InsecureChannelCredentials());
  auto messaging = v1::Messaging::NewStub(channel);
  auto templates = v1::Templates::NewStub(channel);
  auto events = v1::Events::NewStub(channel);
  auto context = [](const std::string& key) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(15));
    c->AddMetadata("authorization", "Bearer " + key);
    return c;
  };
  auto text = [](const std::string& number) {
    v1::SendRequest request;
    request.set_phone_number_id(number);
    request.set_to("15550001111");
    request.mutable_text()->set_body("secret-body-do-not-log");
    return request;
  };
  v1::SendResponse sent;
  // Good key, Graph accepts: the emulator then posts signed webhooks.
  grpc::Status ok = messaging->Send(
      context(key_a).get(), text(sandbox.phone_number_ids.front()), &sent);
  EXPECT_TRUE(ok.ok()) << ok.error_message() << gateway.Stderr();
  // Good key, Graph refuses the token.
  grpc::Status refused =
      messaging->Send(context(key_a).get(), text("22222"), &sent);
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.error_message(), Not(HasSubstr(token_b)));
  // Out of scope, bad key, malformed header.
  EXPECT_EQ(messaging
                ->Send(context(key_b).get(),
                       text(sandbox.phone_number_ids.front()), &sent)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(messaging->Send(context(bad_key).get(), text("22222"), &sent)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  {
    grpc::ClientContext c;
    c.AddMetadata("authorization", "Basic " + key_a);
    EXPECT_EQ(messaging->Send(&c, text("22222"), &sent).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  v1::ListTemplatesRequest list;
  list.set_waba_id("2222");
  v1::ListTemplatesResponse listed;
  templates->ListTemplates(context(key_b).get(), list, &listed);
  // The webhooks of the accepted send reach a subscriber (so they were
  // verified with the app secret).
  {
    auto c = context(key_a);
    v1::SubscribeRequest request;
    request.set_from_oldest(true);
    auto reader = events->Subscribe(c.get(), request);
    v1::Event event;
    EXPECT_TRUE(reader->Read(&event)) << gateway.Stderr();
    c->TryCancel();
    reader->Finish();
  }

  gateway.Signal(SIGTERM);
  absl::optional<int> code = gateway.Wait(absl::Seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  const std::string logs = gateway.Stderr();
  EXPECT_THAT(logs, HasSubstr("client-b"));  // refusals name the client
  for (const std::string& secret :
       {key_a, key_b, bad_key, token_b, old_app_secret,
        std::string("sandbox-access-token"), std::string("sandbox-app-secret"),
        std::string("sandbox-verify-token"),
        std::string("secret-body-do-not-log")}) {
    EXPECT_THAT(logs, Not(HasSubstr(secret))) << "secret in the logs";
  }
}

}  // namespace
}  // namespace wagate::testing
