#include "service/events/events_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/events/subscribe_kinds.h"

namespace wagate::events {
namespace {

constexpr size_t kMaxGroupLength = 128;

// One per Subscribe call; the SubscribeStream does the work. Deleted in
// OnDone, after which gRPC calls nothing on it.
class SubscribeReactor final : public EventsApi::SubscribeWriter {
 public:
  explicit SubscribeReactor(SubscribeHub* hub) : hub_(hub) {}

  void Attach(std::shared_ptr<SubscribeStream> stream) {
    stream_ = std::move(stream);
  }
  // Held until the stream is done (EventsServiceOptions::admit_subscriber).
  void Hold(std::shared_ptr<void> admission) {
    admission_ = std::move(admission);
  }

  void OnWriteDone(bool ok) override { stream_->OnWriteDone(ok); }

  void OnCancel() override {
    if (stream_ != nullptr) {
      stream_->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                   "the client cancelled the stream"));
    }
  }

  void OnDone() override {
    if (stream_ != nullptr) hub_->Remove(stream_->id());
    delete this;
  }

 private:
  SubscribeHub* const hub_;
  std::shared_ptr<SubscribeStream> stream_;
  std::shared_ptr<void> admission_;
};

grpc::Status InvalidArgument(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

}  // namespace

EventsService::EventsService(Store* store, EventsServiceOptions options)
    : store_(store),
      options_(options),
      executor_(options.executor_threads),
      wabas_(options.phone_number_wabas),
      hub_(&executor_, options.max_subscribers, &wabas_,
           options.recent_events) {
  listener_id_ =
      store_->AddListener([this](const std::vector<EventRecord>& records) {
        hub_.OnCommitted(records);
      });
}

EventsService::~EventsService() { Shutdown(); }

void EventsService::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  for (const auto& stream : hub_.Stop()) {
    stream->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "the server is shutting down; resubscribe "
                                "after the last cursor received"));
  }
  store_->RemoveListener(listener_id_);
  executor_.Shutdown();
}

EventsServiceStats EventsService::stats() const {
  EventsServiceStats stats;
  stats.streams = hub_.Stats();
  stats.subscribers = stats.streams.size();
  for (const StreamStats& s : stats.streams) {
    stats.overflows += s.overflows;
    stats.pages_from_memory += s.pages_from_memory;
    stats.pages_from_log += s.pages_from_log;
  }
  return stats;
}

EventsApi::SubscribeWriter* EventsService::SubscribeParsed(
    grpc::CallbackServerContext* context,
    const wagate::v1::SubscribeRequest& request, const SubscribeScope& scope) {
  auto* reactor = new SubscribeReactor(&hub_);

  StreamParams params;
  params.group = request.group();
  if (params.group.size() > kMaxGroupLength) {
    reactor->Finish(InvalidArgument(
        absl::StrCat("group: longer than ", kMaxGroupLength, " characters")));
    return reactor;
  }
  if (!request.after_cursor().empty()) {
    if (request.from_oldest()) {
      reactor->Finish(InvalidArgument(
          "after_cursor and from_oldest are exclusive: set one"));
      return reactor;
    }
    absl::Status valid = store_->ValidateCursor(request.after_cursor());
    if (!valid.ok()) {
      reactor->Finish(InvalidArgument(
          absl::StrCat("after_cursor: not a cursor of this event log (",
                       valid.message(), ")")));
      return reactor;
    }
    params.start = StreamParams::Start::kAfterCursor;
    params.after_cursor = request.after_cursor();
  } else if (request.from_oldest()) {
    params.start = StreamParams::Start::kFromOldest;
  }
  Filter filter;
  filter.phone_number_ids.assign(request.phone_number_ids().begin(),
                                 request.phone_number_ids().end());
  for (int kind : request.kinds()) {
    absl::StatusOr<std::string> name = KindName(kind);
    if (!name.ok()) {
      reactor->Finish(InvalidArgument(std::string(name.status().message())));
      return reactor;
    }
    filter.kinds.push_back(*std::move(name));
  }
  // Sorted and deduplicated: the same selection, the same group filter.
  params.filter = filter.Normalized();
  params.may_see_waba = scope.may_see_waba;
  params.ack_timeout = options_.default_ack_timeout;
  if (request.has_ack_timeout()) {
    params.ack_timeout = absl::Seconds(request.ack_timeout().seconds()) +
                         absl::Nanoseconds(request.ack_timeout().nanos());
    if (params.ack_timeout <= absl::ZeroDuration()) {
      reactor->Finish(InvalidArgument("ack_timeout: must be positive"));
      return reactor;
    }
  }
  if (options_.admit_subscriber) {
    absl::StatusOr<std::shared_ptr<void>> admission =
        options_.admit_subscriber(context);
    if (!admission.ok()) {
      reactor->Finish(
          grpc::Status(static_cast<grpc::StatusCode>(admission.status().code()),
                       std::string(admission.status().message())));
      return reactor;
    }
    reactor->Hold(*std::move(admission));
  }
  const uint64_t id = next_stream_id_.fetch_add(1);
  params.consumer = absl::StrCat(context->peer(), "#", id);

  StreamLimits limits;
  limits.buffer_size = std::max<size_t>(1, options_.stream_buffer_size);
  limits.page_size = std::max<size_t>(1, options_.page_size);
  limits.claim_batch = std::max<size_t>(1, options_.group_claim_batch);
  limits.group_poll_interval = options_.group_poll_interval;

  auto stream = std::make_shared<SubscribeStream>(id, std::move(params), limits,
                                                  store_, &executor_, &wabas_,
                                                  hub_.recent(), reactor);
  reactor->Attach(stream);
  if (!hub_.Add(stream)) {
    stream->Finish(hub_.stopped()
                       ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                      "the server is shutting down")
                       : grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                      "too many subscribers"));
    return reactor;
  }
  stream->Start();
  return reactor;
}

grpc::ServerUnaryReactor* EventsService::Ack(
    grpc::CallbackServerContext* context, const wagate::v1::AckRequest* request,
    wagate::v1::AckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->group().empty()) {
    reactor->Finish(InvalidArgument("group: required"));
    return reactor;
  }
  std::vector<std::string> cursors(request->cursors().begin(),
                                   request->cursors().end());
  for (size_t i = 0; i < cursors.size(); ++i) {
    absl::Status valid = store_->ValidateCursor(cursors[i]);
    if (!valid.ok() || cursors[i].empty()) {
      reactor->Finish(InvalidArgument(
          absl::StrCat("cursors[", i, "]: not a cursor of this event log")));
      return reactor;
    }
  }
  // Store::Ack waits for a commit: not on the gRPC thread.
  bool posted =
      executor_.Post([this, reactor, response, group = request->group(),
                      cursors = std::move(cursors)] {
        absl::StatusOr<size_t> acked = store_->Ack(group, cursors);
        if (!acked.ok()) {
          reactor->Finish(ToGrpcStatus(acked.status()));
          return;
        }
        response->set_acknowledged(static_cast<int64_t>(*acked));
        reactor->Finish(grpc::Status::OK);
      });
  if (!posted) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "the server is shutting down"));
  }
  return reactor;
}

}  // namespace wagate::events
