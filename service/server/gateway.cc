#include "service/server/gateway.h"

#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "service/auth/api_keys.h"
#include "service/auth/authorized_services.h"
#include "service/auth/tls.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/config/accounts.h"
#include "service/events/events_service.h"
#include "service/events/store.h"
#include "service/graph/graph_client.h"
#include "service/http/client.h"
#include "service/http/server.h"
#include "service/messaging/messaging_service.h"
#include "service/messaging/sender.h"
#include "service/messaging/shared_pacing.h"
#include "service/metrics/gateway_metrics.h"
#include "service/metrics/grpc_interceptor.h"
#include "service/metrics/registry.h"
#include "service/metrics/route.h"
#include "service/resources/accounts_service.h"
#include "service/resources/media_service.h"
#include "service/resources/phone_numbers_service.h"
#include "service/resources/template_owners.h"
#include "service/resources/templates_service.h"
#include "service/server/access_log.h"
#include "service/server/reflection_service.h"
#include "service/server/throughput_upgrades.h"
#include "service/webhook/ingress.h"

namespace wagate::server {
namespace {

// limits.subscribers_per_key when unset (config.proto).
constexpr int kDefaultSubscribersPerKey = 100;
// limits.http_max_connections_per_ip when unset (config.proto).
constexpr int kDefaultHttpMaxConnectionsPerIp = 256;

}  // namespace

class Gateway::Impl {
 public:
  explicit Impl(GatewayOptions options)
      : options_(std::move(options)),
        work_(boost::asio::make_work_guard(io_)) {}

  ~Impl() { Shutdown(); }

  absl::Status Start() {
    ASSIGN_OR_RETURN(config::Accounts accounts,
                     config::Accounts::Create(options_.config, options_.env));
    accounts_ = std::make_unique<config::Accounts>(std::move(accounts));
    // Client keys and scopes; without any, gRPC is for this host only.
    ASSIGN_OR_RETURN(api_keys_,
                     auth::ApiKeys::Create(options_.config, *accounts_));
    if (!api_keys_->enabled() &&
        !auth::IsLoopbackAddress(options_.grpc_address)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--grpc_address ", options_.grpc_address,
          " is not a loopback address and no client API keys are configured: "
          "add `clients` (name, api_key_sha256, scopes) to the config file, "
          "or listen on 127.0.0.1, [::1] or localhost"));
    }
    if (api_keys_->enabled()) {
      log::Info("auth", "client API keys required",
                {{"clients", std::to_string(options_.config.clients_size())}});
    }
    // Bearer keys over plaintext gRPC to another host can be read off the
    // network: only when the operator says TLS is terminated elsewhere.
    if (api_keys_->enabled() &&
        options_.config.tls().grpc().cert_file().empty() &&
        !auth::IsLoopbackAddress(options_.grpc_address)) {
      if (!options_.allow_insecure_grpc) {
        return absl::FailedPreconditionError(absl::StrCat(
            "--grpc_address ", options_.grpc_address,
            " is not a loopback address and tls.grpc is not configured: "
            "client API keys would cross the network in plaintext. Set "
            "tls.grpc (cert_file, key_file) in the config, listen on "
            "127.0.0.1, [::1] or localhost, or pass --allow_insecure_grpc "
            "if a proxy or mesh terminates TLS in front of wagate"));
      }
      log::Warning("auth",
                   "INSECURE: client API keys accepted over plaintext gRPC on "
                   "a non-loopback address (--allow_insecure_grpc); anyone on "
                   "the network path can read them",
                   {{"grpc_address", options_.grpc_address}});
    }

    events::StoreOptions store_options;
    if (options_.config.has_retention()) {
      const auto& retention = options_.config.retention();
      if (retention.has_max_age()) {
        store_options.retention.max_age =
            absl::Seconds(retention.max_age().seconds()) +
            absl::Nanoseconds(retention.max_age().nanos());
      }
      if (retention.max_bytes() > 0) {
        store_options.retention.max_payload_bytes = retention.max_bytes();
      }
    }
    if (options_.config.limits().event_queue() > 0) {
      store_options.max_queued_events = options_.config.limits().event_queue();
    }
    ASSIGN_OR_RETURN(store_, events::OpenStore(options_.store, store_options));

