#include "service/common/json_writer.h"

#include <charconv>
#include <cmath>

namespace wagate::common {
namespace {

// 1 for bytes that must be escaped in a JSON string.
struct EscapeTable {
  bool escape[256] = {};
  constexpr EscapeTable() {
    for (int i = 0; i < 0x20; ++i) escape[i] = true;
    escape['"'] = true;
    escape['\\'] = true;
    escape[0x7f] = true;
  }
};
constexpr EscapeTable kEscape;

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  const char* p = text.data();
  const char* end = p + text.size();
  const char* run = p;  // start of the bytes copied unchanged
  for (; p < end; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (!kEscape.escape[c]) continue;
    out->append(run, p - run);
    run = p + 1;
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
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out->append(esc, 6);
      }
    }
  }
  out->append(run, end - run);
  out->push_back('"');
}

std::string EscapeNonAscii(absl::string_view json) {
  std::string out;
  out.reserve(json.size() + 16);
  auto append_unit = [&out](uint32_t u) {
    char esc[6] = {'\\',
                   'u',
                   kHex[(u >> 12) & 0xf],
                   kHex[(u >> 8) & 0xf],
                   kHex[(u >> 4) & 0xf],
                   kHex[u & 0xf]};
    out.append(esc, 6);
  };
  const unsigned char* p = reinterpret_cast<const unsigned char*>(json.data());
  const unsigned char* end = p + json.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++p;
      continue;
    }
    // Decode one UTF-8 sequence; anything malformed is one U+FFFD.
    int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    uint32_t cp = 0xfffd;
    int used = 1;
    if (len > 0 && end - p >= len) {
      uint32_t v = c & (0xff >> (len + 1));
      bool ok = true;
      for (int i = 1; i < len; ++i) {
        if ((p[i] & 0xc0) != 0x80) {
          ok = false;
          break;
        }
        v = (v << 6) | (p[i] & 0x3f);
      }
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      if (ok && v >= kMin[len] && v <= 0x10ffff &&
          !(v >= 0xd800 && v <= 0xdfff)) {
        cp = v;
        used = len;
      }
    }
    p += used;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      append_unit(0xd800 + (cp >> 10));
      append_unit(0xdc00 + (cp & 0x3ff));
    } else {
      append_unit(cp);
    }
  }
  return out;
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_.push_back('{');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_.push_back('[');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Key(absl::string_view key) {
  Separate();
  AppendJsonString(key, &out_);
  out_.push_back(':');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::String(absl::string_view value) {
  Separate();
  AppendJsonString(value, &out_);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  Separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), value);
  out_.append(buf, r.ptr - buf);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  Separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), value);
  out_.append(buf, r.ptr - buf);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  Separate();
  if (!std::isfinite(value)) {
    out_.append("null");
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), value);
    out_.append(buf, r.ptr - buf);
  }
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  Separate();
  out_.append(value ? "true" : "false");
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_.append("null");
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Raw(absl::string_view json) {
  Separate();
  out_.append(json.data(), json.size());
  need_comma_ = true;
  return *this;
}

}  // namespace wagate::common
