#include "service/common/hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace wagate::common {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr absl::string_view kPrefix = "sha256=";

}  // namespace

std::array<uint8_t, 32> HmacSha256(absl::string_view key,
                                   absl::string_view data) {
  std::array<uint8_t, 32> digest{};
  unsigned int len = 0;
  // One-shot HMAC(): not deprecated in OpenSSL 3, and it cannot fail for
  // SHA-256 short of memory exhaustion.
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       digest.data(), &len);
  return digest;
}

std::string HmacSha256Hex(absl::string_view key, absl::string_view data) {
  std::array<uint8_t, 32> digest = HmacSha256(key, data);
  std::string hex(64, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::string SignatureHeader(absl::string_view secret, absl::string_view body) {
  std::string header(kPrefix);
  header += HmacSha256Hex(secret, body);
  return header;
}

bool VerifySignatureHeader(absl::string_view secret, absl::string_view body,
                           absl::string_view header) {
  if (!absl::StartsWith(header, kPrefix)) return false;
  std::string given = absl::AsciiStrToLower(header.substr(kPrefix.size()));
  return ConstantTimeEquals(given, HmacSha256Hex(secret, body));
}

}  // namespace wagate::common
