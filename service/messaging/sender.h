// The send path shared by Send, SendStream and MarkRead:
//   validate → account → idempotency → pacer → graph::GraphClient → parse,
// with retries only where no duplicate can result (retry.h).
//
// Guarantees:
//  - Nothing reaches Graph for an invalid request (INVALID_ARGUMENT naming
//    the field) or a phone_number_id the accounts do not serve
//    (FAILED_PRECONDITION naming it, from config::Accounts).
//  - Every failure is a grpc::Status whose details carry a
//    wagate.v1.GraphError (graph::GraphErrorFromGrpcStatus reads it): Graph's
//    error, a pacing refusal (RESOURCE_EXHAUSTED + retry_delay), or a
//    transport failure (outcome_unknown = true when the request may have
//    reached Meta: it is then never resent).
//  - Every Graph exchange goes through the one graph::GraphClient: one URL
//    builder, one Authorization header, one redaction of the access token
//    (so it never reaches a status, a GraphError or a stored result), one
//    latency observer.
//  - idempotency_key, scoped by the calling client (its API key's name; ""
//    with authentication off) and phone_number_id: the first result
//    (success, or an ambiguous failure) is kept in the store for 24 h and
//    answered to repeats without sending; a concurrent repeat in this
//    process waits for the first; a send that failed before anything
//    reached Meta releases the key so a retry may send. A key held by
//    another process sharing the store is polled until it completes; if it
//    does not before the deadline (e.g. that process died mid-send: the
//    outcome is unknown), ABORTED. The key is bound to what would be sent
//    (a SHA-256 of phone_number_id and the Graph JSON): the same key with a
//    different request is ALREADY_EXISTS naming idempotency_key, and nothing
//    is sent.
//  - The store is only ever called through its asynchronous
//    events::IdempotencyKeys: no gRPC or io thread waits for a commit or a
//    Redis round trip; its callbacks are posted back to the io_context.
//
//   graph::GraphClient graph(http_client, graph::GraphClientOptions{});
//   Sender sender(io, graph, accounts, store->idempotency_keys(),
//                 SenderOptions{});
//   sender.Send("client-name", request, deadline, [](SendOutcome o) {...});
//
// Thread-safe. `done` runs exactly once, on the caller's thread (immediate
// answers) or an io_context thread. The Sender must outlive its calls: stop
// the gRPC server and the io_context before destroying it.
#ifndef WAGATE_SERVICE_MESSAGING_SENDER_H_
#define WAGATE_SERVICE_MESSAGING_SENDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "grpcpp/support/status.h"
#include "service/config/accounts.h"
#include "service/events/idempotency_keys.h"
#include "service/graph/graph_client.h"
#include "service/messaging/pacer.h"
#include "service/messaging/retry.h"
#include "service/metrics/gateway_metrics.h"
#include "wagate/v1/errors.pb.h"
#include "wagate/v1/messaging.pb.h"

namespace wagate::messaging {

// Meta's upgraded per-number throughput (CLOUD_API.md §5).
inline constexpr int kHighThroughputMps = 1000;

struct SendOutcome {
  grpc::Status status;        // OK, or the failure with a GraphError detail
  v1::SendResponse response;  // when OK
  v1::GraphError error;       // when failed (the same as in the details)
};

struct MarkReadOutcome {
  grpc::Status status;
  v1::GraphError error;
};

struct SenderOptions {
  // For calls without a deadline (a gRPC call with none, a stream request).
  absl::Duration default_timeout = absl::Seconds(60);
  absl::Duration idempotency_ttl = absl::Hours(24);
  // How often a repeat polls the store while another gateway holds the key.
  absl::Duration idempotency_poll = absl::Milliseconds(100);
  RetryPolicy retry;
  // The pacer holds each slot until Graph answers and starts the window
  // then (Meta counts on arrival, which is before its answer); the 10 ms
  // over 1 s absorb clock granularity at Meta's side.
  absl::Duration pacer_window = absl::Milliseconds(1010);
  int default_mps = 80;
  // Single-account mode serves any number, so the phone_number_id label of
  // results is bounded: a number gets its own label after its first
  // successful send, for at most this many numbers; the rest are "other".
  size_t max_number_labels = 1000;
  // Where to count sends and pacer waits; null: nowhere (Stats() still
  // works). Production: &metrics::GatewayMetrics::Global(). Graph latency
  // is the GraphClient's observer's business.
  metrics::GatewayMetrics* metrics = nullptr;
  // Replicas sharing a Redis: pace together (shared_pacing.h); null: this
  // gateway alone paces (SQLite store).
  std::shared_ptr<SharedPacingGate> shared_pacing;
};

// Counters for metrics. `results` is keyed by (number label, result, graph
// code). The number label is the phone_number_id for a number the accounts
// configure (multi-account) or that has sent successfully (single-account,
// up to SenderOptions::max_number_labels); "invalid" for a value that is not
// a phone number ID (empty, not digits, over 32 characters); "other" for the
// rest — so neither map nor metric grows with what callers make up. result
// is "ok", "graph_error", "transport_error", "outcome_unknown", "invalid",
// "not_configured", "paced_out", "replayed", "idempotency_conflict" (held
// elsewhere past the deadline), "idempotency_mismatch" (the key came with a
// different request), "store_error".
struct SenderStats {
  std::map<std::tuple<std::string, std::string, int>, uint64_t> results;
  uint64_t retries = 0;
  uint64_t graph_requests = 0;
  PacerStats pacer;
};

class Sender {
 public:
  using SendCallback = std::function<void(SendOutcome)>;
  using MarkReadCallback = std::function<void(MarkReadOutcome)>;

