#include "service/graph/graph_error.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "service/http/client.h"
#include "simdjson.h"

namespace wagate::graph {
namespace {

using google::protobuf::internal::WireFormatLite;

bool InRange(int code, int lo, int hi) { return code >= lo && code <= hi; }

// The code table of graph_error.h, keyed on the Graph code alone; nullopt
// when the code is not listed (the HTTP status decides).
absl::optional<grpc::StatusCode> CodeFromGraphCode(int code, int subcode,
                                                   int http_status) {
  using C = grpc::StatusCode;
  switch (code) {
    case 0:
    case 190:
      return C::UNAUTHENTICATED;
    case 3:
    case 10:
    case 368:
    case 130497:
    case 131005:
    case 131031:
      return C::PERMISSION_DENIED;
    case 4:
    case 80007:
    case 130429:
    case 131056:
    case 131048:
    case 131049:
    case 132069:
    case 133016:
    case 139101:
    case 2388019:
      return C::RESOURCE_EXHAUSTED;
    case 100:
      // Graph's "object does not exist or cannot be loaded" (e.g. an unknown
      // media id) is code 100 with subcode 33, or a 404.
      if (subcode == 33 || http_status == 404) return C::NOT_FOUND;
      return C::INVALID_ARGUMENT;
    case 131008:
    case 131009:
    case 131021:
    case 131051:
    case 131053:
    case 135000:
    // Template errors the caller caused: fixing the parameters fixes them.
    case 132000:
    case 132005:
    case 132007:
    case 132008:
    case 132012:
      return C::INVALID_ARGUMENT;
    case 131047:
    case 132001:
    case 132015:
    case 132016:
    case 132068:
    case 33:
    case 130472:
    case 131026:
    case 131030:
    case 131037:
    case 131042:
    case 131044:
    case 131045:
    case 131050:
    case 131055:
    case 131062:
    case 131063:
    case 131064:
    case 133000:
    case 133005:
    case 133006:
    case 133008:
    case 133009:
    case 133010:
    case 133015:
    case 134011:
    case 134100:
    case 134102:
    case 137000:
      return C::FAILED_PRECONDITION;
    case 139102:
      return C::ABORTED;
    case 1:
    case 2:
    case 131000:
    case 131016:
    case 131057:
    case 133004:
    case 134101:
    case 139103:
    case 2494100:
      return C::UNAVAILABLE;
    default:
      break;
  }
  if (InRange(code, 200, 299)) return C::PERMISSION_DENIED;
  if (InRange(code, 138000, 138999)) return C::FAILED_PRECONDITION;
  if (InRange(code, 2388000, 2388999)) return C::INVALID_ARGUMENT;
  return absl::nullopt;
}

grpc::StatusCode CodeFromHttpStatus(int http_status) {
  using C = grpc::StatusCode;
  switch (http_status) {
    case 400:
    case 422:
      return C::INVALID_ARGUMENT;
    case 401:
      return C::UNAUTHENTICATED;
    case 403:
      return C::PERMISSION_DENIED;
    case 404:
      return C::NOT_FOUND;
    case 409:
      return C::ABORTED;
    case 429:
      return C::RESOURCE_EXHAUSTED;
    case 501:
      return C::UNIMPLEMENTED;
    case 504:
      return C::DEADLINE_EXCEEDED;
    default:
      break;
  }
  if (http_status >= 500 && http_status <= 599) return C::UNAVAILABLE;
  return C::UNKNOWN;
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  int64_t seconds = absl::ToInt64Seconds(d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(d - absl::Seconds(seconds))));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// Reads an integer member that Graph may send as a number or a string.
int ReadInt(simdjson::dom::element e) {
  int64_t i;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return static_cast<int>(i);
  double d;
  if (e.get_double().get(d) == simdjson::SUCCESS) {
    // Outside int's range (or NaN) the cast is undefined: not a usable code.
    return d > INT_MIN - 1.0 && d < INT_MAX + 1.0 ? static_cast<int>(d) : 0;
  }
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return 0;
      v = v * 10 + (c - '0');
      if (v > INT_MAX) return 0;  // would overflow; no Graph code is that big
    }
    return static_cast<int>(v);
  }
  return 0;
}

