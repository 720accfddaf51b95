// The assembled gateway over real sockets: reflection, health, placeholders,
// /healthz, the admin listener and where /metrics is served, start-up
// refusals, shutdown.
#include "service/server/gateway.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/auth/api_keys.h"
#include "service/common/log.h"
#include "service/metrics/gateway_metrics.h"
#include "service/metrics/registry.h"
#include "tests/integration/util/subprocess.h"
#include "wagate/v1/templates.grpc.pb.h"

namespace wagate::server {
namespace {

using ::grpc::reflection::v1alpha::ServerReflection;
using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string body;
};

// GET `path` from 127.0.0.1:`port` on a fresh connection (closed after).
HttpReply HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  HttpReply reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return reply;
  }
  const std::string request = absl::StrCat(
      "GET ", path, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string all;
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (absl::Now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t space = all.find(' ');
  size_t head_end = all.find("\r\n\r\n");
  if (space == std::string::npos || head_end == std::string::npos) return reply;
  reply.status = std::atoi(all.c_str() + space + 1);
  reply.body = all.substr(head_end + 4);
  return reply;
}

GatewayOptions LocalOptions(const std::string& name) {
  GatewayOptions options;
  options.grpc_address = "127.0.0.1:0";
  options.http_address = "127.0.0.1:0";
  options.store = "sqlite:" + wagate::testing::MakeTempDir(name) + "/w.db";
  options.env = [](absl::string_view) { return absl::nullopt; };
  options.shutdown_grace = absl::Seconds(1);
  return options;
}

// Collects log lines while alive.
class LogCapture {
 public:
  LogCapture() {
    log::SetSinkForTesting([this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { log::SetSinkForTesting(nullptr); }
  // The first line containing every one of `parts`, or "".
  std::string Find(const std::vector<std::string>& parts) {
    absl::MutexLock lock(&mu_);
    for (const std::string& line : lines_) {
      bool all = true;
      for (const std::string& part : parts) {
        all = all && line.find(part) != std::string::npos;
      }
      if (all) return line;
    }
    return "";
  }
  std::string All() {
    absl::MutexLock lock(&mu_);
    return absl::StrJoin(lines_, "\n");
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GatewayOptions options;
    options.grpc_address = "127.0.0.1:0";
    options.http_address = "127.0.0.1:0";
    options.store =
        "sqlite:" + wagate::testing::MakeTempDir("gateway_test") + "/w.db";
    options.env = [](absl::string_view) { return absl::nullopt; };
    options.shutdown_grace = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<Gateway>> gateway =
        Gateway::Start(std::move(options));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", gateway_->grpc_port()),
                            grpc::InsecureChannelCredentials());
  }

  // One request/response exchange on the reflection stream.
  ServerReflectionResponse Reflect(const ServerReflectionRequest& request) {
    auto stub = ServerReflection::NewStub(channel_);
    grpc::ClientContext context;
    auto stream = stub->ServerReflectionInfo(&context);
    EXPECT_TRUE(stream->Write(request));
    ServerReflectionResponse response;
    EXPECT_TRUE(stream->Read(&response));
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
    return response;
  }

  std::unique_ptr<Gateway> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(GatewayTest, ReflectionListsEveryService) {
  ServerReflectionRequest request;
  request.set_list_services("");
  ServerReflectionResponse response = Reflect(request);
  std::set<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.insert(service.name());
  }
  EXPECT_THAT(names,
              IsSupersetOf({"wagate.v1.Messaging", "wagate.v1.Events",
                            "wagate.v1.Templates", "wagate.v1.PhoneNumbers",
                            "wagate.v1.Media", "wagate.v1.Accounts",
                            "grpc.health.v1.Health"}));
}

TEST_F(GatewayTest, ReflectionResolvesAMessageTypeWithItsDocumentation) {
  ServerReflectionRequest request;
  request.set_file_containing_symbol("wagate.v1.SendRequest");
  ServerReflectionResponse response = Reflect(request);
  ASSERT_GT(response.file_descriptor_response().file_descriptor_proto_size(),
            0);
  // Build a pool from what reflection returned, dependencies first, as
  // grpcurl does; the message must resolve with its fields.
  google::protobuf::DescriptorPool pool;
  std::vector<google::protobuf::FileDescriptorProto> files;
  for (const std::string& bytes :
       response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    files.push_back(file);
  }
  // Reflection may send dependencies in any order: add until all resolve.
  for (size_t round = 0; round < files.size(); ++round) {
    for (const auto& file : files) {
      if (pool.FindFileByName(file.name()) == nullptr) pool.BuildFile(file);
    }
  }
  const google::protobuf::Descriptor* send =
      pool.FindMessageTypeByName("wagate.v1.SendRequest");
  ASSERT_NE(send, nullptr);
  EXPECT_NE(send->FindFieldByName("phone_number_id"), nullptr);
  EXPECT_NE(send->FindFieldByName("text"), nullptr);
  EXPECT_NE(send->FindFieldByName("template"), nullptr);
  // Doc comments travel with the descriptors (source_code_info).
  bool has_comments = false;
  for (const auto& file : files) {
    if (file.name() == "wagate/v1/messaging.proto") {
      has_comments = file.source_code_info().location_size() > 0;
    }
  }
  EXPECT_TRUE(has_comments);
}

TEST_F(GatewayTest, CallsAreLoggedWithARequestIdEchoedToTheCaller) {
  std::vector<std::string> lines;
  absl::Mutex mu;
  log::SetSinkForTesting([&](absl::string_view line) {
    absl::MutexLock lock(&mu);
    lines.emplace_back(line);
  });
  auto stub = v1::Templates::NewStub(channel_);
  for (const char* id : {"caller-id-42", ""}) {
    grpc::ClientContext context;
    if (*id != '\0') context.AddMetadata("x-request-id", id);
    v1::ListTemplatesResponse response;
    stub->ListTemplates(&context, v1::ListTemplatesRequest(), &response);
    auto echoed = context.GetServerInitialMetadata().find("x-request-id");
    ASSERT_NE(echoed, context.GetServerInitialMetadata().end());
    std::string value(echoed->second.data(), echoed->second.size());
    if (*id != '\0') {
      EXPECT_EQ(value, id);
    } else {
      EXPECT_FALSE(value.empty());
    }
    // The line is written as the status is sent: wait for it.
    bool found = false;
    for (int i = 0; i < 100 && !found; ++i) {
      {
        absl::MutexLock lock(&mu);
        for (const std::string& line : lines) {
          found = found || (line.find("\"request_id\":\"" + value + "\"") !=
                                std::string::npos &&
                            line.find("\"code\":\"INVALID_ARGUMENT\"") !=
                                std::string::npos &&
                            line.find("wagate.v1.Templates/ListTemplates") !=
                                std::string::npos);
        }
      }
      if (!found) absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_TRUE(found) << value;
  }
  log::SetSinkForTesting(nullptr);
}

TEST_F(GatewayTest, UnregisteredMethodsAreCountedAndLoggedAsUnknown) {
  LogCapture logs;
  metrics::CounterFamily* requests =
      metrics::GatewayMetrics::Global().grpc_requests;
  metrics::Counter* unknown =
      requests->Get({"unknown", "unknown", "UNIMPLEMENTED"});
  const uint64_t unknown_before = unknown->Value();
  metrics::Counter* registered = requests->Get(
      {"wagate.v1.Templates", "ListTemplates", "INVALID_ARGUMENT"});
  const uint64_t registered_before = registered->Value();

  grpc::GenericStub generic(channel_);
  for (const std::string method :
       {"/wagate.v1.Templates/NoSuchMethodQx7", "/evil.Random/PathQx7"}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::Slice empty(std::string{});  // an empty message
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, method, grpc::StubOptions(), &request,
                      &response,
                      [&done](grpc::Status s) { done.set_value(s); });
    EXPECT_EQ(done.get_future().get().error_code(),
              grpc::StatusCode::UNIMPLEMENTED)
        << method;
  }
  // A registered method keeps its own labels.
  {
    auto stub = v1::Templates::NewStub(channel_);
    grpc::ClientContext context;
    v1::ListTemplatesResponse response;
    stub->ListTemplates(&context, v1::ListTemplatesRequest(), &response);
  }
  // Counted as the server side of each call ends: wait for it.
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while ((unknown->Value() < unknown_before + 2 ||
          registered->Value() < registered_before + 1 ||
          logs.Find({"/wagate.v1.Templates/ListTemplates"}).empty()) &&
         absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(unknown->Value(), unknown_before + 2);
  EXPECT_EQ(registered->Value(), registered_before + 1);
  EXPECT_THAT(metrics::Registry::Global().Render(), Not(HasSubstr("Qx7")));
  EXPECT_FALSE(
      logs.Find({"\"method\":\"unknown\"", "\"code\":\"UNIMPLEMENTED\""})
          .empty())
      << logs.All();
  EXPECT_THAT(logs.All(), Not(HasSubstr("Qx7")));
  EXPECT_FALSE(logs.Find({"/wagate.v1.Templates/ListTemplates"}).empty())
      << logs.All();
}

TEST_F(GatewayTest, HealthIsServing) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  for (const char* service : {"", "wagate.v1.Messaging", "wagate.v1.Events"}) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING)
        << service;
  }
}

TEST_F(GatewayTest, ManagementServicesAreWired) {
  // Validation answers before any Graph call, so no Graph is needed here.
  auto stub = v1::Templates::NewStub(channel_);
  grpc::ClientContext context;
  v1::ListTemplatesRequest request;
  v1::ListTemplatesResponse response;
  grpc::Status status = stub->ListTemplates(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("waba_id"));
}

TEST_F(GatewayTest, ShutdownStopsBothListeners) {
  const int grpc_port = gateway_->grpc_port();
  gateway_->Shutdown();
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(500));
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_FALSE(
      stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response)
          .ok());
  gateway_->Shutdown();  // idempotent
}

