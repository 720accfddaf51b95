// Test helpers shared by the emulator's socket tests: an io_context on two
// threads, a blocking Graph API caller, and a webhook receiver that records
// every POST (and can answer non-200 to exercise redelivery).
#ifndef WAGATE_EMULATOR_TEST_UTIL_H_
#define WAGATE_EMULATOR_TEST_UTIL_H_

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "emulator/emulator.h"
#include "gtest/gtest.h"
#include "service/http/client.h"
#include "service/http/server.h"
#include "simdjson.h"

namespace wagate::emulator::testing {

struct ReceivedWebhook {
  std::string body;
  std::string signature;
};

class IoThreads {
 public:
  IoThreads() : guard_(io.get_executor()) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io.run(); });
  }
  ~IoThreads() {
    guard_.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      guard_;
  std::vector<std::thread> threads_;
};

// Records webhook POSTs; the first `fail_first` are answered `fail_status`.
class WebhookReceiver {
 public:
  explicit WebhookReceiver(boost::asio::io_context& io)
      : server_(io, http::ServerOptions{}) {
    server_.Handle(
        "POST", "/webhook", [this](http::Request req, http::Responder respond) {
          int status = 200;
          {
            absl::MutexLock lock(&mu_);
            ++attempts_;
            if (fail_first_ > 0) {
              --fail_first_;
              status = fail_status_;
            } else {
              received_.push_back(
                  {req.body, std::string(req.Header("X-Hub-Signature-256"))});
            }
          }
          respond(http::TextResponse(status, "ok"));
        });
  }
  absl::Status Listen() { return server_.Listen("127.0.0.1:0"); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + "/webhook";
  }
  void FailFirst(int n, int status) {
    absl::MutexLock lock(&mu_);
    fail_first_ = n;
    fail_status_ = status;
  }
  // Waits up to `timeout` until at least `n` webhooks were recorded.
  std::vector<ReceivedWebhook> WaitFor(
      size_t n, absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return received_.size() >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return received_;
  }
  std::vector<ReceivedWebhook> received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  int attempts() {
    absl::MutexLock lock(&mu_);
    return attempts_;
  }
  void Stop() { server_.Stop(); }

 private:
  http::Server server_;
  absl::Mutex mu_;
  std::vector<ReceivedWebhook> received_ ABSL_GUARDED_BY(mu_);
  int fail_first_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_status_ ABSL_GUARDED_BY(mu_) = 500;
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
};

// Blocking calls to the emulator.
class GraphCaller {
 public:
  GraphCaller(boost::asio::io_context& io, std::string base_url,
              std::string token)
      : client_(io), base_url_(std::move(base_url)), token_(std::move(token)) {}

  http::ClientResponse Call(
      const std::string& method, const std::string& path,
      const std::string& body = "", const std::string& token = "<default>",
      const std::string& content_type = "application/json") {
    http::ClientRequest req;
    req.method = method;
    req.url = base_url_ + path;
    std::string t = token == "<default>" ? token_ : token;
    if (!t.empty()) req.headers.push_back({"Authorization", "Bearer " + t});
    if (!body.empty()) req.headers.push_back({"Content-Type", content_type});
    req.body = body;
    req.timeout = absl::Seconds(10);
    std::promise<absl::StatusOr<http::ClientResponse>> p;
    auto f = p.get_future();
    client_.Send(std::move(req), [&p](absl::StatusOr<http::ClientResponse> r) {
      p.set_value(std::move(r));
    });
    absl::StatusOr<http::ClientResponse> r = f.get();
    if (!r.ok()) {
      http::ClientResponse failed;
      failed.status = -1;
      failed.body = r.status().ToString();
      return failed;
    }
    return *std::move(r);
  }

 private:
  http::Client client_;
  std::string base_url_;
  std::string token_;
};

