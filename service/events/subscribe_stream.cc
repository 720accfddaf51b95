#include "service/events/subscribe_stream.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace wagate::events {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// ---- WabaDirectory ----

WabaDirectory::WabaDirectory(std::map<std::string, std::string> configured) {
  for (auto& [number, waba] : configured) {
    if (!number.empty() && !waba.empty()) wabas_.emplace(number, waba);
  }
}

void WabaDirectory::Learn(const EventRecord& record) {
  if (record.phone_number_id.empty() || record.waba_id.empty()) return;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = wabas_.find(record.phone_number_id);
    if (it != wabas_.end() && it->second == record.waba_id) return;
  }
  absl::MutexLock lock(&mu_);
  auto it = wabas_.find(record.phone_number_id);
  if (it == wabas_.end()) {
    if (wabas_.size() >= kMaxNumbers) return;
    wabas_.emplace(record.phone_number_id, record.waba_id);
  } else if (it->second != record.waba_id) {
    it->second = record.waba_id;  // the number moved to another WABA
  } else {
    return;
  }
  ++version_;
}

std::vector<std::string> WabaDirectory::WabasOf(
    const std::vector<std::string>& numbers) const {
  std::vector<std::string> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const std::string& number : numbers) {
    auto it = wabas_.find(number);
    if (it == wabas_.end()) continue;
    if (std::find(out.begin(), out.end(), it->second) == out.end()) {
      out.push_back(it->second);
    }
  }
  return out;
}

uint64_t WabaDirectory::version() const {
  absl::ReaderMutexLock lock(&mu_);
  return version_;
}

// ---- SubscribeStream ----

namespace {

Filter StoreFilter(const Filter& filter) {
  Filter wide = filter;
  // Number-less (WABA-level) events come back too; the stream keeps those of
  // its numbers' WABAs.
  if (!wide.phone_number_ids.empty()) wide.phone_number_ids.emplace_back();
  return wide;
}

bool Contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

void SubscribeStream::Write::Start() const {
  if (reactor == nullptr) return;
  if (buffer_hint) {
    reactor->StartWrite(event, grpc::WriteOptions().set_buffer_hint());
  } else {
    reactor->StartWrite(event);
  }
}

SubscribeStream::SubscribeStream(
    uint64_t id, StreamParams params, StreamLimits limits, Store* store,
    SubscribeExecutor* executor, WabaDirectory* wabas,
    const RecentEvents* recent,
    grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor)
    : id_(id),
      params_(std::move(params)),
      limits_(limits),
      store_(store),
      executor_(executor),
      wabas_(wabas),
      recent_(recent),
      store_filter_(StoreFilter(params_.filter)),
      reactor_(reactor) {}

bool SubscribeStream::Matches(const EventRecord& record,
                              const std::vector<std::string>& wabas) const {
  if (!MaySee(record)) return false;
  const Filter& filter = params_.filter;
  if (filter.Matches(record)) return true;
  // The WABA rule: a number-less event of a WABA one of the numbers is in.
  return !filter.phone_number_ids.empty() && record.phone_number_id.empty() &&
         !record.waba_id.empty() &&
         (filter.kinds.empty() || Contains(filter.kinds, record.kind)) &&
         Contains(wabas, record.waba_id);
}

std::vector<std::string> SubscribeStream::CurrentWabas() const {
  if (wabas_ == nullptr || params_.filter.phone_number_ids.empty()) return {};
  return wabas_->WabasOf(params_.filter.phone_number_ids);
}

bool SubscribeStream::MaySee(const EventRecord& record) const {
  return !record.phone_number_id.empty() || !params_.may_see_waba ||
         params_.may_see_waba(record.waba_id);
}

bool SubscribeStream::MatchesLocked(const EventRecord& record) {
  if (!MaySee(record)) return false;
  if (params_.filter.Matches(record)) return true;
  if (!record.phone_number_id.empty() ||
      params_.filter.phone_number_ids.empty() || wabas_ == nullptr) {
    return false;
  }
  const uint64_t version = wabas_->version();
  if (version != cached_wabas_version_) {
    cached_wabas_ = CurrentWabas();
    cached_wabas_version_ = version;
  }
  return Matches(record, cached_wabas_);
}

void SubscribeStream::Start() {
  absl::MutexLock lock(&mu_);
  ScheduleReadLocked();
}

void SubscribeStream::ScheduleReadLocked() {
  if (finished_ || read_scheduled_) return;
  read_scheduled_ = true;
  if (!executor_->Post([self = shared_from_this()] { self->ReadTask(); })) {
    read_scheduled_ = false;
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the server is shutting down"));
  }
}

void SubscribeStream::ReadTask() {
  Mode mode;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    mode = mode_;
  }
  if (mode == Mode::kStarting) {
    absl::Status started = StartTask();
    absl::MutexLock lock(&mu_);
    if (!started.ok()) {
      read_scheduled_ = false;
      FinishLocked(ToGrpcStatus(started));
      return;
    }
    mode_ = params_.group.empty() ? Mode::kCatchUp : Mode::kGroup;
  }
  if (params_.group.empty()) {
    ReadLogPage();
  } else {
    ClaimPage();
  }
}

