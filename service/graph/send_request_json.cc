#include "service/graph/send_request_json.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "service/common/status_macros.h"

namespace wagate::graph {
namespace {

using common::JsonWriter;

// Writes `key` only when `value` is non-empty: Meta rejects empty strings.
void Opt(JsonWriter& w, absl::string_view key, const std::string& value) {
  if (!value.empty()) w.Key(key).String(value);
}

// A request field path ("template.components[0].parameters[1]"), rendered
// only when an error needs it: building strings per field would cost more
// than writing the JSON.
struct FieldPath {
  const FieldPath* parent = nullptr;
  absl::string_view name;
  int index = -1;

  FieldPath Child(absl::string_view child, int i = -1) const {
    return FieldPath{this, child, i};
  }
  std::string Render() const {
    std::string out = parent ? parent->Render() : std::string();
    if (!name.empty()) absl::StrAppend(&out, out.empty() ? "" : ".", name);
    if (index >= 0) absl::StrAppend(&out, "[", index, "]");
    return out;
  }
};

absl::Status Missing(const FieldPath& field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field.Render(), ": ", what));
}

// --- google.protobuf.Struct → JSON -------------------------------------

void WriteValue(JsonWriter& w, const google::protobuf::Value& v);

void WriteStruct(JsonWriter& w, const google::protobuf::Struct& s) {
  // Sorted keys: the same request always gives the same bytes.
  std::vector<const google::protobuf::Map<std::string,
                                          google::protobuf::Value>::value_type*>
      fields;
  fields.reserve(s.fields_size());
  for (const auto& kv : s.fields()) fields.push_back(&kv);
  std::sort(fields.begin(), fields.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  w.BeginObject();
  for (const auto* kv : fields) {
    w.Key(kv->first);
    WriteValue(w, kv->second);
  }
  w.EndObject();
}

void WriteValue(JsonWriter& w, const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kNumberValue: {
      const double d = v.number_value();
      // Whole numbers as integers ("3", not "3e0"), as a JSON client writes.
      if (d == static_cast<double>(static_cast<int64_t>(d)) &&
          d > -9007199254740992.0 && d < 9007199254740992.0) {
        w.Int(static_cast<int64_t>(d));
      } else {
        w.Double(d);
      }
      break;
    }
    case google::protobuf::Value::kStringValue:
      w.String(v.string_value());
      break;
    case google::protobuf::Value::kBoolValue:
      w.Bool(v.bool_value());
      break;
    case google::protobuf::Value::kStructValue:
      WriteStruct(w, v.struct_value());
      break;
    case google::protobuf::Value::kListValue:
      w.BeginArray();
      for (const auto& item : v.list_value().values()) WriteValue(w, item);
      w.EndArray();
      break;
    case google::protobuf::Value::kNullValue:
    case google::protobuf::Value::KIND_NOT_SET:
      w.Null();
      break;
  }
}

// --- media ----------------------------------------------------------------

// {"id"|"link", caption?, filename?, voice?}. `with_caption` is false where
// Meta allows no caption (headers, template parameters).
template <typename Media>
absl::Status WriteMediaSource(JsonWriter& w, const Media& m,
                              const FieldPath& field) {
  switch (m.source_case()) {
    case Media::kId:
      w.Key("id").String(m.id());
      return absl::OkStatus();
    case Media::kLink:
      w.Key("link").String(m.link());
      return absl::OkStatus();
    default:
      return Missing(field, "one of id or link is required");
  }
}

absl::Status WriteImage(JsonWriter& w, const v1::Image& m,
                        const FieldPath& field, bool with_caption) {
  w.BeginObject();
  RETURN_IF_ERROR(WriteMediaSource(w, m, field));
  if (with_caption) Opt(w, "caption", m.caption());
  w.EndObject();
  return absl::OkStatus();
}

absl::Status WriteVideo(JsonWriter& w, const v1::Video& m,
                        const FieldPath& field, bool with_caption) {
  w.BeginObject();
  RETURN_IF_ERROR(WriteMediaSource(w, m, field));
  if (with_caption) Opt(w, "caption", m.caption());
  w.EndObject();
  return absl::OkStatus();
}

