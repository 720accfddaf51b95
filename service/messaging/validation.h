// Validation of Messaging requests against the Cloud API's documented limits
// (CLOUD_API.md §2), run before any HTTP call so a bad request costs nothing
// and never reaches Meta. Pure functions: no state, no I/O.
//
// Every error is INVALID_ARGUMENT whose message starts with the path of the
// offending field in the request proto, then the rule, e.g.
//   "text.body: 4097 characters, the limit is 4096"
//   "interactive.button.buttons[3]: at most 3 reply buttons"
// Lengths are counted in characters (Unicode code points of the UTF-8
// string) where Meta counts characters, in bytes where the limit is in bytes
// (biz_opaque_callback_data).
//
// Usage:
//   RETURN_IF_ERROR(ValidateSendRequest(request));
#ifndef WAGATE_SERVICE_MESSAGING_VALIDATION_H_
#define WAGATE_SERVICE_MESSAGING_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "wagate/v1/messaging.pb.h"

namespace wagate::messaging {

// Documented limits, shared with tests.
inline constexpr size_t kMaxTextBody = 4096;
inline constexpr size_t kMaxCaption = 1024;
inline constexpr size_t kMaxBizOpaqueCallbackDataBytes = 512;
inline constexpr size_t kMaxIdempotencyKey = 256;

// OK, or INVALID_ARGUMENT naming the first offending field and its limit.
absl::Status ValidateSendRequest(const wagate::v1::SendRequest& request);

// OK, or INVALID_ARGUMENT naming the offending field.
absl::Status ValidateMarkReadRequest(
    const wagate::v1::MarkReadRequest& request);

// Unicode code points in UTF-8 `text` (how Meta counts characters).
size_t CharacterCount(absl::string_view text);

}  // namespace wagate::messaging

#endif  // WAGATE_SERVICE_MESSAGING_VALIDATION_H_
