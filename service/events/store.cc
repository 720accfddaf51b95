#include "service/events/store.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/json_writer.h"
#include "service/events/redis_store.h"
#include "service/events/sqlite_store.h"

namespace wagate::events {

bool Filter::Matches(const EventRecord& event) const {
  auto in = [](const std::vector<std::string>& list, const std::string& v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  return in(phone_number_ids, event.phone_number_id) && in(kinds, event.kind);
}

Filter Filter::Normalized() const {
  auto normalize = [](std::vector<std::string> list) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    return list;
  };
  Filter out;
  out.phone_number_ids = normalize(phone_number_ids);
  out.kinds = normalize(kinds);
  return out;
}

std::string Filter::Key() const {
  const Filter normalized = Normalized();
  std::string out;
  auto list = [&out](const std::vector<std::string>& values) {
    out += '[';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      common::AppendJsonString(values[i], &out);
    }
    out += ']';
  };
  out += "{\"phone_number_ids\":";
  list(normalized.phone_number_ids);
  out += ",\"kinds\":";
  list(normalized.kinds);
  out += '}';
  return out;
}

absl::Status GroupFilterDiffersError(absl::string_view group) {
  return absl::FailedPreconditionError(absl::StrCat(
      "group: consumer group \"", group,
      "\" was created with another filter (phone_number_ids, kinds): every "
      "member of a group must subscribe with the same filter, since the "
      "events one member's filter skips are skipped for the whole group; "
      "subscribe with the group's filter or use another group name"));
}

absl::StatusOr<LogPage> Store::ReadPage(absl::string_view cursor, size_t max,
                                        const Filter& filter) {
  LogPage page;
  absl::StatusOr<std::vector<EventRecord>> events =
      ReadAfter(cursor, max, filter);
  if (!events.ok()) return events.status();
  page.events = *std::move(events);
  if (!page.events.empty()) page.scanned_through = page.events.back().cursor;
  page.more = max > 0 && page.events.size() >= max;
  return page;
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
