#include "service/messaging/messaging_service.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace wagate::messaging {

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline >= std::chrono::system_clock::time_point::max() -
                      std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

MessagingService::MessagingService(Sender& sender, Options options)
    : sender_(sender), options_(std::move(options)) {}

MessagingService::~MessagingService() = default;

StreamStats MessagingService::stream_stats() const {
  StreamStats s;
  s.streams_open = streams_open_.load();
  s.requests_in_flight = stream_in_flight_.load();
  s.results_queued = stream_results_queued_.load();
  return s;
}

grpc::ServerUnaryReactor* MessagingService::Send(
    grpc::CallbackServerContext* context, const v1::SendRequest* request,
    v1::SendResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  sender_.Send(ClientOf(context), *request, DeadlineOf(*context),
               [reactor, response](SendOutcome o) {
                 if (o.status.ok()) *response = std::move(o.response);
                 reactor->Finish(o.status);
               });
  return reactor;
}

grpc::ServerUnaryReactor* MessagingService::MarkRead(
    grpc::CallbackServerContext* context, const v1::MarkReadRequest* request,
    v1::MarkReadResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  sender_.MarkRead(*request, DeadlineOf(*context),
                   [reactor, response](MarkReadOutcome o) {
                     if (o.status.ok()) response->set_success(true);
                     reactor->Finish(o.status);
                   });
  return reactor;
}

// One SendStream call. Invariants (under mu_): at most one read and one
// write outstanding; `unfinished_` counts requests read whose result is not
// yet written (or dropped); reading pauses while unfinished_ reaches the cap;
// Finish runs once, when reads are over, nothing is unfinished and no write
// is outstanding — so no Sender callback can outlive the reactor.
class MessagingService::StreamReactor
    : public grpc::ServerBidiReactor<v1::SendRequest, v1::SendResult> {
 public:
  StreamReactor(MessagingService* service, grpc::CallbackServerContext* context)
      : service_(service),
        context_(context),
        stream_deadline_(DeadlineOf(*context)),
        client_(service->ClientOf(context)) {
    ++service_->streams_open_;
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool finish;
      {
        absl::MutexLock lock(&mu_);
        reading_ = false;
        reads_done_ = true;
        finish = ShouldFinishLocked();
      }
      if (finish) Finish(FinalStatus());
      return;
    }
    v1::SendRequest request = std::move(request_);
    request_.Clear();
    const int64_t index = next_index_++;
    std::string key = request.idempotency_key();
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      ++unfinished_;
    }
    InFlight(1);
    if (service_->options_.stream_item_check) {
      absl::Status allowed = service_->options_.stream_item_check(
          context_, request.phone_number_id());
      if (!allowed.ok()) {
        SendOutcome refused;
        refused.status =
            grpc::Status(static_cast<grpc::StatusCode>(allowed.code()),
                         std::string(allowed.message()));
        OnResult(index, key, std::move(refused));
        MaybeRead();
        return;
      }
    }
    const absl::Time deadline =
        std::min(stream_deadline_,
                 absl::Now() + service_->options_.stream_request_timeout);
    service_->sender_.Send(client_, std::move(request), deadline,
                           [this, index, key = std::move(key)](SendOutcome o) {
                             OnResult(index, key, std::move(o));
                           });
    MaybeRead();
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    bool write_next = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      --unfinished_;
      InFlight(-1);
      if (!ok) {
        // The client is gone: drop what is queued; requests still being sent
        // finish on their own (their results are dropped too).
        write_failed_ = true;
        unfinished_ -= queue_.size();
        InFlight(-static_cast<int64_t>(queue_.size()));
        service_->stream_results_queued_ -= queue_.size();
        queue_.clear();
        if (!reading_) reads_done_ = true;
      } else if (!queue_.empty()) {
        write_next = true;
        PopForWriteLocked();
      }
      finish = ShouldFinishLocked();
    }
    if (write_next) StartWrite(&writing_result_);
    if (!ok) {
      if (finish) Finish(FinalStatus());
      return;
    }
    MaybeRead();
    if (finish) Finish(FinalStatus());
  }

  void OnDone() override {
    --service_->streams_open_;
    delete this;
  }

 private:
  void OnResult(int64_t index, const std::string& key, SendOutcome o) {
    v1::SendResult result;
    result.set_index(index);
    result.set_idempotency_key(key);
    if (o.status.ok()) {
      *result.mutable_response() = std::move(o.response);
    } else {
      v1::SendError* e = result.mutable_error();
      e->set_code(static_cast<int>(o.status.error_code()));
      e->set_message(o.status.error_message());
      *e->mutable_graph_error() = std::move(o.error);
    }
    bool write = false;
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      if (write_failed_) {
        --unfinished_;
        InFlight(-1);
        finish = ShouldFinishLocked();
      } else {
        queue_.push_back(std::move(result));
        ++service_->stream_results_queued_;
        if (!writing_) {
          write = true;
          PopForWriteLocked();
        }
      }
    }
    if (write) StartWrite(&writing_result_);
    if (finish) Finish(FinalStatus());
  }

  // The SendStream backlog: requests read and not yet answered.
  void InFlight(int64_t delta) {
    service_->stream_in_flight_ += delta;
    if (service_->options_.metrics != nullptr) {
      service_->options_.metrics->send_stream_backlog->Add(
          static_cast<double>(delta));
    }
  }

  void PopForWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_result_ = std::move(queue_.front());
    queue_.pop_front();
    --service_->stream_results_queued_;
    writing_ = true;
  }

  // Starts the next read if the cap allows and none is outstanding.
  void MaybeRead() {
    {
      absl::MutexLock lock(&mu_);
      if (reading_ || reads_done_ || write_failed_ || finished_ ||
          unfinished_ >= service_->options_.max_stream_in_flight) {
        return;
      }
      reading_ = true;
    }
    StartRead(&request_);
  }

  bool ShouldFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || !reads_done_ || reading_ || writing_ || unfinished_ > 0) {
      return false;
    }
    finished_ = true;
    return true;
  }

  grpc::Status FinalStatus() {
    absl::MutexLock lock(&mu_);
    if (write_failed_) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "the stream was cancelled");
    }
    return grpc::Status::OK;
  }

  MessagingService* const service_;
  grpc::CallbackServerContext* const context_;
  const absl::Time stream_deadline_;
  const std::string client_;  // scopes the items' idempotency keys
  // Only touched by OnReadDone (one read outstanding at a time).
  v1::SendRequest request_;
  int64_t next_index_ = 0;

  absl::Mutex mu_;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int64_t unfinished_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<v1::SendResult> queue_ ABSL_GUARDED_BY(mu_);
  // The result being written; stable until OnWriteDone.
  v1::SendResult writing_result_;
};

grpc::ServerBidiReactor<v1::SendRequest, v1::SendResult>*
MessagingService::SendStream(grpc::CallbackServerContext* context) {
  return new StreamReactor(this, context);
}

}  // namespace wagate::messaging
