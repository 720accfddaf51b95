// Builders of Meta's webhook payloads (CLOUD_API.md §3.3-3.6): the envelope
// {"object":"whatsapp_business_account","entry":[{"id":WABA,"time",
// "changes":[{"field","value"}]}]}, message statuses, and inbound messages.
// Pure functions over JsonWriter; the bytes built here are the bytes signed.
//
//   Change c = StatusChange(meta, status);
//   std::string body = Envelope(waba_id, now, {c});
#ifndef WAGATE_EMULATOR_WEBHOOK_PAYLOADS_H_
#define WAGATE_EMULATOR_WEBHOOK_PAYLOADS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wagate::emulator {

// One changes[] item: its field and its value, already serialized.
struct Change {
  std::string field;       // "messages", "message_template_status_update"...
  std::string value_json;  // the "value" object
};

// The phone number a messages-family value is about.
struct NumberMetadata {
  std::string display_phone_number;
  std::string phone_number_id;
};

struct StatusEvent {
  std::string wamid;
  std::string status;  // sent, delivered, read, failed
  absl::Time time;
  std::string recipient_id;
  std::string biz_opaque_callback_data;  // echoed when set
  bool with_pricing = false;
  std::string pricing_category;  // service, utility, marketing, ...
  // v23 and older: {"id","expiration_timestamp" (sent only),"origin"}.
  std::string conversation_id;
  int error_code = 0;  // failed: statuses[].errors[]
  std::string error_details;
};

// The full POST body for `changes`, all in one entry of `waba_id`.
std::string Envelope(absl::string_view waba_id, absl::Time time,
                     const std::vector<Change>& changes);

// A "messages" change carrying one status.
Change StatusChange(const NumberMetadata& meta, const StatusEvent& status);

// A "messages" change carrying one inbound message: `message_fields` are the
// type-specific members already serialized without braces (e.g.
// "\"type\":\"text\",\"text\":{\"body\":\"hi\"}"); from, id and timestamp are
// written here. `profile_name` empty omits contacts (as system messages do).
Change InboundMessageChange(const NumberMetadata& meta, absl::string_view from,
                            absl::string_view profile_name,
                            absl::string_view wamid, absl::Time time,
                            absl::string_view message_fields);

// message_template_status_update for a template event (APPROVED, ...).
Change TemplateStatusChange(absl::string_view event, absl::string_view id,
                            absl::string_view name, absl::string_view language,
                            absl::string_view category,
                            absl::string_view reason);

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_WEBHOOK_PAYLOADS_H_