absl::Status WriteDocument(JsonWriter& w, const v1::Document& m,
                           const FieldPath& field, bool with_caption,
                           bool with_filename) {
  w.BeginObject();
  RETURN_IF_ERROR(WriteMediaSource(w, m, field));
  if (with_caption) Opt(w, "caption", m.caption());
  if (with_filename) Opt(w, "filename", m.filename());
  w.EndObject();
  return absl::OkStatus();
}

absl::Status WriteAudio(JsonWriter& w, const v1::Audio& m) {
  w.BeginObject();
  RETURN_IF_ERROR(WriteMediaSource(w, m, FieldPath{nullptr, "audio"}));
  if (m.voice()) w.Key("voice").Bool(true);
  w.EndObject();
  return absl::OkStatus();
}

absl::Status WriteSticker(JsonWriter& w, const v1::Sticker& m) {
  w.BeginObject();
  RETURN_IF_ERROR(WriteMediaSource(w, m, FieldPath{nullptr, "sticker"}));
  w.EndObject();
  return absl::OkStatus();
}

void WriteLocation(JsonWriter& w, const v1::Location& l) {
  w.BeginObject();
  w.Key("latitude").Double(l.latitude());
  w.Key("longitude").Double(l.longitude());
  Opt(w, "name", l.name());
  Opt(w, "address", l.address());
  w.EndObject();
}

// --- contacts ---------------------------------------------------------------

