// The delivery engine behind Events.Subscribe: one SubscribeStream per call,
// and the SubscribeHub that feeds them the live tail.
//
// A plain stream reads the log (Store::ReadAfter, in pages, on the executor)
// until it has caught up, then takes events from the memory buffer the hub
// fills from the store's commit listener. The buffer is bounded: when it
// overflows (the consumer is slow) the hub empties it and the stream falls
// back to reading the log from the last event it took, so ingest and the
// other streams never wait for it and memory stays bounded.
//
// No gap, no duplicate at the catch-up → live switch: a stream turns its
// live buffer on *before* each log read; if the read comes back short (it
// reached the end of the log), every later commit is in the buffer, and
// buffered events at or before the last cursor read are skipped.
//
// A group stream (`group` set) claims events with Store::ClaimNext instead
// (each event to one member), claiming again when a commit arrives or its
// poll timer fires (redelivery of events whose ack deadline passed).
//
// Filters: a filter naming phone numbers also matches the management events
// (template, quality, account updates: a waba_id but no phone_number_id) of
// the WABAs those numbers belong to, as SubscribeRequest.phone_number_ids
// promises; the WabaDirectory says which WABA a number belongs to. The store
// is asked for the numbers' events plus every number-less event, and the
// stream drops the number-less events of other WABAs (a group stream claims
// and acknowledges them, so they count as skipped). The caller's scope
// (StreamParams::may_see_waba, from auth) drops in the same way the
// number-less events of WABAs the caller may not use; it is not part of a
// group's stored filter (groups are per client, so the members share it).
//
// Log reads are bounded (Store::ReadPage): a sparse filter over a long log
// reads page after page, each a short executor task, instead of one task
// scanning the whole log; a group claim that stopped at its scan bound
// claims again at once.
//
// Retention: a plain stream whose log position is older than the store's
// retention watermark (Store::PrunedThrough) has lost events; it ends with
// OUT_OF_RANGE naming the oldest cursor still available instead of skipping
// them silently — at the start (after_cursor too old) or later (a consumer
// so slow that retention overtook it while it was catching up).
//
// One write in flight; Finish exactly once. Writes are started outside the
// stream's lock, so the store's writer thread (the hub) never waits on a
// socket write. The stream is shared
// (std::shared_ptr) between the gRPC reactor, the hub and executor tasks;
// once finished it ignores everything.
//
//   SubscribeHub hub(&executor);
//   store->AddListener([&](const auto& records) { hub.OnCommitted(records); });
//   auto stream = std::make_shared<SubscribeStream>(...);
//   if (hub.Add(stream)) stream->Start();
#ifndef WAGATE_SERVICE_EVENTS_SUBSCRIBE_STREAM_H_
#define WAGATE_SERVICE_EVENTS_SUBSCRIBE_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/events/recent_events.h"
#include "service/events/store.h"
#include "service/events/subscribe_executor.h"
#include "wagate/v1/events.pb.h"

namespace wagate::events {

// Which WABA each business phone number belongs to. Seeded with the
// configured accounts and learned from events that carry both ids (messages
// and statuses: signed by Meta), so single-account mode knows a number's
// WABA once the number has had an event. Thread-safe; quick when nothing new
// is learned (one shared lock).
//
//   WabaDirectory wabas({{"106540352242922", "102290129340398"}});
//   wabas.Learn(record);  // from each committed or read event
//   std::vector<std::string> w = wabas.WabasOf({"106540352242922"});
class WabaDirectory {
 public:
  // `configured`: phone_number_id → waba_id.
  explicit WabaDirectory(std::map<std::string, std::string> configured = {});

  // Records the number → WABA of `record` when it carries both ids.
  void Learn(const EventRecord& record);
  // The known WABAs of `numbers`, without duplicates.
  std::vector<std::string> WabasOf(
      const std::vector<std::string>& numbers) const;
  // Changes whenever a mapping is added or changed.
  uint64_t version() const;