std::string ReadString(simdjson::dom::object obj, const char* key) {
  std::string_view s;
  if (obj[key].get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return std::string();
}

std::string TransportMessage(const absl::Status& status) {
  std::string msg = absl::StrCat("Graph request failed: ", status.message());
  if (http::RequestMayHaveBeenSent(status)) {
    absl::StrAppend(&msg,
                    " (outcome unknown: the request may have reached Meta; "
                    "do not resend blindly)");
  }
  return msg;
}

}  // namespace

absl::optional<absl::Duration> DefaultRetryDelay(int code, int http_status) {
  switch (code) {
    case 130429:
      return absl::Seconds(1);
    case 131056:
      return absl::Seconds(6);
    case 4:
    case 80007:
      return absl::Seconds(60);
    case 1:
    case 2:
    case 131000:
    case 131016:
    case 133004:
    case 139103:
      return absl::Seconds(1);
    case 131057:
    case 2494100:
      return absl::Seconds(10);
    case 134101:
      return absl::Minutes(10);
    case 132069:
      return absl::Hours(1);
    case 131049:
      return absl::Hours(24);
    case 0:
      if (http_status == 429 || http_status == 503) return absl::Seconds(1);
      return absl::nullopt;
    default:
      return absl::nullopt;
  }
}

v1::GraphError ParseGraphError(int http_status, absl::string_view body) {
  v1::GraphError error;
  error.set_http_status(http_status);
  bool parsed = false;
  if (!body.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::object e;
    if (parser.parse(body.data(), body.size()).get(root) == simdjson::SUCCESS &&
        root["error"].get_object().get(e) == simdjson::SUCCESS) {
      parsed = true;
      simdjson::dom::element v;
      if (e["code"].get(v) == simdjson::SUCCESS) error.set_code(ReadInt(v));
      if (e["error_subcode"].get(v) == simdjson::SUCCESS) {
        error.set_error_subcode(ReadInt(v));
      }
      error.set_type(ReadString(e, "type"));
      error.set_message(ReadString(e, "message"));
      error.set_fbtrace_id(ReadString(e, "fbtrace_id"));
      error.set_error_user_title(ReadString(e, "error_user_title"));
      error.set_error_user_msg(ReadString(e, "error_user_msg"));
      bool transient = false;
      if (e["is_transient"].get_bool().get(transient) == simdjson::SUCCESS) {
        error.set_is_transient(transient);
      }
      simdjson::dom::object data;
      if (e["error_data"].get_object().get(data) == simdjson::SUCCESS) {
        error.set_details(ReadString(data, "details"));
      }
    }
  }
  if (!parsed) {
    error.set_message(absl::StrCat("HTTP ", http_status,
                                   " without a Graph error body (", body.size(),
                                   " bytes)"));
  }
  if (auto delay = DefaultRetryDelay(error.code(), http_status)) {
    SetDuration(*delay, error.mutable_retry_delay());
  }
  return error;
}

grpc::StatusCode GrpcCodeFor(const v1::GraphError& error) {
  if (error.code() == 0 && error.http_status() == 0) {
    return grpc::StatusCode::UNAVAILABLE;
  }
  if (error.code() == 0) {
    // No Graph code: a synthesized error, decided by the HTTP status. (A
    // Graph envelope with code 0 is an auth error and comes with 401.)
    if (error.type().empty()) return CodeFromHttpStatus(error.http_status());
  }
  if (auto c = CodeFromGraphCode(error.code(), error.error_subcode(),
                                 error.http_status())) {
    // 404 for a non-template object: the object does not exist.
    if (error.http_status() == 404 && error.code() != 132001 &&
        *c == grpc::StatusCode::INVALID_ARGUMENT) {
      return grpc::StatusCode::NOT_FOUND;
    }
    return *c;
  }
  return CodeFromHttpStatus(error.http_status());
}

std::string EncodeStatusDetails(int code, absl::string_view message,
                                const v1::GraphError& error) {
  google::protobuf::Any any;
  any.set_type_url(std::string(kGraphErrorTypeUrl));
  error.SerializeToString(any.mutable_value());
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    // google.rpc.Status: 1 code (int32), 2 message (string), 3 details (Any).
    if (code != 0) WireFormatLite::WriteInt32(1, code, &coded);
    auto write_bytes = [&coded](int field, absl::string_view bytes) {
      WireFormatLite::WriteTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED,
                               &coded);
      coded.WriteVarint32(static_cast<uint32_t>(bytes.size()));
      coded.WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
    };
    if (!message.empty()) write_bytes(2, message);
    write_bytes(3, any.SerializeAsString());
  }
  return out;
}

