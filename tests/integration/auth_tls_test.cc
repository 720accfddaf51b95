// gRPC TLS and mTLS from the config's tls.grpc, with a CA, a server and a
// client certificate made at test time by the openssl CLI: a TLS client
// trusting the CA is served, a plaintext one is not; with a client CA, a
// client without a certificate is refused and one with a signed certificate
// is served. Client keys still apply over TLS.
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/auth/api_keys.h"
#include "service/server/gateway.h"
#include "tests/integration/util/subprocess.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::server {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `command` in `dir`; true on exit 0.
bool RunIn(const std::string& dir, const std::string& command) {
  std::string line =
      absl::StrCat("cd '", dir, "' && ", command, " >>openssl.log 2>&1");
  return std::system(line.c_str()) == 0;
}

class AuthTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("auth_tls_test");
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";
    std::ofstream(dir_ + "/server.ext")
        << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    ASSERT_TRUE(RunIn(dir_, absl::StrCat("openssl req -x509 ", ec,
                                         " -nodes -keyout ca.key -out ca.pem "
                                         "-days 1 -subj /CN=wagate-test-ca")))
        << Read(dir_ + "/openssl.log");
    for (const char* name : {"server", "client"}) {
      ASSERT_TRUE(RunIn(
          dir_, absl::StrCat("openssl req ", ec, " -nodes -keyout ", name,
                             ".key -out ", name, ".csr -subj /CN=", name)))
          << Read(dir_ + "/openssl.log");
      ASSERT_TRUE(RunIn(
          dir_,
          absl::StrCat(
              "openssl x509 -req -in ", name,
              ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ", name,
              ".pem -days 1",
              std::string(name) == "server" ? " -extfile server.ext" : "")))
          << Read(dir_ + "/openssl.log");
    }
  }

  void StartGateway(bool mtls, bool keys = false) {
    GatewayOptions options;
    options.grpc_address = "127.0.0.1:0";
    options.http_address = "127.0.0.1:0";
    options.store = "sqlite:" + dir_ + "/w.db";
    options.env = [](absl::string_view) { return absl::nullopt; };
    options.shutdown_grace = absl::Seconds(1);
    auto* tls = options.config.mutable_tls()->mutable_grpc();
    tls->set_cert_file(dir_ + "/server.pem");
    tls->set_key_file(dir_ + "/server.key");
    if (mtls) tls->set_client_ca_file(dir_ + "/ca.pem");
    if (keys) {
      auto* client = options.config.add_clients();
      client->set_name("tls-client");
      client->set_api_key_sha256(auth::Sha256Hex("tls-key"));
    }
    absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
  }

  void TearDown() override {
    if (gateway_) gateway_->Shutdown();
  }

  std::string Target() const {
    return absl::StrCat("127.0.0.1:", gateway_->grpc_port());
  }

  std::shared_ptr<grpc::ChannelCredentials> Tls(bool with_client_cert) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(dir_ + "/ca.pem");
    if (with_client_cert) {
      options.pem_private_key = Read(dir_ + "/client.key");
      options.pem_cert_chain = Read(dir_ + "/client.pem");
    }
    return grpc::SslCredentials(options);
  }

  static grpc::Status Check(std::shared_ptr<grpc::Channel> channel) {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse response;
    return health->Check(&context, grpc::health::v1::HealthCheckRequest(),
                         &response);
  }

  std::string dir_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(AuthTlsTest, TlsClientIsServedPlaintextIsNot) {
  StartGateway(/*mtls=*/false);
  grpc::Status tls =
      Check(grpc::CreateChannel(Target(), Tls(/*with_client_cert=*/false)));
  EXPECT_TRUE(tls.ok()) << tls.error_message();
  grpc::Status plain =
      Check(grpc::CreateChannel(Target(), grpc::InsecureChannelCredentials()));
  EXPECT_FALSE(plain.ok());
}

TEST_F(AuthTlsTest, MtlsRequiresAClientCertificateSignedByTheCa) {
  StartGateway(/*mtls=*/true);
  grpc::Status with_cert =
      Check(grpc::CreateChannel(Target(), Tls(/*with_client_cert=*/true)));
  EXPECT_TRUE(with_cert.ok()) << with_cert.error_message();
  grpc::Status without_cert =
      Check(grpc::CreateChannel(Target(), Tls(/*with_client_cert=*/false)));
  EXPECT_FALSE(without_cert.ok());
}

TEST_F(AuthTlsTest, ClientKeysStillApplyOverTls) {
  StartGateway(/*mtls=*/false, /*keys=*/true);
  auto events = v1::Events::NewStub(
      grpc::CreateChannel(Target(), Tls(/*with_client_cert=*/false)));
  v1::AckRequest request;
  request.set_group("g");
  v1::AckResponse response;
  {
    grpc::ClientContext context;
    EXPECT_EQ(events->Ack(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer tls-key");
  grpc::Status status = events->Ack(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(AuthTlsTest, UnreadableCertificateFailsStartNamingTheKey) {
  GatewayOptions options;
  options.grpc_address = "127.0.0.1:0";
  options.http_address = "127.0.0.1:0";
  options.store = "sqlite:" + dir_ + "/w.db";
  options.env = [](absl::string_view) { return absl::nullopt; };
  auto* tls = options.config.mutable_tls()->mutable_grpc();
  tls->set_cert_file(dir_ + "/missing.pem");
  tls->set_key_file(dir_ + "/server.key");
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  ASSERT_FALSE(gateway.ok());
  EXPECT_THAT(gateway.status().message(),
              ::testing::HasSubstr("tls.grpc.cert_file"));
}

}  // namespace
}  // namespace wagate::server