  // `graph` (every Graph call goes through it) and `accounts` must outlive
  // the Sender. `keys` may be null: idempotency keys then only join
  // concurrent repeats in this process.
  Sender(boost::asio::io_context& io, graph::GraphClient& graph,
         const config::Accounts& accounts, events::IdempotencyKeys* keys,
         SenderOptions options);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Sends for `client`, the caller's identity that scopes idempotency keys
  // (auth::MakeClientIdentity; "" when authentication is off).
  void Send(absl::string_view client, v1::SendRequest request,
            absl::Time deadline, SendCallback done);
  // The same for the anonymous client "".
  void Send(v1::SendRequest request, absl::Time deadline, SendCallback done) {
    Send("", std::move(request), deadline, std::move(done));
  }
  void MarkRead(v1::MarkReadRequest request, absl::Time deadline,
                MarkReadCallback done);

  // Sets each configured number's throughput from the accounts.
  void ApplyConfiguredThroughput();
  // Asks Graph for each number's throughput level (`GET /{id}?fields=
  // throughput`, at start-up) and sets the pacer to kHighThroughputMps for
  // level HIGH; other levels keep the configured value. `done` gets OK or
  // the first failure (numbers that answered are applied anyway).
  void LearnThroughput(std::vector<std::string> phone_number_ids,
                       std::function<void(absl::Status)> done);
  // Sets a number's messages per second (e.g. on a THROUGHPUT_UPGRADE
  // webhook: 1000).
  void SetThroughput(absl::string_view phone_number_id, int mps) {
    pacer_->SetThroughput(phone_number_id, mps);
  }
  Pacer& pacer() { return *pacer_; }
  SenderStats Stats() const;
  // Fails waiting requests (pacer) with UNAVAILABLE.
  void Shutdown();

 private:
  struct Op;
  struct Attempt {
    int http_status = 0;  // 0: transport failure
    std::string body;
    grpc::Status status;  // failure, when not a 2xx
    v1::GraphError error;
    bool may_have_reached_meta = false;
  };
  using AttemptCallback = std::function<void(Attempt)>;

  void SendValidated(v1::SendRequest request, std::string body,
                     std::string token, absl::Time deadline, SendCallback done);
  void Post(const char* operation, std::string phone_number_id,
            std::string recipient, std::string body, std::string token,
            absl::Time deadline, AttemptCallback done);
  void StartAttempt(std::shared_ptr<Op> op);
  void SendHttp(std::shared_ptr<Op> op);
  void OnGraphDone(std::shared_ptr<Op> op, graph::GraphResult result);
  void RetryOrFail(std::shared_ptr<Op> op, v1::GraphError error,
                   grpc::Status status, bool maybe_sent);
  // What to do with a reserved key when its send ends.
  enum class KeyAction { kNone, kComplete, kAbandon };
  struct KeyedSend {
    v1::SendRequest request;
    std::string scoped_key;
    std::string fingerprint;
    std::string body;
    std::string token;
    absl::Time deadline;
  };
  // Idempotency keys being sent by this process: what they were reserved
  // for, and the callers waiting (the first included).
  struct KeyInFlight {
    std::string fingerprint;
    std::vector<SendCallback> waiters;
  };
  void BeginKeyed(std::shared_ptr<KeyedSend> keyed);
  void OnBegin(std::shared_ptr<KeyedSend> keyed,
               absl::StatusOr<events::IdempotencyResult> begin);
  void FinishIdempotent(const std::string& scoped_key, SendOutcome o,
                        KeyAction action);
  void AnswerWaiters(const std::string& scoped_key, const SendOutcome& o);
  void Count(const std::string& phone_number_id, const char* result, int code);
  std::string NumberLabelLocked(const std::string& phone_number_id, bool ok)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CountPacer(const absl::Status& s, absl::Duration waited);
  double UnitRandom();

  boost::asio::io_context& io_;
  graph::GraphClient& graph_;
  const config::Accounts& accounts_;
  events::IdempotencyKeys* const keys_;
  const SenderOptions options_;
  // The numbers the accounts configure (multi-account mode): labelled.
  absl::flat_hash_set<std::string> configured_numbers_;
  std::shared_ptr<Pacer> pacer_;
  // Timers and store callbacks check it: they may fire after the Sender is
  // gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, KeyInFlight> in_flight_keys_
      ABSL_GUARDED_BY(mu_);
  std::map<std::tuple<std::string, std::string, int>, uint64_t> results_
      ABSL_GUARDED_BY(mu_);
  // Single-account mode: the numbers labelled so far.
  absl::flat_hash_set<std::string> labelled_numbers_ ABSL_GUARDED_BY(mu_);
  uint64_t retries_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t graph_requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
};

// The pacing key of a recipient: the digits of a phone number (so "+1 650…"
// and "1650…" share one pair limit), or a group id as given.
std::string RecipientKey(const v1::SendRequest& request);

// The store key of an idempotency_key: client, phone_number_id and key,
// each length-prefixed ("6:client15:106540352242922order-42"), so no name
// or key can be read as another.
std::string ScopedIdempotencyKey(absl::string_view client,
                                 absl::string_view phone_number_id,
                                 absl::string_view idempotency_key);
// The raw SHA-256 of what a send would put on the wire: phone_number_id
// (length-prefixed) and the Graph JSON body (graph::BuildSendJson).
std::string RequestFingerprint(absl::string_view phone_number_id,
                               absl::string_view graph_body);

// A stored idempotent result and back.
std::string EncodeOutcome(const SendOutcome& outcome);
SendOutcome DecodeOutcome(const std::string& stored);

}  // namespace wagate::messaging

#endif  // WAGATE_SERVICE_MESSAGING_SENDER_H_
