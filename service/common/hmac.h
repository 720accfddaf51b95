// HMAC-SHA256 for Meta's webhook signatures (X-Hub-Signature-256): the
// emulator signs what it posts, the webhook ingress verifies what it receives.
//
//   std::string header = common::SignatureHeader(app_secret, body);
//   // "sha256=5f8b...": the value of X-Hub-Signature-256 for `body`
//   bool ok = common::VerifySignatureHeader(app_secret, body, header);
//
// Comparisons of secrets-derived values use ConstantTimeEquals so a caller
// cannot learn a valid signature byte by byte from response timing.
#ifndef WAGATE_SERVICE_COMMON_HMAC_H_
#define WAGATE_SERVICE_COMMON_HMAC_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace wagate::common {

// The raw 32-byte HMAC-SHA256 of `data` keyed with `key`.
std::array<uint8_t, 32> HmacSha256(absl::string_view key,
                                   absl::string_view data);

// The same, as 64 lowercase hex digits.
std::string HmacSha256Hex(absl::string_view key, absl::string_view data);

// True if `a` and `b` are equal; the time taken depends only on their
// lengths, not on where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// "sha256=" + HmacSha256Hex(secret, body): Meta's X-Hub-Signature-256 value.
std::string SignatureHeader(absl::string_view secret, absl::string_view body);

// True if `header` is "sha256=<hex>" (hex in either case) and the hex is the
// HMAC-SHA256 of `body` keyed with `secret`. Constant time in the digest.
bool VerifySignatureHeader(absl::string_view secret, absl::string_view body,
                           absl::string_view header);

}  // namespace wagate::common

#endif  // WAGATE_SERVICE_COMMON_HMAC_H_
