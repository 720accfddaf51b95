// HTTP request and response values shared by the server (server.h) and the
// client (client.h). Header names compare case-insensitively.
#ifndef WAGATE_SERVICE_HTTP_MESSAGE_H_
#define WAGATE_SERVICE_HTTP_MESSAGE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace wagate::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The value of the first header named `name` (case-insensitive), or "".
absl::string_view FindHeader(const HeaderList& headers, absl::string_view name);

// Decodes %XX escapes and, if `plus_is_space`, '+' as ' ' (query strings).
std::string PercentDecode(absl::string_view text, bool plus_is_space);

// Encodes everything but unreserved characters (RFC 3986) as %XX.
std::string PercentEncode(absl::string_view text);

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: path and query, still encoded
  std::string path;    // percent-decoded path, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  HeaderList headers;
  std::string body;
  std::string remote_address;  // "127.0.0.1:53412"

  absl::string_view Header(absl::string_view name) const {
    return FindHeader(headers, name);
  }
  // The first query parameter named `name`, if present.
  absl::optional<std::string> QueryParam(absl::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;  // extra headers (Content-Type and -Length are set)
  std::string body;
  // Server only: close the connection without writing anything (fault
  // injection in the emulator, or a request that must not be answered).
  bool drop_connection = false;

  absl::string_view Header(absl::string_view name) const {
    return FindHeader(headers, name);
  }
};

// A response with `status`, content type text/plain and `body`.
Response TextResponse(int status, std::string body);
// A response with `status`, content type application/json and `json`.
Response JsonResponse(int status, std::string json);

}  // namespace wagate::http

#endif  // WAGATE_SERVICE_HTTP_MESSAGE_H_
