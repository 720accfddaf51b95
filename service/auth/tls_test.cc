#include "service/auth/tls.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "openssl/bio.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace wagate::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct TestCert {
  std::string key_pem;
  std::string cert_pem;
};

// A self-signed certificate for 127.0.0.1, made at test time.
TestCert MakeCert(const std::string& common_name) {
  static long serial = 1;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                            "IP:127.0.0.1,DNS:localhost");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  TestCert out;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  out.key_pem.assign(data, static_cast<size_t>(size));
  BIO_reset(bio);
  PEM_write_bio_X509(bio, cert);
  size = BIO_get_mem_data(bio, &data);
  out.cert_pem.assign(data, static_cast<size_t>(size));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

config::v1::GrpcTls Settings(const std::string& prefix, const TestCert& cert) {
  config::v1::GrpcTls tls;
  tls.set_cert_file(WriteTemp(prefix + "-cert.pem", cert.cert_pem));
  tls.set_key_file(WriteTemp(prefix + "-key.pem", cert.key_pem));
  return tls;
}

TEST(GrpcTlsTest, UnsetIsPlaintext) {
  absl::StatusOr<std::unique_ptr<GrpcTls>> tls =
      GrpcTls::Create(config::v1::GrpcTls());
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_FALSE((*tls)->enabled());
  EXPECT_NE((*tls)->credentials(), nullptr);
  EXPECT_FALSE(GrpcTlsEnabled(config::v1::GrpcTls()));
  EXPECT_EQ((*tls)->Reload().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(GrpcTlsTest, UnreadableFileIsNamedByKeyAndPath) {
  config::v1::GrpcTls tls;
  tls.set_cert_file("/nonexistent/cert.pem");
  tls.set_key_file("/nonexistent/key.pem");
  auto created = GrpcTls::Create(tls);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(created.status().message(), HasSubstr("tls.grpc.cert_file"));
  EXPECT_THAT(created.status().message(), HasSubstr("/nonexistent/cert.pem"));
}

TEST(GrpcTlsTest, NonPemFilesAreRefusedWithoutEchoingThem) {
  const TestCert cert = MakeCert("a");
  config::v1::GrpcTls bad_key = Settings("nonpem-key", cert);
  WriteTemp("nonpem-key-key.pem", "my-private-key-material");
  auto created = GrpcTls::Create(bad_key);
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.status().message(), HasSubstr("tls.grpc.key_file"));
  EXPECT_THAT(created.status().message(), HasSubstr(bad_key.key_file()));
  EXPECT_THAT(created.status().message(),
              Not(HasSubstr("my-private-key-material")));

  config::v1::GrpcTls bad_cert = Settings("nonpem-cert", cert);
  WriteTemp("nonpem-cert-cert.pem", "-----BEGIN CERTIFICATE-----\nsecret\n");
  created = GrpcTls::Create(bad_cert);
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.status().message(), HasSubstr("tls.grpc.cert_file"));
  EXPECT_THAT(created.status().message(), Not(HasSubstr("secret")));

  config::v1::GrpcTls bad_ca = Settings("nonpem-ca", cert);
  bad_ca.set_client_ca_file(WriteTemp("nonpem-ca-ca.pem", "not a CA"));
  created = GrpcTls::Create(bad_ca);
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.status().message(), HasSubstr("tls.grpc.client_ca_file"));
}

TEST(GrpcTlsTest, KeyOfAnotherCertificateIsRefused) {
  config::v1::GrpcTls tls = Settings("mismatch", MakeCert("a"));
  WriteTemp("mismatch-key.pem", MakeCert("b").key_pem);
  auto created = GrpcTls::Create(tls);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(created.status().message(), HasSubstr("tls.grpc.key_file"));
  EXPECT_THAT(created.status().message(), HasSubstr("does not match"));
}

