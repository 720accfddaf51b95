// Test harness of the resources integration tests: an io_context on two
// threads, the emulator in-process on 127.0.0.1:0, a recording fake Graph
// (an http::Server answering canned responses, for exact request
// assertions), and a gRPC server on 127.0.0.1:0 hosting the resource
// services over a GraphClient pointed at either of them.
//
//   ResourcesHarness h(Target::kEmulator);
//   auto stub = v1::Templates::NewStub(h.channel());
//   ...
//   ResourcesHarness f(Target::kFake);
//   f.fake().Answer("GET", "/v24.0/1/message_templates", 200, R"({...})");
//   ... call ... f.fake().requests()[0].query ...
#ifndef WAGATE_TESTS_INTEGRATION_RESOURCES_HARNESS_H_
#define WAGATE_TESTS_INTEGRATION_RESOURCES_HARNESS_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "emulator/emulator.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/config/accounts.h"
#include "service/graph/graph_client.h"
#include "service/graph/graph_error.h"
#include "service/http/client.h"
#include "service/http/server.h"
#include "service/resources/accounts_service.h"
#include "service/resources/graph_json.h"
#include "service/resources/media_service.h"
#include "service/resources/phone_numbers_service.h"
#include "service/resources/templates_service.h"

// Tests pass HarnessOptions as designated initializers leaving the rest
// defaulted; that is the point.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace wagate::resources::testing {

inline constexpr char kToken[] = "test-token";
inline constexpr char kWaba[] = "102290129340398";
inline constexpr char kPhone[] = "106540352242922";

// Records every request; answers from a table keyed by "METHOD path", else
// 404 with a Graph error.
class FakeGraph {
 public:
  struct Canned {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };

  FakeGraph(boost::asio::io_context& io, size_t max_body_bytes)
      : server_(io, Options(max_body_bytes)) {
    server_.HandlePrefix(
        "", "/", [this](http::Request req, http::Responder respond) {
          Canned c;
          c.status = 404;
          c.body = R"({"error":{"message":"no canned answer","code":100,)"
                   R"("error_subcode":33,"fbtrace_id":"F"}})";
          {
            absl::MutexLock lock(&mu_);
            auto it = answers_.find(absl::StrCat(req.method, " ", req.path));
            if (it != answers_.end()) c = it->second;
            requests_.push_back(std::move(req));
          }
          http::Response r;
          r.status = c.status;
          r.content_type = c.content_type;
          r.body = std::move(c.body);
          respond(std::move(r));
        });
  }
  absl::Status Listen() { return server_.Listen("127.0.0.1:0"); }
  std::string base_url() const {
    return absl::StrCat("http://127.0.0.1:", server_.port());
  }
  void Answer(const std::string& method, const std::string& path, int status,
              std::string body, std::string content_type = "application/json") {
    absl::MutexLock lock(&mu_);
    answers_[absl::StrCat(method, " ", path)] =
        Canned{status, std::move(body), std::move(content_type)};
  }
  std::vector<http::Request> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  void Stop() { server_.Stop(); }

 private:
  static http::ServerOptions Options(size_t max_body_bytes) {
    http::ServerOptions o;
    o.max_body_bytes = max_body_bytes;
    return o;
  }
  mutable absl::Mutex mu_;
  std::map<std::string, Canned> answers_ ABSL_GUARDED_BY(mu_);
  std::vector<http::Request> requests_ ABSL_GUARDED_BY(mu_);
  http::Server server_;
};

enum class Target { kEmulator, kFake };

struct HarnessOptions {
  Target target = Target::kEmulator;
  // Multi-account config serving only kWaba / kPhone (else single account).
  bool multi_account = false;
  size_t fake_max_body_bytes = 4 << 20;
  // Emulator only: send its webhooks to a recorder (webhook_bodies()).
  bool record_webhooks = false;
  MediaService::Options media;
};

