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

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "emulator/emulator.h"
#include "service/http/client.h"
#include "service/http/server.h"

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
    auto enough = [&] { return received_.size() >= n; };
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

}  // namespace wagate::emulator::testing

#endif  // WAGATE_EMULATOR_TEST_UTIL_H_