TEST(GrpcTlsTest, CertWithoutKeyIsInvalid) {
  config::v1::GrpcTls tls;
  tls.set_cert_file("c.pem");
  EXPECT_EQ(GrpcTls::Create(tls).status().code(),
            absl::StatusCode::kInvalidArgument);
  config::v1::GrpcTls ca_only;
  ca_only.set_client_ca_file("ca.pem");
  EXPECT_EQ(GrpcTls::Create(ca_only).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A gRPC server (one generic service answering UNIMPLEMENTED: a handshake is
// all these tests need) with the credentials of a GrpcTls.
class GrpcTlsServerTest : public ::testing::Test {
 protected:
  void Start(const config::v1::GrpcTls& settings) {
    absl::StatusOr<std::unique_ptr<GrpcTls>> tls = GrpcTls::Create(settings);
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_ = *std::move(tls);
    grpc::ServerBuilder builder;
    builder.RegisterCallbackGenericService(&generic_);
    builder.AddListeningPort("127.0.0.1:0", tls_->credentials(), &port_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    tls_.reset();
  }

  // Whether a fresh connection trusting only `trusted` completes its TLS
  // handshake (and HTTP/2 start) within `timeout`.
  bool Connects(const TestCert& trusted,
                std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = trusted.cert_pem;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // no shared connection
    auto channel = grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(options), args);
    return channel->WaitForConnected(std::chrono::system_clock::now() +
                                     timeout);
  }

  // Polls Connects until it is true or a few seconds pass.
  bool EventuallyConnects(const TestCert& trusted) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Connects(trusted, std::chrono::milliseconds(500))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::unique_ptr<GrpcTls> tls_;
  grpc::CallbackGenericService generic_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(GrpcTlsServerTest, ReloadServesTheNewCertificate) {
  const TestCert first = MakeCert("first");
  const TestCert second = MakeCert("second");
  config::v1::GrpcTls settings = Settings("reload", first);
  Start(settings);
  EXPECT_TRUE(tls_->enabled());
  EXPECT_TRUE(Connects(first));
  EXPECT_FALSE(Connects(second, std::chrono::milliseconds(500)));

  WriteTemp("reload-cert.pem", second.cert_pem);
  WriteTemp("reload-key.pem", second.key_pem);
  absl::Status reloaded = tls_->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded;
  EXPECT_TRUE(EventuallyConnects(second));
  EXPECT_FALSE(Connects(first, std::chrono::milliseconds(500)));
}

TEST_F(GrpcTlsServerTest, BadFilesOnReloadKeepTheOldCertificate) {
  const TestCert first = MakeCert("first");
  config::v1::GrpcTls settings = Settings("badreload", first);
  Start(settings);
  ASSERT_TRUE(Connects(first));

  // A new certificate with the old key: refused, nothing changes.
  WriteTemp("badreload-cert.pem", MakeCert("other").cert_pem);
  absl::Status status = tls_->Reload();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("tls.grpc.key_file"));
  EXPECT_THAT(status.message(), HasSubstr(settings.key_file()));
  std::remove(settings.cert_file().c_str());
  status = tls_->Reload();
  EXPECT_THAT(status.message(), HasSubstr("tls.grpc.cert_file"));
  EXPECT_THAT(status.message(), HasSubstr(settings.cert_file()));
  // Past the watcher's refresh: still the first certificate.
  std::this_thread::sleep_for(std::chrono::seconds(kGrpcTlsRefreshSeconds) +
                              std::chrono::milliseconds(500));
  EXPECT_TRUE(Connects(first));
}

TEST_F(GrpcTlsServerTest, MtlsNeedsAClientCertificateSignedByTheCa) {
  const TestCert server_cert = MakeCert("server");
  const TestCert client_cert = MakeCert("client");
  config::v1::GrpcTls settings = Settings("mtls", server_cert);
  settings.set_client_ca_file(WriteTemp("mtls-ca.pem", client_cert.cert_pem));
  Start(settings);
  EXPECT_TRUE(tls_->mtls());
  auto connects = [&](bool with_client_cert) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = server_cert.cert_pem;
    if (with_client_cert) {
      options.pem_private_key = client_cert.key_pem;
      options.pem_cert_chain = client_cert.cert_pem;
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(options), args);
    return channel->WaitForConnected(std::chrono::system_clock::now() +
                                     std::chrono::seconds(2));
  };
  EXPECT_TRUE(connects(true));
  EXPECT_FALSE(connects(false));
  EXPECT_TRUE(tls_->Reload().ok());
  EXPECT_TRUE(connects(true));
}

}  // namespace
}  // namespace wagate::auth
