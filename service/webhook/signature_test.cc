#include "service/webhook/signature.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "service/common/hmac.h"

namespace wagate::webhook {
namespace {

constexpr char kBody[] = R"({"object":"whatsapp_business_account","entry":[]})";

TEST(SignatureTest, ValidSignature) {
  const std::vector<std::string> secrets = {"app-secret-1"};
  EXPECT_TRUE(VerifySignature(common::SignatureHeader("app-secret-1", kBody),
                              kBody, secrets)
                  .ok());
  // Hex digits in upper case are the same signature.
  std::string upper = "sha256=" + absl::AsciiStrToUpper(common::HmacSha256Hex(
                                      "app-secret-1", kBody));
  EXPECT_TRUE(VerifySignature(upper, kBody, secrets).ok());
}

TEST(SignatureTest, MissingHeaderIsUnauthenticated) {
  absl::Status s = VerifySignature("", kBody, {"app-secret-1"});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
}

TEST(SignatureTest, MalformedHeaderIsUnauthenticated) {
  const std::string hex = common::HmacSha256Hex("app-secret-1", kBody);
  for (const std::string& header : {
           hex,                              // no prefix
           "sha1=" + hex,                    // wrong algorithm
           std::string("sha256="),           // no digest
           "sha256=" + hex.substr(1),        // too short
           "sha256=" + hex + "0",            // too long
           "sha256=" + hex.substr(1) + "z",  // not hex
           std::string("garbage"),
       }) {
    absl::Status s = VerifySignature(header, kBody, {"app-secret-1"});
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << header;
  }
}

TEST(SignatureTest, WrongSignatureIsPermissionDenied) {
  // Signed with another secret.
  absl::Status s = VerifySignature(common::SignatureHeader("other", kBody),
                                   kBody, {"app-secret-1"});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  // Right secret, body changed by one byte.
  std::string tampered = kBody;
  tampered[tampered.size() - 2] = ' ';
  s = VerifySignature(common::SignatureHeader("app-secret-1", kBody), tampered,
                      {"app-secret-1"});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  // No secret configured: nothing verifies.
  s = VerifySignature(common::SignatureHeader("app-secret-1", kBody), kBody,
                      {});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  // The message never carries the secret or the digest.
  EXPECT_FALSE(absl::StrContains(s.message(), "app-secret-1"));
}

TEST(SignatureTest, RotatedSecretsAllVerify) {
  const std::vector<std::string> secrets = {"new-secret", "old-secret"};
  EXPECT_TRUE(VerifySignature(common::SignatureHeader("new-secret", kBody),
                              kBody, secrets)
                  .ok());
  EXPECT_TRUE(VerifySignature(common::SignatureHeader("old-secret", kBody),
                              kBody, secrets)
                  .ok());
  EXPECT_EQ(
      VerifySignature(common::SignatureHeader("retired", kBody), kBody, secrets)
          .code(),
      absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace wagate::webhook
