#include "service/graph/graph_error.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/http/client.h"

namespace wagate::graph {
namespace {

using grpc::StatusCode;

std::string Envelope(int code, int subcode = 0, absl::string_view details = "",
                     bool transient = false) {
  std::string s =
      absl::StrCat(R"({"error":{"message":"(#)", code,
                   R"() Some title","type":"OAuthException","code":)", code);
  if (subcode != 0) absl::StrAppend(&s, R"(,"error_subcode":)", subcode);
  if (!details.empty()) {
    absl::StrAppend(
        &s, R"(,"error_data":{"messaging_product":"whatsapp","details":")",
        details, R"("})");
  }
  if (transient) absl::StrAppend(&s, R"(,"is_transient":true)");
  absl::StrAppend(&s, R"(,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}})");
  return s;
}

TEST(ParseGraphErrorTest, ReadsEveryEnvelopeField) {
  const std::string body =
      R"({"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,)"
      R"("error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},)"
      R"("error_subcode":2494055,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam","is_transient":true,)"
      R"("error_user_title":"Slow down","error_user_msg":"Try later"}})";
  v1::GraphError e = ParseGraphError(400, body);
  EXPECT_EQ(e.code(), 130429);
  EXPECT_EQ(e.error_subcode(), 2494055);
  EXPECT_EQ(e.type(), "OAuthException");
  EXPECT_EQ(e.message(), "(#130429) Rate limit hit");
  EXPECT_EQ(e.details(), "Cloud API message throughput has been reached.");
  EXPECT_EQ(e.fbtrace_id(), "Az8or2yhqkZfEZ-_4Qn_Bam");
  EXPECT_TRUE(e.is_transient());
  EXPECT_EQ(e.error_user_title(), "Slow down");
  EXPECT_EQ(e.error_user_msg(), "Try later");
  EXPECT_EQ(e.http_status(), 400);
  EXPECT_EQ(e.retry_delay().seconds(), 1);
  EXPECT_FALSE(e.outcome_unknown());
}