 private:
  // Learned numbers at most (a guard, not a limit any real account nears).
  static constexpr size_t kMaxNumbers = 100000;
  mutable absl::Mutex mu_;
  std::map<std::string, std::string, std::less<>> wabas_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

// absl::Status → grpc::Status (same code numbers).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Where a stream starts, resolved from SubscribeRequest.
struct StreamParams {
  enum class Start { kLive, kFromOldest, kAfterCursor };
  Start start = Start::kLive;
  std::string after_cursor;  // for kAfterCursor
  Filter filter;
  // Consumer group; empty = plain stream. A new group is created at the
  // position `start` names; an existing group keeps its own.
  std::string group;
  std::string consumer;  // unique per stream, for the group's pending list
  absl::Duration ack_timeout = absl::Seconds(30);
  // The caller's scope (SubscribeScope::may_see_waba): number-less events
  // only of the WABAs it accepts; null = any.
  std::function<bool(absl::string_view waba_id)> may_see_waba;
};

struct StreamLimits {
  size_t buffer_size = 1024;  // live events buffered per stream
  size_t page_size = 256;     // events per log read
  size_t claim_batch = 16;    // events per group claim
  absl::Duration group_poll_interval = absl::Seconds(1);
};

// A snapshot of one stream, for metrics.
struct StreamStats {
  uint64_t id = 0;
  std::string group;
  // The start position is resolved (for a group: the group exists).
  bool started = false;
  bool live = false;         // following the live tail from memory
  bool catching_up = false;  // reading the log (started behind, or overflowed)
  std::string last_sent_cursor;
  uint64_t events_sent = 0;
  // Events taken but not yet written (buffered live events + read page).
  // While live this is exactly how many events the stream is behind.
  size_t queued = 0;
  uint64_t overflows = 0;  // times the live buffer overflowed
  // Catch-up pages read from the recent events in memory / from the log.
  uint64_t pages_from_memory = 0;
  uint64_t pages_from_log = 0;
};

class SubscribeStream : public std::enable_shared_from_this<SubscribeStream> {
 public:
  // Consecutive buffered (coalesced) writes at most before one that flushes:
  // bounds how long the first of a backlog waits in gRPC's buffer.
  static constexpr int kMaxCoalescedWrites = 64;

  // `reactor` gets StartWrite/Finish calls until the stream finishes; the
  // reactor must forward OnWriteDone and OnCancel here. `wabas` (may be
  // null: number filters then match no number-less event) must outlive the
  // stream.
  SubscribeStream(uint64_t id, StreamParams params, StreamLimits limits,
                  Store* store, SubscribeExecutor* executor,
                  WabaDirectory* wabas, const RecentEvents* recent,
                  grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor);

  uint64_t id() const { return id_; }

  // Begins: resolves the start position and reads, on the executor.
  void Start();

  // From the hub, under its lock, on the store's writer thread: buffers the
  // matching events (live), or notes that there is something to claim
  // (group). True when the stream is idle and should be Pump()ed.
  bool OnCommitted(const std::vector<EventRecord>& records,
                   std::vector<EventPtr>* parsed);

  // Starts the next write if there is one and none is in flight.
  void Pump();

  void OnWriteDone(bool ok);
  // Finishes with `status` now, or when the write in flight completes.
  // Later calls are ignored.
  void Finish(const grpc::Status& status);

  StreamStats Stats() const;

 private:
  enum class Mode { kStarting, kCatchUp, kLive, kGroup };

  // A write decided under the lock, started after releasing it.
  struct Write {
    grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor = nullptr;
    const grpc::ByteBuffer* event = nullptr;
    bool buffer_hint = false;
    void Start() const;
  };

