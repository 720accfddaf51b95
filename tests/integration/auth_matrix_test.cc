// Client API keys and scopes end to end: the gateway in-process (config with
// two accounts and three clients) against the sandbox emulator, every RPC of
// the six wagate.v1 services × {no key, bad key, out-of-scope key, good key};
// SendStream with mixed in/out-of-scope items; Subscribe results filtered to
// the caller's numbers; a service-restricted key.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "absl/synchronization/notification.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "service/auth/api_keys.h"
#include "service/common/hmac.h"
#include "service/http/client.h"
#include "service/config/config.h"
#include "service/server/gateway.h"
#include "service/server/sandbox.h"
#include "tests/integration/util/subprocess.h"
#include "wagate/v1/accounts.grpc.pb.h"
#include "wagate/v1/events.grpc.pb.h"
#include "wagate/v1/media.grpc.pb.h"
#include "wagate/v1/messaging.grpc.pb.h"
#include "wagate/v1/phone_numbers.grpc.pb.h"
#include "wagate/v1/templates.grpc.pb.h"

namespace wagate::server {
namespace {

using ::testing::HasSubstr;

constexpr char kKeyA[] = "key-a-0123456789";      // WABA of the sandbox number
constexpr char kKeyB[] = "key-b-0123456789";      // the other WABA only
constexpr char kKeyEvents[] = "key-events-0123";  // Events service only
constexpr char kWabaB[] = "222222";
constexpr char kNumberB[] = "2222222";

// Which key a call presents.
enum class Key { kNone, kBad, kOutOfScope, kGood };

class AuthMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http_address_ = absl::StrCat("127.0.0.1:", testing::FreeLoopbackPort());
    const std::string& http_address = http_address_;
    absl::StatusOr<std::unique_ptr<Sandbox>> sandbox =
        Sandbox::Start(http_address);
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = *std::move(sandbox);
    waba_a_ = sandbox_->waba_id();
    number_a_ = sandbox_->phone_number_id();
    const std::string json = absl::StrCat(
        R"({"accounts": [
          {"waba_id": ")",
        waba_a_,
        R"(", "access_token_env": "TOKEN_A",
           "phone_numbers": [{"id": ")",
        number_a_, R"("}]},
          {"waba_id": ")",
        kWabaB, R"(", "access_token_env": "TOKEN_B",
           "phone_numbers": [{"id": ")",
        kNumberB, R"("}]}],
        "clients": [
          {"name": "a", "api_key_sha256": ")",
        auth::Sha256Hex(kKeyA), R"(", "waba_ids": [")", waba_a_, R"("]},
          {"name": "b", "api_key_sha256": ")",
        auth::Sha256Hex(kKeyB), R"(", "waba_ids": [")", kWabaB, R"("]},
          {"name": "events-only", "api_key_sha256": ")",
        auth::Sha256Hex(kKeyEvents), R"(",
           "services": ["wagate.v1.Events"]}]})");
    absl::StatusOr<config::v1::Config> config = config::ParseConfig(json);
    ASSERT_TRUE(config.ok()) << config.status();
    GatewayOptions options;
    options.grpc_address = "127.0.0.1:0";
    options.http_address = http_address;
    options.store =
        "sqlite:" + testing::MakeTempDir("auth_matrix_test") + "/w.db";
    options.graph_base_url = sandbox_->graph_base_url();
    options.config = *std::move(config);
    options.env = sandbox_->Env(
        [](absl::string_view name) -> absl::optional<std::string> {
          if (name == "TOKEN_A" || name == "TOKEN_B") {
            return std::string(Sandbox::kAccessToken);
          }
          return absl::nullopt;
        });
    options.shutdown_grace = absl::Seconds(1);
    absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", gateway_->grpc_port()),
                            grpc::InsecureChannelCredentials());
    client_thread_ = std::thread([this] { client_io_.run(); });
    sandbox_client_ = std::make_unique<http::Client>(client_io_);
  }

  void TearDown() override {
    sandbox_client_.reset();
    client_guard_.reset();
    client_io_.stop();
    if (client_thread_.joinable()) client_thread_.join();
    if (gateway_) gateway_->Shutdown();
  }

  // A context presenting `key`, with a deadline bounding the call.
  std::unique_ptr<grpc::ClientContext> Context(
      Key key, absl::Duration timeout = absl::Seconds(15)) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          absl::ToChronoMilliseconds(timeout));
    switch (key) {
      case Key::kNone:
        break;
      case Key::kBad:
        context->AddMetadata("authorization", "Bearer not-a-configured-key");
        break;
      case Key::kOutOfScope:
        context->AddMetadata("authorization", absl::StrCat("Bearer ", kKeyB));
        break;
      case Key::kGood:
        context->AddMetadata("authorization", absl::StrCat("Bearer ", kKeyA));
        break;
    }
    return context;
  }
  std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& key) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(15));
    context->AddMetadata("authorization", "Bearer " + key);
    return context;
  }

  // A webhook POST as Meta sends it, signed with the sandbox's app secret;
  // the HTTP status.
  int PostWebhook(const std::string& body) {
    http::ClientRequest request;
    request.method = "POST";
    request.url = absl::StrCat("http://", http_address_, "/webhook");
    request.body = body;
    request.headers = {{"Content-Type", "application/json"},
                       {"X-Hub-Signature-256",
                        common::SignatureHeader(Sandbox::kAppSecret, body)}};
    request.timeout = absl::Seconds(10);
    absl::Notification done;
    int status = 0;
    sandbox_client_->Send(std::move(request),
                          [&](absl::StatusOr<http::ClientResponse> response) {
                            if (response.ok()) status = response->status;
                            done.Notify();
                          });
    done.WaitForNotification();
    return status;
  }

  v1::SendRequest TextTo(const std::string& number) {
    v1::SendRequest request;
    request.set_phone_number_id(number);
    request.set_to("15550001111");
    request.mutable_text()->set_body("hello");
    return request;
  }

  // Every RPC, with requests naming the sandbox account's number and WABA.
  std::map<std::string, std::function<grpc::Status(Key)>> Rpcs() {
    std::map<std::string, std::function<grpc::Status(Key)>> rpcs;
    auto messaging = v1::Messaging::NewStub(channel_);
    auto events = v1::Events::NewStub(channel_);
    auto templates = v1::Templates::NewStub(channel_);
    auto numbers = v1::PhoneNumbers::NewStub(channel_);
    auto media = v1::Media::NewStub(channel_);
    auto accounts = v1::Accounts::NewStub(channel_);
    std::shared_ptr<v1::Messaging::Stub> m(std::move(messaging));
    std::shared_ptr<v1::Events::Stub> e(std::move(events));
    std::shared_ptr<v1::Templates::Stub> t(std::move(templates));
    std::shared_ptr<v1::PhoneNumbers::Stub> p(std::move(numbers));
    std::shared_ptr<v1::Media::Stub> md(std::move(media));
    std::shared_ptr<v1::Accounts::Stub> a(std::move(accounts));
    const std::string pn = number_a_;
    const std::string waba = waba_a_;

#define UNARY(stub, Rpc, setup)                               \
  rpcs[#Rpc] = [this, stub, pn, waba](Key key) {              \
    v1::Rpc##Request request;                                 \
    setup;                                                    \
    v1::Rpc##Response response;                               \
    return stub->Rpc(Context(key).get(), request, &response); \
  };
    UNARY(m, Send, request = TextTo(pn))
    UNARY(m, MarkRead, request.set_phone_number_id(pn);
          request.set_message_id("wamid.x"))
    UNARY(e, Ack, request.set_group("g"))
    UNARY(t, ListTemplates, request.set_waba_id(waba))
    UNARY(t, GetTemplate, request.set_waba_id(waba);
          request.set_template_id("1234567890123456"))  // hello_world
    UNARY(t, CreateTemplate, request.set_waba_id(waba); request.set_name("t"))
    UNARY(t, UpdateTemplate, request.set_waba_id(waba);
          request.set_template_id("1"))
    UNARY(t, DeleteTemplate, request.set_waba_id(waba); request.set_name("t"))
    UNARY(p, ListPhoneNumbers, request.set_waba_id(waba))
    UNARY(p, GetPhoneNumber, request.set_phone_number_id(pn))
    UNARY(p, RegisterPhoneNumber, request.set_phone_number_id(pn))
    UNARY(p, DeregisterPhoneNumber, request.set_phone_number_id(pn))
    UNARY(p, RequestVerificationCode, request.set_phone_number_id(pn))
    UNARY(p, VerifyCode, request.set_phone_number_id(pn))
    UNARY(p, GetBusinessProfile, request.set_phone_number_id(pn))
    UNARY(p, UpdateBusinessProfile, request.set_phone_number_id(pn))
    UNARY(md, GetMedia, request.set_media_id("1");
          request.set_phone_number_id(pn))
    UNARY(md, DeleteMedia, request.set_media_id("1");
          request.set_phone_number_id(pn))
    UNARY(a, SubscribeApp, request.set_waba_id(waba))
    UNARY(a, UnsubscribeApp, request.set_waba_id(waba))
    UNARY(a, ListSubscribedApps, request.set_waba_id(waba))
    UNARY(a, BlockUsers, request.set_phone_number_id(pn))
    UNARY(a, UnblockUsers, request.set_phone_number_id(pn))
    UNARY(a, ListBlockedUsers, request.set_phone_number_id(pn))
#undef UNARY

    // SendStream: the stream's status, or else its one item's result code.
    rpcs["SendStream"] = [this, m, pn](Key key) {
      auto context = Context(key);
      auto stream = m->SendStream(context.get());
      stream->Write(TextTo(pn));
      stream->WritesDone();
      v1::SendResult result;
      bool got = stream->Read(&result);
      grpc::Status status = stream->Finish();
      if (!status.ok() || !got || !result.has_error()) return status;
      return grpc::Status(static_cast<grpc::StatusCode>(result.error().code()),
                          result.error().message());
    };
    rpcs["Subscribe"] = [this, e, pn](Key key) {
      auto context = Context(key, absl::Seconds(2));
      v1::SubscribeRequest request;
      request.add_phone_number_ids(pn);
      auto reader = e->Subscribe(context.get(), request);
      v1::Event event;
      // A refused stream ends at once; an accepted one is cancelled here.
      if (reader->Read(&event)) context->TryCancel();
      grpc::Status status = reader->Finish();
      return status;
    };
    rpcs["DownloadMedia"] = [this, md, pn](Key key) {
      auto context = Context(key);
      v1::DownloadMediaRequest request;
      request.set_media_id("1");
      request.set_phone_number_id(pn);
      auto reader = md->DownloadMedia(context.get(), request);
      v1::DownloadMediaResponse response;
      while (reader->Read(&response)) {
      }
      return reader->Finish();
    };
    rpcs["UploadMedia"] = [this, md, pn](Key key) {
      auto context = Context(key);
      v1::UploadMediaResponse response;
      auto writer = md->UploadMedia(context.get(), &response);
      v1::UploadMediaRequest request;
      request.mutable_metadata()->set_phone_number_id(pn);
      request.mutable_metadata()->set_mime_type("image/png");
      writer->Write(request);
      request.set_chunk("png");
      writer->Write(request);
      writer->WritesDone();
      return writer->Finish();
    };
    return rpcs;
  }

  std::string http_address_;
  boost::asio::io_context client_io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      client_guard_{client_io_.get_executor()};
  std::thread client_thread_;
  std::unique_ptr<http::Client> sandbox_client_;
  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<Gateway> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string waba_a_;
  std::string number_a_;
};

