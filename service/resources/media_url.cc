#include "service/resources/media_url.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wagate::resources {
namespace {

absl::Status NotAUrl() {
  return absl::InvalidArgumentError("not an absolute http(s) URL");
}

bool IsHostChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '.';
}

bool IsMetaMediaHost(absl::string_view host) {
  return host == "lookaside.fbsbx.com" || absl::EndsWith(host, ".fbsbx.com") ||
         absl::EndsWith(host, ".fbcdn.net");
}

}  // namespace

absl::Status ParseUrlOrigin(absl::string_view url, UrlOrigin* origin) {
  size_t colon = url.find("://");
  if (colon == absl::string_view::npos) return NotAUrl();
  origin->scheme = absl::AsciiStrToLower(url.substr(0, colon));
  int default_port;
  if (origin->scheme == "https") {
    default_port = 443;
  } else if (origin->scheme == "http") {
    default_port = 80;
  } else {
    return NotAUrl();
  }
  absl::string_view rest = url.substr(colon + 3);
  absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || absl::StrContains(authority, '@')) {
    return NotAUrl();
  }
  absl::string_view host = authority;
  origin->port = default_port;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return NotAUrl();
    host = authority.substr(0, close + 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':' ||
          !absl::SimpleAtoi(after.substr(1), &origin->port)) {
        return NotAUrl();
      }
    }
  } else {
    size_t port = authority.rfind(':');
    if (port != absl::string_view::npos) {
      host = authority.substr(0, port);
      if (!absl::SimpleAtoi(authority.substr(port + 1), &origin->port)) {
        return NotAUrl();
      }
    }
    if (host.empty()) return NotAUrl();
    for (char c : host) {
      if (!IsHostChar(c)) return NotAUrl();
    }
  }
  if (origin->port <= 0 || origin->port > 65535) return NotAUrl();
  origin->host = absl::AsciiStrToLower(host);
  return absl::OkStatus();
}

absl::Status CheckMediaDownloadUrl(absl::string_view url,
                                   absl::string_view graph_base_url) {
  UrlOrigin origin;
  if (!ParseUrlOrigin(url, &origin).ok()) {
    return absl::FailedPreconditionError(
        "Graph answered the media lookup with a download URL that is not an "
        "absolute http(s) URL: not fetching it");
  }
  UrlOrigin graph;
  if (ParseUrlOrigin(graph_base_url, &graph).ok() &&
      origin.scheme == graph.scheme && origin.host == graph.host &&
      origin.port == graph.port) {
    return absl::OkStatus();
  }
  if (origin.scheme == "https" && origin.port == 443 &&
      IsMetaMediaHost(origin.host)) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "Graph answered the media lookup with a download URL on ", origin.scheme,
      "://", origin.host, ":", origin.port,
      ", which is neither https on Meta's media hosts nor the Graph base URL: "
      "not sending the access token there"));
}

}  // namespace wagate::resources
