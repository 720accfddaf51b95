// Meta's Graph API error envelope (CLOUD_API.md §4.1) and the codes the
// emulator answers with, each with Meta's title and HTTP status (§4.2).
//
//   GraphError e = GraphError::Make(130429, "Cloud API message throughput "
//                                           "has been reached.");
//   http::Response r = ErrorResponse(e, "Az8or2yhqk...");
//   // 400 {"error":{"message":"(#130429) Rate limit hit",
//   //      "type":"OAuthException","code":130429,"error_data":{...},...}}
#ifndef WAGATE_EMULATOR_ERRORS_H_
#define WAGATE_EMULATOR_ERRORS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "service/common/json_writer.h"

namespace wagate::emulator {

struct GraphError {
  int code = 0;
  int http_status = 400;
  std::string title;    // "Rate limit hit"
  std::string details;  // error_data.details
  int subcode = 0;      // error_subcode; 0 omits it
  bool is_transient = false;

  // A GraphError for `code` with Meta's title and HTTP status for it.
  static GraphError Make(int code, std::string details);

  // "(#<code>) <title>", the envelope's `message`.
  std::string Message() const;
};

// Meta's title for `code` ("Rate limit hit"); "" if the code is not known.
absl::string_view ErrorTitle(int code);
// Meta's HTTP status for `code` (400 if not known).
int ErrorHttpStatus(int code);

// The JSON envelope {"error":{message,type,code,error_data,error_subcode?,
// is_transient?,fbtrace_id}}.
std::string ErrorJson(const GraphError& error, absl::string_view fbtrace_id);

// Writes the inner {message,type,code,...} object of the envelope as the
// writer's next value (for answers that carry an error beside other data).
void WriteErrorObject(const GraphError& error, absl::string_view fbtrace_id,
                      common::JsonWriter* w);

// The webhook form of an error, as in statuses[].errors[] and value.errors[]:
// {"code","title","message","error_data":{"details"},"href"}.
std::string WebhookErrorJson(int code, absl::string_view details);

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_ERRORS_H_