grpc::Status StatusWithGraphError(grpc::StatusCode code, std::string message,
                                  const v1::GraphError& error) {
  std::string details =
      EncodeStatusDetails(static_cast<int>(code), message, error);
  return grpc::Status(code, std::move(message), std::move(details));
}

grpc::Status ToGrpcStatus(const v1::GraphError& error) {
  const std::string& text =
      error.details().empty() ? error.message() : error.details();
  std::string message;
  if (error.code() != 0 || !error.type().empty()) {
    message = absl::StrCat("Graph error ", error.code(), ": ", text);
  } else if (error.http_status() != 0) {
    message = absl::StrCat("Graph HTTP ", error.http_status(), ": ", text);
  } else {
    message = absl::StrCat("Graph request failed: ", text);
  }
  return StatusWithGraphError(GrpcCodeFor(error), std::move(message), error);
}

v1::GraphError TransportGraphError(const absl::Status& status) {
  v1::GraphError error;
  error.set_details(std::string(status.message()));
  error.set_message(std::string(status.message()));
  const bool maybe_sent = http::RequestMayHaveBeenSent(status);
  error.set_outcome_unknown(maybe_sent);
  if (!maybe_sent && status.code() != absl::StatusCode::kCancelled) {
    SetDuration(absl::Seconds(1), error.mutable_retry_delay());
  }
  return error;
}

grpc::Status TransportErrorToGrpcStatus(const absl::Status& status) {
  grpc::StatusCode code = grpc::StatusCode::UNAVAILABLE;
  if (status.code() == absl::StatusCode::kDeadlineExceeded) {
    code = grpc::StatusCode::DEADLINE_EXCEEDED;
  } else if (status.code() == absl::StatusCode::kCancelled) {
    code = grpc::StatusCode::CANCELLED;
  }
  return StatusWithGraphError(code, TransportMessage(status),
                              TransportGraphError(status));
}

absl::optional<v1::GraphError> GraphErrorFromGrpcStatus(
    const grpc::Status& status) {
  const std::string details = status.error_details();
  if (details.empty()) return absl::nullopt;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(details.data()),
      static_cast<int>(details.size()));
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (WireFormatLite::GetTagFieldNumber(tag) == 3 &&
        WireFormatLite::GetTagWireType(tag) ==
            WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string bytes;
      uint32_t length;
      if (!in.ReadVarint32(&length) ||
          !in.ReadString(&bytes, static_cast<int>(length))) {
        return absl::nullopt;
      }
      google::protobuf::Any any;
      if (!any.ParseFromString(bytes)) return absl::nullopt;
      if (any.type_url() != kGraphErrorTypeUrl) continue;
      v1::GraphError error;
      if (!error.ParseFromString(any.value())) return absl::nullopt;
      return error;
    }
    if (!WireFormatLite::SkipField(&in, tag)) return absl::nullopt;
  }
  return absl::nullopt;
}

bool IsSafeToRetry(const v1::GraphError& error) {
  if (error.outcome_unknown()) return false;
  switch (error.code()) {
    case 4:
    case 80007:
    case 130429:
    case 131056:
    case 2:
    case 131016:
    case 131057:
    case 133004:
    case 2494100:
      return true;
    case 0:
      if (error.http_status() == 0) {
        // Transport failure that sent nothing (refused, DNS, TLS).
        return error.has_retry_delay();
      }
      // No Graph body: only a 429 is a clear refusal; a proxy's 5xx may
      // have come after forwarding the request.
      return error.type().empty() && error.http_status() == 429;
    default:
      return false;
  }
}

absl::Duration RetryBackoff(const v1::GraphError& error, int attempt) {
  const absl::Duration cap = absl::Minutes(10);
  attempt = std::max(0, std::min(attempt, 20));
  absl::Duration base;
  int factor = 2;
  switch (error.code()) {
    case 131056:
      base = absl::Seconds(1);
      factor = 4;
      break;
    case 130429:
      base = absl::Seconds(1);
      break;
    case 4:
    case 80007:
      base = absl::Seconds(60);
      break;
    default:
      base = error.has_retry_delay() ? FromProto(error.retry_delay())
                                     : absl::Seconds(1);
      break;
  }
  absl::Duration d = base;
  for (int i = 0; i < attempt && d < cap; ++i) d *= factor;
  return std::min(d, cap);
}

}  // namespace wagate::graph
