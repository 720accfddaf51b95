// Fuzz harness for the webhook ingress's untrusted-bytes path: the signature
// check and the parser of a POST body (service/webhook/signature.h,
// parser.h). Built with libFuzzer (tests/fuzz/run.sh) and with the standalone
// replay driver (CTest fuzz_webhook_parser_corpus).
//
// Beyond "no crash, no leak, no UB" it checks what the headers promise:
// a correct signature verifies, a wrong one does not, and every Event the
// parser returns has an id and a kind.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/common/hmac.h"
#include "service/webhook/parser.h"
#include "service/webhook/signature.h"

namespace {

using wagate::webhook::EventKind;
using wagate::webhook::ParseWebhook;
using wagate::webhook::VerifySignature;

void Check(bool ok) {
  if (!ok) std::abort();  // a broken promise is a finding, like a crash
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  static const std::vector<std::string> kSecrets = {"old-app-secret",
                                                    "new-app-secret"};

  // Signed with the second (rotated-in) secret: must verify.
  const std::string good = wagate::common::SignatureHeader(kSecrets[1], body);
  Check(VerifySignature(good, body, kSecrets).ok());
  // Signed with a secret that is not configured: well formed, refused.
  const std::string other = wagate::common::SignatureHeader("not-ours", body);
  Check(absl::IsPermissionDenied(VerifySignature(other, body, kSecrets)));
  // The body's own first line as the header: arbitrary header text must be
  // refused without crashing (it cannot be a valid HMAC of the whole body
  // except by a SHA-256 collision).
  const absl::string_view first_line = body.substr(0, body.find('\n'));
  Check(!VerifySignature(first_line, body, kSecrets).ok());
  Check(!VerifySignature(first_line, body, {}).ok());

  absl::StatusOr<std::vector<wagate::v1::Event>> events =
      ParseWebhook(body, absl::FromUnixSeconds(1750000000));
  if (!events.ok()) {
    Check(absl::IsInvalidArgument(events.status()));
    return 0;
  }
  for (const wagate::v1::Event& event : *events) {
    Check(!event.id().empty());
    Check(!EventKind(event).empty());
    // What the store does with it next: serialize.
    std::string bytes;
    Check(event.SerializeToString(&bytes));
  }
  return 0;
}