TEST(ParseGraphErrorTest, NonJsonBodiesAreSynthesizedFromTheHttpStatus) {
  for (const auto& [status, body] : std::vector<std::pair<int, std::string>>{
           {502, "<html><body>Bad Gateway</body></html>"},
           {503, ""},
           {500, "{\"not_an_error\":1}"},
           {400, "{\"error\":"}}) {
    SCOPED_TRACE(status);
    v1::GraphError e = ParseGraphError(status, body);
    EXPECT_EQ(e.code(), 0);
    EXPECT_EQ(e.http_status(), status);
    EXPECT_TRUE(absl::StrContains(e.message(), absl::StrCat("HTTP ", status)))
        << e.message();
    // The body is never copied into the error.
    EXPECT_FALSE(absl::StrContains(e.message(), "Bad Gateway"));
  }
  EXPECT_EQ(GrpcCodeFor(ParseGraphError(502, "<html/>")),
            StatusCode::UNAVAILABLE);
  EXPECT_EQ(GrpcCodeFor(ParseGraphError(504, "")),
            StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(GrpcCodeFor(ParseGraphError(429, "")),
            StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(GrpcCodeFor(ParseGraphError(404, "")), StatusCode::NOT_FOUND);
  EXPECT_EQ(GrpcCodeFor(ParseGraphError(401, "")), StatusCode::UNAUTHENTICATED);
  grpc::Status s = ToGrpcStatus(ParseGraphError(502, "<html/>"));
  EXPECT_EQ(s.error_message().rfind("Graph HTTP 502: ", 0), 0u)
      << s.error_message();
}

struct Row {
  int code;
  int subcode;
  int http;
  StatusCode expected;
  int retry_seconds;  // -1: no retry delay
  bool safe;
};

// Every row of the mapping table documented in graph_error.h.
const std::vector<Row>& Table() {
  static const auto* rows = new std::vector<Row>{
      {0, 0, 401, StatusCode::UNAUTHENTICATED, -1, false},
      {190, 0, 401, StatusCode::UNAUTHENTICATED, -1, false},
      {3, 0, 500, StatusCode::PERMISSION_DENIED, -1, false},
      {10, 0, 403, StatusCode::PERMISSION_DENIED, -1, false},
      {200, 0, 403, StatusCode::PERMISSION_DENIED, -1, false},
      {299, 0, 403, StatusCode::PERMISSION_DENIED, -1, false},
      {368, 0, 403, StatusCode::PERMISSION_DENIED, -1, false},
      {130497, 0, 403, StatusCode::PERMISSION_DENIED, -1, false},
      {131005, 0, 403, StatusCode::PERMISSION_DENIED, -1, false},
      {131031, 0, 403, StatusCode::PERMISSION_DENIED, -1, false},
      {4, 0, 400, StatusCode::RESOURCE_EXHAUSTED, 60, true},
      {80007, 0, 400, StatusCode::RESOURCE_EXHAUSTED, 60, true},
      {130429, 0, 400, StatusCode::RESOURCE_EXHAUSTED, 1, true},
      {130429, 0, 429, StatusCode::RESOURCE_EXHAUSTED, 1, true},
      {131056, 0, 400, StatusCode::RESOURCE_EXHAUSTED, 6, true},
      {131048, 0, 400, StatusCode::RESOURCE_EXHAUSTED, -1, false},
      {131049, 0, 400, StatusCode::RESOURCE_EXHAUSTED, 86400, false},
      {132069, 0, 400, StatusCode::RESOURCE_EXHAUSTED, 3600, false},
      {133016, 0, 400, StatusCode::RESOURCE_EXHAUSTED, -1, false},
      {139101, 0, 400, StatusCode::RESOURCE_EXHAUSTED, -1, false},
      {2388019, 0, 400, StatusCode::RESOURCE_EXHAUSTED, -1, false},
      {100, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {100, 33, 400, StatusCode::NOT_FOUND, -1, false},
      {100, 0, 404, StatusCode::NOT_FOUND, -1, false},
      {131008, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {131009, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {131021, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {131051, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {131053, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {135000, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {132000, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {132005, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {132007, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {132008, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {132012, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {2388040, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {131047, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {132001, 0, 404, StatusCode::FAILED_PRECONDITION, -1, false},
      {132015, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {132016, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {132068, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {33, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {130472, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {131026, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {131030, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {131050, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {133010, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {137000, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {138002, 0, 400, StatusCode::FAILED_PRECONDITION, -1, false},
      {139102, 0, 400, StatusCode::ABORTED, -1, false},
      {1, 0, 400, StatusCode::UNAVAILABLE, 1, false},
      {2, 0, 503, StatusCode::UNAVAILABLE, 1, true},
      {131000, 0, 500, StatusCode::UNAVAILABLE, 1, false},
      {131016, 0, 500, StatusCode::UNAVAILABLE, 1, true},
      {131057, 0, 500, StatusCode::UNAVAILABLE, 10, true},
      {133004, 0, 503, StatusCode::UNAVAILABLE, 1, true},
      {134101, 0, 400, StatusCode::UNAVAILABLE, 600, false},
      {139103, 0, 400, StatusCode::UNAVAILABLE, 1, false},
      {2494100, 0, 400, StatusCode::UNAVAILABLE, 10, true},
      // Unknown codes: by HTTP status.
      {999999, 0, 400, StatusCode::INVALID_ARGUMENT, -1, false},
      {999999, 0, 401, StatusCode::UNAUTHENTICATED, -1, false},
      {999999, 0, 403, StatusCode::PERMISSION_DENIED, -1, false},
      {999999, 0, 404, StatusCode::NOT_FOUND, -1, false},
      {999999, 0, 429, StatusCode::RESOURCE_EXHAUSTED, -1, false},
      {999999, 0, 500, StatusCode::UNAVAILABLE, -1, false},
      {999999, 0, 503, StatusCode::UNAVAILABLE, -1, false},
      {999999, 0, 504, StatusCode::DEADLINE_EXCEEDED, -1, false},
  };
  return *rows;
}

TEST(GraphErrorMappingTest, EveryTableRow) {
  for (const Row& row : Table()) {
    SCOPED_TRACE(absl::StrCat("code ", row.code, " subcode ", row.subcode,
                              " http ", row.http));
    v1::GraphError e = ParseGraphError(
        row.http, Envelope(row.code, row.subcode, "Some details here"));
    ASSERT_EQ(e.code(), row.code);
    grpc::Status s = ToGrpcStatus(e);
    EXPECT_EQ(s.error_code(), row.expected);
    EXPECT_EQ(s.error_message(),
              absl::StrCat("Graph error ", row.code, ": Some details here"));
    if (row.retry_seconds < 0) {
      EXPECT_FALSE(e.has_retry_delay());
    } else {
      EXPECT_EQ(e.retry_delay().seconds(), row.retry_seconds);
    }
    EXPECT_EQ(IsSafeToRetry(e), row.safe);

    // Details round-trip through the status.
    absl::optional<v1::GraphError> back = GraphErrorFromGrpcStatus(s);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->SerializeAsString(), e.SerializeAsString());
  }
}

TEST(GraphErrorMappingTest, MessageFallsBackToGraphMessageWithoutDetails) {
  grpc::Status s = ToGrpcStatus(ParseGraphError(400, Envelope(131047)));
  EXPECT_EQ(s.error_message(), "Graph error 131047: (#131047) Some title");
}

// The details bytes are exactly a google.rpc.Status, as any gRPC library
// decodes them: field 1 code, field 2 message, field 3 Any.
TEST(GraphErrorDetailsTest, WireFormatIsGoogleRpcStatus) {
  v1::GraphError e;
  e.set_code(130429);
  std::string bytes = EncodeStatusDetails(8, "hi", e);
  std::string any_value = e.SerializeAsString();
  std::string any;
  any.push_back(0x0a);  // Any.type_url
  any.push_back(static_cast<char>(kGraphErrorTypeUrl.size()));
  any.append(kGraphErrorTypeUrl.data(), kGraphErrorTypeUrl.size());
  any.push_back(0x12);  // Any.value
  any.push_back(static_cast<char>(any_value.size()));
  any.append(any_value);
  std::string expected;
  expected.push_back(0x08);  // code = 8
  expected.push_back(0x08);
  expected.push_back(0x12);  // message = "hi"
  expected.push_back(0x02);
  expected.append("hi");
  expected.push_back(0x1a);  // details[0]
  expected.push_back(static_cast<char>(any.size()));
  expected.append(any);
  EXPECT_EQ(bytes, expected);
}

TEST(GraphErrorDetailsTest, NoOrForeignDetailsGiveNullopt) {
  EXPECT_FALSE(GraphErrorFromGrpcStatus(grpc::Status::OK).has_value());
  EXPECT_FALSE(GraphErrorFromGrpcStatus(
                   grpc::Status(grpc::StatusCode::INTERNAL, "x", "\xff\xff"))
                   .has_value());
}

TEST(GraphErrorDetailsTest, WagateRaisedErrorsCarryDetailsToo) {
  v1::GraphError e;
  e.set_details("text.body exceeds 4096 characters");
  grpc::Status s = StatusWithGraphError(grpc::StatusCode::INVALID_ARGUMENT,
                                        "text.body: too long", e);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto back = GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->details(), "text.body exceeds 4096 characters");
}

TEST(TransportErrorTest, RefusedIsUnavailableAndSafe) {
  // A plain UNAVAILABLE from http::Client: nothing was sent.
  grpc::Status s =
      TransportErrorToGrpcStatus(absl::UnavailableError("connection refused"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  auto e = GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->outcome_unknown());
  EXPECT_EQ(e->code(), 0);
  EXPECT_EQ(e->http_status(), 0);
  EXPECT_TRUE(IsSafeToRetry(*e));
  EXPECT_FALSE(absl::StrContains(s.error_message(), "outcome unknown"));
}

TEST(TransportErrorTest, CancelledIsNotRetried) {
  grpc::Status s = TransportErrorToGrpcStatus(absl::CancelledError("stop"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
  auto e = GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(IsSafeToRetry(*e));
}

TEST(RetryBackoffTest, PairLimitIsFourToTheX) {
  v1::GraphError e = ParseGraphError(400, Envelope(131056));
  EXPECT_EQ(RetryBackoff(e, 0), absl::Seconds(1));
  EXPECT_EQ(RetryBackoff(e, 1), absl::Seconds(4));
  EXPECT_EQ(RetryBackoff(e, 2), absl::Seconds(16));
  EXPECT_EQ(RetryBackoff(e, 3), absl::Seconds(64));
  EXPECT_EQ(RetryBackoff(e, 10), absl::Minutes(10));  // capped
}

TEST(RetryBackoffTest, OthersDouble) {
  EXPECT_EQ(RetryBackoff(ParseGraphError(400, Envelope(130429)), 2),
            absl::Seconds(4));
  EXPECT_EQ(RetryBackoff(ParseGraphError(400, Envelope(80007)), 1),
            absl::Seconds(120));
  EXPECT_EQ(RetryBackoff(ParseGraphError(500, Envelope(131057)), 1),
            absl::Seconds(20));
}

}  // namespace
}  // namespace wagate::graph
