#include "service/graph/graph_client.h"

#include <algorithm>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "gtest/gtest.h"
#include "service/graph/graph_error.h"
#include "service/graph/graph_response.h"
#include "service/http/server.h"

// Designated initializers that leave fields defaulted are the point.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace wagate::graph {
namespace {

constexpr char kToken[] = "EAAG-test-token-do-not-leak-123";

// A Graph stand-in on 127.0.0.1:0 (http::Server) plus an http::Client, both
// on one io_context run by a background thread.
class GraphClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<http::Server>(io_, http::ServerOptions{});
    server_->HandlePrefix("", "/",
                          [this](http::Request req, http::Responder respond) {
                            std::lock_guard<std::mutex> lock(mu_);
                            requests_.push_back(req);
                            if (hold_) {
                              held_.push_back(std::move(respond));
                              return;
                            }
                            respond(next_);
                          });
    ASSERT_TRUE(server_->Listen("127.0.0.1:0").ok());
    thread_ = std::thread([this] { io_.run(); });
    http_ = std::make_unique<http::Client>(io_);
    client_ = std::make_unique<GraphClient>(
        *http_,
        GraphClientOptions{
            .base_url = absl::StrCat("http://127.0.0.1:", server_->port(), "/"),
            .api_version = "v24.0",
            .default_timeout = absl::Seconds(10)});
  }

  void TearDown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& r : held_) r(http::JsonResponse(200, "{}"));
      held_.clear();
    }
    client_.reset();
    http_.reset();
    server_->Stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  GraphResult CallAndWait(GraphCall call) {
    std::promise<GraphResult> p;
    auto f = p.get_future();
    client_->Call(std::move(call),
                  [&p](GraphResult r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }

  void Answer(int status, std::string body,
              std::string content_type = "application/json") {
    std::lock_guard<std::mutex> lock(mu_);
    next_.status = status;
    next_.body = std::move(body);
    next_.content_type = std::move(content_type);
  }

  std::vector<http::Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  static void ExpectNoToken(const GraphResult& r) {
    EXPECT_FALSE(absl::StrContains(r.status.error_message(), kToken));
    EXPECT_FALSE(absl::StrContains(r.status.error_details(), kToken));
    if (r.error) {
      EXPECT_FALSE(absl::StrContains(r.error->DebugString(), kToken));
    }
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_ = boost::asio::make_work_guard(io_);
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<GraphClient> client_;
  std::thread thread_;

  std::mutex mu_;
  std::vector<http::Request> requests_;
  http::Response next_ = http::JsonResponse(200, "{}");
  bool hold_ = false;
  std::vector<http::Responder> held_;
};

TEST_F(GraphClientTest, SendsVersionedPathBearerTokenAndBody) {
  Answer(
      200,
      R"({"messaging_product":"whatsapp","contacts":[{"input":"+1650","wa_id":"1650"}],)"
      R"("messages":[{"id":"wamid.OK"}]})");
  const std::string body = R"({"messaging_product":"whatsapp","to":"+1650"})";
  GraphResult r = CallAndWait({.method = "POST",
                               .path = "/106540352242922/messages",
                               .query = {{"fields", "a,b c"}},
                               .body = body,
                               .access_token = kToken,
                               .deadline = absl::Now() + absl::Seconds(5),
                               .operation = "send_message"});
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_EQ(r.http_status, 200);
  EXPECT_FALSE(r.error.has_value());
  EXPECT_GT(r.latency, absl::ZeroDuration());
  auto sent = ParseSendResponse(r.body);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->message_id(), "wamid.OK");

  auto reqs = requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/v24.0/106540352242922/messages");
  EXPECT_EQ(reqs[0].QueryParam("fields").value_or(""), "a,b c");
  EXPECT_EQ(reqs[0].Header("Authorization"), absl::StrCat("Bearer ", kToken));
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(reqs[0].body, body);
  // The token is never in the URL.
  EXPECT_FALSE(absl::StrContains(reqs[0].target, kToken));

  GraphClientStats s = client_->stats();
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.http_errors, 0u);
}

