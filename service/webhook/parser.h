// Parses a WhatsApp Cloud API webhook POST body into typed wagate.v1.Event
// protos: one Event per update, none dropped.
//
//   ASSIGN_OR_RETURN(std::vector<wagate::v1::Event> events,
//                    webhook::ParseWebhook(request.body, absl::Now()));
//   for (const auto& e : events) Store(webhook::EventKind(e), e);
//
// What becomes an Event (every entry[] x changes[] is walked, not only the
// first):
//  - `messages`-family values (fields messages, calls, smb_message_echoes,
//    user_preferences, history, smb_app_state_sync, automatic_events): one
//    Event per item of `messages[]`, `statuses[]`, `calls[]`,
//    `message_echoes[]`, `user_preferences[]`, `history[]`, `state_sync[]`
//    and `automatic_events[]`. `value.errors[]` beside items is attached to
//    each message, status, call and history chunk; alone (or beside only
//    items without errors[]) it is one `system_error` Event.
//  - every other known field (template, phone number, account, flows...):
//    one Event per change.
//  - anything not modelled (an unknown field, an unknown message type, a
//    value with nothing recognisable in it) is one `unknown` Event holding
//    the field and the item's raw (minified) JSON.
// Every Event carries waba_id (entry.id), entry_time, field, and, when given,
// phone_number_id / display_phone_number (value.metadata, or
// value.display_phone_number for management fields).
//
// Event.id, the dedupe key (stable across Meta's redeliveries, which repeat
// the same POST body):
//  - an inbound message (also an unknown-typed one): its wamid (`id`);
//  - a status: `<message id>:<status as sent>` (e.g. "wamid.X:delivered");
//    the timestamp is left out so a resent status is stored once. A status
//    naming a group participant (recipient_participant_id, else
//    recipient_participant_user_id) appends it,
//    `<message id>:<status>:<participant>`, since a group message gets one
//    status per participant; other statuses keep the two-part id, so
//    redeliveries across an upgrade still dedupe;
//  - everything else (management changes, calls, echoes, preferences,
//    history chunks, state syncs, automatic events, system errors, items
//    without an id): "sha256:" + hex SHA-256 of
//    waba_id, phone_number_id, field, entry.time and the minified JSON of the
//    item (or of the change's value), separated by '\n'. entry.time is part
//    of it because the same content may legitimately recur (e.g. two
//    "APPROVED" reviews months apart) and a redelivery repeats it unchanged.
//
// Errors (INVALID_ARGUMENT): invalid JSON, trailing data after the object, a
// root that is not an object, `object` other than "whatsapp_business_account",
// `entry` missing or not an array. Unknown keys anywhere are ignored, and a
// malformed field (e.g. a timestamp that is not a number) is left unset
// rather than failing the whole POST. Timestamps are accepted as integer
// seconds or as strings of digits.
//
// Thread-safe; each thread reuses its own simdjson parser.
#ifndef WAGATE_SERVICE_WEBHOOK_PARSER_H_
#define WAGATE_SERVICE_WEBHOOK_PARSER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "wagate/v1/events.pb.h"

namespace wagate::webhook {

// Parses `body` (a webhook POST body) into Events with received_at set and
// cursor empty, in document order. INVALID_ARGUMENT as described above.
absl::StatusOr<std::vector<wagate::v1::Event>> ParseWebhook(
    absl::string_view body, absl::Time received_at);

// The name of the Event.payload field that is set ("message", "status",
// "template_status", ..., "unknown"): the store's `kind`, which Subscribe
// filters on. "" if none is set.
absl::string_view EventKind(const wagate::v1::Event& event);

}  // namespace wagate::webhook

#endif  // WAGATE_SERVICE_WEBHOOK_PARSER_H_
