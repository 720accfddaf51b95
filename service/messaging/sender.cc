#include "service/messaging/sender.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "service/common/log.h"
#include "service/graph/graph_error.h"
#include "service/graph/graph_response.h"
#include "service/graph/send_request_json.h"
#include "service/messaging/validation.h"

namespace wagate::messaging {
namespace {

// The HTTP exchange must end a little before the gRPC deadline so the caller
// hears what happened (e.g. outcome_unknown) instead of a bare
// DEADLINE_EXCEEDED from its own stub. The answer still has to reach the
// caller, whose clock started before ours (the deadline travels as a
// relative timeout): a tenth of the time left, within these bounds. (A flat
// 20 ms lost that race on a loaded 2-core machine.)
constexpr absl::Duration kMinDeadlineMargin = absl::Milliseconds(20);
constexpr absl::Duration kMaxDeadlineMargin = absl::Milliseconds(250);
constexpr absl::Duration kMinHttpTimeout = absl::Milliseconds(5);

absl::Duration HttpTimeout(absl::Duration left) {
  const absl::Duration margin =
      std::clamp(left / 10, kMinDeadlineMargin, kMaxDeadlineMargin);
  return std::max(kMinHttpTimeout, left - margin);
}

grpc::StatusCode ToGrpcCode(absl::StatusCode code) {
  return static_cast<grpc::StatusCode>(static_cast<int>(code));
}

// A failure raised by wagate itself (validation, config, pacing), in the
// same shape as Graph's: a GraphError with code 0 in the details.
SendOutcome LocalFailure(absl::StatusCode code, std::string message,
                         absl::Duration retry_delay = absl::ZeroDuration()) {
  SendOutcome o;
  o.error.set_message(message);
  o.error.set_details(message);
  if (retry_delay > absl::ZeroDuration()) {
    const int64_t nanos = absl::ToInt64Nanoseconds(retry_delay);
    o.error.mutable_retry_delay()->set_seconds(nanos / 1'000'000'000);
    o.error.mutable_retry_delay()->set_nanos(
        static_cast<int32_t>(nanos % 1'000'000'000));
  }
  o.status = graph::StatusWithGraphError(ToGrpcCode(code), std::move(message),
                                         o.error);
  return o;
}

// Label values longer than this are never a phone number ID.
constexpr size_t kMaxPhoneNumberIdLength = 32;

bool IsPhoneNumberId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxPhoneNumberIdLength) return false;
  for (char c : id) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

SendOutcome IdempotencyMismatch() {
  return LocalFailure(absl::StatusCode::kAlreadyExists,
                      "idempotency_key: already used for a different request");
}

// The stored fingerprint differs from this request's. Keys stored before
// fingerprints existed have none and match anything.
bool Mismatch(const std::string& stored, const std::string& mine) {
  return !stored.empty() && stored != mine;
}

// Runs `fn` on `io` unless `alive` has expired by then. For store
// callbacks: they come on store threads, which must not run send logic, and
// could come after the Sender is gone, so only the arguments are touched.
void PostIfAlive(boost::asio::io_context& io, std::weak_ptr<bool> alive,
                 std::function<void()> fn) {
  boost::asio::post(io, [alive = std::move(alive), fn = std::move(fn)] {
    if (alive.lock()) fn();
  });
}

}  // namespace

struct Sender::Op {
  const char* operation;  // metrics label: "send_message", "mark_read"
  std::string phone_number_id;
  std::string recipient;
  std::string path;  // "/{phone_number_id}/messages"
  std::string body;
  std::string token;
  absl::Time deadline;
  int retry = 0;
  AttemptCallback done;
};

std::string RecipientKey(const v1::SendRequest& request) {
  if (request.recipient_type() == v1::RECIPIENT_TYPE_GROUP) {
    return request.to();
  }
  std::string digits;
  for (char c : request.to()) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  return digits;
}

std::string ScopedIdempotencyKey(absl::string_view client,
                                 absl::string_view phone_number_id,
                                 absl::string_view idempotency_key) {
  return absl::StrCat(client.size(), ":", client, phone_number_id.size(), ":",
                      phone_number_id, idempotency_key);
}

std::string RequestFingerprint(absl::string_view phone_number_id,
                               absl::string_view graph_body) {
  const std::string input =
      absl::StrCat(phone_number_id.size(), ":", phone_number_id, graph_body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    // Never expected; a fingerprint of the input itself still compares
    // requests correctly.
    return input;
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string EncodeOutcome(const SendOutcome& outcome) {
  v1::SendResult result;
  if (outcome.status.ok()) {
    *result.mutable_response() = outcome.response;
  } else {
    v1::SendError* e = result.mutable_error();
    e->set_code(static_cast<int>(outcome.status.error_code()));
    e->set_message(outcome.status.error_message());
    *e->mutable_graph_error() = outcome.error;
  }
  return result.SerializeAsString();
}

SendOutcome DecodeOutcome(const std::string& stored) {
  v1::SendResult result;
  SendOutcome o;
  if (!result.ParseFromString(stored)) {
    return LocalFailure(absl::StatusCode::kInternal,
                        "the stored result of this idempotency_key is "
                        "unreadable");
  }
  if (result.has_response()) {
    o.response = result.response();
    return o;
  }
  o.error = result.error().graph_error();
  o.status = graph::StatusWithGraphError(
      static_cast<grpc::StatusCode>(result.error().code()),
      result.error().message(), o.error);
  return o;
}

Sender::Sender(boost::asio::io_context& io, graph::GraphClient& graph,
               const config::Accounts& accounts, events::IdempotencyKeys* keys,
               SenderOptions options)
    : io_(io),
      graph_(graph),
      accounts_(accounts),
      keys_(keys),
      options_(std::move(options)),
      rng_(std::random_device{}()) {
  if (!accounts_.single_account()) {
    for (const config::PhoneNumberAccount& a : accounts_.ConfiguredNumbers()) {
      configured_numbers_.insert(a.phone_number_id);
    }
  }
  Pacer::Options pacer_options;
  pacer_options.default_mps = options_.default_mps;
  pacer_options.window = options_.pacer_window;
  pacer_options.hold_until_finished = true;
  pacer_options.shared = options_.shared_pacing;
  pacer_ = Pacer::Create(io_.get_executor(), std::move(pacer_options));
}

Sender::~Sender() { pacer_->Shutdown(); }

void Sender::Shutdown() { pacer_->Shutdown(); }

void Sender::ApplyConfiguredThroughput() {
  for (const config::PhoneNumberAccount& a : accounts_.ConfiguredNumbers()) {
    pacer_->SetThroughput(a.phone_number_id,
                          static_cast<int>(a.throughput_mps));
  }
}

void Sender::LearnThroughput(std::vector<std::string> phone_number_ids,
                             std::function<void(absl::Status)> done) {
  struct Pending {
    absl::Mutex mu;
    size_t left ABSL_GUARDED_BY(mu);
    absl::Status first ABSL_GUARDED_BY(mu);
    std::function<void(absl::Status)> done;
  };
  if (phone_number_ids.empty()) {
    done(absl::OkStatus());
    return;
  }
  auto pending = std::make_shared<Pending>();
  {
    absl::MutexLock lock(&pending->mu);
    pending->left = phone_number_ids.size();
  }
  pending->done = std::move(done);
  auto finish_one = [pending](absl::Status s) {
    std::function<void(absl::Status)> done;
    absl::Status result;
    {
      absl::MutexLock lock(&pending->mu);
      if (!s.ok() && pending->first.ok()) pending->first = s;
      if (--pending->left > 0) return;
      result = pending->first;
      done = std::move(pending->done);
    }
    done(result);
  };
  for (const std::string& id : phone_number_ids) {
    absl::StatusOr<config::PhoneNumberAccount> account =
        accounts_.ForPhoneNumber(id);
    if (!account.ok()) {
      finish_one(account.status());
      continue;
    }
    graph::GraphCall call;
    call.method = "GET";
    call.path = absl::StrCat("/", id);
    call.query = {{"fields", "throughput"}};
    call.access_token = std::move(account->access_token);
    call.deadline = absl::Now() + absl::Seconds(10);
    call.operation = "get_throughput";
    graph_.Call(std::move(call), [this, id, finish_one](graph::GraphResult r) {
      if (!r.ok()) {
        // The GraphClient's message: mapped, token redacted.
        finish_one(absl::UnavailableError(absl::StrCat(
            "GET throughput of ", id, ": ", r.status.error_message())));
        return;
      }
      graph::JsonDocument doc;
      if (absl::Status s = doc.Parse(r.body); !s.ok()) {
        finish_one(s);
        return;
      }
      const std::string level =
          doc.root().GetObject("throughput").GetString("level");
      if (level == "HIGH") pacer_->SetThroughput(id, kHighThroughputMps);
      log::Info("messaging", "throughput level",
                {{"phone_number_id", id},
                 {"level", level},
                 {"mps", absl::StrCat(pacer_->Throughput(id))}});
      finish_one(absl::OkStatus());
    });
  }
}

double Sender::UnitRandom() {
  absl::MutexLock lock(&mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

std::string Sender::NumberLabelLocked(const std::string& phone_number_id,
                                      bool ok) {
  if (!IsPhoneNumberId(phone_number_id)) return "invalid";
  if (!accounts_.single_account()) {
    return configured_numbers_.contains(phone_number_id) ? phone_number_id
                                                         : "other";
  }
  // Any number is served: only ones Meta accepted a send from earn a label,
  // and only so many.
  if (labelled_numbers_.contains(phone_number_id)) return phone_number_id;
  if (ok && labelled_numbers_.size() < options_.max_number_labels) {
    labelled_numbers_.insert(phone_number_id);
    return phone_number_id;
  }
  return "other";
}

void Sender::Count(const std::string& phone_number_id, const char* result,
                   int code) {
  std::string label;
  {
    absl::MutexLock lock(&mu_);
    label = NumberLabelLocked(phone_number_id, std::strcmp(result, "ok") == 0);
    ++results_[std::make_tuple(label, std::string(result), code)];
  }
  if (options_.metrics != nullptr) {
    const std::string code_text = absl::StrCat(code);
    options_.metrics->messages_sent->Get({label, result, code_text})
        ->Increment();
  }
}

SenderStats Sender::Stats() const {
  SenderStats s;
  {
    absl::MutexLock lock(&mu_);
    s.results = results_;
    s.retries = retries_;
    s.graph_requests = graph_requests_;
  }
  s.pacer = pacer_->Stats();
  return s;
}

// ---------------------------------------------------------------- Send

void Sender::Send(absl::string_view client, v1::SendRequest request,
                  absl::Time deadline, SendCallback done) {
  if (absl::Status s = ValidateSendRequest(request); !s.ok()) {
    Count(request.phone_number_id(), "invalid", 0);
    done(LocalFailure(s.code(), std::string(s.message())));
    return;
  }
  absl::StatusOr<config::PhoneNumberAccount> account =
      accounts_.ForPhoneNumber(request.phone_number_id());
  if (!account.ok()) {
    Count(request.phone_number_id(), "not_configured", 0);
    done(LocalFailure(absl::StatusCode::kFailedPrecondition,
                      std::string(account.status().message())));
    return;
  }
  absl::StatusOr<std::string> body = graph::BuildSendJson(request);
  if (!body.ok()) {
    Count(request.phone_number_id(), "invalid", 0);
    done(LocalFailure(body.status().code(),
                      std::string(body.status().message())));
    return;
  }
  if (deadline == absl::InfiniteFuture()) {
    deadline = absl::Now() + options_.default_timeout;
  } else if (deadline <= absl::Now()) {
    done(LocalFailure(absl::StatusCode::kDeadlineExceeded,
                      "the deadline passed before sending"));
    return;
  }
  if (request.idempotency_key().empty()) {
    SendValidated(std::move(request), *std::move(body),
                  std::move(account->access_token), deadline, std::move(done));
    return;
  }

  // Idempotent: join a send of the same key in flight here, or consult the
  // store.
  std::string scoped = ScopedIdempotencyKey(client, request.phone_number_id(),
                                            request.idempotency_key());
  std::string fingerprint =
      RequestFingerprint(request.phone_number_id(), *body);
  bool in_flight_for_another = false;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = in_flight_keys_.try_emplace(scoped);
    if (inserted) {
      it->second.fingerprint = fingerprint;
      it->second.waiters.push_back(std::move(done));
    } else if (Mismatch(it->second.fingerprint, fingerprint)) {
      in_flight_for_another = true;
    } else {
      it->second.waiters.push_back(std::move(done));
      return;
    }
  }
  if (in_flight_for_another) {
    Count(request.phone_number_id(), "idempotency_mismatch", 0);
    done(IdempotencyMismatch());
    return;
  }
  auto keyed = std::make_shared<KeyedSend>();
  keyed->scoped_key = std::move(scoped);
  keyed->fingerprint = std::move(fingerprint);
  keyed->body = *std::move(body);
  keyed->token = std::move(account->access_token);
  keyed->deadline = deadline;
  keyed->request = std::move(request);
  BeginKeyed(std::move(keyed));
}

void Sender::BeginKeyed(std::shared_ptr<KeyedSend> keyed) {
  if (keys_ == nullptr) {
    OnBegin(std::move(keyed), events::IdempotencyResult{});
    return;
  }
  std::string scoped = keyed->scoped_key;
  std::string fingerprint = keyed->fingerprint;
  keys_->Begin(std::move(scoped), std::move(fingerprint),
               options_.idempotency_ttl,
               [this, io = &io_, alive = std::weak_ptr<bool>(alive_),
                keyed = std::move(keyed)](
                   absl::StatusOr<events::IdempotencyResult> begin) mutable {
                 PostIfAlive(*io, std::move(alive),
                             [this, keyed = std::move(keyed),
                              begin = std::move(begin)]() mutable {
                               OnBegin(std::move(keyed), std::move(begin));
                             });
               });
}

void Sender::OnBegin(std::shared_ptr<KeyedSend> keyed,
                     absl::StatusOr<events::IdempotencyResult> begin) {
  const std::string& phone = keyed->request.phone_number_id();
  const std::string& scoped = keyed->scoped_key;
  if (!begin.ok()) {
    Count(phone, "store_error", 0);
    FinishIdempotent(scoped,
                     LocalFailure(absl::StatusCode::kUnavailable,
                                  absl::StrCat("idempotency store: ",
                                               begin.status().message())),
                     KeyAction::kNone);
    return;
  }
  if (begin->state != events::IdempotencyState::kNew &&
      Mismatch(begin->fingerprint, keyed->fingerprint)) {
    Count(phone, "idempotency_mismatch", 0);
    FinishIdempotent(scoped, IdempotencyMismatch(), KeyAction::kNone);
    return;
  }
  if (begin->state == events::IdempotencyState::kDone) {
    Count(phone, "replayed", 0);
    FinishIdempotent(scoped, DecodeOutcome(begin->result), KeyAction::kNone);
    return;
  }
  if (begin->state == events::IdempotencyState::kInProgress) {
    // Another gateway (sharing the store) is sending it: wait for its
    // result within the deadline, polling.
    const absl::Time next = absl::Now() + options_.idempotency_poll;
    if (next < keyed->deadline) {
      auto timer = std::make_shared<boost::asio::steady_timer>(io_);
      timer->expires_after(
          absl::ToChronoNanoseconds(options_.idempotency_poll));
      std::weak_ptr<bool> alive = alive_;
      timer->async_wait([this, timer, alive, keyed = std::move(keyed)](
                            const boost::system::error_code&) mutable {
        if (alive.lock()) BeginKeyed(std::move(keyed));
      });
      return;
    }
    Count(phone, "idempotency_conflict", 0);
    FinishIdempotent(
        scoped,
        LocalFailure(absl::StatusCode::kAborted,
                     "a send with this idempotency_key is in progress "
                     "elsewhere (or was interrupted with an unknown "
                     "outcome) and did not finish before the deadline; "
                     "not sending it again"),
        KeyAction::kNone);
    return;
  }
  std::string scoped_copy = scoped;
  SendValidated(std::move(keyed->request), std::move(keyed->body),
                std::move(keyed->token), keyed->deadline,
                [this, scoped = std::move(scoped_copy)](SendOutcome o) {
                  // Keep the result unless nothing reached Meta or Meta
                  // refused it (a retry may then send).
                  const bool keep = o.status.ok() || o.error.outcome_unknown();
                  FinishIdempotent(
                      scoped, std::move(o),
                      keep ? KeyAction::kComplete : KeyAction::kAbandon);
                });
}

void Sender::FinishIdempotent(const std::string& scoped_key, SendOutcome o,
                              KeyAction action) {
  if (keys_ == nullptr || action == KeyAction::kNone) {
    AnswerWaiters(scoped_key, o);
    return;
  }
  // Repeats are answered once the store has the result (or has released the
  // key), so a repeat arriving after the answer finds it there.
  auto outcome = std::make_shared<SendOutcome>(std::move(o));
  std::string scoped = scoped_key;
  auto answer = [this, io = &io_, alive = std::weak_ptr<bool>(alive_), scoped,
                 outcome,
                 complete = action == KeyAction::kComplete](absl::Status s) {
    PostIfAlive(*io, std::move(alive),
                [this, scoped, outcome, complete, s = std::move(s)] {
                  if (!s.ok()) {
                    log::Warning(
                        "messaging", "idempotency store write failed",
                        {{"operation", complete ? "complete" : "abandon"},
                         {"error", std::string(s.message())}});
                  }
                  AnswerWaiters(scoped, *outcome);
                });
  };
  if (action == KeyAction::kComplete) {
    keys_->Complete(std::move(scoped), EncodeOutcome(*outcome),
                    std::move(answer));
  } else {
    keys_->Abandon(std::move(scoped), std::move(answer));
  }
}

void Sender::AnswerWaiters(const std::string& scoped_key,
                           const SendOutcome& o) {
  std::vector<SendCallback> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_keys_.find(scoped_key);
    if (it != in_flight_keys_.end()) {
      waiters = std::move(it->second.waiters);
      in_flight_keys_.erase(it);
    }
  }
  for (SendCallback& w : waiters) w(o);
}

void Sender::SendValidated(v1::SendRequest request, std::string body,
                           std::string token, absl::Time deadline,
                           SendCallback done) {
  std::string phone = request.phone_number_id();
  Post("send_message", phone, RecipientKey(request), std::move(body),
       std::move(token), deadline,
       [this, phone, done = std::move(done)](Attempt a) {
         SendOutcome o;
         if (a.http_status >= 200 && a.http_status < 300) {
           absl::StatusOr<v1::SendResponse> r =
               graph::ParseSendResponse(a.body);
           if (r.ok()) {
             Count(phone, "ok", 0);
             o.response = *std::move(r);
           } else {
             // Meta accepted (2xx) but the answer is unusable: the message
             // may well be on its way.
             Count(phone, "outcome_unknown", 0);
             o = LocalFailure(absl::StatusCode::kInternal,
                              std::string(r.status().message()));
             o.error.set_outcome_unknown(true);
             o.error.set_http_status(a.http_status);
             o.status = graph::StatusWithGraphError(
                 grpc::StatusCode::INTERNAL, o.status.error_message(), o.error);
           }
         } else {
           o.status = std::move(a.status);
           o.error = std::move(a.error);
           const char* result = a.http_status == 0 ? (o.error.outcome_unknown()
                                                          ? "outcome_unknown"
                                                          : "transport_error")
                                                   : "graph_error";
           if (o.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
               a.http_status == 0 && !o.error.outcome_unknown() &&
               o.error.code() == 0) {
             result = "paced_out";
           }
           Count(phone, result, o.error.code());
         }
         done(std::move(o));
       });
}

// ---------------------------------------------------------------- MarkRead

void Sender::MarkRead(v1::MarkReadRequest request, absl::Time deadline,
                      MarkReadCallback done) {
  auto fail = [&](SendOutcome o) {
    done(MarkReadOutcome{std::move(o.status), std::move(o.error)});
  };
  if (absl::Status s = ValidateMarkReadRequest(request); !s.ok()) {
    Count(request.phone_number_id(), "invalid", 0);
    return fail(LocalFailure(s.code(), std::string(s.message())));
  }
  absl::StatusOr<config::PhoneNumberAccount> account =
      accounts_.ForPhoneNumber(request.phone_number_id());
  if (!account.ok()) {
    Count(request.phone_number_id(), "not_configured", 0);
    return fail(LocalFailure(absl::StatusCode::kFailedPrecondition,
                             std::string(account.status().message())));
  }
  if (deadline == absl::InfiniteFuture()) {
    deadline = absl::Now() + options_.default_timeout;
  }
  std::string phone = request.phone_number_id();
  // Read receipts count toward the number's throughput but have no pair
  // limit (empty recipient).
  Post("mark_read", phone, "", graph::BuildMarkReadJson(request),
       std::move(account->access_token), deadline,
       [this, phone, done = std::move(done)](Attempt a) {
         MarkReadOutcome o;
         if (a.http_status >= 200 && a.http_status < 300) {
           absl::StatusOr<bool> ok = graph::ParseSuccess(a.body);
           if (ok.ok() && *ok) {
             Count(phone, "ok", 0);
           } else {
             Count(phone, "graph_error", 0);
             o.error.set_http_status(a.http_status);
             o.error.set_details("Graph did not answer success:true");
             o.status = graph::StatusWithGraphError(grpc::StatusCode::INTERNAL,
                                                    o.error.details(), o.error);
           }
         } else {
           o.status = std::move(a.status);
           o.error = std::move(a.error);
           Count(phone, a.http_status == 0 ? "transport_error" : "graph_error",
                 o.error.code());
         }
         done(std::move(o));
       });
}

// ---------------------------------------------------------------- HTTP

void Sender::Post(const char* operation, std::string phone_number_id,
                  std::string recipient, std::string body, std::string token,
                  absl::Time deadline, AttemptCallback done) {
  auto op = std::make_shared<Op>();
  op->operation = operation;
  op->path = absl::StrCat("/", phone_number_id, "/messages");
  op->phone_number_id = std::move(phone_number_id);
  op->recipient = std::move(recipient);
  op->body = std::move(body);
  op->token = std::move(token);
  op->deadline = deadline;
  op->done = std::move(done);
  StartAttempt(std::move(op));
}

void Sender::StartAttempt(std::shared_ptr<Op> op) {
  const std::string phone = op->phone_number_id;
  const std::string recipient = op->recipient;
  const absl::Time deadline = op->deadline;
  const absl::Time asked = absl::Now();
  pacer_->Acquire(phone, recipient, deadline,
                  [this, asked, op = std::move(op)](
                      absl::Status s, absl::Duration retry_delay) mutable {
                    CountPacer(s, absl::Now() - asked);
                    if (!s.ok()) {
                      SendOutcome o = LocalFailure(
                          s.code(), std::string(s.message()), retry_delay);
                      Attempt a;
                      a.status = std::move(o.status);
                      a.error = std::move(o.error);
                      op->done(std::move(a));
                      return;
                    }
                    SendHttp(std::move(op));
                  });
}

void Sender::SendHttp(std::shared_ptr<Op> op) {
  graph::GraphCall call;
  call.method = "POST";
  call.path = op->path;
  call.body = op->body;  // a copy: a retry sends it again
  call.access_token = op->token;
  call.deadline = op->deadline;
  call.timeout = HttpTimeout(op->deadline - absl::Now());
  call.operation = op->operation;
  {
    absl::MutexLock lock(&mu_);
    ++graph_requests_;
  }
  graph_.Call(std::move(call), [this, op](graph::GraphResult r) mutable {
    pacer_->Finished(op->phone_number_id);
    OnGraphDone(std::move(op), std::move(r));
  });
}

void Sender::CountPacer(const absl::Status& s, absl::Duration waited) {
  if (options_.metrics == nullptr) return;
  if (s.ok()) {
    options_.metrics->pacer_wait->ObserveDuration(waited);
  } else {
    options_.metrics->pacer_rejections
        ->Get({std::string(PacerRejectionReason(s))})
        ->Increment();
  }
}

void Sender::OnGraphDone(std::shared_ptr<Op> op, graph::GraphResult result) {
  if (result.ok()) {
    Attempt a;
    a.http_status = result.http_status;
    a.body = std::move(result.body);
    a.may_have_reached_meta = true;
    op->done(std::move(a));
    return;
  }
  // The GraphClient always sets `error` on a failure; the status's details
  // carry the same.
  v1::GraphError error = result.error
                             ? *std::move(result.error)
                             : graph::GraphErrorFromGrpcStatus(result.status)
                                   .value_or(v1::GraphError());
  // A transport failure may have reached Meta (outcome_unknown); a Graph
  // error answer means Meta refused the request: nothing was sent.
  const bool maybe_sent = result.http_status == 0 && error.outcome_unknown();
  RetryOrFail(std::move(op), std::move(error), std::move(result.status),
              maybe_sent);
}

void Sender::RetryOrFail(std::shared_ptr<Op> op, v1::GraphError error,
                         grpc::Status status, bool maybe_sent) {
  const absl::Time now = absl::Now();
  absl::optional<absl::Duration> wait = NextRetryDelay(
      error, op->retry, now, op->deadline, options_.retry, UnitRandom());
  if (!wait) {
    Attempt a;
    a.http_status = error.http_status();
    a.status = std::move(status);
    a.error = std::move(error);
    a.may_have_reached_meta = maybe_sent;
    op->done(std::move(a));
    return;
  }
  ++op->retry;
  {
    absl::MutexLock lock(&mu_);
    ++retries_;
  }
  log::Debug("messaging", "retrying Graph send",
             {{"phone_number_id", op->phone_number_id},
              {"graph_code", absl::StrCat(error.code())},
              {"attempt", absl::StrCat(op->retry)},
              {"wait_ms", absl::StrCat(absl::ToInt64Milliseconds(*wait))}});
  auto timer = std::make_shared<boost::asio::steady_timer>(io_);
  timer->expires_after(absl::ToChronoNanoseconds(*wait));
  std::weak_ptr<bool> alive = alive_;
  timer->async_wait([this, timer, alive,
                     op = std::move(op)](const boost::system::error_code&) {
    if (alive.lock()) StartAttempt(op);
  });
}

}  // namespace wagate::messaging