bool IsAuthError(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAUTHENTICATED ||
         code == grpc::StatusCode::PERMISSION_DENIED;
}

TEST_F(AuthMatrixTest, EveryRpcTimesEveryKind) {
  auto rpcs = Rpcs();
  // 6 services: Messaging 3, Events 2, Templates 5, PhoneNumbers 8, Media 4,
  // Accounts 6.
  ASSERT_EQ(rpcs.size(), 28u);
  for (auto& [name, call] : rpcs) {
    SCOPED_TRACE(name);
    grpc::Status none = call(Key::kNone);
    EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << none.error_message();
    EXPECT_EQ(none.error_message(), auth::kUnauthenticatedMessage);
    grpc::Status bad = call(Key::kBad);
    EXPECT_EQ(bad.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << bad.error_message();
    EXPECT_THAT(bad.error_message(),
                ::testing::Not(HasSubstr("not-a-configured-key")));
    if (name != "Ack") {
      // Ack's groups are per client (namespaced), not scoped by number.
      grpc::Status out = call(Key::kOutOfScope);
      EXPECT_EQ(out.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << out.error_message();
      EXPECT_THAT(out.error_message(), HasSubstr("\"b\""));
    }
    grpc::Status good = call(Key::kGood);
    EXPECT_FALSE(IsAuthError(good.error_code()))
        << good.error_code() << " " << good.error_message();
  }
}

TEST_F(AuthMatrixTest, ServiceOutsideTheKeysServicesIsDenied) {
  auto messaging = v1::Messaging::NewStub(channel_);
  v1::SendResponse response;
  grpc::Status status = messaging->Send(ContextWith(kKeyEvents).get(),
                                        TextTo(number_a_), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("wagate.v1.Messaging"));
  // The same key may use Events, on any number.
  auto events = v1::Events::NewStub(channel_);
  v1::AckRequest ack;
  ack.set_group("g");
  v1::AckResponse acked;
  EXPECT_TRUE(events->Ack(ContextWith(kKeyEvents).get(), ack, &acked).ok());
}

TEST_F(AuthMatrixTest, SendStreamRefusesOnlyOutOfScopeItems) {
  auto messaging = v1::Messaging::NewStub(channel_);
  auto context = ContextWith(kKeyA);
  auto stream = messaging->SendStream(context.get());
  ASSERT_TRUE(stream->Write(TextTo(number_a_)));
  ASSERT_TRUE(stream->Write(TextTo(kNumberB)));
  ASSERT_TRUE(stream->Write(TextTo(number_a_)));
  stream->WritesDone();
  std::map<int64_t, v1::SendResult> results;
  v1::SendResult result;
  while (stream->Read(&result)) results[result.index()] = result;
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].has_response()) << results[0].DebugString();
  ASSERT_TRUE(results[1].has_error());
  EXPECT_EQ(results[1].error().code(),
            static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(results[1].error().message(), HasSubstr(kNumberB));
  EXPECT_TRUE(results[2].has_response()) << results[2].DebugString();
}

// Reads events until `count` arrived or the deadline passes.
std::vector<v1::Event> ReadEvents(v1::Events::Stub& stub,
                                  const std::string& key, size_t count,
                                  absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(timeout));
  context.AddMetadata("authorization", "Bearer " + key);
  v1::SubscribeRequest request;
  request.set_from_oldest(true);
  auto reader = stub.Subscribe(&context, request);
  std::vector<v1::Event> events;
  v1::Event event;
  while (events.size() < count && reader->Read(&event)) events.push_back(event);
  context.TryCancel();
  reader->Finish();
  return events;
}

