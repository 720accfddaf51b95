// Where DownloadMedia may send the access token: the URL of a media file
// comes from Graph's answer, and the file is fetched with the bearer token.
// A URL naming any other host (a compromised or spoofed answer, a Graph
// base URL misconfigured to a proxy that rewrites bodies) would hand the
// token away, and plain http would expose it on the wire.
//
//   RETURN_IF_ERROR(CheckMediaDownloadUrl(url, "https://graph.facebook.com"));
#ifndef WAGATE_SERVICE_RESOURCES_MEDIA_URL_H_
#define WAGATE_SERVICE_RESOURCES_MEDIA_URL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wagate::resources {

// The scheme, host and port of an absolute http(s) URL, lowercased, with
// the default port made explicit ("https://lookaside.fbsbx.com:443").
struct UrlOrigin {
  std::string scheme;
  std::string host;
  int port = 0;
};

// INVALID_ARGUMENT for anything but `http(s)://host[:port][/...]` without
// user info.
absl::Status ParseUrlOrigin(absl::string_view url, UrlOrigin* origin);

// OK when `url` is https (port 443) on one of Meta's media hosts
// (lookaside.fbsbx.com, or a subdomain of fbsbx.com or fbcdn.net), or has the
// same scheme, host and port as `graph_base_url` (the emulator serves media
// itself). FAILED_PRECONDITION otherwise, naming the host but never the query
// (it carries a signature).
absl::Status CheckMediaDownloadUrl(absl::string_view url,
                                   absl::string_view graph_base_url);

}  // namespace wagate::resources

#endif  // WAGATE_SERVICE_RESOURCES_MEDIA_URL_H_
