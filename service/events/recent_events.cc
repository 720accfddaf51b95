#include "service/events/recent_events.h"

#include <algorithm>
#include <utility>

#include "service/common/log.h"

namespace wagate::events {

namespace {

grpc::ByteBuffer ToByteBuffer(std::string bytes) {
  grpc::Slice slice(std::move(bytes));
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

EventPtr MakeEvent(const EventRecord& record) {
  auto out = std::make_shared<OutgoingEvent>();
  out->cursor = record.cursor;
  // Checked as an Event once here, so every subscriber gets a valid one.
  wagate::v1::Event event;
  if (event.ParseFromString(record.payload)) {
    // The stored payload has no cursor; a field appended last is the one a
    // reader keeps, even if the payload had one.
    wagate::v1::Event cursor;
    cursor.set_cursor(record.cursor);
    out->wire = ToByteBuffer(record.payload + cursor.SerializeAsString());
    return out;
  }
  log::Warning("events", "stored event payload does not parse",
               {{"id", record.id}, {"cursor", record.cursor}});
  event.Clear();
  event.set_id(record.id);
  event.set_waba_id(record.waba_id);
  event.set_phone_number_id(record.phone_number_id);
  event.set_cursor(record.cursor);
  out->wire = ToByteBuffer(event.SerializeAsString());
  return out;
}

RecentEvents::RecentEvents(Options options) : options_(options) {}

void RecentEvents::Append(const std::vector<EventRecord>& records,
                          std::vector<EventPtr>* parsed) {
  if (options_.max_events == 0) return;
  for (size_t i = 0; i < records.size(); ++i) {
    if ((*parsed)[i] == nullptr) (*parsed)[i] = MakeEvent(records[i]);
  }
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < records.size(); ++i) {
    const EventRecord& record = records[i];
    Entry entry;
    // What filters look at, and the cursor; not the payload (`event` holds
    // it encoded) nor the id.
    entry.meta.kind = record.kind;
    entry.meta.phone_number_id = record.phone_number_id;
    entry.meta.waba_id = record.waba_id;
    entry.meta.cursor = record.cursor;
    entry.event = (*parsed)[i];
    entry.bytes = record.payload.size() + kEntryOverhead;
    bytes_ += entry.bytes;
    entries_.push_back(std::move(entry));
  }
  while (!entries_.empty() && (entries_.size() > options_.max_events ||
                               bytes_ > options_.max_bytes)) {
    bytes_ -= entries_.front().bytes;
    entries_.pop_front();
  }
}

void RecentEvents::Clear() {
  absl::MutexLock lock(&mu_);
  entries_.clear();
  bytes_ = 0;
}

bool RecentEvents::ReadAfter(
    const std::string& after, size_t max,
    const std::function<bool(const EventRecord&)>& match, Page* page) const {
  absl::ReaderMutexLock lock(&mu_);
  // Covered: `after` is the oldest kept event or later, so every event
  // after it is here.
  if (entries_.empty() || after < entries_.front().meta.cursor) return false;
  auto it = std::upper_bound(entries_.begin(), entries_.end(), after,
                             [](const std::string& cursor, const Entry& e) {
                               return cursor < e.meta.cursor;
                             });
  page->events.clear();
  page->last_read.clear();
  page->more = false;
  size_t looked = 0;
  for (; it != entries_.end(); ++it) {
    if (looked == max) {
      page->more = true;
      break;
    }
    ++looked;
    if (match(it->meta)) page->events.push_back(it->event);
    page->last_read = it->meta.cursor;
  }
  return true;
}

size_t RecentEvents::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return entries_.size();
}

size_t RecentEvents::bytes() const {
  absl::ReaderMutexLock lock(&mu_);
  return bytes_;
}

}  // namespace wagate::events