TEST_F(GraphClientTest, GetWithoutBodySendsNoContentType) {
  Answer(200, R"({"id":"1","throughput":{"level":"STANDARD"}})");
  GraphResult r = CallAndWait({.method = "GET",
                               .path = "/106540352242922",
                               .query = {{"fields", "throughput"}},
                               .access_token = kToken});
  ASSERT_TRUE(r.ok());
  auto reqs = requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].Header("Content-Type"), "");
  EXPECT_EQ(reqs[0].body, "");
}

TEST_F(GraphClientTest, GraphErrorIsMappedWithDetails) {
  Answer(
      400,
      R"({"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,)"
      R"("error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},)"
      R"("fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}})");
  std::vector<GraphCallObservation> seen;
  std::mutex seen_mu;
  client_->SetObserver([&](const GraphCallObservation& o) {
    std::lock_guard<std::mutex> lock(seen_mu);
    seen.push_back(o);
  });
  GraphResult r = CallAndWait({.path = "/1/messages",
                               .body = "{}",
                               .access_token = kToken,
                               .operation = "send_message"});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(r.status.error_message(),
            "Graph error 130429: Cloud API message throughput has been "
            "reached.");
  EXPECT_EQ(r.http_status, 400);
  // The error body stays readable (some Graph errors carry results).
  EXPECT_TRUE(absl::StrContains(r.body, "\"code\":130429"));
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->fbtrace_id(), "Az8or2yhqkZfEZ-_4Qn_Bam");
  EXPECT_TRUE(IsSafeToRetry(*r.error));
  auto details = GraphErrorFromGrpcStatus(r.status);
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->code(), 130429);
  EXPECT_EQ(details->retry_delay().seconds(), 1);
  EXPECT_EQ(client_->stats().http_errors, 1u);
  std::lock_guard<std::mutex> lock(seen_mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].operation, "send_message");
  EXPECT_EQ(seen[0].http_status, 400);
  EXPECT_EQ(seen[0].code, grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(GraphClientTest, TokenEchoedByGraphIsRedacted) {
  Answer(401,
         absl::StrCat(R"({"error":{"message":"Invalid OAuth access token: )",
                      kToken, R"(","type":"OAuthException","code":190,)",
                      R"("error_data":{"details":"token )", kToken,
                      R"( expired"},"fbtrace_id":"x"}})"));
  GraphResult r = CallAndWait(
      {.path = "/1/messages", .body = "{}", .access_token = kToken});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ExpectNoToken(r);
  EXPECT_TRUE(absl::StrContains(r.status.error_message(), "[redacted]"));
  EXPECT_FALSE(absl::StrContains(r.body, kToken));
  EXPECT_TRUE(absl::StrContains(r.body, "[redacted]"));
}

// One redaction on every answer: a success echoing the token (it becomes a
// SendResponse and a stored idempotent result) is scrubbed too.
TEST_F(GraphClientTest, TokenEchoedInASuccessIsRedacted) {
  Answer(200, absl::StrCat(R"({"messaging_product":"whatsapp","contacts":)",
                           R"([{"input":")", kToken, R"(","wa_id":"1"}],)",
                           R"("messages":[{"id":"wamid.)", kToken, R"("}]})"));
  GraphResult r = CallAndWait(
      {.path = "/1/messages", .body = "{}", .access_token = kToken});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(absl::StrContains(r.body, kToken));
  EXPECT_TRUE(absl::StrContains(r.body, R"("id":"wamid.[redacted]")"));
}

// A mixed block_users answer: HTTP 400 whose body also holds the results.
TEST_F(GraphClientTest, ErrorAnswerKeepsItsBodyForPartialResults) {
  Answer(400, R"({"messaging_product":"whatsapp","block_users":{"added_users":)"
              R"([{"input":"1","wa_id":"1"}],"failed_users":[{"input":"2"}]},)"
              R"("error":{"message":"(#139100) Failed to block/unblock users",)"
              R"("type":"OAuthException","code":139100,"fbtrace_id":"T"}})");
  GraphResult r = CallAndWait({.path = "/1/block_users",
                               .body = "{}",
                               .access_token = kToken,
                               .operation = "block_users"});
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->code(), 139100);
  EXPECT_EQ(r.error->fbtrace_id(), "T");
  JsonDocument doc;
  ASSERT_TRUE(doc.Parse(r.body).ok());
  EXPECT_TRUE(doc.root().GetObject("block_users").valid());
}

