#include "service/webhook/signature.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "service/common/hmac.h"

namespace wagate::webhook {

absl::Status VerifySignature(absl::string_view header, absl::string_view body,
                             const std::vector<std::string>& app_secrets) {
  constexpr absl::string_view kPrefix = "sha256=";
  header = absl::StripAsciiWhitespace(header);
  if (header.empty()) {
    return absl::UnauthenticatedError("missing X-Hub-Signature-256 header");
  }
  if (!absl::StartsWithIgnoreCase(header, kPrefix) ||
      header.size() != kPrefix.size() + 64) {
    return absl::UnauthenticatedError(
        "malformed X-Hub-Signature-256 header (want sha256=<64 hex digits>)");
  }
  std::string given(header.substr(kPrefix.size()));
  for (char& c : given) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::UnauthenticatedError(
          "malformed X-Hub-Signature-256 header (want sha256=<64 hex digits>)");
    }
    c = absl::ascii_tolower(static_cast<unsigned char>(c));
  }
  // No early exit: try every secret so timing does not reveal which matched.
  bool match = false;
  for (const std::string& secret : app_secrets) {
    match |=
        common::ConstantTimeEquals(common::HmacSha256Hex(secret, body), given);
  }
  if (!match) {
    return absl::PermissionDeniedError(
        "X-Hub-Signature-256 does not match the body under any app secret");
  }
  return absl::OkStatus();
}

}  // namespace wagate::webhook
