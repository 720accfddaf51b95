#include "emulator/webhook_payloads.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "emulator/errors.h"
#include "service/common/json_writer.h"

namespace wagate::emulator {
namespace {

void WriteMetadata(common::JsonWriter& w, const NumberMetadata& meta) {
  w.Field("messaging_product", "whatsapp");
  w.Key("metadata").BeginObject();
  w.Field("display_phone_number", meta.display_phone_number);
  w.Field("phone_number_id", meta.phone_number_id);
  w.EndObject();
}

}  // namespace

std::string Envelope(absl::string_view waba_id, absl::Time time,
                     const std::vector<Change>& changes) {
  size_t size = 128;
  for (const Change& c : changes) size += c.value_json.size() + 32;
  common::JsonWriter w(size);
  w.BeginObject();
  w.Field("object", "whatsapp_business_account");
  w.Key("entry").BeginArray().BeginObject();
  w.Field("id", waba_id);
  w.Field("time", absl::ToUnixSeconds(time));
  w.Key("changes").BeginArray();
  for (const Change& c : changes) {
    w.BeginObject().Key("value").Raw(c.value_json);
    w.Field("field", c.field).EndObject();
  }
  w.EndArray().EndObject().EndArray().EndObject();
  return std::move(w).Release();
}

Change StatusChange(const NumberMetadata& meta, const StatusEvent& s) {
  common::JsonWriter w(512);
  w.BeginObject();
  WriteMetadata(w, meta);
  w.Key("statuses").BeginArray().BeginObject();
  w.Field("id", s.wamid);
  w.Field("status", s.status);
  w.Field("timestamp", absl::StrCat(absl::ToUnixSeconds(s.time)));
  w.Field("recipient_id", s.recipient_id);
  if (!s.biz_opaque_callback_data.empty()) {
    w.Field("biz_opaque_callback_data", s.biz_opaque_callback_data);
  }
  if (!s.conversation_id.empty()) {
    w.Key("conversation").BeginObject();
    w.Field("id", s.conversation_id);
    if (s.status == "sent") {
      w.Field("expiration_timestamp",
              absl::StrCat(absl::ToUnixSeconds(s.time + absl::Hours(24))));
    }
    w.Key("origin").BeginObject().Field("type", s.pricing_category);
    w.EndObject().EndObject();
  }
  if (s.with_pricing) {
    const bool service = s.pricing_category == "service";
    w.Key("pricing").BeginObject();
    w.Field("billable", !service);
    w.Field("pricing_model", "PMP");
    w.Field("type", service ? "free_customer_service" : "regular");
    w.Field("category", s.pricing_category);
    w.EndObject();
  }
  if (s.error_code != 0) {
    w.Key("errors").BeginArray().Raw(
        WebhookErrorJson(s.error_code, s.error_details));
    w.EndArray();
  }
  w.EndObject().EndArray().EndObject();
  return Change{"messages", std::move(w).Release()};
}

Change InboundMessageChange(const NumberMetadata& meta, absl::string_view from,
                            absl::string_view profile_name,
                            absl::string_view wamid, absl::Time time,
                            absl::string_view message_fields) {
  common::JsonWriter w(512 + message_fields.size());
  w.BeginObject();
  WriteMetadata(w, meta);
  if (!profile_name.empty()) {
    w.Key("contacts").BeginArray().BeginObject();
    w.Key("profile").BeginObject().Field("name", profile_name).EndObject();
    w.Field("wa_id", from);
    w.EndObject().EndArray();
  }
  w.Key("messages").BeginArray().BeginObject();
  w.Field("from", from);
  w.Field("id", wamid);
  w.Field("timestamp", absl::StrCat(absl::ToUnixSeconds(time)));
  if (!message_fields.empty()) {
    // Continue the object with the caller's members.
    std::string fields = absl::StrCat(",", message_fields);
    std::string out = std::move(w).Release();
    out.append(fields);
    out.append("}]}");
    return Change{"messages", std::move(out)};
  }
  w.EndObject().EndArray().EndObject();
  return Change{"messages", std::move(w).Release()};
}

Change TemplateStatusChange(absl::string_view event, absl::string_view id,
                            absl::string_view name, absl::string_view language,
                            absl::string_view category,
                            absl::string_view reason) {
  common::JsonWriter w(256);
  w.BeginObject();
  w.Field("event", event);
  int64_t numeric_id = 0;
  if (absl::SimpleAtoi(id, &numeric_id)) {
    w.Field("message_template_id", numeric_id);  // a number, as Meta sends it
  } else {
    w.Field("message_template_id", id);
  }
  w.Field("message_template_name", name);
  w.Field("message_template_language", language);
  w.Field("reason", reason);
  if (!category.empty()) w.Field("message_template_category", category);
  w.EndObject();
  return Change{"message_template_status_update", std::move(w).Release()};
}

}  // namespace wagate::emulator
