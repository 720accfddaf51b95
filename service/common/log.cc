#include "service/common/log.h"

#include <atomic>
#include <cstdio>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace wagate::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

struct Sink {
  absl::Mutex mu;
  std::function<void(absl::string_view)> fn ABSL_GUARDED_BY(mu);
};

Sink& GetSink() {
  static Sink* sink = new Sink();
  return *sink;
}

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void AppendJsonEscaped(absl::string_view text, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", static_cast<int>(c));
        } else {
          out->push_back(c);
        }
    }
  }
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void Write(Level level, absl::string_view component, absl::string_view message,
           std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line;
  line.reserve(128);
  line.append("{\"time\":\"");
  line.append(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                               absl::UTCTimeZone()));
  line.append("\",\"level\":\"");
  line.append(LevelName(level).data(), LevelName(level).size());
  line.append("\",\"component\":\"");
  AppendJsonEscaped(component, &line);
  line.append("\",\"msg\":\"");
  AppendJsonEscaped(message, &line);
  line.push_back('"');
  for (const Field& field : fields) {
    line.append(",\"");
    AppendJsonEscaped(field.key, &line);
    line.append("\":\"");
    AppendJsonEscaped(field.value, &line);
    line.push_back('"');
  }
  line.append("}\n");

  Sink& sink = GetSink();
  absl::MutexLock lock(&sink.mu);
  if (sink.fn) {
    sink.fn(line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

void SetMinLevel(Level level) {
  g_min_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool ParseLevel(absl::string_view text, Level* level) {
  if (text == "debug")
    *level = Level::kDebug;
  else if (text == "info")
    *level = Level::kInfo;
  else if (text == "warning")
    *level = Level::kWarning;
  else if (text == "error")
    *level = Level::kError;
  else
    return false;
  return true;
}

void SetSinkForTesting(std::function<void(absl::string_view line)> sink) {
  Sink& s = GetSink();
  absl::MutexLock lock(&s.mu);
  s.fn = std::move(sink);
}

}  // namespace wagate::log
