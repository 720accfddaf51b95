// Graph request bodies for `POST /{phone_number_id}/messages`: a
// wagate.v1.SendRequest becomes exactly the JSON of CLOUD_API.md §2, and a
// MarkReadRequest the read-receipt (and typing-indicator) body.
//
//   ASSIGN_OR_RETURN(std::string body, graph::BuildSendJson(request));
//   graph_client.Call({.method = "POST",
//                      .path = absl::StrCat("/", request.phone_number_id(),
//                                           "/messages"),
//                      .body = std::move(body), ...}, done);
//
// Rules: Graph names and nesting throughout; `recipient_type` is always sent
// ("individual" unless GROUP); unset optional fields and empty optional
// strings are omitted (Meta rejects empty strings); the media `caption` is
// dropped where Meta does not allow one (interactive headers, template
// parameters); `text.preview_url` and `audio.voice` are sent only when true;
// a reaction always carries `emoji` ("" removes it). Template button `index`
// is sent as a string ("0"), the form most of Meta's samples use (Meta
// accepts a number too). google.protobuf.Struct fields (flow data, address
// values) are written as plain JSON objects with sorted keys.
//
// This is not the validator: lengths and counts are checked by the messaging
// service before it calls here. BuildSendJson fails (INVALID_ARGUMENT naming
// the field) only when the request cannot be expressed at all: no content,
// a media object with neither id nor link, an interactive message without a
// kind, a template parameter or component without a type.
#ifndef WAGATE_SERVICE_GRAPH_SEND_REQUEST_JSON_H_
#define WAGATE_SERVICE_GRAPH_SEND_REQUEST_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/common/json_writer.h"
#include "wagate/v1/messaging.pb.h"

namespace wagate::graph {

// The Graph JSON body for `request` (phone_number_id and idempotency_key
// are not part of it).
absl::StatusOr<std::string> BuildSendJson(const v1::SendRequest& request);

// Writes the same body into `out` (which must be empty or positioned where a
// value is expected); lets a hot loop reuse one writer's buffer.
absl::Status WriteSendJson(const v1::SendRequest& request,
                           common::JsonWriter* out);

// `{"messaging_product":"whatsapp","status":"read","message_id":"..."}`,
// plus `"typing_indicator":{"type":"text"}` when requested.
std::string BuildMarkReadJson(const v1::MarkReadRequest& request);

}  // namespace wagate::graph

#endif  // WAGATE_SERVICE_GRAPH_SEND_REQUEST_JSON_H_