absl::Status SubscribeStream::StartTask() {
  std::string start;
  switch (params_.start) {
    case StreamParams::Start::kFromOldest:
      break;
    case StreamParams::Start::kAfterCursor:
      start = params_.after_cursor;
      break;
    case StreamParams::Start::kLive: {
      absl::StatusOr<std::string> latest = store_->LatestCursor();
      if (!latest.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "cannot read the event log: ", latest.status().message()));
      }
      start = *std::move(latest);
      break;
    }
  }
  if (!params_.group.empty()) {
    // Only creates the group; an existing group keeps its position (and
    // refuses another filter: FAILED_PRECONDITION, passed on as is).
    absl::Status ensured =
        store_->EnsureGroup(params_.group, start, store_filter_);
    if (absl::IsFailedPrecondition(ensured)) return ensured;
    if (!ensured.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot create the consumer group: ", ensured.message()));
    }
    return absl::OkStatus();
  }
  absl::MutexLock lock(&mu_);
  position_ = std::move(start);
  return absl::OkStatus();
}

void SubscribeStream::ReadLogPage() {
  std::string from;
  bool resuming = false;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    // Live buffering goes on before the read: whatever commits after the
    // read's snapshot is then in the buffer (see the header).
    mode_ = Mode::kLive;
    buffer_.clear();
    from = position_;
    resuming = !read_any_ && params_.start == StreamParams::Start::kAfterCursor;
    read_any_ = true;
  }
  std::vector<EventPtr> events;
  std::string last_read;
  bool more = false;
  bool from_memory = false;
  absl::Status status;
  RecentEvents::Page recent;
  // A stream that fell behind while following the tail usually still finds
  // its position in memory; the first read of a resumed stream goes to the
  // store, which checks the cursor and retention.
  if (recent_ != nullptr && !from.empty() && !resuming &&
      recent_->ReadAfter(
          from, limits_.page_size,
          [this, wabas = CurrentWabas()](const EventRecord& record) {
            return Matches(record, wabas);
          },
          &recent)) {
    events = std::move(recent.events);
    last_read = std::move(recent.last_read);
    more = recent.more;
    from_memory = true;
  } else {
    // Bounded: a sparse filter may come back with few events (even none)
    // and `more`, so this executor thread is soon free for other streams.
    absl::StatusOr<LogPage> page =
        store_->ReadPage(from, limits_.page_size, store_filter_);
    status = page.status();
    // After the read: anything pruned before its snapshot has moved the
    // watermark by now (so no loss goes unnoticed; a prune racing the read
    // may report one that the page still covered). "" = from the oldest
    // retained.
    if (status.ok() && !from.empty()) status = CheckRetention(from, resuming);
    if (status.ok()) {
      if (wabas_ != nullptr) {
        for (const EventRecord& record : page->events) wabas_->Learn(record);
      }
      const std::vector<std::string> wabas = CurrentWabas();
      events.reserve(page->events.size());
      for (const EventRecord& record : page->events) {
        if (Matches(record, wabas)) events.push_back(MakeEvent(record));
      }
      last_read = std::move(page->scanned_through);
      more = page->more;
    }
  }
  Write write;
  {
    absl::MutexLock lock(&mu_);
    read_scheduled_ = false;
    if (finished_) return;
    if (!status.ok()) {
      if (absl::IsInvalidArgument(status)) {
        FinishLocked(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat("after_cursor: ", status.message())));
      } else if (absl::IsOutOfRange(status)) {
        FinishLocked(ToGrpcStatus(status));
      } else {
        FinishLocked(grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            absl::StrCat("cannot read the event log: ", status.message())));
      }
      return;
    }
    ++(from_memory ? pages_from_memory_ : pages_from_log_);
    for (EventPtr& event : events) pending_.push_back(std::move(event));
    // The next read starts after the last event read, matching or not.
    if (!last_read.empty()) position_ = last_read;
    if (more) {
      // Not at the end of the log yet: what was buffered meanwhile will be
      // read again from the log.
      mode_ = Mode::kCatchUp;
      buffer_.clear();
    }
    write = PumpLocked();
  }
  write.Start();
}