TEST(GatewayStartTest, AddressInUseIsAClearError) {
  GatewayOptions first;
  first.grpc_address = "127.0.0.1:0";
  first.http_address = "127.0.0.1:0";
  first.store = "sqlite:" + wagate::testing::MakeTempDir("gw_in_use") + "/a.db";
  first.env = [](absl::string_view) { return absl::nullopt; };
  absl::StatusOr<std::unique_ptr<Gateway>> a = Gateway::Start(first);
  ASSERT_TRUE(a.ok()) << a.status();
  GatewayOptions second = first;
  second.store =
      "sqlite:" + wagate::testing::MakeTempDir("gw_in_use") + "/b.db";
  second.http_address = absl::StrCat("127.0.0.1:", (*a)->http_port());
  absl::StatusOr<std::unique_ptr<Gateway>> b = Gateway::Start(second);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("--http_address"));
}

TEST(GatewayStartTest, AdminListenerServesMetricsAndHealthz) {
  GatewayOptions options = LocalOptions("gw_admin");
  options.admin_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const int admin = (*gateway)->admin_port();
  ASSERT_GT(admin, 0);
  EXPECT_NE(admin, (*gateway)->http_port());
  HttpReply metrics = HttpGet(admin, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("wagate_grpc_requests_total"));
  EXPECT_EQ(HttpGet(admin, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(admin, "/webhook").status, 404);  // admin only
  // A loopback webhook listener keeps /metrics too.
  EXPECT_EQ(HttpGet((*gateway)->http_port(), "/metrics").status, 200);
}

TEST(GatewayStartTest, NoAdminListenerByDefault) {
  absl::StatusOr<std::unique_ptr<Gateway>> gateway =
      Gateway::Start(LocalOptions("gw_admin"));
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_EQ((*gateway)->admin_port(), 0);
}

TEST(GatewayStartTest, MetricsAreNotServedOnANonLoopbackHttpListener) {
  LogCapture logs;
  GatewayOptions options = LocalOptions("gw_admin");
  // Bound on every interface, reached here through 127.0.0.1 only.
  options.http_address = "0.0.0.0:0";
  options.admin_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_EQ(HttpGet((*gateway)->http_port(), "/metrics").status, 404);
  EXPECT_EQ(HttpGet((*gateway)->http_port(), "/healthz").status, 200);
  EXPECT_EQ(HttpGet((*gateway)->admin_port(), "/metrics").status, 200);
  // Start-up says where the metrics went.
  EXPECT_FALSE(logs.Find({"/metrics is not served on --http_address",
                          "\"metrics_address\":\"127.0.0.1:0\""})
                   .empty())
      << logs.All();
  std::string serving = logs.Find({"\"msg\":\"serving\""});
  EXPECT_THAT(serving, HasSubstr(absl::StrCat("\"admin_address\":\"127.0.0.1:",
                                              (*gateway)->admin_port(), "\"")));
}

TEST(GatewayStartTest, AdminAddressInUseIsAClearError) {
  GatewayOptions first = LocalOptions("gw_admin");
  first.admin_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Gateway>> a = Gateway::Start(first);
  ASSERT_TRUE(a.ok()) << a.status();
  GatewayOptions second = LocalOptions("gw_admin");
  second.admin_address = absl::StrCat("127.0.0.1:", (*a)->admin_port());
  absl::StatusOr<std::unique_ptr<Gateway>> b = Gateway::Start(second);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("--admin_address"));
}