TEST_F(GraphClientTest, StreamsBodiesBothWaysAndObservesTheOperation) {
  std::vector<GraphCallObservation> seen;
  std::mutex seen_mu;
  client_->SetObserver([&](const GraphCallObservation& o) {
    std::lock_guard<std::mutex> lock(seen_mu);
    seen.push_back(o);
  });
  // Upload: the body is pulled from the source in pieces.
  Answer(200, R"({"id":"m1"})");
  std::string file(1 << 20, '\0');
  for (size_t i = 0; i < file.size(); ++i) file[i] = static_cast<char>(i * 7);
  size_t offset = 0;
  GraphResult up = CallAndWait(
      {.method = "POST",
       .path = "/1/media",
       .content_type = "multipart/form-data; boundary=b",
       .access_token = kToken,
       .operation = "upload_media",
       .body_source = [&](char* buf, size_t max) -> size_t {
         size_t n = std::min({max, file.size() - offset, size_t{10000}});
         file.copy(buf, n, offset);
         offset += n;
         return n;
       },
       .body_source_size = static_cast<int64_t>(file.size())});
  ASSERT_TRUE(up.ok()) << up.status.error_message();
  EXPECT_EQ(up.body, R"({"id":"m1"})");
  auto reqs = requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/v24.0/1/media");
  EXPECT_EQ(reqs[0].Header("Content-Type"), "multipart/form-data; boundary=b");
  EXPECT_TRUE(reqs[0].body == file);

  // Download from an absolute URL (no version prefix): the 2xx body goes
  // to the sink, never into the result.
  Answer(200, file, "video/mp4");
  std::string sunk;
  const std::string url =
      absl::StrCat("http://127.0.0.1:", server_->port(), "/files/f1?x=1");
  GraphResult down = CallAndWait({.method = "GET",
                                  .access_token = kToken,
                                  .operation = "download_media",
                                  .url = url,
                                  .body_sink = [&](absl::string_view piece) {
                                    sunk.append(piece.data(), piece.size());
                                    return true;
                                  }});
  ASSERT_TRUE(down.ok()) << down.status.error_message();
  EXPECT_TRUE(down.body.empty());
  EXPECT_TRUE(sunk == file);
  reqs = requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].path, "/files/f1");
  EXPECT_EQ(reqs[1].Header("Authorization"), absl::StrCat("Bearer ", kToken));
  EXPECT_EQ(client_->Url({.path = "/ignored", .url = url}), url);

  // A failed download is still mapped, with its details.
  Answer(404, "Not Found", "text/plain");
  GraphResult gone =
      CallAndWait({.method = "GET",
                   .access_token = kToken,
                   .operation = "download_media",
                   .url = url,
                   .body_sink = [](absl::string_view) { return true; }});
  EXPECT_EQ(gone.status.error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(GraphErrorFromGrpcStatus(gone.status).has_value());
  EXPECT_EQ(GraphErrorFromGrpcStatus(gone.status)->http_status(), 404);

  std::lock_guard<std::mutex> lock(seen_mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].operation, "upload_media");
  EXPECT_EQ(seen[1].operation, "download_media");
  EXPECT_EQ(seen[2].operation, "download_media");
  EXPECT_EQ(seen[2].http_status, 404);
}

TEST_F(GraphClientTest, PerCallTimeoutBoundsTheExchange) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;  // never answer
  }
  // The fixture's default timeout is 10 s: only the call's own bound can
  // end this before CallAndWait gives up.
  GraphResult r = CallAndWait({.path = "/1/media",
                               .body = "{}",
                               .access_token = kToken,
                               .timeout = absl::Milliseconds(200)});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(r.error.has_value());
}

TEST_F(GraphClientTest, ProxyHtmlErrorIsSynthesized) {
  Answer(502, "<html><body>Bad gateway</body></html>", "text/html");
  GraphResult r = CallAndWait(
      {.path = "/1/messages", .body = "{}", .access_token = kToken});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->code(), 0);
  EXPECT_EQ(r.error->http_status(), 502);
  EXPECT_FALSE(IsSafeToRetry(*r.error));
  EXPECT_FALSE(absl::StrContains(r.status.error_message(), "Bad gateway"));
}

