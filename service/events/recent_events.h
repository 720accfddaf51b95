// The most recent committed events, in memory, shared by every Subscribe
// stream: a stream that fell behind its live buffer (a burst, a slow
// consumer) catches up from here instead of from the store while its
// position is still covered, so a lagging stream costs a few pointer copies
// per event rather than a log query and a decode of its own.
//
// Filled from the store's commit listener in commit order; it holds every
// event committed since its oldest entry (it never skips one), so a read
// after a covered cursor returns exactly what the log would. Bounded by
// event count and by bytes; the oldest entries go first.
//
//   RecentEvents recent(RecentEvents::Options());
//   recent.Append(records, &parsed);  // from the listener, in order
//   RecentEvents::Page page;
//   if (recent.ReadAfter(position, 256, match, &page)) { ... } else { log }
#ifndef WAGATE_SERVICE_EVENTS_RECENT_EVENTS_H_
#define WAGATE_SERVICE_EVENTS_RECENT_EVENTS_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/byte_buffer.h"
#include "service/events/store.h"
#include "wagate/v1/events.pb.h"

namespace wagate::events {

// An event ready to send, shared by every stream that sends it: `wire` is
// the encoded wagate.v1.Event, cursor included. Every stream writes the same
// bytes (gRPC takes a reference, not a copy), so an event is encoded once
// however many subscribers it goes to.
struct OutgoingEvent {
  std::string cursor;
  grpc::ByteBuffer wire;
};
using EventPtr = std::shared_ptr<const OutgoingEvent>;

// The Event sent for `record`: its payload with `cursor` filled in. A payload
// that does not parse as an Event is sent with the record's metadata only
// (and logged).
EventPtr MakeEvent(const EventRecord& record);

class RecentEvents {
 public:
  struct Options {
    size_t max_events = 16384;
    size_t max_bytes = size_t{32} << 20;  // payloads plus per-entry overhead
  };

  // What a read returns.
  struct Page {
    std::vector<EventPtr> events;  // the matching events, in order
    // Cursor of the last event looked at (matching or not): the next read
    // starts after it. Empty when nothing after the position was kept.
    std::string last_read;
    // More events follow last_read (the read stopped at `max`).
    bool more = false;
  };

  explicit RecentEvents(Options options);

  // Adds committed events, in commit order, after every earlier call.
  // `parsed` (same size as `records`) holds events already made by the
  // caller; the missing ones are made here and stored back.
  void Append(const std::vector<EventRecord>& records,
              std::vector<EventPtr>* parsed);
  // Forgets everything (call when a commit goes unrecorded, so the kept
  // events stay contiguous).
  void Clear();

  // The events after `after` that `match` accepts, looking at `max` events
  // at most. False (and `page` untouched) when `after` is older than the
  // oldest event kept or nothing is kept: read the store instead.
  bool ReadAfter(const std::string& after, size_t max,
                 const std::function<bool(const EventRecord&)>& match,
                 Page* page) const;

  size_t size() const;
  size_t bytes() const;

 private:
  struct Entry {
    EventRecord meta;  // kind, numbers, cursor: what filters read
    EventPtr event;
    size_t bytes = 0;
  };
  // Rough cost of an entry beyond its payload (the decoded form, the
  // metadata strings, the deque slot).
  static constexpr size_t kEntryOverhead = 512;

  const Options options_;
  mutable absl::Mutex mu_;
  std::deque<Entry> entries_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_RECENT_EVENTS_H_
