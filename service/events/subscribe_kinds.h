// Event kinds: the link between the public EventKind enum, the oneof field
// of Event.payload, and the `kind` string the event store indexes.
//
// The store's kind string is the name of the Event.payload field that is set
// ("message", "template_status"...), and EventKind value names are that name
// in upper case behind "EVENT_KIND_". Both mappings are derived from the
// proto descriptors, so adding a payload field needs no code here (a test
// checks that every payload field has its EventKind).
//
//   ASSIGN_OR_RETURN(std::string kind, KindName(v1::EVENT_KIND_MESSAGE));
//   // kind == "message"
//   record.kind = KindOfEvent(event);  // what the webhook parser stores
#ifndef WAGATE_SERVICE_EVENTS_SUBSCRIBE_KINDS_H_
#define WAGATE_SERVICE_EVENTS_SUBSCRIBE_KINDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "wagate/v1/events.pb.h"

namespace wagate::events {

// The store kind string of `kind`. INVALID_ARGUMENT for
// EVENT_KIND_UNSPECIFIED, an unknown number, or a value with no payload
// field of the same name.
absl::StatusOr<std::string> KindName(int kind);

// The EventKind of a store kind string; EVENT_KIND_UNSPECIFIED if none.
wagate::v1::EventKind KindFromName(absl::string_view name);

// The store kind string of `event`: the name of its set payload field, or ""
// when no payload is set.
std::string KindOfEvent(const wagate::v1::Event& event);

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_SUBSCRIBE_KINDS_H_
