// The sandbox loop a newcomer follows: Send through the gateway, the embedded
// emulator accepts it and posts signed sent/delivered/read webhooks back, and
// the statuses stream out of Subscribe — all in-process, over real sockets.
#include "service/server/sandbox.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/server/gateway.h"
#include "tests/integration/util/subprocess.h"
#include "wagate/v1/events.grpc.pb.h"
#include "wagate/v1/messaging.grpc.pb.h"
#include "wagate/v1/templates.grpc.pb.h"

namespace wagate::server {
namespace {

TEST(SandboxTest, SendThenStatusesStreamBack) {
  const std::string http_address =
      absl::StrCat("127.0.0.1:", testing::FreeLoopbackPort());
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox =
      Sandbox::Start(http_address);
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();

  GatewayOptions options;
  options.grpc_address = "127.0.0.1:0";
  options.http_address = http_address;
  options.store = "sqlite:" + testing::MakeTempDir("sandbox_test") + "/w.db";
  options.graph_base_url = (*sandbox)->graph_base_url();
  options.env =
      (*sandbox)->Env([](absl::string_view) { return absl::nullopt; });
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*gateway)->grpc_port()),
                          grpc::InsecureChannelCredentials());
  auto events = v1::Events::NewStub(channel);
  grpc::ClientContext subscribe_context;
  subscribe_context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(30));
  v1::SubscribeRequest subscribe;
  subscribe.set_from_oldest(true);
  subscribe.add_kinds(v1::EVENT_KIND_STATUS);
  auto stream = events->Subscribe(&subscribe_context, subscribe);

  auto messaging = v1::Messaging::NewStub(channel);
  grpc::ClientContext send_context;
  v1::SendRequest request;
  request.set_phone_number_id((*sandbox)->phone_number_id());
  request.set_to("16505551234");
  request.set_biz_opaque_callback_data("order-42");
  request.mutable_text()->set_body("Hello from the sandbox test");
  v1::SendResponse response;
  grpc::Status sent = messaging->Send(&send_context, request, &response);
  ASSERT_TRUE(sent.ok()) << sent.error_message();
  EXPECT_THAT(response.message_id(), ::testing::StartsWith("wamid."));
  EXPECT_EQ(response.wa_id(), "16505551234");

  std::vector<v1::MessageStatus::Status> seen;
  v1::Event event;
  while (seen.size() < 3 && stream->Read(&event)) {
    ASSERT_TRUE(event.has_status());
    EXPECT_EQ(event.status().message_id(), response.message_id());
    EXPECT_EQ(event.status().biz_opaque_callback_data(), "order-42");
    EXPECT_EQ(event.phone_number_id(), (*sandbox)->phone_number_id());
    EXPECT_FALSE(event.cursor().empty());
    seen.push_back(event.status().status());
  }
  EXPECT_THAT(seen, ::testing::ElementsAre(v1::MessageStatus::STATUS_SENT,
                                           v1::MessageStatus::STATUS_DELIVERED,
                                           v1::MessageStatus::STATUS_READ));
  subscribe_context.TryCancel();
  (*gateway)->Shutdown();
}

TEST(SandboxTest, CreatedTemplateIsApprovedOnSubscribeAndSendable) {
  const std::string http_address =
      absl::StrCat("127.0.0.1:", testing::FreeLoopbackPort());
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox =
      Sandbox::Start(http_address);
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  GatewayOptions options;
  options.grpc_address = "127.0.0.1:0";
  options.http_address = http_address;
  options.store = "sqlite:" + testing::MakeTempDir("sandbox_test") + "/w.db";
  options.graph_base_url = (*sandbox)->graph_base_url();
  options.env =
      (*sandbox)->Env([](absl::string_view) { return absl::nullopt; });
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*gateway)->grpc_port()),
                          grpc::InsecureChannelCredentials());

  // Live subscription to template status updates, before the template exists.
  auto events = v1::Events::NewStub(channel);
  grpc::ClientContext subscribe_context;
  subscribe_context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(30));
  v1::SubscribeRequest subscribe;
  subscribe.set_from_oldest(true);
  subscribe.add_kinds(v1::EVENT_KIND_TEMPLATE_STATUS);
  auto stream = events->Subscribe(&subscribe_context, subscribe);

  auto templates = v1::Templates::NewStub(channel);
  grpc::ClientContext create_context;
  v1::CreateTemplateRequest create;
  create.set_waba_id((*sandbox)->waba_id());
  create.set_name("order_shipped");
  create.set_language("en_US");
  create.set_category(v1::TEMPLATE_CATEGORY_UTILITY);
  auto* body = create.add_components();
  body->set_type(v1::TemplateComponentDefinition::TYPE_BODY);
  body->set_text("Your order has shipped.");
  v1::CreateTemplateResponse created;
  grpc::Status status =
      templates->CreateTemplate(&create_context, create, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.status(), "PENDING");

  v1::Event event;
  bool approved = false;
  while (!approved && stream->Read(&event)) {
    ASSERT_TRUE(event.has_template_status());
    approved =
        event.template_status().message_template_name() == "order_shipped" &&
        event.template_status().event() == "APPROVED";
    if (approved) {
      EXPECT_EQ(event.template_status().message_template_id(), created.id());
      EXPECT_EQ(event.waba_id(), (*sandbox)->waba_id());
    }
  }
  EXPECT_TRUE(approved);
  subscribe_context.TryCancel();

  // Approved means sendable.
  auto messaging = v1::Messaging::NewStub(channel);
  grpc::ClientContext send_context;
  v1::SendRequest send;
  send.set_phone_number_id((*sandbox)->phone_number_id());
  send.set_to("16505551234");
  send.mutable_template_()->set_name("order_shipped");
  send.mutable_template_()->mutable_language()->set_code("en_US");
  v1::SendResponse response;
  status = messaging->Send(&send_context, send, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.message_id(), ::testing::StartsWith("wamid."));
  (*gateway)->Shutdown();
}

TEST(SandboxTest, RefusesAnyNonLoopbackListener) {
  EXPECT_TRUE(Sandbox::CheckLoopbackOnly({{"--grpc_address", "127.0.0.1:0"},
                                          {"--http_address", "localhost:8080"},
                                          {"--admin_address", "[::1]:9464"}})
                  .ok());
  // A listener turned off (empty address) exposes nothing.
  EXPECT_TRUE(Sandbox::CheckLoopbackOnly({{"--admin_address", ""}}).ok());
  for (const char* address : {"0.0.0.0:8080", "[::]:8080", ":8080",
                              "10.1.2.3:8080", "example.com:80"}) {
    absl::Status status = Sandbox::CheckLoopbackOnly(
        {{"--grpc_address", "127.0.0.1:0"}, {"--http_address", address}});
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << address;
    EXPECT_THAT(status.message(),
                ::testing::HasSubstr(absl::StrCat("--http_address ", address)))
        << address;
    EXPECT_THAT(status.message(), ::testing::HasSubstr("--sandbox")) << address;
  }
}

}  // namespace
}  // namespace wagate::server