absl::Status SubscribeStream::CheckRetention(const std::string& from,
                                             bool resuming) {
  absl::StatusOr<std::string> pruned = store_->PrunedThrough();
  if (absl::IsUnimplemented(pruned.status())) return absl::OkStatus();
  if (!pruned.ok()) return pruned.status();
  if (pruned->empty() || from >= *pruned) return absl::OkStatus();
  std::string available = "the log is empty now";
  absl::StatusOr<std::vector<EventRecord>> oldest =
      store_->ReadAfter(*pruned, 1, Filter());
  if (oldest.ok() && !oldest->empty()) {
    available = absl::StrCat("the oldest available cursor is \"",
                             oldest->front().cursor, "\"");
  }
  return absl::OutOfRangeError(absl::StrCat(
      resuming ? "after_cursor: \"" : "the stream fell behind retention at \"",
      from, "\" is older than the retained event log: events up to \"", *pruned,
      "\" were pruned, so events after it were lost; ", available,
      ". Resubscribe with from_oldest (or after_cursor \"", *pruned,
      "\") to continue from the oldest retained event"));
}

void SubscribeStream::ClaimPage() {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    claim_again_ = false;
  }
  absl::StatusOr<ClaimBatch> claimed =
      store_->ClaimNext(params_.group, params_.consumer, limits_.claim_batch,
                        store_filter_, params_.ack_timeout);
  std::vector<EventPtr> events;
  absl::Status status = claimed.status();
  if (claimed.ok()) {
    if (wabas_ != nullptr) {
      for (const ClaimedEvent& c : claimed->events) wabas_->Learn(c.event);
    }
    const std::vector<std::string> wabas = CurrentWabas();
    std::vector<std::string> skipped;
    events.reserve(claimed->events.size());
    for (const ClaimedEvent& c : claimed->events) {
      if (Matches(c.event, wabas)) {
        events.push_back(MakeEvent(c.event));
      } else {
        skipped.push_back(c.event.cursor);  // another WABA's event
      }
    }
    // Acknowledged at once, so the group treats them as skipped.
    if (!skipped.empty()) status = store_->Ack(params_.group, skipped).status();
  }
  Write write;
  {
    absl::MutexLock lock(&mu_);
    read_scheduled_ = false;
    if (finished_) return;
    if (absl::IsFailedPrecondition(status)) {
      FinishLocked(ToGrpcStatus(status));  // the group's filter differs
      return;
    }
    if (!status.ok()) {
      FinishLocked(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          absl::StrCat("cannot claim group events: ", status.message())));
      return;
    }
    // A claim that only skipped events found something, and one that
    // stopped at its scan bound has more to examine: claim again now.
    if (events.empty() && !claim_again_ && claimed->events.empty() &&
        !claimed->more) {
      group_idle_ = true;
      ArmPollLocked();
    }
    for (EventPtr& event : events) pending_.push_back(std::move(event));
    write = PumpLocked();
  }
  write.Start();
}

