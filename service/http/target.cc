#include "service/http/target.h"

#include <string>

namespace wagate::http {

void ParseTarget(absl::string_view target, Request* request) {
  size_t question = target.find('?');
  absl::string_view path = target.substr(0, question);
  request->path = PercentDecode(path, /*plus_is_space=*/false);
  if (question == absl::string_view::npos) return;
  absl::string_view query = target.substr(question + 1);
  // Fragments are not sent by well-behaved clients; ignore one if present.
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    size_t amp = query.find('&');
    absl::string_view piece = query.substr(0, amp);
    query = amp == absl::string_view::npos ? absl::string_view()
                                           : query.substr(amp + 1);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    if (eq == absl::string_view::npos) {
      request->query.emplace_back(PercentDecode(piece, true), std::string());
    } else {
      request->query.emplace_back(PercentDecode(piece.substr(0, eq), true),
                                  PercentDecode(piece.substr(eq + 1), true));
    }
  }
}

}  // namespace wagate::http
