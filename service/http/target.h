// The request target ("/path?query") as http::Server hands it to handlers:
// the percent-decoded path and the decoded query pairs. Exposed so the
// fuzzer (tests/fuzz/http_request_fuzz.cc) runs the server's own code.
//
//   Request request;
//   ParseTarget("/webhook?hub.mode=subscribe&x=%26", &request);
//   // request.path == "/webhook", request.query == {{"hub.mode",
//   // "subscribe"}, {"x", "&"}}
#ifndef WAGATE_SERVICE_HTTP_TARGET_H_
#define WAGATE_SERVICE_HTTP_TARGET_H_

#include "absl/strings/string_view.h"
#include "service/http/message.h"

namespace wagate::http {

// Sets request->path to the decoded path ('+' stays '+') and appends the
// query's pairs, in order, to request->query ('+' is a space there). Empty
// pieces ("a=1&&b=2") are skipped, a piece without '=' has an empty value,
// and a fragment ("#...") is ignored. Never fails: bad escapes stay as sent.
void ParseTarget(absl::string_view target, Request* request);

}  // namespace wagate::http

#endif  // WAGATE_SERVICE_HTTP_TARGET_H_
