#include "service/events/store.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/events/redis_store.h"
#include "service/events/sqlite_store.h"

namespace wagate::events {

bool Filter::Matches(const EventRecord& event) const {
  auto in = [](const std::vector<std::string>& list, const std::string& v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  return in(phone_number_ids, event.phone_number_id) && in(kinds, event.kind);
}

absl::StatusOr<std::string> Store::PrunedThrough() {
  return absl::UnimplementedError(
      "this event store backend does not report its retention watermark");
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(absl::string_view spec,
                                                 const StoreOptions& options) {
  constexpr absl::string_view kSqlite = "sqlite:";
  if (absl::StartsWith(spec, kSqlite)) {
    absl::string_view path = spec.substr(kSqlite.size());
    if (path.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("store \"", spec, "\": sqlite: needs a file path"));
    }
    return OpenSqliteStore(std::string(path), options);
  }
  if (absl::StartsWith(spec, "redis://")) {
    return OpenRedisStore(spec, options);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "store \"", spec, "\" is not sqlite:PATH or redis://HOST:PORT"));
}

}  // namespace wagate::events