// Client API keys configured, gRPC on every interface without tls.grpc.
GatewayOptions KeysOnPlaintextEverywhere() {
  GatewayOptions options = LocalOptions("gw_insecure");
  options.grpc_address = "0.0.0.0:0";
  auto* client = options.config.add_clients();
  client->set_name("app");
  client->set_api_key_sha256(auth::Sha256Hex("app-key"));
  return options;
}

TEST(GatewayStartTest, ApiKeysOverPlaintextNonLoopbackGrpcAreRefused) {
  absl::StatusOr<std::unique_ptr<Gateway>> gateway =
      Gateway::Start(KeysOnPlaintextEverywhere());
  ASSERT_FALSE(gateway.ok());
  EXPECT_EQ(gateway.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(gateway.status().message(), HasSubstr("--grpc_address"));
  EXPECT_THAT(gateway.status().message(), HasSubstr("tls.grpc"));
  EXPECT_THAT(gateway.status().message(), HasSubstr("--allow_insecure_grpc"));
}

TEST(GatewayStartTest, AllowInsecureGrpcStartsWithAWarning) {
  LogCapture logs;
  GatewayOptions options = KeysOnPlaintextEverywhere();
  options.allow_insecure_grpc = true;
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_GT((*gateway)->grpc_port(), 0);
  EXPECT_FALSE(logs.Find({"\"level\":\"warning\"", "INSECURE",
                          "--allow_insecure_grpc", "0.0.0.0:0"})
                   .empty())
      << logs.All();
}

TEST(GatewayStartTest, ApiKeysOnLoopbackPlaintextNeedNoFlag) {
  GatewayOptions options = KeysOnPlaintextEverywhere();
  options.grpc_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  EXPECT_TRUE(gateway.ok()) << gateway.status();
}

}  // namespace
}  // namespace wagate::server