TEST_F(GraphClientTest, DeadlineBecomesDeadlineExceededWithUnknownOutcome) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;  // never answer
  }
  GraphResult r =
      CallAndWait({.path = "/1/messages",
                   .body = "{}",
                   .access_token = kToken,
                   .deadline = absl::Now() + absl::Milliseconds(300)});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(r.http_status, 0);
  ASSERT_TRUE(r.error.has_value());
  // The request reached the server: a resend could duplicate it.
  EXPECT_TRUE(r.error->outcome_unknown());
  EXPECT_FALSE(IsSafeToRetry(*r.error));
  EXPECT_TRUE(absl::StrContains(r.status.error_message(), "outcome unknown"));
  ExpectNoToken(r);
  EXPECT_EQ(requests().size(), 1u);
  EXPECT_EQ(client_->stats().transport_errors, 1u);
}

TEST_F(GraphClientTest, DroppedConnectionIsUnavailableWithUnknownOutcome) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    next_.drop_connection = true;  // read the request, close without answer
  }
  GraphResult r = CallAndWait(
      {.path = "/1/messages", .body = "{}", .access_token = kToken});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_TRUE(r.error->outcome_unknown());
  EXPECT_FALSE(IsSafeToRetry(*r.error));
  ExpectNoToken(r);
}

TEST_F(GraphClientTest, PastDeadlineFailsWithoutSending) {
  GraphResult r = CallAndWait({.path = "/1/messages",
                               .body = "{}",
                               .access_token = kToken,
                               .deadline = absl::Now() - absl::Seconds(1)});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_FALSE(r.error->outcome_unknown());
  EXPECT_TRUE(requests().empty());
}

TEST(GraphClientRefusedTest, ConnectionRefusedIsUnavailableAndKnownNotSent) {
  // A port that was free a moment ago and has no listener now.
  int port;
  {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor a(
        tmp, boost::asio::ip::tcp::endpoint(
                 boost::asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread t([&io] { io.run(); });
  {
    http::Client http(io);
    GraphClient client(http,
                       {.base_url = absl::StrCat("http://127.0.0.1:", port),
                        .api_version = "v24.0"});
    std::promise<GraphResult> p;
    auto f = p.get_future();
    client.Call({.path = "/1/messages", .body = "{}", .access_token = kToken},
                [&p](GraphResult r) { p.set_value(std::move(r)); });
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    GraphResult r = f.get();
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_FALSE(r.error->outcome_unknown());
    EXPECT_TRUE(IsSafeToRetry(*r.error));
    EXPECT_FALSE(absl::StrContains(r.status.error_message(), kToken));
    auto details = GraphErrorFromGrpcStatus(r.status);
    ASSERT_TRUE(details.has_value());
    EXPECT_FALSE(details->outcome_unknown());
  }
  work.reset();
  io.stop();
  t.join();
}

TEST(GraphClientUrlTest, VersionPrefixAndEncoding) {
  boost::asio::io_context io;
  http::Client http(io);
  GraphClient c(http, {.base_url = "https://graph.facebook.com/",
                       .api_version = "v24.0"});
  EXPECT_EQ(c.Url({.path = "/123/messages"}),
            "https://graph.facebook.com/v24.0/123/messages");
  EXPECT_EQ(c.Url({.path = "123", .query = {{"a b", "x&y"}, {"c", "1"}}}),
            "https://graph.facebook.com/v24.0/123?a%20b=x%26y&c=1");
  GraphClient unversioned(
      http, {.base_url = "http://127.0.0.1:9", .api_version = ""});
  EXPECT_EQ(unversioned.Url({.path = "/x"}), "http://127.0.0.1:9/x");
}

TEST(RedactTest, ReplacesEveryOccurrence) {
  std::string s = "a SECRET b SECRET";
  Redact("SECRET", &s);
  EXPECT_EQ(s, "a [redacted] b [redacted]");
  Redact("", &s);
  EXPECT_EQ(s, "a [redacted] b [redacted]");
}

}  // namespace
}  // namespace wagate::graph
