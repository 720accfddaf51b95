// Structured logs: one JSON object per line on stderr.
//
//   log::Info("http", "listening", {{"address", "127.0.0.1:8080"}});
//   → {"time":"2026-11-21T23:59:08.123Z","level":"info","component":"http",
//      "msg":"listening","address":"127.0.0.1:8080"}
//
// Never pass secrets (tokens, app secrets, API keys) or message bodies: logs
// are read by operators and shipped to other systems.
#ifndef WAGATE_SERVICE_COMMON_LOG_H_
#define WAGATE_SERVICE_COMMON_LOG_H_

#include <functional>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace wagate::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

struct Field {
  absl::string_view key;
  std::string value;
};

// Writes one line if `level` is at or above the minimum level. Thread-safe.
void Write(Level level, absl::string_view component, absl::string_view message,
           std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view component, absl::string_view message,
                  std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, component, message, fields);
}
inline void Info(absl::string_view component, absl::string_view message,
                 std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, component, message, fields);
}
inline void Warning(absl::string_view component, absl::string_view message,
                    std::initializer_list<Field> fields = {}) {
  Write(Level::kWarning, component, message, fields);
}
inline void Error(absl::string_view component, absl::string_view message,
                  std::initializer_list<Field> fields = {}) {
  Write(Level::kError, component, message, fields);
}

// Lines below `level` are dropped. Default: kInfo.
void SetMinLevel(Level level);

// Whether a line at `level` would be written: lets a hot path skip building
// fields that would be dropped.
bool Enabled(Level level);

// Parses "debug", "info", "warning", "error"; false if unknown.
bool ParseLevel(absl::string_view text, Level* level);

// Replaces stderr as the destination (tests capture lines); nullptr restores.
void SetSinkForTesting(std::function<void(absl::string_view line)> sink);

// Appends `text` to `out` as the inside of a JSON string (no quotes).
void AppendJsonEscaped(absl::string_view text, std::string* out);

}  // namespace wagate::log

#endif  // WAGATE_SERVICE_COMMON_LOG_H_