    for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
      io_threads_.emplace_back([this] { io_.run(); });
    }

    graph_http_ = std::make_unique<http::Client>(io_);
    // The one Graph client: sends, mark-read, throughput levels and the
    // management services, with one redaction and one latency observer.
    graph::GraphClientOptions graph_options;
    graph_options.base_url = options_.graph_base_url;
    graph_options.api_version = options_.graph_api_version;
    graph_ = std::make_unique<graph::GraphClient>(*graph_http_, graph_options);
    graph_->SetObserver([m = metrics_](const graph::GraphCallObservation& o) {
      m->graph_request_duration->Get({o.operation})->ObserveDuration(o.latency);
    });
    messaging::SenderOptions sender_options;
    sender_options.metrics = metrics_;
    if (absl::StartsWith(options_.store, "redis://")) {
      // Replicas on one Redis pace each number together (issue 9).
      messaging::SharedPacingOptions pacing;
      pacing.window = sender_options.pacer_window;
      ASSIGN_OR_RETURN(sender_options.shared_pacing,
                       messaging::RedisPacing::Create(options_.store, pacing));
    }
    sender_ = std::make_unique<messaging::Sender>(
        io_, *graph_, *accounts_, store_->idempotency_keys(), sender_options);
    sender_->ApplyConfiguredThroughput();
    // What Meta says each number may send: the throughput level at start-up,
    // then THROUGHPUT_UPGRADE webhooks as they are stored.
    std::vector<std::string> configured;
    for (const auto& number : accounts_->ConfiguredNumbers()) {
      configured.push_back(number.phone_number_id);
    }
    if (!configured.empty()) {
      sender_->LearnThroughput(configured, [](absl::Status status) {
        if (!status.ok()) {
          log::Warning("pacer", "could not read throughput levels from Graph",
                       {{"error", std::string(status.message())}});
        }
      });
    }
    throughput_upgrades_ = std::make_unique<ThroughputUpgrades>(
        *accounts_, [sender = sender_.get()](const std::string& id, int mps) {
          sender->SetThroughput(id, mps);
        });
    upgrades_listener_ = store_->AddListener(
        [upgrades = throughput_upgrades_.get()](
            const std::vector<events::EventRecord>& records) {
          upgrades->OnStored(records);
        });
    // Template webhooks say which WABA each template belongs to (the
    // Templates service checks template_id against waba_id).
    template_owners_ = std::make_shared<resources::TemplateOwners>();
    template_listener_ = store_->AddListener(
        [owners = template_owners_](
            const std::vector<events::EventRecord>& records) {
          for (const events::EventRecord& record : records) {
            if (!absl::StartsWith(record.kind, "template_")) continue;
            v1::Event event;
            if (event.ParseFromString(record.payload)) {
              owners->LearnFromEvent(event);
            }
          }
        });

    RETURN_IF_ERROR(StartHttp());
    RETURN_IF_ERROR(StartAdmin());
    RETURN_IF_ERROR(StartGrpc());
    log::Info("gateway", "serving",
              {{"grpc_address", HostOf(options_.grpc_address) + ":" +
                                    std::to_string(grpc_port_)},
               {"http_address", HostOf(options_.http_address) + ":" +
                                    std::to_string(http_->port())},
               {"admin_address", admin_ == nullptr
                                     ? std::string()
                                     : HostOf(options_.admin_address) + ":" +
                                           std::to_string(admin_->port())},
               {"graph_base_url", options_.graph_base_url},
               {"graph_api_version", options_.graph_api_version},
               {"store", options_.store}});
    return absl::OkStatus();
  }

  void Shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    log::Info("gateway", "shutting down",
              {{"grace", absl::FormatDuration(options_.shutdown_grace)}});
    if (http_ != nullptr) http_->Stop();
    if (admin_ != nullptr) admin_->Stop();
    // Open Subscribe streams would otherwise hold the gRPC shutdown for the
    // whole grace period: end them first (clients resume from their cursor).
    if (events_ != nullptr) {
      metrics_->SetSubscriberLagSource(nullptr);
      metrics_->subscribers->Get({""})->ClearCallback();
      store_->RemoveListener(stored_listener_);
      events_->Shutdown();
    }
    if (grpc_server_ != nullptr) {
      if (auto* health = grpc_server_->GetHealthCheckService()) {
        health->SetServingStatus(false);
      }
      // Returns once in-flight calls are done or the grace period is over
      // (then they are cancelled). Sends still waiting in the pacer are
      // failed next, so that every reactor can finish before Wait().
      // Shutdown blocks until every call is done, and a call whose sends
      // wait in the pacer (a pair limit can hold one for minutes) is done
      // only once they fail: fail them when the grace period ends.
      absl::Notification grpc_stopped;
      std::thread pacer_stopper([this, &grpc_stopped] {
        if (!grpc_stopped.WaitForNotificationWithTimeout(
                options_.shutdown_grace) &&
            sender_ != nullptr) {
          sender_->Shutdown();
        }
      });
      grpc_server_->Shutdown(
          std::chrono::system_clock::now() +
          absl::ToChronoMilliseconds(options_.shutdown_grace));
      grpc_stopped.Notify();
      pacer_stopper.join();
      if (sender_ != nullptr) sender_->Shutdown();
      grpc_server_->Wait();
    }
    if (store_ != nullptr && throughput_upgrades_ != nullptr) {
      store_->RemoveListener(upgrades_listener_);
      store_->RemoveListener(template_listener_);
    }
    if (sender_ != nullptr) sender_->Shutdown();
    work_.reset();
    io_.stop();
    for (std::thread& t : io_threads_) t.join();
    io_threads_.clear();
    grpc_server_.reset();
    services_.clear();
    events_ = nullptr;
    sender_.reset();
    graph_.reset();
    graph_http_.reset();
    ingress_.reset();
    http_.reset();
    admin_.reset();
    store_.reset();
    log::Info("gateway", "stopped");
  }

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_ != nullptr ? http_->port() : 0; }
  int admin_port() const { return admin_ != nullptr ? admin_->port() : 0; }

  std::vector<TlsReload> ReloadTls() {
    std::vector<TlsReload> results;
    if (grpc_tls_ != nullptr && grpc_tls_->enabled()) {
      results.push_back({"grpc", grpc_tls_->Reload()});
    }
    if (http_ != nullptr && http_->tls()) {
      results.push_back({"http", http_->ReloadTls()});
    }
    return results;
  }

 private:
  static std::string HostOf(absl::string_view address) {
    size_t colon = address.rfind(':');
    return std::string(
        colon == absl::string_view::npos ? address : address.substr(0, colon));
  }

  absl::Status StartHttp() {
    http::ServerOptions http_options;
    const auto& limits = options_.config.limits();
    if (limits.http_max_body_bytes() > 0) {
      http_options.max_body_bytes = limits.http_max_body_bytes();
    }
    if (limits.http_max_header_bytes() > 0) {
      http_options.max_header_bytes = limits.http_max_header_bytes();
    }
    if (limits.http_max_connections() > 0) {
      http_options.max_connections = limits.http_max_connections();
    }
    http_options.max_connections_per_ip =
        limits.http_max_connections_per_ip() > 0
            ? limits.http_max_connections_per_ip()
            : kDefaultHttpMaxConnectionsPerIp;
    if (limits.has_http_header_timeout()) {
      http_options.header_timeout =
          absl::Seconds(limits.http_header_timeout().seconds());
    }
    if (limits.has_http_idle_timeout()) {
      http_options.idle_timeout =
          absl::Seconds(limits.http_idle_timeout().seconds());
    }
    const auto& tls = options_.config.tls().http();
    http_options.tls = {tls.cert_file(), tls.key_file(), "tls.http"};
    http_ = std::make_unique<http::Server>(io_, http_options);
    http_->Handle("GET", "/healthz", [](http::Request, http::Responder done) {
      done(http::TextResponse(200, "ok\n"));
    });
    // The webhook listener faces Meta, often the internet: metrics there
    // only while it is loopback (the local `curl 127.0.0.1:8080/metrics`).
    if (auth::IsLoopbackAddress(options_.http_address)) {
      metrics::RegisterMetricsRoute(*http_, metrics::Registry::Global());
    } else {
      log::Info("gateway",
                "/metrics is not served on --http_address (not loopback)",
                {{"http_address", options_.http_address},
                 {"metrics_address",
                  options_.admin_address.empty()
                      ? std::string("none (--admin_address is empty)")
                      : options_.admin_address}});
    }
    RETURN_IF_ERROR(RegisterWebhook(http_options.max_body_bytes));
    absl::Status listening = http_->Listen(options_.http_address);
    // TLS file errors name their config key already.
    if (listening.code() == absl::StatusCode::kFailedPrecondition) {
      return listening;
    }
    if (!listening.ok()) {
      return absl::Status(listening.code(), absl::StrCat("--http_address: ",
                                                         listening.message()));
    }
    return absl::OkStatus();
  }

  // /metrics and /healthz for operators and scrapers, apart from the
  // webhook listener. Plaintext: keep it on loopback or a private network.
  absl::Status StartAdmin() {
    if (options_.admin_address.empty()) return absl::OkStatus();
    http::ServerOptions admin_options;
    // A scraper or two and health checks; requests have no bodies.
    admin_options.max_connections = 64;
    admin_options.max_body_bytes = 64 << 10;
    admin_ = std::make_unique<http::Server>(io_, admin_options);
    admin_->Handle("GET", "/healthz", [](http::Request, http::Responder done) {
      done(http::TextResponse(200, "ok\n"));
    });
    metrics::RegisterMetricsRoute(*admin_, metrics::Registry::Global());
    absl::Status listening = admin_->Listen(options_.admin_address);
    if (!listening.ok()) {
      return absl::Status(listening.code(), absl::StrCat("--admin_address: ",
                                                         listening.message()));
    }
    if (!auth::IsLoopbackAddress(options_.admin_address)) {
      log::Warning("gateway",
                   "--admin_address is not loopback: /metrics is served "
                   "without authentication to whoever can reach it",
                   {{"admin_address", options_.admin_address}});
    }
    return absl::OkStatus();
  }

  // Meta's webhooks. Without an app secret and a verify token the route
  // answers 503, so Meta keeps redelivering until the gateway is configured.
  absl::Status RegisterWebhook(size_t max_body_bytes) {
    if (accounts_->app_secrets().empty() || accounts_->verify_token().empty()) {
      log::Warning("webhook",
                   "webhook ingress disabled: set WAGATE_APP_SECRET and "
                   "WAGATE_VERIFY_TOKEN (or app_secrets_env and "
                   "verify_token_env in the config)");
      http_->Handle("", "/webhook", [](http::Request, http::Responder done) {
        done(http::TextResponse(503, "webhook ingress not configured\n"));
      });
      return absl::OkStatus();
    }
    webhook::IngressOptions ingress_options;
    ingress_options.app_secrets = accounts_->app_secrets();
    ingress_options.verify_token = accounts_->verify_token();
    ingress_options.max_body_bytes = max_body_bytes;
    ingress_options.metrics = metrics_;
    ASSIGN_OR_RETURN(ingress_,
                     webhook::Ingress::Create(ingress_options, store_.get()));
    ingress_->RegisterRoutes(*http_);
    return absl::OkStatus();
  }

  // Subscriber counts and lag are read from the Events service at scrape;
  // stored events are counted as the store commits them.
  void ObserveEvents() {
    events::EventsService* events = events_;
    // Streams outside consumer groups (group=""); per-group series are not
    // reported yet.
    metrics_->subscribers->Get({""})->SetCallback([events] {
      double plain = 0;
      for (const auto& stream : events->stats().streams) {
        if (stream.group.empty()) ++plain;
      }
      return plain;
    });
    metrics_->SetSubscriberLagSource([events] {
      metrics::GatewayMetrics::Lag lag;
      for (const auto& stream : events->stats().streams) {
        lag.max = std::max(lag.max, static_cast<double>(stream.queued));
        lag.sum += static_cast<double>(stream.queued);
      }
      return lag;
    });
    metrics::Counter* stored = metrics_->events_stored;
    stored_listener_ = store_->AddListener(
        [stored](const std::vector<events::EventRecord>& records) {
          stored->Add(records.size());
        });
  }

  absl::Status StartGrpc() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    // Plaintext, TLS or mTLS per the config's tls.grpc.
    ASSIGN_OR_RETURN(grpc_tls_,
                     auth::GrpcTls::Create(options_.config.tls().grpc()));
    if (grpc_tls_->enabled()) {
      log::Info("auth", "gRPC TLS on",
                {{"mtls", grpc_tls_->mtls() ? "true" : "false"}});
    }
    builder.AddListeningPort(options_.grpc_address, grpc_tls_->credentials(),
                             &grpc_port_);
    const auto& limits = options_.config.limits();
    if (limits.grpc_max_message_bytes() > 0) {
      builder.SetMaxReceiveMessageSize(limits.grpc_max_message_bytes());
      builder.SetMaxSendMessageSize(limits.grpc_max_message_bytes());
    }
    if (limits.grpc_max_concurrent_streams() > 0) {
      builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                                 limits.grpc_max_concurrent_streams());
    }
    messaging::MessagingService::Options messaging_options;
    messaging_options.metrics = metrics_;
    // Idempotency keys are per client (issue 14).
    messaging_options.client_identity = auth::MakeClientIdentity(api_keys_);
    if (limits.send_stream_backlog() > 0) {
      messaging_options.max_stream_in_flight = limits.send_stream_backlog();
    }
    if (api_keys_->enabled()) {
      messaging_options.stream_item_check =
          auth::MakePhoneNumberCheck(api_keys_);
    }
    // Every wagate.v1 service behind its auth decorator (keys and scopes);
    // health and reflection stay open.
    services_.push_back(std::make_unique<auth::AuthorizedMessaging>(
        api_keys_, std::make_unique<messaging::MessagingService>(
                       *sender_, messaging_options)));
    // A number filter also delivers its WABA's management events.
    events::EventsServiceOptions events_options;
    for (const config::PhoneNumberAccount& n : accounts_->ConfiguredNumbers()) {
      if (!n.waba_id.empty()) {
        events_options.phone_number_wabas[n.phone_number_id] = n.waba_id;
      }
    }
    // Subscribe streams per client key (with keys configured; without, the
    // service's overall max_subscribers still applies).
    if (api_keys_->enabled()) {
      events_options.admit_subscriber = auth::MakeSubscriberLimit(
          api_keys_, limits.subscribers_per_key() > 0
                         ? limits.subscribers_per_key()
                         : kDefaultSubscribersPerKey);
    }
    events_ = new events::EventsService(store_.get(), events_options);
    services_.push_back(std::make_unique<auth::AuthorizedEvents>(
        api_keys_, std::unique_ptr<events::EventsApi>(events_)));
    ObserveEvents();
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    // Metrics and the access log name only the methods served here: any
    // other path a caller sends is "unknown".
    ASSIGN_OR_RETURN(
        std::shared_ptr<const metrics::KnownGrpcMethods> known,
        metrics::KnownGrpcMethods::FromServices(
            {"wagate.v1.Messaging", "wagate.v1.Events", "wagate.v1.Templates",
             "wagate.v1.PhoneNumbers", "wagate.v1.Media", "wagate.v1.Accounts",
             "grpc.reflection.v1alpha.ServerReflection"},
            // gRPC's built-in health service (not generated code here).
            {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}));
    interceptors.push_back(metrics::MakeGrpcMetricsInterceptorFactory(
        metrics_->grpc_requests, known));
    interceptors.push_back(MakeAccessLogInterceptorFactory(known));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    resources::TemplatesService::Options templates_options;
    templates_options.owners = template_owners_;
    services_.push_back(std::make_unique<auth::AuthorizedTemplates>(
        api_keys_, std::make_unique<resources::TemplatesService>(
                       *graph_, *accounts_, templates_options)));
    services_.push_back(std::make_unique<auth::AuthorizedPhoneNumbers>(
        api_keys_,
        std::make_unique<resources::PhoneNumbersService>(
            *graph_, *accounts_, resources::PhoneNumbersService::Options{})));
    resources::MediaService::Options media_options;
    media_options.graph_base_url = options_.graph_base_url;
    if (api_keys_->enabled()) {
      media_options.upload_check = auth::MakePhoneNumberCheck(api_keys_);
    }
    services_.push_back(std::make_unique<auth::AuthorizedMedia>(
        api_keys_, std::make_unique<resources::MediaService>(
                       *graph_, *accounts_, media_options)));
    services_.push_back(std::make_unique<auth::AuthorizedAccounts>(
        api_keys_,
        std::make_unique<resources::AccountsService>(
            *graph_, *accounts_, resources::AccountsService::Options{})));
    for (auto& service : services_) builder.RegisterService(service.get());
    ASSIGN_OR_RETURN(
        reflection_,
        ReflectionService::Create(
            {"wagate.v1.Messaging", "wagate.v1.Events", "wagate.v1.Templates",
             "wagate.v1.PhoneNumbers", "wagate.v1.Media", "wagate.v1.Accounts",
             "grpc.health.v1.Health",
             "grpc.reflection.v1alpha.ServerReflection"}));
    builder.RegisterService(reflection_.get());
    grpc_server_ = builder.BuildAndStart();
    if (grpc_server_ == nullptr || grpc_port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("--grpc_address: cannot listen on ",
                       options_.grpc_address, " (address in use or invalid)"));
    }
    if (auto* health = grpc_server_->GetHealthCheckService()) {
      health->SetServingStatus(true);
      for (const char* name : {"wagate.v1.Messaging", "wagate.v1.Events",
                               "wagate.v1.Templates", "wagate.v1.PhoneNumbers",
                               "wagate.v1.Media", "wagate.v1.Accounts"}) {
        health->SetServingStatus(name, true);
      }
    }
    return absl::OkStatus();
  }

  GatewayOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  std::vector<std::thread> io_threads_;
  std::unique_ptr<config::Accounts> accounts_;
  std::shared_ptr<const auth::ApiKeys> api_keys_;
  std::unique_ptr<events::Store> store_;
  std::unique_ptr<http::Client> graph_http_;
  std::unique_ptr<graph::GraphClient> graph_;  // outlives sender_
  std::unique_ptr<messaging::Sender> sender_;
  std::unique_ptr<ThroughputUpgrades> throughput_upgrades_;
  events::Store::ListenerId upgrades_listener_ = 0;
  std::shared_ptr<resources::TemplateOwners> template_owners_;
  events::Store::ListenerId template_listener_ = 0;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<http::Server> admin_;
  std::unique_ptr<webhook::Ingress> ingress_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  events::EventsService* events_ = nullptr;  // owned by its decorator
  events::Store::ListenerId stored_listener_ = 0;
  metrics::GatewayMetrics* const metrics_ = &metrics::GatewayMetrics::Global();
  std::unique_ptr<ReflectionService> reflection_;
  std::unique_ptr<auth::GrpcTls> grpc_tls_;  // outlives grpc_server_
  std::unique_ptr<grpc::Server> grpc_server_;
  int grpc_port_ = 0;
  bool shut_down_ = false;
};

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(
    GatewayOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  absl::Status started = impl->Start();
  if (!started.ok()) {
    impl->Shutdown();
    return started;
  }
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() = default;
int Gateway::grpc_port() const { return impl_->grpc_port(); }
int Gateway::http_port() const { return impl_->http_port(); }
int Gateway::admin_port() const { return impl_->admin_port(); }
void Gateway::Shutdown() { impl_->Shutdown(); }
std::vector<TlsReload> Gateway::ReloadTls() { return impl_->ReloadTls(); }

}  // namespace wagate::server