  // Picks the next event to write (marking it in flight), or schedules a
  // read; the caller starts the returned write once it has unlocked.
  Write PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) ABSL_MUST_USE_RESULT;
  // The full filter, WABA rule included, with `wabas` the WABAs of the
  // filter's numbers.
  bool Matches(const EventRecord& record,
               const std::vector<std::string>& wabas) const;
  // False for a number-less event of a WABA outside the caller's scope.
  bool MaySee(const EventRecord& record) const;
  // Matches with the cached WABA list, refreshed when the directory changed.
  bool MatchesLocked(const EventRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<std::string> CurrentWabas() const;
  // OK, or OUT_OF_RANGE if events after `from` were pruned by retention.
  absl::Status CheckRetention(const std::string& from, bool resuming);
  void ScheduleReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmPollLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Executor tasks.
  void ReadTask();
  absl::Status StartTask();
  void ReadLogPage();
  void ClaimPage();

  const uint64_t id_;
  const StreamParams params_;
  const StreamLimits limits_;
  Store* const store_;
  SubscribeExecutor* const executor_;
  WabaDirectory* const wabas_;
  const RecentEvents* const recent_;  // may be null
  // What the store is asked for: params_.filter, plus number-less events
  // when it names numbers (the WABA rule is applied here).
  const Filter store_filter_;

  mutable absl::Mutex mu_;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor_ ABSL_GUARDED_BY(mu_);
  Mode mode_ ABSL_GUARDED_BY(mu_) = Mode::kStarting;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  // Cursor of the last event taken from the log or the buffer (plain
  // streams): the next log read starts after it.
  std::string position_ ABSL_GUARDED_BY(mu_);
  std::deque<EventPtr> pending_ ABSL_GUARDED_BY(mu_);  // read, to write
  std::deque<EventPtr> buffer_ ABSL_GUARDED_BY(mu_);   // live, to write
  EventPtr in_flight_ ABSL_GUARDED_BY(mu_);
  bool read_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  // Group streams: nothing left to claim; wait for a commit or the poll.
  bool group_idle_ ABSL_GUARDED_BY(mu_) = false;
  // A commit arrived while a claim ran: claim again even if it was empty.
  bool claim_again_ ABSL_GUARDED_BY(mu_) = false;
  bool poll_armed_ ABSL_GUARDED_BY(mu_) = false;
  std::string last_sent_cursor_ ABSL_GUARDED_BY(mu_);
  uint64_t events_sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t overflows_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t pages_from_memory_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t pages_from_log_ ABSL_GUARDED_BY(mu_) = 0;
  // Writes started with the buffer hint since the last flushing write.
  int coalesced_writes_ ABSL_GUARDED_BY(mu_) = 0;
  // A log page was read (the first read checks the requested after_cursor).
  bool read_any_ ABSL_GUARDED_BY(mu_) = false;
  // The WABAs of the filter's numbers as of wabas_version_ (live matching).
  std::vector<std::string> cached_wabas_ ABSL_GUARDED_BY(mu_);
  uint64_t cached_wabas_version_ ABSL_GUARDED_BY(mu_) = ~uint64_t{0};
};

// Fans committed events out to the streams. Register OnCommitted as a Store
// listener; it only buffers and schedules, so it is quick.
class SubscribeHub {
 public:
  // `wabas` (may be null) learns from every committed event.
  SubscribeHub(SubscribeExecutor* executor, size_t max_streams,
               WabaDirectory* wabas = nullptr,
               RecentEvents::Options recent = RecentEvents::Options());

  // The recent events the hub keeps while it has streams, for their
  // catch-up reads.
  const RecentEvents* recent() const { return &recent_; }

  // The store listener.
  void OnCommitted(const std::vector<EventRecord>& records);

  // false when stopped or at max_streams.
  bool Add(std::shared_ptr<SubscribeStream> stream);
  void Remove(uint64_t id);
  // Refuses further Adds and returns the streams registered now.
  std::vector<std::shared_ptr<SubscribeStream>> Stop();

  std::vector<StreamStats> Stats() const;
  bool stopped() const;

 private:
  SubscribeExecutor* const executor_;
  const size_t max_streams_;
  WabaDirectory* const wabas_;
  RecentEvents recent_;  // appended under mu_, read by streams without it
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::map<uint64_t, std::shared_ptr<SubscribeStream>> streams_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_SUBSCRIBE_STREAM_H_
