// The Events gRPC service (wagate.v1.Events): Subscribe streams stored and
// live webhook events, resumable by cursor, optionally shared out among a
// consumer group; Ack acknowledges a group's events.
//
// Subscribe start position:
//  - after_cursor: strictly after it (INVALID_ARGUMENT naming after_cursor if
//    it is not a cursor of this store; OUT_OF_RANGE naming after_cursor and
//    the oldest available cursor if retention pruned events after it, so
//    the consumer knows it lost events);
//  - from_oldest: the whole retained log (exclusive with after_cursor);
//  - neither: live, only events stored after the call started.
// With `group`, the stream claims from the group's stored position instead.
// A group that does not exist yet is created at the position the request
// names (after_cursor, from_oldest or live, as above) with the request's
// filters (phone_number_ids and kinds, sorted and deduplicated); for an
// existing group the position is ignored, and a member whose filters differ
// from the group's ends with FAILED_PRECONDITION (events one member's
// filter skips are skipped for the whole group). Unacknowledged group
// events are redelivered to a live member (any, possibly the same) after
// the stream's ack_timeout.
//
// phone_number_ids also select the management events (no phone_number_id:
// template, quality, account updates) of the WABAs those numbers belong to
// (EventsServiceOptions::phone_number_wabas, plus what events teach), within
// the caller's SubscribeScope (events_api.h): auth lets a client see only
// the number-less events of WABAs it may use.
//
// Streams end with UNAVAILABLE when the service shuts down (reconnect with
// the last cursor seen), CANCELLED when the client cancels, and OUT_OF_RANGE
// when a consumer catching up is overtaken by retention.
//
// Registration (the service must outlive the grpc::Server):
//   EventsService events(store.get(), EventsServiceOptions{});
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&events);
//   std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
//   ...
//   events.Shutdown();  // ends every stream with UNAVAILABLE
//   server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
//   // (a deadline, so streams stuck writing to a dead client get cancelled)
#ifndef WAGATE_SERVICE_EVENTS_EVENTS_SERVICE_H_
#define WAGATE_SERVICE_EVENTS_EVENTS_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/events/events_api.h"
#include "service/events/store.h"
#include "service/events/subscribe_executor.h"
#include "service/events/subscribe_stream.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::events {

struct EventsServiceOptions {
  // Live events buffered per stream before it falls back to reading the log.
  size_t stream_buffer_size = 1024;
  // Events per log read while catching up.
  size_t page_size = 256;
  // The latest events kept in memory while there are streams, so a stream
  // that fell behind catches up without reading the log.
  RecentEvents::Options recent_events;
  // Events claimed at a time by a group member: small, so a group's events
  // spread over its members.
  size_t group_claim_batch = 16;
  // Ack timeout of a group stream whose request leaves it unset.
  absl::Duration default_ack_timeout = absl::Seconds(30);
  // How often an idle group member looks for events to redeliver (at least
  // twice per ack timeout).
  absl::Duration group_poll_interval = absl::Seconds(1);
  // Streams open at once; more are refused with RESOURCE_EXHAUSTED.
  size_t max_subscribers = 10000;
  // Admits each new Subscribe stream (e.g. a per-client limit): a non-OK
  // status refuses it with that status; otherwise the returned token is
  // held until the stream ends (its destructor releases the slot). Null:
  // every stream is admitted.
  std::function<absl::StatusOr<std::shared_ptr<void>>(
      grpc::CallbackServerContext*)>
      admit_subscriber;
  // Threads reading the log and calling the store for groups and Ack.
  int executor_threads = 4;
  // phone_number_id → waba_id of the configured accounts: a Subscribe that
  // names numbers also gets the management events (template, quality,
  // account updates: no phone_number_id) of their WABAs. Numbers not listed
  // are learned from their events (messages and statuses carry both ids).
  std::map<std::string, std::string> phone_number_wabas;
};

struct EventsServiceStats {
  size_t subscribers = 0;
  uint64_t overflows = 0;  // live-buffer overflows, over open streams
  // Catch-up pages read from memory / from the log, over open streams.
  uint64_t pages_from_memory = 0;
  uint64_t pages_from_log = 0;
  std::vector<StreamStats> streams;
};

class EventsService final : public EventsApi {
 public:
  // `store` must outlive the service.
  EventsService(Store* store, EventsServiceOptions options);
  ~EventsService() override;  // Shutdown()

  // Ends every open stream with UNAVAILABLE, refuses new calls, stops the
  // store listener and the executor. Idempotent.
  void Shutdown();

  EventsServiceStats stats() const;

  SubscribeWriter* SubscribeParsed(grpc::CallbackServerContext* context,
                                   const wagate::v1::SubscribeRequest& request,
                                   const SubscribeScope& scope) override;

  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* context,
                                const wagate::v1::AckRequest* request,
                                wagate::v1::AckResponse* response) override;

 private:
  Store* const store_;
  const EventsServiceOptions options_;
  SubscribeExecutor executor_;
  WabaDirectory wabas_;
  SubscribeHub hub_;
  std::atomic<uint64_t> next_stream_id_{1};
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  Store::ListenerId listener_id_ = 0;
};

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_EVENTS_SERVICE_H_
