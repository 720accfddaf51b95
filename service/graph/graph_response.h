// Graph success answers parsed with simdjson: the send answer into
// wagate.v1.SendResponse, `{"success":true}`, and a small reader for any
// Graph JSON object that other components (templates, phone numbers, media)
// reuse.
//
//   ASSIGN_OR_RETURN(v1::SendResponse r, graph::ParseSendResponse(body));
//   ASSIGN_OR_RETURN(bool ok, graph::ParseSuccess(body));
//
//   // Any Graph object:
//   graph::JsonDocument doc;
//   RETURN_IF_ERROR(doc.Parse(body));
//   graph::JsonObject root = doc.root();
//   std::string url = root.GetString("url");           // "" when absent
//   int64_t size = root.GetInt("file_size");           // "1234" or 1234
//   for (graph::JsonObject item : root.GetArray("data")) { ... }
//   std::string raw = root.GetRaw("components");      // minified JSON
//
// Errors: malformed JSON or a missing required field is INTERNAL ("Graph
// answered with ..."): Meta said 2xx but the body is unusable, which is not
// the caller's fault. The body is never copied into the error message.
#ifndef WAGATE_SERVICE_GRAPH_GRAPH_RESPONSE_H_
#define WAGATE_SERVICE_GRAPH_GRAPH_RESPONSE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "simdjson.h"
#include "wagate/v1/messaging.pb.h"

namespace wagate::graph {

// A view of one JSON object inside a JsonDocument (valid while it lives).
// Getters are lenient: a missing member or one of another type gives the
// empty value; use Has() to tell absent from empty.
class JsonObject {
 public:
  JsonObject() = default;
  explicit JsonObject(simdjson::dom::object object)
      : object_(object), valid_(true) {}

  bool valid() const { return valid_; }
  bool Has(absl::string_view key) const;
  // A string member; numbers are returned as their JSON text (Graph sends
  // some ids and sizes either way).
  std::string GetString(absl::string_view key) const;
  // An integer member, also accepting a string of digits; 0 if neither.
  int64_t GetInt(absl::string_view key) const;
  double GetDouble(absl::string_view key) const;
  bool GetBool(absl::string_view key) const;
  // A nested object (invalid JsonObject if absent).
  JsonObject GetObject(absl::string_view key) const;
  // The objects of an array member (non-objects skipped).
  std::vector<JsonObject> GetArray(absl::string_view key) const;
  // The strings of an array member (non-strings skipped).
  std::vector<std::string> GetStringArray(absl::string_view key) const;
  // A member as minified JSON text ("" if absent); for pass-through fields.
  std::string GetRaw(absl::string_view key) const;
  // Keys in document order.
  std::vector<std::string> Keys() const;

  simdjson::dom::object raw() const { return object_; }

 private:
  bool Find(absl::string_view key, simdjson::dom::element* out) const;

  simdjson::dom::object object_;
  bool valid_ = false;
};

// Owns a parsed JSON document. Not thread-safe; cheap to reuse.
class JsonDocument {
 public:
  // Parses `json`; INTERNAL if it is not JSON or its root is not an object.
  absl::Status Parse(absl::string_view json);
  JsonObject root() const { return root_; }

 private:
  simdjson::dom::parser parser_;
  JsonObject root_;
};

// Parses the answer to `POST /{phone_number_id}/messages`:
// `{"messaging_product":"whatsapp","contacts":[{"input","wa_id"}],
//   "messages":[{"id","message_status"?,"group_id"?}]}`. INTERNAL if there
// is no messages[0].id. Uses a thread-local parser (no allocation per call
// once warm).
absl::StatusOr<v1::SendResponse> ParseSendResponse(absl::string_view body);

// Maps Graph's message_status text to the enum (unknown → OTHER, "" →
// UNSPECIFIED).
v1::SendStatus ParseSendStatus(absl::string_view text);

// Parses `{"success":true}` (or false). INTERNAL if `success` is missing.
absl::StatusOr<bool> ParseSuccess(absl::string_view body);

}  // namespace wagate::graph

#endif  // WAGATE_SERVICE_GRAPH_GRAPH_RESPONSE_H_
