// Verifies Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex>`, the
// HMAC-SHA256 of the raw POST body keyed with the app secret. Several secrets
// may be configured so an app secret can be rotated without refusing
// webhooks signed with the old one.
//
//   absl::Status s = webhook::VerifySignature(
//       request.Header("X-Hub-Signature-256"), request.body, app_secrets);
//   // OK, UNAUTHENTICATED (answer 401) or PERMISSION_DENIED (answer 403)
//
// Every configured secret is tried and compared in constant time, so the
// response time tells nothing about how close a forged signature was.
#ifndef WAGATE_SERVICE_WEBHOOK_SIGNATURE_H_
#define WAGATE_SERVICE_WEBHOOK_SIGNATURE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wagate::webhook {

inline constexpr absl::string_view kSignatureHeader = "X-Hub-Signature-256";

// OK if `header` is "sha256=<64 hex digits>" (either case) and the digits are
// the HMAC-SHA256 of `body` under one of `app_secrets`.
// UNAUTHENTICATED if the header is empty or not of that form;
// PERMISSION_DENIED if it is well formed but matches no secret (also when
// `app_secrets` is empty). Error messages never contain secrets or digests.
absl::Status VerifySignature(absl::string_view header, absl::string_view body,
                             const std::vector<std::string>& app_secrets);

}  // namespace wagate::webhook

#endif  // WAGATE_SERVICE_WEBHOOK_SIGNATURE_H_