constexpr char kToken[] = "test-token";
constexpr char kSecret[] = "app-secret";
constexpr char kPnid[] = "106540352242922";
constexpr char kWaba[] = "102290129340398";

// A JSON string value as std::string ("" if it is not a string).
inline std::string Str(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view sv;
  if (e.get(sv) != simdjson::SUCCESS) return "";
  return std::string(sv);
}

// Starts an emulator (token kToken, secret kSecret, fast retries and
// delays) with a webhook receiver, and calls it over HTTP.
class EmulatorTest : public ::testing::Test {
 protected:
  void Start(EmulatorOptions options, bool webhooks = true) {
    receiver_ = std::make_unique<WebhookReceiver>(io_.io);
    ASSERT_TRUE(receiver_->Listen().ok());
    options.address = "127.0.0.1:0";
    options.access_tokens = {kToken};
    options.app_secret = kSecret;
    if (webhooks) options.webhook_url = receiver_->url();
    options.delivered_delay = absl::Milliseconds(1);
    options.read_delay = absl::Milliseconds(1);
    options.webhook_retry_initial = absl::Milliseconds(20);
    if (options.template_approval_delay ==
        EmulatorOptions{}.template_approval_delay) {
      options.template_approval_delay = absl::Milliseconds(20);
    }
    emulator_ = std::make_unique<Emulator>(io_.io, options);
    ASSERT_TRUE(emulator_->Start().ok());
    caller_ =
        std::make_unique<GraphCaller>(io_.io, emulator_->base_url(), kToken);
  }
  void Start() { Start(EmulatorOptions{}); }

  void TearDown() override {
    if (emulator_) emulator_->Stop();
    if (receiver_) receiver_->Stop();
  }

  http::ClientResponse Post(const std::string& path, const std::string& body) {
    return caller_->Call("POST", path, body);
  }

  // Parses `json` into the test's document.
  simdjson::dom::element Parse(const std::string& json) {
    simdjson::dom::element e;
    EXPECT_EQ(parser_.parse(json).get(e), simdjson::SUCCESS) << json;
    return e;
  }

  void ExpectError(const http::ClientResponse& r, int http_status, int code) {
    EXPECT_EQ(r.status, http_status) << r.body;
    simdjson::dom::parser p;
    simdjson::dom::object error;
    ASSERT_EQ(p.parse(r.body)["error"].get(error), simdjson::SUCCESS) << r.body;
    int64_t got = 0;
    EXPECT_EQ(error["code"].get(got), simdjson::SUCCESS);
    EXPECT_EQ(got, code) << r.body;
    std::string_view s;
    EXPECT_EQ(error["message"].get(s), simdjson::SUCCESS);
    EXPECT_TRUE(
        absl::StartsWith(std::string(s), absl::StrCat("(#", code, ") ")))
        << s;
    EXPECT_EQ(error["type"].get(s), simdjson::SUCCESS);
    EXPECT_EQ(s, "OAuthException");
    EXPECT_EQ(error["error_data"]["messaging_product"].get(s),
              simdjson::SUCCESS);
    EXPECT_EQ(error["error_data"]["details"].get(s), simdjson::SUCCESS);
    EXPECT_EQ(error["fbtrace_id"].get(s), simdjson::SUCCESS);
    EXPECT_FALSE(s.empty());
  }

  // Webhook stats once nothing is pending (the receiver may record a POST
  // before the emulator has read its answer).
  WebhookStats WaitIdle() {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    WebhookStats s = emulator_->webhook_stats();
    while (s.pending > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(2));
      s = emulator_->webhook_stats();
    }
    return s;
  }

  IoThreads io_;
  std::unique_ptr<WebhookReceiver> receiver_;
  std::unique_ptr<Emulator> emulator_;
  std::unique_ptr<GraphCaller> caller_;
  simdjson::dom::parser parser_;
};

}  // namespace wagate::emulator::testing

#endif  // WAGATE_EMULATOR_TEST_UTIL_H_