TEST_F(AuthMatrixTest, SubscribeDeliversOnlyTheCallersNumbers) {
  // A send on the sandbox number makes the emulator post status webhooks
  // for it.
  auto messaging = v1::Messaging::NewStub(channel_);
  v1::SendResponse sent;
  ASSERT_TRUE(
      messaging->Send(ContextWith(kKeyA).get(), TextTo(number_a_), &sent).ok());
  auto events = v1::Events::NewStub(channel_);
  // The unrestricted key sees them...
  std::vector<v1::Event> all =
      ReadEvents(*events, kKeyEvents, 1, absl::Seconds(20));
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].phone_number_id(), number_a_);
  // ...and so does the number's owner, with an empty filter...
  std::vector<v1::Event> own = ReadEvents(*events, kKeyA, 1, absl::Seconds(20));
  ASSERT_FALSE(own.empty());
  EXPECT_EQ(own[0].phone_number_id(), number_a_);
  // ...but a key scoped to the other WABA receives none of them.
  std::vector<v1::Event> other =
      ReadEvents(*events, kKeyB, 1, absl::Seconds(2));
  EXPECT_TRUE(other.empty()) << other[0].DebugString();
}

// Object ids (issue 14): a key whose waba_id / phone_number_id are in scope
// but whose template or media id names an object of another WABA or number
// gets nothing of it, and changes nothing.
TEST_F(AuthMatrixTest, ObjectIdsOfAnotherScopeAreRefused) {
  constexpr char kHelloWorld[] = "1234567890123456";  // WABA A's template
  auto templates = v1::Templates::NewStub(channel_);
  auto media = v1::Media::NewStub(channel_);

  // A's media, uploaded through the gateway with A's key.
  std::string media_id;
  {
    auto context = ContextWith(kKeyA);
    v1::UploadMediaResponse uploaded;
    auto writer = media->UploadMedia(context.get(), &uploaded);
    v1::UploadMediaRequest request;
    request.mutable_metadata()->set_phone_number_id(number_a_);
    request.mutable_metadata()->set_mime_type("image/png");
    ASSERT_TRUE(writer->Write(request));
    request.Clear();
    request.set_chunk("png-bytes");
    ASSERT_TRUE(writer->Write(request));
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    media_id = uploaded.media_id();
  }

  // Templates: B names its own WABA with A's template id.
  {
    v1::GetTemplateRequest get;
    get.set_waba_id(kWabaB);
    get.set_template_id(kHelloWorld);
    v1::GetTemplateResponse got;
    grpc::Status status =
        templates->GetTemplate(ContextWith(kKeyB).get(), get, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << status.error_message();
    EXPECT_FALSE(got.has_template_());

    v1::UpdateTemplateRequest update;
    update.set_waba_id(kWabaB);
    update.set_template_id(kHelloWorld);
    update.set_message_send_ttl_seconds(3600);
    v1::UpdateTemplateResponse updated;
    status = templates->UpdateTemplate(ContextWith(kKeyB).get(), update,
                                       &updated);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << status.error_message();

    v1::DeleteTemplateRequest del;
    del.set_waba_id(kWabaB);
    del.set_name("hello_world");
    del.set_template_id(kHelloWorld);
    v1::DeleteTemplateResponse deleted;
    status = templates->DeleteTemplate(ContextWith(kKeyB).get(), del, &deleted);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << status.error_message();

    // A still has it, unchanged.
    get.set_waba_id(waba_a_);
    status = templates->GetTemplate(ContextWith(kKeyA).get(), get, &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(got.template_().name(), "hello_world");
    EXPECT_EQ(got.template_().message_send_ttl_seconds(), 0);
  }

  // Media: B names its own number with A's media id; Graph refuses it.
  {
    v1::GetMediaRequest get;
    get.set_phone_number_id(kNumberB);
    get.set_media_id(media_id);
    v1::GetMediaResponse got;
    grpc::Status status = media->GetMedia(ContextWith(kKeyB).get(), get, &got);
    EXPECT_FALSE(status.ok());
    EXPECT_TRUE(got.url().empty());

    v1::DownloadMediaRequest download;
    download.set_phone_number_id(kNumberB);
    download.set_media_id(media_id);
    auto context = ContextWith(kKeyB);
    auto reader = media->DownloadMedia(context.get(), download);
    v1::DownloadMediaResponse chunk;
    std::string bytes;
    while (reader->Read(&chunk)) bytes += chunk.chunk();
    EXPECT_FALSE(reader->Finish().ok());
    EXPECT_TRUE(bytes.empty());

    v1::DeleteMediaRequest del;
    del.set_phone_number_id(kNumberB);
    del.set_media_id(media_id);
    v1::DeleteMediaResponse deleted;
    EXPECT_FALSE(media->DeleteMedia(ContextWith(kKeyB).get(), del, &deleted)
                     .ok());

    // Without a number, a restricted key is refused before Graph.
    get.clear_phone_number_id();
    status = media->GetMedia(ContextWith(kKeyB).get(), get, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("phone_number_id"));
    status = media->GetMedia(ContextWith(kKeyA).get(), get, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << status.error_message();

    // A still has its media.
    get.set_phone_number_id(number_a_);
    status = media->GetMedia(ContextWith(kKeyA).get(), get, &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(got.id(), media_id);
  }
}

// Which WABA a template belongs to is also learned from Meta's signed
// template webhooks (entry.id): here one says WABA B holds the emulator's
// template, which the Graph check alone would refuse (the emulator does
// not know WABA B).
TEST_F(AuthMatrixTest, TemplateWebhooksTeachWhichWabaATemplateBelongsTo) {
  constexpr char kHelloWorld[] = "1234567890123456";
  auto templates = v1::Templates::NewStub(channel_);
  v1::GetTemplateRequest get;
  get.set_waba_id(kWabaB);
  get.set_template_id(kHelloWorld);
  v1::GetTemplateResponse got;
  grpc::Status status =
      templates->GetTemplate(ContextWith(kKeyB).get(), get, &got);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  const std::string body = absl::StrCat(
      R"({"object":"whatsapp_business_account","entry":[{"id":")", kWabaB,
      R"(","time":1750000000,"changes":[{"field":"message_template_status_update",)"
      R"("value":{"event":"APPROVED","message_template_id":)",
      kHelloWorld,
      R"(,"message_template_name":"hello_world","message_template_language":"en_US","reason":"NONE"}}]}]})");
  ASSERT_EQ(PostWebhook(body), 200);
  // The store listener learns as the event commits.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  do {
    status = templates->GetTemplate(ContextWith(kKeyB).get(), get, &got);
    if (status.ok()) break;
    absl::SleepFor(absl::Milliseconds(20));
  } while (absl::Now() < give_up);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.template_().name(), "hello_world");
}

TEST_F(AuthMatrixTest, HealthNeedsNoKey) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("wagate.v1.Messaging");
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

}  // namespace
}  // namespace wagate::server