void SubscribeStream::ArmPollLocked() {
  if (poll_armed_) return;
  // Redeliveries are found only by claiming: poll at least twice per ack
  // timeout so an expired event waits at most half a timeout more.
  absl::Duration interval =
      std::max(absl::Milliseconds(10),
               std::min(limits_.group_poll_interval, params_.ack_timeout / 2));
  std::weak_ptr<SubscribeStream> weak = weak_from_this();
  poll_armed_ = executor_->PostAfter(interval, [weak] {
    std::shared_ptr<SubscribeStream> self = weak.lock();
    if (self == nullptr) return;
    Write write;
    {
      absl::MutexLock lock(&self->mu_);
      self->poll_armed_ = false;
      if (self->finished_) return;
      self->group_idle_ = false;
      write = self->PumpLocked();
    }
    write.Start();
  });
}

bool SubscribeStream::OnCommitted(const std::vector<EventRecord>& records,
                                  std::vector<EventPtr>* parsed) {
  absl::MutexLock lock(&mu_);
  if (finished_) return false;
  const bool idle = in_flight_ == nullptr && pending_.empty();
  if (mode_ == Mode::kGroup) {
    bool any = std::any_of(records.begin(), records.end(),
                           [this](const EventRecord& r)
                               ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return MatchesLocked(r);  // mu_ is held
                               });
    if (!any) return false;
    if (read_scheduled_) {
      claim_again_ = true;
      return false;
    }
    if (!group_idle_) return false;
    group_idle_ = false;
    return idle;
  }
  if (mode_ != Mode::kLive) return false;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!MatchesLocked(records[i])) continue;
    if (buffer_.size() >= limits_.buffer_size) {
      // Slow consumer: drop the buffer and read the log from position_.
      buffer_.clear();
      mode_ = Mode::kCatchUp;
      ++overflows_;
      return idle && !read_scheduled_;
    }
    if ((*parsed)[i] == nullptr) (*parsed)[i] = MakeEvent(records[i]);
    buffer_.push_back((*parsed)[i]);
  }
  return idle && !read_scheduled_ && !buffer_.empty();
}

void SubscribeStream::Pump() {
  Write write;
  {
    absl::MutexLock lock(&mu_);
    write = PumpLocked();
  }
  write.Start();
}

SubscribeStream::Write SubscribeStream::PumpLocked() {
  if (finished_ || in_flight_ != nullptr) return Write();
  if (finish_requested_) {
    FinishLocked(finish_status_);
    return Write();
  }
  EventPtr next;
  if (!pending_.empty()) {
    next = std::move(pending_.front());
    pending_.pop_front();
  } else if (mode_ == Mode::kLive && !read_scheduled_) {
    while (!buffer_.empty()) {
      EventPtr event = std::move(buffer_.front());
      buffer_.pop_front();
      // Events up to position_ came from the log read that overlapped the
      // switch to live.
      if (event->cursor > position_) {
        position_ = event->cursor;
        next = std::move(event);
        break;
      }
    }
  }
  if (next == nullptr) {
    if (mode_ == Mode::kCatchUp || (mode_ == Mode::kGroup && !group_idle_)) {
      ScheduleReadLocked();
    }
    return Write();
  }
  in_flight_ = std::move(next);
  last_sent_cursor_ = in_flight_->cursor;
  ++events_sent_;
  // With more events queued, let gRPC buffer this one (the write completes
  // at once) so a backlog goes out in a few large socket writes instead of
  // one per event; the last queued event, or every kMaxCoalescedWrites-th,
  // is written without the hint, which flushes the buffer. Never the first
  // write: it carries the initial metadata, and a buffered batch with
  // metadata completes only when flushed, so the stream would stall.
  // Only events that will be written count: buffered ones at or before
  // position_ are skipped, and a hinted write with nothing after it would
  // sit in gRPC's buffer until the next event arrives.
  const bool more = !pending_.empty() ||
                    (mode_ == Mode::kLive && !read_scheduled_ &&
                     !buffer_.empty() && buffer_.back()->cursor > position_);
  Write write;
  write.reactor = reactor_;
  write.event = &in_flight_->wire;
  if (events_sent_ > 1 && more && coalesced_writes_ + 1 < kMaxCoalescedWrites) {
    ++coalesced_writes_;
    write.buffer_hint = true;
  } else {
    coalesced_writes_ = 0;
  }
  // Started by the caller after unlocking. Safe: while in_flight_ is set,
  // Finish waits for OnWriteDone, so the reactor stays valid.
  return write;
}