class ResourcesHarness {
 public:
  explicit ResourcesHarness(HarnessOptions options = {})
      : guard_(io_.get_executor()) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    std::string base_url;
    if (options.record_webhooks) {
      webhooks_ = std::make_unique<http::Server>(io_, http::ServerOptions{});
      webhooks_->Handle("POST", "/webhook",
                        [this](http::Request req, http::Responder respond) {
                          {
                            absl::MutexLock lock(&webhook_mu_);
                            webhook_bodies_.push_back(std::move(req.body));
                          }
                          respond(http::TextResponse(200, "ok"));
                        });
      absl::Status s = webhooks_->Listen("127.0.0.1:0");
      EXPECT_TRUE(s.ok()) << s;
    }
    if (options.target == Target::kEmulator) {
      emulator::EmulatorOptions eo;
      if (webhooks_ != nullptr) {
        eo.webhook_url =
            absl::StrCat("http://127.0.0.1:", webhooks_->port(), "/webhook");
        eo.app_secret = "app-secret";
      }
      eo.address = "127.0.0.1:0";
      eo.access_tokens = {kToken};
      eo.waba_id = kWaba;
      eo.phone_number_ids = {kPhone};
      eo.template_approval_delay = absl::Milliseconds(300);
      emulator_ = std::make_unique<emulator::Emulator>(io_, eo);
      absl::Status s = emulator_->Start();
      EXPECT_TRUE(s.ok()) << s;
      base_url = emulator_->base_url();
    } else {
      fake_ = std::make_unique<FakeGraph>(io_, options.fake_max_body_bytes);
      absl::Status s = fake_->Listen();
      EXPECT_TRUE(s.ok()) << s;
      base_url = fake_->base_url();
    }
    http_ = std::make_unique<http::Client>(io_);
    graph_ = std::make_unique<graph::GraphClient>(
        *http_, graph::GraphClientOptions{.base_url = base_url,
                                          .api_version = "v24.0"});
    // What the gateway's Graph metrics see (one observation per exchange).
    graph_->SetObserver([this](const graph::GraphCallObservation& o) {
      absl::MutexLock lock(&observed_mu_);
      observed_.push_back(o.operation);
    });
    config::v1::Config config;
    if (options.multi_account) {
      auto* a = config.add_accounts();
      a->set_waba_id(kWaba);
      a->set_access_token_env("TOKEN_A");
      a->add_phone_numbers()->set_id(kPhone);
    }
    auto accounts = config::Accounts::Create(
        config, [](absl::string_view name) -> absl::optional<std::string> {
          if (name == "WAGATE_ACCESS_TOKEN" || name == "TOKEN_A") {
            return std::string(kToken);
          }
          return absl::nullopt;
        });
    EXPECT_TRUE(accounts.ok()) << accounts.status();
    accounts_ = std::make_unique<config::Accounts>(*std::move(accounts));
    templates_ = std::make_unique<TemplatesService>(
        *graph_, *accounts_, TemplatesService::Options{});
    numbers_ = std::make_unique<PhoneNumbersService>(
        *graph_, *accounts_, PhoneNumbersService::Options{});
    account_service_ = std::make_unique<AccountsService>(
        *graph_, *accounts_, AccountsService::Options{});
    options.media.graph_base_url = base_url;  // the download URLs' origin
    media_ = std::make_unique<MediaService>(*graph_, *accounts_, options.media);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(templates_.get());
    builder.RegisterService(numbers_.get());
    builder.RegisterService(account_service_.get());
    builder.RegisterService(media_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                   grpc::InsecureChannelCredentials());
  }

  ~ResourcesHarness() {
    server_->Shutdown();
    server_.reset();
    if (emulator_) emulator_->Stop();
    if (fake_) fake_->Stop();
    if (webhooks_) webhooks_->Stop();
    http_.reset();
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  emulator::Emulator& emulator() { return *emulator_; }
  FakeGraph& fake() { return *fake_; }
  MediaService& media() { return *media_; }
  std::vector<std::string> webhook_bodies() {
    absl::MutexLock lock(&webhook_mu_);
    return webhook_bodies_;
  }
  boost::asio::io_context& io() { return io_; }
  // The operation label of every finished Graph exchange, in order.
  std::vector<std::string> graph_operations() {
    absl::MutexLock lock(&observed_mu_);
    return observed_;
  }
  // Emulator only: every Graph answer is Meta's 503 (code 2), or (drop)
  // every connection is closed after the request was read.
  void FailEveryGraphCall(bool drop = false) {
    emulator::Faults f;
    if (drop) {
      f.drop_connection_rate = 1;
    } else {
      f.http_5xx_rate = 1;
    }
    emulator_->state().SetFaults(f);
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      guard_;
  std::vector<std::thread> threads_;
  std::unique_ptr<http::Server> webhooks_;
  absl::Mutex webhook_mu_;
  std::vector<std::string> webhook_bodies_ ABSL_GUARDED_BY(webhook_mu_);
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<FakeGraph> fake_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<graph::GraphClient> graph_;
  absl::Mutex observed_mu_;
  std::vector<std::string> observed_ ABSL_GUARDED_BY(observed_mu_);
  std::unique_ptr<config::Accounts> accounts_;
  std::unique_ptr<TemplatesService> templates_;
  std::unique_ptr<PhoneNumbersService> numbers_;
  std::unique_ptr<AccountsService> account_service_;
  std::unique_ptr<MediaService> media_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// `s` is the emulator's injected 503 (FailEveryGraphCall): UNAVAILABLE with
// Graph's whole error in the details, not a bare status.
inline void ExpectInjected503(const grpc::Status& s, absl::string_view rpc) {
  SCOPED_TRACE(rpc);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  absl::optional<v1::GraphError> e = graph::GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value()) << "no GraphError details";
  EXPECT_EQ(e->code(), 2);
  EXPECT_EQ(e->http_status(), 503);
  EXPECT_EQ(e->type(), "OAuthException");
  EXPECT_TRUE(absl::StartsWith(e->message(), "(#2) ")) << e->message();
  EXPECT_EQ(e->details(), "Service temporarily unavailable (injected).");
  EXPECT_FALSE(e->fbtrace_id().empty());
  EXPECT_TRUE(e->is_transient());
}

// `s` is a dropped connection (FailEveryGraphCall(true)): UNAVAILABLE with a
// GraphError saying the outcome is unknown.
inline void ExpectDroppedConnection(const grpc::Status& s,
                                    absl::string_view rpc) {
  SCOPED_TRACE(rpc);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  absl::optional<v1::GraphError> e = graph::GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value()) << "no GraphError details";
  EXPECT_EQ(e->code(), 0);
  EXPECT_EQ(e->http_status(), 0);
  EXPECT_TRUE(e->outcome_unknown());
  EXPECT_FALSE(e->details().empty());
}

}  // namespace wagate::resources::testing

#endif  // WAGATE_TESTS_INTEGRATION_RESOURCES_HARNESS_H_
