// Graph API errors: Meta's error envelope parsed into wagate.v1.GraphError,
// mapped to a gRPC status whose binary details carry the GraphError, and the
// retry rules the send path follows.
//
//   // A Graph answer with HTTP status >= 400:
//   v1::GraphError e = graph::ParseGraphError(response.status, response.body);
//   grpc::Status s = graph::ToGrpcStatus(e);  // code, message, details
//   if (graph::IsSafeToRetry(e)) { wait graph::RetryBackoff(e, attempt) }
//
//   // A transport failure from http::Client (refused, timeout, reset):
//   grpc::Status s = graph::TransportErrorToGrpcStatus(status);
//
//   // Client side (tests, the C++ CLI): read the details back.
//   absl::optional<v1::GraphError> e = graph::GraphErrorFromGrpcStatus(s);
//
// The status details are a google.rpc.Status (encoded by hand: its .proto is
// not packaged on Debian) holding one google.protobuf.Any with type URL
// "type.googleapis.com/wagate.v1.GraphError". gRPC sends them in the
// `grpc-status-details-bin` trailer, which Python's grpc_status and Node's
// @grpc/grpc-js + google-rpc decoders read.
//
// Status code table (first matching row wins):
//
//   Graph code                                  gRPC code
//   0, 190 (token invalid/expired)              UNAUTHENTICATED
//   3, 10, 200-299, 368, 130497, 131005,        PERMISSION_DENIED
//     131031
//   4, 80007, 130429, 131056 (rate limits),     RESOURCE_EXHAUSTED
//     131048 (spam limit), 131049 (per-user
//     marketing limit), 132069 (flow
//     throttled), 133016 (register limit),
//     139101 (blocklist full), 2388019
//   100 with error_subcode 33, or any code      NOT_FOUND
//     not listed here answered with HTTP 404
//     (unknown object id, e.g. a media id)
//   100, 131008, 131009, 131021, 131051,        INVALID_ARGUMENT
//     131053, 135000, 2388xxx, and the
//     template errors the caller caused:
//     132000 (parameter count), 132005
//     (hydrated text too long), 132007
//     (format character policy), 132008
//     (parameter value), 132012 (parameter
//     format)
//   131047 (24 h window), template state:       FAILED_PRECONDITION
//     132001 (missing/unapproved, HTTP 404),
//     132015 (paused), 132016 (disabled),
//     132068 (flow blocked); account/number
//     state: 33, 130472, 131026, 131030,
//     131037, 131042, 131044, 131045, 131050,
//     131055, 131062-131064, 133000, 133005,
//     133006, 133008, 133009, 133010, 133015,
//     134011, 134100, 134102, 137000, 138xxx
//   139102 (list changed while paging)          ABORTED
//   1, 2, 131000, 131016, 131057, 133004,       UNAVAILABLE
//     134101, 139103, 2494100
//   anything else, by HTTP status: 400/422      INVALID_ARGUMENT
//     401 UNAUTHENTICATED, 403                  PERMISSION_DENIED
//     404 NOT_FOUND, 409 ABORTED, 429           RESOURCE_EXHAUSTED
//     501 UNIMPLEMENTED, 504 DEADLINE_EXCEEDED, other 5xx UNAVAILABLE,
//     anything else UNKNOWN
//
// Retry delays put in GraphError.retry_delay (the caller adds jitter):
// 130429 → 1 s, 131056 → 6 s (the pair rate), 4 and 80007 → 60 s, transient
// 2/131016/133004/139103 → 1 s, 131000 and 1 → 1 s (Meta says "try again",
// but see IsSafeToRetry), 131057/2494100 → 10 s (maintenance, up to a
// minute), 134101 → 10 min, 132069 → 1 h, 131049 → 24 h, bare HTTP 429 → 1 s,
// bare HTTP 503 → 1 s.
#ifndef WAGATE_SERVICE_GRAPH_GRAPH_ERROR_H_
#define WAGATE_SERVICE_GRAPH_GRAPH_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "grpcpp/support/status.h"
#include "wagate/v1/errors.pb.h"