void SubscribeStream::OnWriteDone(bool ok) {
  Write write;
  {
    absl::MutexLock lock(&mu_);
    in_flight_.reset();
    if (!ok) {
      // The client is gone (cancelled, or the call is being torn down).
      FinishLocked(finish_requested_ ? finish_status_
                                     : grpc::Status(grpc::StatusCode::CANCELLED,
                                                    "the stream was closed"));
      return;
    }
    write = PumpLocked();
  }
  write.Start();
}

void SubscribeStream::Finish(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  FinishLocked(status);
}

void SubscribeStream::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  if (in_flight_ != nullptr) {
    // Finish after the write completes (it does promptly when the call is
    // cancelled).
    if (!finish_requested_) {
      finish_requested_ = true;
      finish_status_ = status;
    }
    return;
  }
  finished_ = true;
  pending_.clear();
  buffer_.clear();
  grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor = reactor_;
  reactor_ = nullptr;
  reactor->Finish(status);
}

StreamStats SubscribeStream::Stats() const {
  absl::MutexLock lock(&mu_);
  StreamStats s;
  s.id = id_;
  s.group = params_.group;
  s.started = mode_ != Mode::kStarting;
  s.live = mode_ == Mode::kLive && !read_scheduled_;
  s.catching_up = mode_ == Mode::kCatchUp ||
                  (mode_ == Mode::kLive && read_scheduled_) ||
                  mode_ == Mode::kStarting;
  s.last_sent_cursor = last_sent_cursor_;
  s.events_sent = events_sent_;
  s.queued = pending_.size() + buffer_.size();
  s.overflows = overflows_;
  s.pages_from_memory = pages_from_memory_;
  s.pages_from_log = pages_from_log_;
  return s;
}

SubscribeHub::SubscribeHub(SubscribeExecutor* executor, size_t max_streams,
                           WabaDirectory* wabas, RecentEvents::Options recent)
    : executor_(executor),
      max_streams_(max_streams),
      wabas_(wabas),
      recent_(recent) {}

void SubscribeHub::OnCommitted(const std::vector<EventRecord>& records) {
  if (wabas_ != nullptr) {
    for (const EventRecord& record : records) wabas_->Learn(record);
  }
  std::vector<std::shared_ptr<SubscribeStream>> wake;
  {
    absl::MutexLock lock(&mu_);
    if (records.empty()) return;
    if (streams_.empty()) {
      // Nobody to catch up: keep nothing (what is kept must be contiguous).
      recent_.Clear();
      return;
    }
    // Parsed once per event, shared by every stream that takes it. Kept
    // before the streams see the commit, so a stream reading recent_ after
    // turning its live buffer on misses nothing.
    std::vector<EventPtr> parsed(records.size());
    recent_.Append(records, &parsed);
    for (auto& [id, stream] : streams_) {
      if (stream->OnCommitted(records, &parsed)) wake.push_back(stream);
    }
  }
  if (wake.empty()) return;
  // Writes start on the executor, not on the store's writer thread.
  executor_->Post([wake = std::move(wake)] {
    for (const auto& stream : wake) stream->Pump();
  });
}

bool SubscribeHub::Add(std::shared_ptr<SubscribeStream> stream) {
  absl::MutexLock lock(&mu_);
  if (stopped_ || streams_.size() >= max_streams_) return false;
  uint64_t id = stream->id();
  streams_.emplace(id, std::move(stream));
  return true;
}

void SubscribeHub::Remove(uint64_t id) {
  std::shared_ptr<SubscribeStream> removed;
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  removed = std::move(it->second);
  streams_.erase(it);
}

std::vector<std::shared_ptr<SubscribeStream>> SubscribeHub::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  std::vector<std::shared_ptr<SubscribeStream>> all;
  all.reserve(streams_.size());
  for (auto& [id, stream] : streams_) all.push_back(stream);
  return all;
}

std::vector<StreamStats> SubscribeHub::Stats() const {
  absl::MutexLock lock(&mu_);
  std::vector<StreamStats> stats;
  stats.reserve(streams_.size());
  for (const auto& [id, stream] : streams_) stats.push_back(stream->Stats());
  return stats;
}

bool SubscribeHub::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

}  // namespace wagate::events
