// GraphClient: one Graph API call over the shared asynchronous http::Client,
// with the API version prefixed, the token in the Authorization header only,
// the timeout bounded by the caller's deadline, and the answer classified
// (2xx body, or a mapped Graph/transport error as a rich grpc::Status).
//
//   graph::GraphClient graph(http_client, {.base_url = flags.graph_base_url,
//                                          .api_version = "v24.0"});
//   graph.Call({.method = "POST",
//               .path = "/106540352242922/messages",
//               .body = std::move(json),
//               .access_token = token,
//               .deadline = grpc_context->deadline()},
//              [](graph::GraphResult r) {
//                if (!r.ok()) return finish(r.status);   // details attached
//                auto sent = graph::ParseSendResponse(r.body);
//              });
//
// Media transfers stream through the same call (and so get the same
// metrics, deadline and error mapping): `body_source` pulls the request
// body, `body_sink` takes a 2xx answer as it arrives, `url` targets a URL
// Graph handed out (a media download) instead of a Graph path.
//
// Secrets: the token is sent only as `Authorization: Bearer`, never put in
// the URL, never logged, and scrubbed ("[redacted]") from every answer body
// read whole (success or error) and any error text built from it. `done` runs once, on an io_context thread.
// Retries are not done here: the messaging layer decides, using
// graph::IsSafeToRetry on GraphResult::error.
#ifndef WAGATE_SERVICE_GRAPH_GRAPH_CLIENT_H_
#define WAGATE_SERVICE_GRAPH_GRAPH_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "grpcpp/support/status.h"
#include "service/http/client.h"
#include "wagate/v1/errors.pb.h"

namespace wagate::graph {

struct GraphClientOptions {
  // Scheme, host and optional port; no trailing path ("--graph_base_url").
  std::string base_url = "https://graph.facebook.com";
  // Prefixed to every path ("--graph_api_version"); empty for none.
  std::string api_version = "v24.0";
  // Upper bound on one call when the deadline is later (or infinite).
  absl::Duration default_timeout = absl::Seconds(30);
};

struct GraphCall {
  std::string method = "POST";
  // Graph path without the version, e.g. "/106540352242922/messages".
  std::string path;
  // Query parameters, percent-encoded by the client. Never the token.
  std::vector<std::pair<std::string, std::string>> query;
  // Request body; sent with `content_type` when non-empty.
  std::string body;
  std::string content_type = "application/json";
  std::string access_token;
  // From the gRPC deadline; the call fails with DEADLINE_EXCEEDED at the
  // latest then. Already past: fails at once without sending.
  absl::Time deadline = absl::InfiniteFuture();
  // Short fixed label for metrics ("send_message", "get_media"); never ids.
  std::string operation;
  // Absolute URL used instead of base_url/version/path?query: a URL Graph
  // handed out (media download). Empty: built from `path` and `query`.
  std::string url;
  // Upper bound on this exchange instead of the client's default_timeout
  // (long media transfers); zero: the default. The deadline still wins.
  absl::Duration timeout = absl::ZeroDuration();
  // Streaming, as in http::ClientRequest (called on the io strand, must not
  // block). body_source replaces `body` (sent with `content_type`);
  // body_sink takes a 2xx answer instead of GraphResult::body (error
  // answers are still read whole and mapped); `control` resumes either.
  std::function<size_t(char* buf, size_t max)> body_source;
  int64_t body_source_size = -1;  // Content-Length of the source, or -1
  std::function<bool(absl::string_view piece)> body_sink;
  std::shared_ptr<http::StreamControl> control;
};

struct GraphResult {
  // OK for a 2xx answer; otherwise the mapped status with the GraphError
  // attached as details (graph_error.h).
  grpc::Status status;
  // The HTTP status; 0 when no response arrived (transport failure).
  int http_status = 0;
  // The answer body, token redacted: on 2xx (unless streamed to
  // body_sink), and on an HTTP error too, because some Graph errors carry
  // results (block_users' mixed answer, HTTP 400 with code 139100). Empty
  // after a transport failure.
  std::string body;
  // Set when !ok(): the parsed or synthesized Graph error.
  absl::optional<v1::GraphError> error;
  // From the call to the last byte (or the failure).
  absl::Duration latency;

  bool ok() const { return status.ok(); }
};

// Observed once per finished call (after `done` is scheduled), for metrics.
struct GraphCallObservation {
  std::string operation;  // a copy: observers may keep it
  int http_status = 0;    // 0: transport failure
  grpc::StatusCode code = grpc::StatusCode::OK;
  absl::Duration latency;
};

struct GraphClientStats {
  uint64_t calls = 0;             // finished calls
  uint64_t http_errors = 0;       // answers with HTTP status >= 400
  uint64_t transport_errors = 0;  // no HTTP answer (incl. deadline)
  absl::Duration total_latency;   // sum over finished calls
};

class GraphClient {
 public:
  // `http` must outlive this client.
  GraphClient(http::Client& http, GraphClientOptions options);
  GraphClient(const GraphClient&) = delete;
  GraphClient& operator=(const GraphClient&) = delete;

  // Starts `call`; `done` is called exactly once. Thread-safe.
  void Call(GraphCall call, std::function<void(GraphResult)> done);

  // The absolute URL of `call` (version-prefixed path and encoded query).
  std::string Url(const GraphCall& call) const;

  // Called for every finished call, on the io thread; set before the first
  // Call. Must be cheap and must not block.
  void SetObserver(std::function<void(const GraphCallObservation&)> observer);

  GraphClientStats stats() const;

 private:
  // Shared with in-flight callbacks, so a call finishing after this client
  // is destroyed (e.g. cancelled by ~http::Client) touches live memory.
  struct State {
    std::function<void(const GraphCallObservation&)> observer;
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> http_errors{0};
    std::atomic<uint64_t> transport_errors{0};
    std::atomic<int64_t> total_latency_ns{0};
  };

  http::Client& http_;
  const GraphClientOptions options_;
  std::string url_prefix_;  // base_url + "/" + api_version
  std::shared_ptr<State> state_;
};

// Replaces every occurrence of `secret` in `text` with "[redacted]".
void Redact(absl::string_view secret, std::string* text);

}  // namespace wagate::graph

#endif  // WAGATE_SERVICE_GRAPH_GRAPH_CLIENT_H_