void WriteContact(JsonWriter& w, const v1::Contact& c) {
  w.BeginObject();
  if (c.addresses_size() > 0) {
    w.Key("addresses").BeginArray();
    for (const auto& a : c.addresses()) {
      w.BeginObject();
      Opt(w, "street", a.street());
      Opt(w, "city", a.city());
      Opt(w, "state", a.state());
      Opt(w, "zip", a.zip());
      Opt(w, "country", a.country());
      Opt(w, "country_code", a.country_code());
      Opt(w, "type", a.type());
      w.EndObject();
    }
    w.EndArray();
  }
  Opt(w, "birthday", c.birthday());
  if (c.emails_size() > 0) {
    w.Key("emails").BeginArray();
    for (const auto& e : c.emails()) {
      w.BeginObject();
      Opt(w, "email", e.email());
      Opt(w, "type", e.type());
      w.EndObject();
    }
    w.EndArray();
  }
  if (c.has_name()) {
    const auto& n = c.name();
    w.Key("name").BeginObject();
    Opt(w, "formatted_name", n.formatted_name());
    Opt(w, "first_name", n.first_name());
    Opt(w, "last_name", n.last_name());
    Opt(w, "middle_name", n.middle_name());
    Opt(w, "suffix", n.suffix());
    Opt(w, "prefix", n.prefix());
    w.EndObject();
  }
  if (c.has_org()) {
    const auto& o = c.org();
    w.Key("org").BeginObject();
    Opt(w, "company", o.company());
    Opt(w, "department", o.department());
    Opt(w, "title", o.title());
    w.EndObject();
  }
  if (c.phones_size() > 0) {
    w.Key("phones").BeginArray();
    for (const auto& p : c.phones()) {
      w.BeginObject();
      Opt(w, "phone", p.phone());
      Opt(w, "type", p.type());
      Opt(w, "wa_id", p.wa_id());
      w.EndObject();
    }
    w.EndArray();
  }
  if (c.urls_size() > 0) {
    w.Key("urls").BeginArray();
    for (const auto& u : c.urls()) {
      w.BeginObject();
      Opt(w, "url", u.url());
      Opt(w, "type", u.type());
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

// --- interactive ------------------------------------------------------------

absl::Status WriteHeader(JsonWriter& w, const v1::InteractiveHeader& h,
                         const FieldPath& field) {
  w.BeginObject();
  switch (h.header_case()) {
    case v1::InteractiveHeader::kText:
      w.Key("type").String("text");
      w.Key("text").String(h.text());
      break;
    case v1::InteractiveHeader::kImage:
      w.Key("type").String("image");
      w.Key("image");
      RETURN_IF_ERROR(WriteImage(w, h.image(), field.Child("image"),
                                 /*with_caption=*/false));
      break;
    case v1::InteractiveHeader::kVideo:
      w.Key("type").String("video");
      w.Key("video");
      RETURN_IF_ERROR(WriteVideo(w, h.video(), field.Child("video"),
                                 /*with_caption=*/false));
      break;
    case v1::InteractiveHeader::kDocument:
      w.Key("type").String("document");
      w.Key("document");
      RETURN_IF_ERROR(WriteDocument(w, h.document(), field.Child("document"),
                                    /*with_caption=*/false,
                                    /*with_filename=*/true));
      break;
    default:
      return Missing(field,
                     "one of text, image, video or document is required");
  }
  w.EndObject();
  return absl::OkStatus();
}

void WriteTextObject(JsonWriter& w, absl::string_view key,
                     const std::string& text) {
  if (text.empty()) return;
  w.Key(key).BeginObject().Key("text").String(text).EndObject();
}

void WriteCtaUrlAction(JsonWriter& w, const v1::InteractiveCtaUrl& c) {
  w.BeginObject();
  w.Key("name").String("cta_url");
  w.Key("parameters").BeginObject();
  Opt(w, "display_text", c.display_text());
  Opt(w, "url", c.url());
  w.EndObject();
  w.EndObject();
}

void WriteProductSections(
    JsonWriter& w,
    const google::protobuf::RepeatedPtrField<v1::ProductSection>& sections) {
  w.Key("sections").BeginArray();
  for (const auto& s : sections) {
    w.BeginObject();
    Opt(w, "title", s.title());
    w.Key("product_items").BeginArray();
    for (const auto& item : s.product_items()) {
      w.BeginObject();
      w.Key("product_retailer_id").String(item.product_retailer_id());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

void WriteFlowAction(JsonWriter& w, const v1::InteractiveFlow& f) {
  w.BeginObject();
  w.Key("name").String("flow");
  w.Key("parameters").BeginObject();
  // Graph requires the version; "3" is the only current one.
  w.Key("flow_message_version")
      .String(f.flow_message_version().empty() ? "3"
                                               : f.flow_message_version());
  Opt(w, "flow_token", f.flow_token());
  if (f.flow_case() == v1::InteractiveFlow::kFlowId) {
    w.Key("flow_id").String(f.flow_id());
  } else if (f.flow_case() == v1::InteractiveFlow::kFlowName) {
    w.Key("flow_name").String(f.flow_name());
  }
  Opt(w, "flow_cta", f.flow_cta());
  switch (f.flow_action()) {
    case v1::InteractiveFlow::FLOW_ACTION_NAVIGATE:
      w.Key("flow_action").String("navigate");
      break;
    case v1::InteractiveFlow::FLOW_ACTION_DATA_EXCHANGE:
      w.Key("flow_action").String("data_exchange");
      break;
    default:
      break;
  }
  if (f.has_flow_action_payload()) {
    const auto& p = f.flow_action_payload();
    w.Key("flow_action_payload").BeginObject();
    Opt(w, "screen", p.screen());
    if (p.has_data()) {
      w.Key("data");
      WriteStruct(w, p.data());
    }
    w.EndObject();
  }
  switch (f.mode()) {
    case v1::InteractiveFlow::MODE_PUBLISHED:
      w.Key("mode").String("published");
      break;
    case v1::InteractiveFlow::MODE_DRAFT:
      w.Key("mode").String("draft");
      break;
    default:
      break;
  }
  w.EndObject();
  w.EndObject();
}

void WriteAddressAction(JsonWriter& w, const v1::InteractiveAddressMessage& a) {
  w.BeginObject();
  w.Key("name").String("address_message");
  w.Key("parameters").BeginObject();
  Opt(w, "country", a.country());
  if (a.has_values()) {
    w.Key("values");
    WriteStruct(w, a.values());
  }
  if (a.saved_addresses_size() > 0) {
    w.Key("saved_addresses").BeginArray();
    for (const auto& s : a.saved_addresses()) {
      w.BeginObject();
      Opt(w, "id", s.id());
      if (s.has_value()) {
        w.Key("value");
        WriteStruct(w, s.value());
      }
      w.EndObject();
    }
    w.EndArray();
  }
  if (!a.validation_errors().empty()) {
    std::vector<
        const google::protobuf::Map<std::string, std::string>::value_type*>
        errors;
    for (const auto& kv : a.validation_errors()) errors.push_back(&kv);
    std::sort(errors.begin(), errors.end(),
              [](const auto* x, const auto* y) { return x->first < y->first; });
    w.Key("validation_errors").BeginObject();
    for (const auto* kv : errors) w.Key(kv->first).String(kv->second);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
}

absl::Status WriteCarouselAction(JsonWriter& w,
                                 const v1::InteractiveCarousel& c) {
  w.BeginObject();
  w.Key("cards").BeginArray();
  int i = 0;
  for (const auto& card : c.cards()) {
    const FieldPath carousel{nullptr, "interactive.carousel.cards", i++};
    const FieldPath& field = carousel;
    w.BeginObject();
    w.Key("card_index").Int(card.card_index());
    switch (card.action_case()) {
      case v1::CarouselCard::kCtaUrl:
        w.Key("type").String("cta_url");
        break;
      case v1::CarouselCard::kQuickReplies:
        w.Key("type").String("button");
        break;
      default:
        return Missing(field, "one of cta_url or quick_replies is required");
    }
    if (card.has_header()) {
      w.Key("header");
      RETURN_IF_ERROR(WriteHeader(w, card.header(), field.Child("header")));
    }
    if (card.has_body()) WriteTextObject(w, "body", card.body().text());
    w.Key("action");
    if (card.action_case() == v1::CarouselCard::kCtaUrl) {
      WriteCtaUrlAction(w, card.cta_url());
    } else {
      w.BeginObject();
      w.Key("buttons").BeginArray();
      for (const auto& b : card.quick_replies().buttons()) {
        w.BeginObject();
        w.Key("type").String("quick_reply");
        w.Key("quick_reply").BeginObject();
        w.Key("id").String(b.id());
        w.Key("title").String(b.title());
        w.EndObject();
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return absl::OkStatus();
}

absl::Status WriteInteractive(JsonWriter& w, const v1::Interactive& in) {
  absl::string_view type;
  switch (in.kind_case()) {
    case v1::Interactive::kButton:
      type = "button";
      break;
    case v1::Interactive::kList:
      type = "list";
      break;
    case v1::Interactive::kCtaUrl:
      type = "cta_url";
      break;
    case v1::Interactive::kFlow:
      type = "flow";
      break;
    case v1::Interactive::kProduct:
      type = "product";
      break;
    case v1::Interactive::kProductList:
      type = "product_list";
      break;
    case v1::Interactive::kCatalogMessage:
      type = "catalog_message";
      break;
    case v1::Interactive::kLocationRequest:
      type = "location_request_message";
      break;
    case v1::Interactive::kAddressMessage:
      type = "address_message";
      break;
    case v1::Interactive::kCarousel:
      type = "carousel";
      break;
    case v1::Interactive::kCallPermissionRequest:
      type = "call_permission_request";
      break;
    default:
      return Missing(FieldPath{nullptr, "interactive"},
                     "a kind (button, list, ...) is required");
  }
  w.BeginObject();
  w.Key("type").String(type);
  if (in.has_header()) {
    w.Key("header");
    RETURN_IF_ERROR(
        WriteHeader(w, in.header(), FieldPath{nullptr, "interactive.header"}));
  }
  if (in.has_body()) WriteTextObject(w, "body", in.body().text());
  if (in.has_footer()) WriteTextObject(w, "footer", in.footer().text());
  w.Key("action");
  switch (in.kind_case()) {
    case v1::Interactive::kButton:
      w.BeginObject();
      w.Key("buttons").BeginArray();
      for (const auto& b : in.button().buttons()) {
        w.BeginObject();
        w.Key("type").String("reply");
        w.Key("reply").BeginObject();
        w.Key("id").String(b.id());
        w.Key("title").String(b.title());
        w.EndObject();
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
      break;
    case v1::Interactive::kList: {
      const auto& l = in.list();
      w.BeginObject();
      Opt(w, "button", l.button());
      w.Key("sections").BeginArray();
      for (const auto& s : l.sections()) {
        w.BeginObject();
        Opt(w, "title", s.title());
        w.Key("rows").BeginArray();
        for (const auto& r : s.rows()) {
          w.BeginObject();
          w.Key("id").String(r.id());
          w.Key("title").String(r.title());
          Opt(w, "description", r.description());
          w.EndObject();
        }
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
      break;
    }
    case v1::Interactive::kCtaUrl:
      WriteCtaUrlAction(w, in.cta_url());
      break;
    case v1::Interactive::kFlow:
      WriteFlowAction(w, in.flow());
      break;
    case v1::Interactive::kProduct:
      w.BeginObject();
      Opt(w, "catalog_id", in.product().catalog_id());
      Opt(w, "product_retailer_id", in.product().product_retailer_id());
      w.EndObject();
      break;
    case v1::Interactive::kProductList:
      w.BeginObject();
      Opt(w, "catalog_id", in.product_list().catalog_id());
      WriteProductSections(w, in.product_list().sections());
      w.EndObject();
      break;
    case v1::Interactive::kCatalogMessage: {
      const auto& c = in.catalog_message();
      w.BeginObject();
      w.Key("name").String("catalog_message");
      if (!c.thumbnail_product_retailer_id().empty()) {
        w.Key("parameters").BeginObject();
        w.Key("thumbnail_product_retailer_id")
            .String(c.thumbnail_product_retailer_id());
        w.EndObject();
      }
      w.EndObject();
      break;
    }
    case v1::Interactive::kLocationRequest:
      w.BeginObject().Key("name").String("send_location").EndObject();
      break;
    case v1::Interactive::kAddressMessage:
      WriteAddressAction(w, in.address_message());
      break;
    case v1::Interactive::kCarousel:
      RETURN_IF_ERROR(WriteCarouselAction(w, in.carousel()));
      break;
    case v1::Interactive::kCallPermissionRequest:
      w.BeginObject().Key("name").String("call_permission_request").EndObject();
      break;
    default:
      break;
  }
  w.EndObject();
  return absl::OkStatus();
}

// --- template ---------------------------------------------------------------

absl::Status WriteParameter(JsonWriter& w, const v1::TemplateParameter& p,
                            const FieldPath& field) {
  w.BeginObject();
  switch (p.value_case()) {
    case v1::TemplateParameter::kText:
      w.Key("type").String("text");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("text").String(p.text());
      break;
    case v1::TemplateParameter::kCurrency: {
      const auto& c = p.currency();
      w.Key("type").String("currency");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("currency").BeginObject();
      Opt(w, "fallback_value", c.fallback_value());
      Opt(w, "code", c.code());
      w.Key("amount_1000").Int(c.amount_1000());
      w.EndObject();
      break;
    }
    case v1::TemplateParameter::kDateTime:
      w.Key("type").String("date_time");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("date_time").BeginObject();
      Opt(w, "fallback_value", p.date_time().fallback_value());
      w.EndObject();
      break;
    case v1::TemplateParameter::kImage:
      w.Key("type").String("image");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("image");
      RETURN_IF_ERROR(WriteImage(w, p.image(), field.Child("image"),
                                 /*with_caption=*/false));
      break;
    case v1::TemplateParameter::kVideo:
      w.Key("type").String("video");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("video");
      RETURN_IF_ERROR(WriteVideo(w, p.video(), field.Child("video"),
                                 /*with_caption=*/false));
      break;
    case v1::TemplateParameter::kDocument:
      w.Key("type").String("document");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("document");
      RETURN_IF_ERROR(WriteDocument(w, p.document(), field.Child("document"),
                                    /*with_caption=*/false,
                                    /*with_filename=*/true));
      break;
    case v1::TemplateParameter::kLocation:
      w.Key("type").String("location");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("location");
      WriteLocation(w, p.location());
      break;
    case v1::TemplateParameter::kPayload:
      w.Key("type").String("payload");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("payload").String(p.payload());
      break;
    case v1::TemplateParameter::kCouponCode:
      w.Key("type").String("coupon_code");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("coupon_code").String(p.coupon_code());
      break;
    case v1::TemplateParameter::kAction: {
      const auto& a = p.action();
      w.Key("type").String("action");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("action").BeginObject();
      Opt(w, "flow_token", a.flow_token());
      if (a.has_flow_action_data()) {
        w.Key("flow_action_data");
        WriteStruct(w, a.flow_action_data());
      }
      Opt(w, "thumbnail_product_retailer_id",
          a.thumbnail_product_retailer_id());
      if (a.sections_size() > 0) WriteProductSections(w, a.sections());
      w.EndObject();
      break;
    }
    case v1::TemplateParameter::kLimitedTimeOffer:
      w.Key("type").String("limited_time_offer");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("limited_time_offer").BeginObject();
      w.Key("expiration_time_ms")
          .Int(p.limited_time_offer().expiration_time_ms());
      w.EndObject();
      break;
    case v1::TemplateParameter::kProduct:
      w.Key("type").String("product");
      Opt(w, "parameter_name", p.parameter_name());
      w.Key("product").BeginObject();
      Opt(w, "product_retailer_id", p.product().product_retailer_id());
      Opt(w, "catalog_id", p.product().catalog_id());
      w.EndObject();
      break;
    default:
      return Missing(field, "a value (text, currency, image, ...) is required");
  }
  w.EndObject();
  return absl::OkStatus();
}

absl::string_view SubTypeName(v1::TemplateComponent::SubType s) {
  switch (s) {
    case v1::TemplateComponent::SUB_TYPE_QUICK_REPLY:
      return "quick_reply";
    case v1::TemplateComponent::SUB_TYPE_URL:
      return "url";
    case v1::TemplateComponent::SUB_TYPE_COPY_CODE:
      return "copy_code";
    case v1::TemplateComponent::SUB_TYPE_FLOW:
      return "flow";
    case v1::TemplateComponent::SUB_TYPE_CATALOG:
      return "catalog";
    case v1::TemplateComponent::SUB_TYPE_MPM:
      return "mpm";
    case v1::TemplateComponent::SUB_TYPE_VOICE_CALL:
      return "voice_call";
    default:
      return "";
  }
}

absl::Status WriteComponent(JsonWriter& w, const v1::TemplateComponent& c,
                            const FieldPath& field) {
  w.BeginObject();
  switch (c.type()) {
    case v1::TemplateComponent::TYPE_HEADER:
      w.Key("type").String("header");
      break;
    case v1::TemplateComponent::TYPE_BODY:
      w.Key("type").String("body");
      break;
    case v1::TemplateComponent::TYPE_BUTTON: {
      w.Key("type").String("button");
      absl::string_view sub = SubTypeName(c.sub_type());
      if (sub.empty())
        return Missing(field, "sub_type is required for a button");
      w.Key("sub_type").String(sub);
      char index[16];
      auto r = std::to_chars(index, index + sizeof(index), c.index());
      w.Key("index").String(absl::string_view(index, r.ptr - index));
      break;
    }
    case v1::TemplateComponent::TYPE_LIMITED_TIME_OFFER:
      w.Key("type").String("limited_time_offer");
      break;
    case v1::TemplateComponent::TYPE_CAROUSEL:
      w.Key("type").String("carousel");
      break;
    default:
      return Missing(field, "type is required");
  }
  if (c.parameters_size() > 0 ||
      c.type() == v1::TemplateComponent::TYPE_BUTTON) {
    w.Key("parameters").BeginArray();
    int i = 0;
    for (const auto& p : c.parameters()) {
      RETURN_IF_ERROR(WriteParameter(w, p, field.Child("parameters", i++)));
    }
    w.EndArray();
  }
  if (c.cards_size() > 0) {
    w.Key("cards").BeginArray();
    int i = 0;
    for (const auto& card : c.cards()) {
      const FieldPath card_field = field.Child("cards", i++);
      w.BeginObject();
      w.Key("card_index").Int(card.card_index());
      w.Key("components").BeginArray();
      int j = 0;
      for (const auto& sub : card.components()) {
        RETURN_IF_ERROR(
            WriteComponent(w, sub, card_field.Child("components", j++)));
      }
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return absl::OkStatus();
}

absl::Status WriteTemplate(JsonWriter& w, const v1::TemplateMessage& t) {
  w.BeginObject();
  w.Key("name").String(t.name());
  w.Key("language").BeginObject();
  w.Key("code").String(t.language().code());
  w.Key("policy").String(t.language().policy().empty() ? "deterministic"
                                                       : t.language().policy());
  w.EndObject();
  if (t.components_size() > 0) {
    w.Key("components").BeginArray();
    int i = 0;
    for (const auto& c : t.components()) {
      RETURN_IF_ERROR(
          WriteComponent(w, c, FieldPath{nullptr, "template.components", i++}));
    }
    w.EndArray();
  }
  w.EndObject();
  return absl::OkStatus();
}

absl::string_view ContentType(const v1::SendRequest& r) {
  switch (r.content_case()) {
    case v1::SendRequest::kText:
      return "text";
    case v1::SendRequest::kImage:
      return "image";
    case v1::SendRequest::kAudio:
      return "audio";
    case v1::SendRequest::kVideo:
      return "video";
    case v1::SendRequest::kDocument:
      return "document";
    case v1::SendRequest::kSticker:
      return "sticker";
    case v1::SendRequest::kLocation:
      return "location";
    case v1::SendRequest::kContacts:
      return "contacts";
    case v1::SendRequest::kInteractive:
      return "interactive";
    case v1::SendRequest::kTemplate:
      return "template";
    case v1::SendRequest::kReaction:
      return "reaction";
    default:
      return "";
  }
}

}  // namespace

absl::Status WriteSendJson(const v1::SendRequest& r, JsonWriter* out) {
  JsonWriter& w = *out;
  const absl::string_view type = ContentType(r);
  if (type.empty()) {
    return Missing(FieldPath{nullptr, "content"},
                   "exactly one content type (text, image, ...) "
                   "is required");
  }
  w.BeginObject();
  w.Key("messaging_product").String("whatsapp");
  w.Key("recipient_type")
      .String(r.recipient_type() == v1::RECIPIENT_TYPE_GROUP ? "group"
                                                             : "individual");
  w.Key("to").String(r.to());
  if (!r.reply_to_message_id().empty()) {
    w.Key("context").BeginObject();
    w.Key("message_id").String(r.reply_to_message_id());
    w.EndObject();
  }
  Opt(w, "biz_opaque_callback_data", r.biz_opaque_callback_data());
  Opt(w, "recipient_identity_key_hash", r.recipient_identity_key_hash());
  w.Key("type").String(type);
  w.Key(type);
  switch (r.content_case()) {
    case v1::SendRequest::kText:
      w.BeginObject();
      w.Key("body").String(r.text().body());
      if (r.text().preview_url()) w.Key("preview_url").Bool(true);
      w.EndObject();
      break;
    case v1::SendRequest::kImage:
      RETURN_IF_ERROR(
          WriteImage(w, r.image(), FieldPath{nullptr, "image"}, true));
      break;
    case v1::SendRequest::kAudio:
      RETURN_IF_ERROR(WriteAudio(w, r.audio()));
      break;
    case v1::SendRequest::kVideo:
      RETURN_IF_ERROR(
          WriteVideo(w, r.video(), FieldPath{nullptr, "video"}, true));
      break;
    case v1::SendRequest::kDocument:
      RETURN_IF_ERROR(WriteDocument(
          w, r.document(), FieldPath{nullptr, "document"}, true, true));
      break;
    case v1::SendRequest::kSticker:
      RETURN_IF_ERROR(WriteSticker(w, r.sticker()));
      break;
    case v1::SendRequest::kLocation:
      WriteLocation(w, r.location());
      break;
    case v1::SendRequest::kContacts:
      w.BeginArray();
      for (const auto& c : r.contacts().contacts()) WriteContact(w, c);
      w.EndArray();
      break;
    case v1::SendRequest::kInteractive:
      RETURN_IF_ERROR(WriteInteractive(w, r.interactive()));
      break;
    case v1::SendRequest::kTemplate:
      RETURN_IF_ERROR(WriteTemplate(w, r.template_()));
      break;
    case v1::SendRequest::kReaction:
      w.BeginObject();
      w.Key("message_id").String(r.reaction().message_id());
      w.Key("emoji").String(r.reaction().emoji());
      w.EndObject();
      break;
    default:
      break;
  }
  w.EndObject();
  return absl::OkStatus();
}

absl::StatusOr<std::string> BuildSendJson(const v1::SendRequest& request) {
  JsonWriter w(512);
  RETURN_IF_ERROR(WriteSendJson(request, &w));
  return std::move(w).Release();
}

std::string BuildMarkReadJson(const v1::MarkReadRequest& request) {
  JsonWriter w(160);
  w.BeginObject();
  w.Key("messaging_product").String("whatsapp");
  w.Key("status").String("read");
  w.Key("message_id").String(request.message_id());
  if (request.typing_indicator()) {
    w.Key("typing_indicator")
        .BeginObject()
        .Key("type")
        .String("text")
        .EndObject();
  }
  w.EndObject();
  return std::move(w).Release();
}

}  // namespace wagate::graph