namespace wagate::graph {

// The type URL of the GraphError packed in the status details.
inline constexpr absl::string_view kGraphErrorTypeUrl =
    "type.googleapis.com/wagate.v1.GraphError";

// Parses a Graph error answer (`{"error":{...}}`) with its HTTP status.
// Never fails: a body that is empty, not JSON (a proxy's 502 HTML page) or
// not an error envelope yields a GraphError with code 0, the HTTP status, and
// a message saying so (the body itself is not copied: it could be anything).
// retry_delay is filled per the table above.
v1::GraphError ParseGraphError(int http_status, absl::string_view body);

// The gRPC code for `error` per the table above. Errors with no Graph code
// and no HTTP status (transport errors) give UNAVAILABLE.
grpc::StatusCode GrpcCodeFor(const v1::GraphError& error);

// The default retry delay for a Graph code / HTTP status, if retrying later
// can succeed; absl::nullopt otherwise.
absl::optional<absl::Duration> DefaultRetryDelay(int code, int http_status);

// The gRPC status for a Graph error: code per GrpcCodeFor, message
// "Graph error <code>: <details, else message>" (code 0: "Graph HTTP
// <status>: ..."), and `error` in the binary details.
grpc::Status ToGrpcStatus(const v1::GraphError& error);

// A status with an explicit code and message carrying `error` as details;
// for errors wagate raises itself (validation, pacing) so that every failure
// has the same shape.
grpc::Status StatusWithGraphError(grpc::StatusCode code, std::string message,
                                  const v1::GraphError& error);

// A GraphError for a transport failure from http::Client: code 0,
// http_status 0, outcome_unknown = http::RequestMayHaveBeenSent(status),
// details = the transport message; retry_delay 1 s when nothing was sent.
v1::GraphError TransportGraphError(const absl::Status& status);

// The gRPC status for a transport failure: DEADLINE_EXCEEDED for timeouts,
// CANCELLED when cancelled, UNAVAILABLE otherwise; the message says when the
// outcome is unknown (the request may have reached Meta).
grpc::Status TransportErrorToGrpcStatus(const absl::Status& status);

// Reads the GraphError back out of a status's binary details; nullopt if the
// status has none (or they are malformed).
absl::optional<v1::GraphError> GraphErrorFromGrpcStatus(
    const grpc::Status& status);

// Encodes google.rpc.Status{code, message, details:[Any(error)]} (exposed
// for tests and for SendStream results that need the same bytes).
std::string EncodeStatusDetails(int code, absl::string_view message,
                                const v1::GraphError& error);

// True if resending the same request cannot deliver a duplicate message:
// Meta refused it before acting on it. Yes for rate limits (4, 80007,
// 130429, 131056), explicit unavailability (2, 131016, 131057, 133004,
// 2494100), a bare HTTP 429, and a transport failure that sent nothing.
// No for 1 and 131000 ("unknown error", HTTP 500): Meta may have accepted
// the message before failing, so resending could duplicate it; the caller
// gets UNAVAILABLE with retry_delay and decides. No for anything with
// outcome_unknown, for proxy 5xx without a Graph body, and for every
// permanent error.
bool IsSafeToRetry(const v1::GraphError& error);

// How long to wait before retry number `attempt` (0-based) of `error`,
// before jitter: 131056 → 4^attempt s (Meta's documented pair-limit
// backoff), 130429 → 1 s doubling, 4/80007 → 60 s doubling, others →
// retry_delay (or 1 s) doubling; capped at 10 min. Callers add up to ±20 %
// jitter and stop at the deadline.
absl::Duration RetryBackoff(const v1::GraphError& error, int attempt);

}  // namespace wagate::graph

#endif  // WAGATE_SERVICE_GRAPH_GRAPH_ERROR_H_
