// Fuzz harness for Graph answers, which come from the network: the error
// envelope parser and everything built on its result (gRPC status mapping,
// status details round trip, retry rules), the send answer, and a walk of
// an arbitrary Graph object through JsonDocument's lenient getters
// (service/graph/graph_error.h, graph_response.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "service/graph/graph_error.h"
#include "service/graph/graph_response.h"

namespace {

namespace graph = wagate::graph;

void Check(bool ok) {
  if (!ok) std::abort();  // a broken promise is a finding, like a crash
}

// Every getter on every key, recursing into objects and arrays of objects
// (bounded: simdjson's own depth limit already bounds the document).
void Walk(const graph::JsonObject& object, int depth) {
  if (!object.valid() || depth > 64) return;
  for (const std::string& key : object.Keys()) {
    Check(object.Has(key));
    (void)object.GetString(key);
    (void)object.GetInt(key);
    (void)object.GetDouble(key);
    (void)object.GetBool(key);
    (void)object.GetRaw(key);
    (void)object.GetStringArray(key);
    Walk(object.GetObject(key), depth + 1);
    for (const graph::JsonObject& item : object.GetArray(key)) {
      Walk(item, depth + 1);
    }
  }
}

void CheckError(int http_status, absl::string_view body) {
  wagate::v1::GraphError error = graph::ParseGraphError(http_status, body);
  Check(error.http_status() == http_status);
  (void)graph::GrpcCodeFor(error);
  (void)graph::IsSafeToRetry(error);
  (void)graph::DefaultRetryDelay(error.code(), http_status);
  for (int attempt = 0; attempt < 40; attempt += 7) {
    Check(graph::RetryBackoff(error, attempt) <= absl::Minutes(10));
  }
  // The details must survive the trip through a gRPC status unchanged.
  grpc::Status status = graph::ToGrpcStatus(error);
  absl::optional<wagate::v1::GraphError> back =
      graph::GraphErrorFromGrpcStatus(status);
  Check(back.has_value());
  Check(back->SerializeAsString() == error.SerializeAsString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);

  for (int http_status : {400, 401, 403, 404, 429, 500, 502, 503}) {
    CheckError(http_status, body);
  }

  absl::StatusOr<wagate::v1::SendResponse> sent =
      graph::ParseSendResponse(body);
  if (sent.ok()) {
    Check(!sent->message_id().empty());
  }
  (void)graph::ParseSuccess(body);

  graph::JsonDocument document;
  if (document.Parse(body).ok()) Walk(document.root(), 0);

  // Raw bytes as a status detail blob: the client-side decoder must cope.
  (void)graph::GraphErrorFromGrpcStatus(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "x", std::string(body)));
  return 0;
}
