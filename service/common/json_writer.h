// A small, fast JSON writer: builds a document into a std::string in one pass,
// with commas placed automatically. Used where answers and requests are
// written on hot paths (the emulator's Graph answers and webhooks, the
// gateway's Graph request builder).
//
//   common::JsonWriter w;
//   w.BeginObject();
//   w.Key("messaging_product").String("whatsapp");
//   w.Key("to").String(to);
//   w.Key("ids").BeginArray().Int(1).Int(2).EndArray();
//   w.Key("extra").Raw(already_serialized_json);
//   w.EndObject();
//   std::string body = std::move(w).Release();
//   // {"messaging_product":"whatsapp","to":"...","ids":[1,2],"extra":...}
//
// Contract: the caller writes a well-formed sequence (a Key before each value
// inside an object, balanced Begin/End); the writer does not validate it.
// Strings must be UTF-8: bytes >= 0x80 pass through unchanged, '"', '\\' and
// control characters (< 0x20, and 0x7f) are escaped. Doubles use the shortest
// representation that round-trips; NaN and infinities (not JSON) become null.
#ifndef WAGATE_SERVICE_COMMON_JSON_WRITER_H_
#define WAGATE_SERVICE_COMMON_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace wagate::common {

class JsonWriter {
 public:
  JsonWriter() = default;
  // Starts with `reserve` bytes of capacity (avoids regrowth for large bodies).
  explicit JsonWriter(size_t reserve) { out_.reserve(reserve); }

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();

  // An object member's name; the next call writes its value.
  JsonWriter& Key(absl::string_view key);

  JsonWriter& String(absl::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Inserts `json` verbatim as one value; it must already be valid JSON.
  JsonWriter& Raw(absl::string_view json);

  // Shorthands for Key(key).X(value).
  JsonWriter& Field(absl::string_view key, absl::string_view value) {
    return Key(key).String(value);
  }
  JsonWriter& Field(absl::string_view key, const char* value) {
    return Key(key).String(value);
  }
  JsonWriter& Field(absl::string_view key, int value) {
    return Key(key).Int(value);
  }
  JsonWriter& Field(absl::string_view key, int64_t value) {
    return Key(key).Int(value);
  }
  JsonWriter& Field(absl::string_view key, uint64_t value) {
    return Key(key).Uint(value);
  }
  JsonWriter& Field(absl::string_view key, double value) {
    return Key(key).Double(value);
  }
  JsonWriter& Field(absl::string_view key, bool value) {
    return Key(key).Bool(value);
  }

  // The document so far.
  const std::string& str() const { return out_; }
  // Moves the document out; the writer is left empty.
  std::string Release() && { return std::move(out_); }
  // Empties the writer, keeping its capacity.
  void Clear() {
    out_.clear();
    need_comma_ = false;
  }

 private:
  void Separate() {
    if (need_comma_) out_.push_back(',');
  }

  std::string out_;
  // True after a value: the next value or key needs a comma first. One flag
  // suffices because Begin/Key clear it and End/values set it.
  bool need_comma_ = false;
};

// Appends `text` as a quoted JSON string (with escaping) to `out`.
void AppendJsonString(absl::string_view text, std::string* out);

// Rewrites every non-ASCII character of the JSON text `json` as \uXXXX
// (UTF-16 surrogate pairs above U+FFFF; invalid UTF-8 becomes U+FFFD). Meta's
// webhook bodies are ASCII in this form, and some clients re-escape the raw
// body this way before checking its signature. Non-ASCII bytes can only occur
// inside strings in valid JSON, so the result is the same JSON value.
std::string EscapeNonAscii(absl::string_view json);

}  // namespace wagate::common

#endif  // WAGATE_SERVICE_COMMON_JSON_WRITER_H_
