#include "service/webhook/ingress.h"

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "service/common/hmac.h"
#include "service/common/log.h"
#include "service/webhook/parser.h"
#include "service/webhook/signature.h"

namespace wagate::webhook {

struct Ingress::Counters {
  std::atomic<uint64_t> verify_ok{0};
  std::atomic<uint64_t> verify_refused{0};
  std::atomic<uint64_t> posts_ok{0};
  std::atomic<uint64_t> posts_unauthenticated{0};
  std::atomic<uint64_t> posts_forbidden{0};
  std::atomic<uint64_t> posts_invalid{0};
  std::atomic<uint64_t> posts_too_large{0};
  std::atomic<uint64_t> posts_store_unavailable{0};

  absl::Mutex mu;
  std::map<std::string, IngressStats::FieldCounts> by_field ABSL_GUARDED_BY(mu);
};

namespace {

constexpr absl::string_view kComponent = "webhook";

http::Response Text(int status, std::string body) {
  http::Response response = http::TextResponse(status, std::move(body));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

// Answers `status` and counts it in wagate_webhook_requests_total.
void Answer(metrics::GatewayMetrics* metrics, const http::Responder& respond,
            int status, std::string body) {
  if (metrics != nullptr) {
    metrics->webhook_requests->Get({absl::StrCat(status)})->Increment();
  }
  respond(Text(status, std::move(body)));
}

// Compares secrets without revealing their length or where they differ:
// both sides are hashed to a fixed size first.
bool SecretEquals(absl::string_view given, absl::string_view expected) {
  constexpr absl::string_view kKey = "wagate-verify-token";
  return common::ConstantTimeEquals(common::HmacSha256Hex(kKey, given),
                                    common::HmacSha256Hex(kKey, expected));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Ingress>> Ingress::Create(IngressOptions options,
                                                         events::Store* store) {
  if (options.app_secrets.empty()) {
    return absl::InvalidArgumentError(
        "webhook ingress: no app secret configured (needed to verify "
        "X-Hub-Signature-256)");
  }
  for (const std::string& secret : options.app_secrets) {
    if (secret.empty()) {
      return absl::InvalidArgumentError("webhook ingress: empty app secret");
    }
  }
  if (options.verify_token.empty()) {
    return absl::InvalidArgumentError(
        "webhook ingress: no verify token configured");
  }
  if (store == nullptr) {
    return absl::InvalidArgumentError("webhook ingress: no event store");
  }
  if (options.path.empty() || options.path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "webhook ingress: path must start with '/': ", options.path));
  }
  if (!options.clock) options.clock = [] { return absl::Now(); };
  return std::unique_ptr<Ingress>(new Ingress(std::move(options), store));
}

Ingress::Ingress(IngressOptions options, events::Store* store)
    : options_(std::move(options)),
      store_(store),
      counters_(std::make_shared<Counters>()) {}

Ingress::~Ingress() = default;

void Ingress::RegisterRoutes(http::Server& server) {
  server.Handle("GET", options_.path,
                [this](http::Request request, http::Responder respond) {
                  HandleVerify(request, std::move(respond));
                });
  // An unsigned POST is refused from its header, before its body is read,
  // with the answer and counts HandlePost would give it.
  http::RouteOptions signed_only;
  signed_only.required_headers = {std::string(kSignatureHeader)};
  signed_only.on_missing_header =
      [counters = counters_, metrics = options_.metrics](
          const http::Request& head, absl::string_view) {
        counters->posts_unauthenticated.fetch_add(1, std::memory_order_relaxed);
        log::Warning(kComponent, "webhook signature refused",
                     {{"remote", head.remote_address},
                      {"error", "missing X-Hub-Signature-256 header"}});
        if (metrics != nullptr) {
          metrics->webhook_requests->Get({"401"})->Increment();
        }
        return Text(401, "Unauthorized\n");
      };
  server.Handle(
      "POST", options_.path,
      [this](http::Request request, http::Responder respond) {
        HandlePost(std::move(request), std::move(respond));
      },
      std::move(signed_only));
}

void Ingress::HandleVerify(const http::Request& request,
                           http::Responder respond) {
  absl::optional<std::string> mode = request.QueryParam("hub.mode");
  absl::optional<std::string> token = request.QueryParam("hub.verify_token");
  absl::optional<std::string> challenge = request.QueryParam("hub.challenge");
  // Evaluate the token check even when the mode is wrong: no shortcut that
  // timing could reveal.
  const bool token_ok =
      token.has_value() && SecretEquals(*token, options_.verify_token);
  if (mode.value_or("") != "subscribe" || !token_ok || !challenge.has_value()) {
    counters_->verify_refused.fetch_add(1, std::memory_order_relaxed);
    log::Warning(kComponent, "webhook verification refused",
                 {{"remote", request.remote_address},
                  {"mode_ok", mode.value_or("") == "subscribe" ? "1" : "0"},
                  {"token_ok", token_ok ? "1" : "0"}});
    Answer(options_.metrics, respond, 403, "Forbidden\n");
    return;
  }
  counters_->verify_ok.fetch_add(1, std::memory_order_relaxed);
  log::Info(kComponent, "webhook verification accepted",
            {{"remote", request.remote_address}});
  Answer(options_.metrics, respond, 200, std::move(*challenge));
}

void Ingress::HandlePost(http::Request request, http::Responder respond) {
  Counters& counters = *counters_;
  if (request.body.size() > options_.max_body_bytes) {
    counters.posts_too_large.fetch_add(1, std::memory_order_relaxed);
    log::Warning(kComponent, "webhook body too large",
                 {{"remote", request.remote_address},
                  {"bytes", absl::StrCat(request.body.size())}});
    Answer(options_.metrics, respond, 413, "Payload Too Large\n");
    return;
  }

  absl::Status signature = VerifySignature(request.Header(kSignatureHeader),
                                           request.body, options_.app_secrets);
  if (!signature.ok()) {
    const bool missing = signature.code() == absl::StatusCode::kUnauthenticated;
    (missing ? counters.posts_unauthenticated : counters.posts_forbidden)
        .fetch_add(1, std::memory_order_relaxed);
    log::Warning(kComponent, "webhook signature refused",
                 {{"remote", request.remote_address},
                  {"error", std::string(signature.message())}});
    Answer(options_.metrics, respond, missing ? 401 : 403,
           missing ? "Unauthorized\n" : "Forbidden\n");
    return;
  }

  const absl::Time received_at = options_.clock();
  absl::StatusOr<std::vector<wagate::v1::Event>> events =
      ParseWebhook(request.body, received_at);
  if (!events.ok()) {
    counters.posts_invalid.fetch_add(1, std::memory_order_relaxed);
    // The parser's message names the problem, never the body's content.
    log::Warning(kComponent, "webhook body refused",
                 {{"remote", request.remote_address},
                  {"bytes", absl::StrCat(request.body.size())},
                  {"error", std::string(events.status().message())}});
    Answer(options_.metrics, respond, 400, "Bad Request\n");
    return;
  }
  if (events->empty()) {
    counters.posts_ok.fetch_add(1, std::memory_order_relaxed);
    Answer(options_.metrics, respond, 200, "OK\n");
    return;
  }

  std::vector<events::EventRecord> records;
  records.reserve(events->size());
  std::vector<std::string> fields;
  fields.reserve(events->size());
  for (wagate::v1::Event& event : *events) {
    events::EventRecord& record = records.emplace_back();
    record.id = event.id();
    record.kind = std::string(EventKind(event));
    record.phone_number_id = event.phone_number_id();
    record.waba_id = event.waba_id();
    record.received_at = received_at;
    event.SerializeToString(&record.payload);
    fields.push_back(std::move(*event.mutable_field()));
  }

  std::shared_ptr<Counters> shared = counters_;
  std::string remote = std::move(request.remote_address);
  metrics::GatewayMetrics* metrics = options_.metrics;
  // Ack latency is measured from here, with the wall clock (the injected
  // clock is for received_at only).
  const absl::Time started = absl::Now();
  store_->Append(
      std::move(records),
      [shared = std::move(shared), fields = std::move(fields),
       remote = std::move(remote), respond = std::move(respond), metrics,
       started](absl::StatusOr<events::AppendResult> result) {
        Counters& c = *shared;
        if (!result.ok()) {
          c.posts_store_unavailable.fetch_add(1, std::memory_order_relaxed);
          {
            absl::MutexLock lock(&c.mu);
            for (const std::string& field : fields) c.by_field[field].failed++;
          }
          if (metrics != nullptr) {
            for (const std::string& field : fields) {
              metrics->webhook_events->Get({field, "failed"})->Increment();
            }
          }
          log::Warning(kComponent, "webhook events not stored; answering 503",
                       {{"remote", remote},
                        {"events", absl::StrCat(fields.size())},
                        {"error", result.status().ToString()}});
          Answer(metrics, respond, 503, "Service Unavailable\n");
          return;
        }
        {
          absl::MutexLock lock(&c.mu);
          for (size_t i = 0; i < fields.size(); ++i) {
            const bool duplicate =
                i < result->items.size() && result->items[i].duplicate;
            IngressStats::FieldCounts& counts = c.by_field[fields[i]];
            (duplicate ? counts.duplicate : counts.stored)++;
          }
        }
        if (metrics != nullptr) {
          for (size_t i = 0; i < fields.size(); ++i) {
            const bool duplicate =
                i < result->items.size() && result->items[i].duplicate;
            metrics->webhook_events
                ->Get({fields[i], duplicate ? "duplicate" : "stored"})
                ->Increment();
          }
          metrics->webhook_ack_duration->ObserveDuration(absl::Now() - started);
        }
        c.posts_ok.fetch_add(1, std::memory_order_relaxed);
        Answer(metrics, respond, 200, "OK\n");
      });
}

IngressStats Ingress::stats() const {
  const Counters& c = *counters_;
  IngressStats stats;
  stats.verify_ok = c.verify_ok.load(std::memory_order_relaxed);
  stats.verify_refused = c.verify_refused.load(std::memory_order_relaxed);
  stats.posts_ok = c.posts_ok.load(std::memory_order_relaxed);
  stats.posts_unauthenticated =
      c.posts_unauthenticated.load(std::memory_order_relaxed);
  stats.posts_forbidden = c.posts_forbidden.load(std::memory_order_relaxed);
  stats.posts_invalid = c.posts_invalid.load(std::memory_order_relaxed);
  stats.posts_too_large = c.posts_too_large.load(std::memory_order_relaxed);
  stats.posts_store_unavailable =
      c.posts_store_unavailable.load(std::memory_order_relaxed);
  absl::MutexLock lock(&counters_->mu);
  stats.events_by_field = counters_->by_field;
  return stats;
}

}  // namespace wagate::webhook
