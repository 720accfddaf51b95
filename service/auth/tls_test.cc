#include "service/auth/tls.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return path;
}

TEST(GrpcServerCredentialsTest, UnsetIsPlaintext) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      GrpcServerCredentials(config::v1::GrpcTls());
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_NE(*credentials, nullptr);
  EXPECT_FALSE(GrpcTlsEnabled(config::v1::GrpcTls()));
}

TEST(GrpcServerCredentialsTest, UnreadableFileIsNamedByKeyAndPath) {
  config::v1::GrpcTls tls;
  tls.set_cert_file("/nonexistent/cert.pem");
  tls.set_key_file("/nonexistent/key.pem");
  auto credentials = GrpcServerCredentials(tls);
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(credentials.status().message(), HasSubstr("tls.grpc.cert_file"));
  EXPECT_THAT(credentials.status().message(),
              HasSubstr("/nonexistent/cert.pem"));
}

TEST(GrpcServerCredentialsTest, NonPemKeyIsRefusedWithoutEchoingIt) {
  config::v1::GrpcTls tls;
  tls.set_cert_file(WriteTemp("cert.pem", "-----BEGIN CERTIFICATE-----\n"));
  tls.set_key_file(WriteTemp("key.txt", "my-private-key-material"));
  auto credentials = GrpcServerCredentials(tls);
  ASSERT_FALSE(credentials.ok());
  EXPECT_THAT(credentials.status().message(), HasSubstr("tls.grpc.key_file"));
  EXPECT_THAT(credentials.status().message(),
              Not(HasSubstr("my-private-key-material")));
}

TEST(GrpcServerCredentialsTest, CertWithoutKeyIsInvalid) {
  config::v1::GrpcTls tls;
  tls.set_cert_file("c.pem");
  EXPECT_EQ(GrpcServerCredentials(tls).status().code(),
            absl::StatusCode::kInvalidArgument);
  config::v1::GrpcTls ca_only;
  ca_only.set_client_ca_file("ca.pem");
  EXPECT_EQ(GrpcServerCredentials(ca_only).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wagate::auth
