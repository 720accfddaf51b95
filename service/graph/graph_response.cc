#include "service/graph/graph_response.h"

#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wagate::graph {
namespace {

absl::Status Unusable(absl::string_view what) {
  return absl::InternalError(absl::StrCat("Graph answered with ", what));
}

std::string_view View(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace

bool JsonObject::Find(absl::string_view key,
                      simdjson::dom::element* out) const {
  if (!valid_) return false;
  return object_.at_key(View(key)).get(*out) == simdjson::SUCCESS;
}

bool JsonObject::Has(absl::string_view key) const {
  simdjson::dom::element e;
  return Find(key, &e);
}

std::string JsonObject::GetString(absl::string_view key) const {
  simdjson::dom::element e;
  if (!Find(key, &e)) return std::string();
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (e.is_number()) return simdjson::minify(e);
  return std::string();
}

int64_t JsonObject::GetInt(absl::string_view key) const {
  simdjson::dom::element e;
  if (!Find(key, &e)) return 0;
  int64_t i;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return i;
  uint64_t u;
  if (e.get_uint64().get(u) == simdjson::SUCCESS) {
    return static_cast<int64_t>(u);
  }
  double d;
  if (e.get_double().get(d) == simdjson::SUCCESS) {
    // Outside int64's range (or NaN) the cast is undefined.
    return d > -9.2e18 && d < 9.2e18 ? static_cast<int64_t>(d) : 0;
  }
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS &&
      absl::SimpleAtoi(absl::string_view(s.data(), s.size()), &i)) {
    return i;
  }
  return 0;
}

double JsonObject::GetDouble(absl::string_view key) const {
  simdjson::dom::element e;
  if (!Find(key, &e)) return 0;
  double d;
  if (e.get_double().get(d) == simdjson::SUCCESS) return d;
  int64_t i;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS &&
      absl::SimpleAtod(absl::string_view(s.data(), s.size()), &d)) {
    return d;
  }
  return 0;
}

bool JsonObject::GetBool(absl::string_view key) const {
  simdjson::dom::element e;
  if (!Find(key, &e)) return false;
  bool b = false;
  if (e.get_bool().get(b) == simdjson::SUCCESS) return b;
  return false;
}

JsonObject JsonObject::GetObject(absl::string_view key) const {
  simdjson::dom::element e;
  simdjson::dom::object o;
  if (Find(key, &e) && e.get_object().get(o) == simdjson::SUCCESS) {
    return JsonObject(o);
  }
  return JsonObject();
}

std::vector<JsonObject> JsonObject::GetArray(absl::string_view key) const {
  std::vector<JsonObject> out;
  simdjson::dom::element e;
  simdjson::dom::array a;
  if (!Find(key, &e) || e.get_array().get(a) != simdjson::SUCCESS) return out;
  out.reserve(a.size());
  for (simdjson::dom::element item : a) {
    simdjson::dom::object o;
    if (item.get_object().get(o) == simdjson::SUCCESS) out.emplace_back(o);
  }
  return out;
}

std::vector<std::string> JsonObject::GetStringArray(
    absl::string_view key) const {
  std::vector<std::string> out;
  simdjson::dom::element e;
  simdjson::dom::array a;
  if (!Find(key, &e) || e.get_array().get(a) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element item : a) {
    std::string_view s;
    if (item.get_string().get(s) == simdjson::SUCCESS) out.emplace_back(s);
  }
  return out;
}

std::string JsonObject::GetRaw(absl::string_view key) const {
  simdjson::dom::element e;
  if (!Find(key, &e)) return std::string();
  return simdjson::minify(e);
}

std::vector<std::string> JsonObject::Keys() const {
  std::vector<std::string> keys;
  if (!valid_) return keys;
  for (auto field : object_) keys.emplace_back(field.key);
  return keys;
}

absl::Status JsonDocument::Parse(absl::string_view json) {
  simdjson::dom::element root;
  if (parser_.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    root_ = JsonObject();
    return Unusable(
        absl::StrCat("a body that is not JSON (", json.size(), " bytes)"));
  }
  simdjson::dom::object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) {
    root_ = JsonObject();
    return Unusable("a JSON body that is not an object");
  }
  root_ = JsonObject(o);
  return absl::OkStatus();
}

v1::SendStatus ParseSendStatus(absl::string_view text) {
  if (text.empty()) return v1::SEND_STATUS_UNSPECIFIED;
  if (text == "accepted") return v1::SEND_STATUS_ACCEPTED;
  if (text == "held_for_quality_assessment") {
    return v1::SEND_STATUS_HELD_FOR_QUALITY_ASSESSMENT;
  }
  if (text == "paused") return v1::SEND_STATUS_PAUSED;
  return v1::SEND_STATUS_OTHER;
}

absl::StatusOr<v1::SendResponse> ParseSendResponse(absl::string_view body) {
  // One parser per thread: sends run on the io threads, and a warm parser
  // does not allocate.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS ||
      root.get_object().get(obj) != simdjson::SUCCESS) {
    return Unusable(absl::StrCat("a send answer that is not a JSON object (",
                                 body.size(), " bytes)"));
  }
  v1::SendResponse out;
  simdjson::dom::array messages;
  simdjson::dom::object message;
  std::string_view s;
  if (obj["messages"].get_array().get(messages) != simdjson::SUCCESS ||
      messages.at(0).get_object().get(message) != simdjson::SUCCESS ||
      message["id"].get_string().get(s) != simdjson::SUCCESS || s.empty()) {
    return Unusable("a send answer without messages[0].id");
  }
  out.set_message_id(s.data(), s.size());
  if (message["message_status"].get_string().get(s) == simdjson::SUCCESS) {
    out.set_message_status_raw(s.data(), s.size());
    out.set_message_status(
        ParseSendStatus(absl::string_view(s.data(), s.size())));
  }
  if (message["group_id"].get_string().get(s) == simdjson::SUCCESS) {
    out.set_group_id(s.data(), s.size());
  }
  simdjson::dom::array contacts;
  simdjson::dom::object contact;
  if (obj["contacts"].get_array().get(contacts) == simdjson::SUCCESS &&
      contacts.at(0).get_object().get(contact) == simdjson::SUCCESS) {
    if (contact["wa_id"].get_string().get(s) == simdjson::SUCCESS) {
      out.set_wa_id(s.data(), s.size());
    }
    if (contact["input"].get_string().get(s) == simdjson::SUCCESS) {
      out.set_input(s.data(), s.size());
    }
  }
  return out;
}

absl::StatusOr<bool> ParseSuccess(absl::string_view body) {
  JsonDocument doc;
  if (!doc.Parse(body).ok()) return Unusable("a body that is not JSON");
  simdjson::dom::element e;
  bool b;
  if (doc.root().raw()["success"].get(e) != simdjson::SUCCESS ||
      e.get_bool().get(b) != simdjson::SUCCESS) {
    return Unusable("an answer without \"success\"");
  }
  return b;
}

}  // namespace wagate::graph
