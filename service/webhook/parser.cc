#include "service/webhook/parser.h"

#include <openssl/sha.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace wagate::webhook {
namespace {

namespace dom = simdjson::dom;
namespace v1 = wagate::v1;
using google::protobuf::Timestamp;

constexpr std::string_view kObject = "whatsapp_business_account";

// ---- Reading fields. Absent keys and unexpected types read as "not set":
// Meta adds fields and types drift (ids as numbers or strings), and one odd
// field must not cost the whole POST.

bool GetObject(dom::object o, std::string_view key, dom::object* out) {
  return o[key].get_object().get(*out) == simdjson::SUCCESS;
}

bool GetArray(dom::object o, std::string_view key, dom::array* out) {
  return o[key].get_array().get(*out) == simdjson::SUCCESS;
}

// Strings as they are; numbers and booleans as their decimal text (template
// ids are numbers, limits are strings or numbers); null and containers as
// nothing.
bool ElementText(dom::element e, std::string* out) {
  switch (e.type()) {
    case dom::element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s)) return false;
      out->assign(s.data(), s.size());
      return true;
    }
    case dom::element_type::INT64: {
      int64_t v = 0;
      if (e.get_int64().get(v)) return false;
      *out = absl::StrCat(v);
      return true;
    }
    case dom::element_type::UINT64: {
      uint64_t v = 0;
      if (e.get_uint64().get(v)) return false;
      *out = absl::StrCat(v);
      return true;
    }
    case dom::element_type::DOUBLE: {
      double v = 0;
      if (e.get_double().get(v)) return false;
      *out = absl::StrCat(v);
      return true;
    }
    case dom::element_type::BOOL: {
      bool v = false;
      if (e.get_bool().get(v)) return false;
      *out = v ? "true" : "false";
      return true;
    }
    default:
      return false;
  }
}

void SetString(dom::object o, std::string_view key, std::string* out) {
  dom::element e;
  if (o[key].get(e)) return;
  ElementText(e, out);
}

bool GetInt(dom::object o, std::string_view key, int64_t* out) {
  dom::element e;
  if (o[key].get(e)) return false;
  switch (e.type()) {
    case dom::element_type::INT64:
      return e.get_int64().get(*out) == simdjson::SUCCESS;
    case dom::element_type::UINT64: {
      uint64_t v = 0;
      if (e.get_uint64().get(v)) return false;
      *out = static_cast<int64_t>(v);
      return true;
    }
    case dom::element_type::DOUBLE: {
      double v = 0;
      if (e.get_double().get(v)) return false;
      if (!(v > -9.2e18 && v < 9.2e18)) return false;
      *out = static_cast<int64_t>(v);
      return true;
    }
    case dom::element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s)) return false;
      absl::string_view text(s.data(), s.size());
      if (absl::SimpleAtoi(text, out)) return true;
      double v = 0;
      if (!absl::SimpleAtod(text, &v) || !(v > -9.2e18 && v < 9.2e18)) {
        return false;
      }
      *out = static_cast<int64_t>(v);
      return true;
    }
    default:
      return false;
  }
}

bool GetDouble(dom::object o, std::string_view key, double* out) {
  dom::element e;
  if (o[key].get(e)) return false;
  switch (e.type()) {
    case dom::element_type::DOUBLE:
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
      return e.get_double().get(*out) == simdjson::SUCCESS;
    case dom::element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s)) return false;
      return absl::SimpleAtod(absl::string_view(s.data(), s.size()), out);
    }
    default:
      return false;
  }
}

bool GetBool(dom::object o, std::string_view key, bool* out) {
  dom::element e;
  if (o[key].get(e)) return false;
  if (e.type() == dom::element_type::BOOL) {
    return e.get_bool().get(*out) == simdjson::SUCCESS;
  }
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    if (s == "true") return *out = true, true;
    if (s == "false") return *out = false, true;
  }
  return false;
}

// Unix seconds (integer, or a string of digits as in `messages`) within
// Timestamp's valid range (years 1..9999).
bool GetSeconds(dom::object o, std::string_view key, int64_t* out) {
  int64_t v = 0;
  if (!GetInt(o, key, &v)) return false;
  if (v < -62135596800 || v > 253402300799) return false;
  *out = v;
  return true;
}

// Sets the timestamp returned by `mutable_field()` only if `key` holds a
// valid time, so an absent time leaves the submessage unset.
template <typename MutableField>
void SetTimestamp(dom::object o, std::string_view key,
                  MutableField mutable_field) {
  int64_t seconds = 0;
  if (GetSeconds(o, key, &seconds)) mutable_field()->set_seconds(seconds);
}

std::string Minify(dom::element e) { return simdjson::minify(e); }

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.resize(2 * SHA256_DIGEST_LENGTH);
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

// ---- Shared pieces.

void ParseError(dom::object o, v1::WebhookError* out) {
  int64_t code = 0;
  if (GetInt(o, "code", &code)) out->set_code(static_cast<int32_t>(code));
  SetString(o, "title", out->mutable_title());
  SetString(o, "message", out->mutable_message());
  SetString(o, "href", out->mutable_href());
  dom::object data;
  if (GetObject(o, "error_data", &data)) {
    SetString(data, "details", out->mutable_details());
  }
}

template <typename Repeated>
void ParseErrors(dom::object o, Repeated* out) {
  dom::array errors;
  if (!GetArray(o, "errors", &errors)) return;
  for (dom::element e : errors) {
    dom::object error;
    if (e.get_object().get(error)) continue;
    ParseError(error, out->Add());
  }
}

void ParseContact(dom::object o, v1::InboundContact* out) {
  SetString(o, "wa_id", out->mutable_wa_id());
  SetString(o, "user_id", out->mutable_user_id());
  SetString(o, "parent_user_id", out->mutable_parent_user_id());
  SetString(o, "identity_key_hash", out->mutable_identity_key_hash());
  dom::object profile;
  if (GetObject(o, "profile", &profile)) {
    SetString(profile, "name", out->mutable_name());
    SetString(profile, "username", out->mutable_username());
  }
}

// The value's `contacts[]` (the senders' profiles), matched to items by
// wa_id or, for username users without one, by BSUID.
class ContactIndex {
 public:
  explicit ContactIndex(dom::object value) {
    dom::array contacts;
    if (!GetArray(value, "contacts", &contacts)) return;
    for (dom::element e : contacts) {
      dom::object contact;
      if (e.get_object().get(contact)) continue;
      ParseContact(contact, &contacts_.emplace_back());
    }
  }

  // The contact whose wa_id is `wa_id` or whose user_id is `user_id`
  // (empty keys never match), or nullptr.
  const v1::InboundContact* Find(absl::string_view wa_id,
                                 absl::string_view user_id) const {
    for (const auto& c : contacts_) {
      if (!wa_id.empty() && c.wa_id() == wa_id) return &c;
    }
    for (const auto& c : contacts_) {
      if (!user_id.empty() && c.user_id() == user_id) return &c;
    }
    return nullptr;
  }

 private:
  std::vector<v1::InboundContact> contacts_;
};

void ParseContext(dom::object o, v1::MessageContext* out) {
  SetString(o, "from", out->mutable_from());
  SetString(o, "id", out->mutable_id());
  bool b = false;
  if (GetBool(o, "forwarded", &b)) out->set_forwarded(b);
  if (GetBool(o, "frequently_forwarded", &b)) out->set_frequently_forwarded(b);
  dom::object product;
  if (GetObject(o, "referred_product", &product)) {
    auto* p = out->mutable_referred_product();
    SetString(product, "catalog_id", p->mutable_catalog_id());
    SetString(product, "product_retailer_id", p->mutable_product_retailer_id());
  }
}

void ParseReferral(dom::object o, v1::Referral* out) {
  SetString(o, "source_url", out->mutable_source_url());
  SetString(o, "source_id", out->mutable_source_id());
  SetString(o, "source_type", out->mutable_source_type());
  SetString(o, "body", out->mutable_body());
  SetString(o, "headline", out->mutable_headline());
  SetString(o, "media_type", out->mutable_media_type());
  SetString(o, "image_url", out->mutable_image_url());
  SetString(o, "video_url", out->mutable_video_url());
  SetString(o, "thumbnail_url", out->mutable_thumbnail_url());
  SetString(o, "ctwa_clid", out->mutable_ctwa_clid());
  dom::object welcome;
  if (GetObject(o, "welcome_message", &welcome)) {
    SetString(welcome, "text", out->mutable_welcome_message_text());
  }
}

void ParseMedia(dom::object o, v1::InboundMedia* out) {
  SetString(o, "id", out->mutable_id());
  SetString(o, "mime_type", out->mutable_mime_type());
  SetString(o, "sha256", out->mutable_sha256());
  SetString(o, "caption", out->mutable_caption());
  SetString(o, "filename", out->mutable_filename());
  SetString(o, "url", out->mutable_url());
  bool b = false;
  if (GetBool(o, "voice", &b)) out->set_voice(b);
  if (GetBool(o, "animated", &b)) out->set_animated(b);
}

void ParseLocation(dom::object o, v1::Location* out) {
  double d = 0;
  if (GetDouble(o, "latitude", &d)) out->set_latitude(d);
  if (GetDouble(o, "longitude", &d)) out->set_longitude(d);
  SetString(o, "name", out->mutable_name());
  SetString(o, "address", out->mutable_address());
  SetString(o, "url", out->mutable_url());
}

// Calls `fn(object)` for each object of the array at `key`.
template <typename Fn>
void ForEachObject(dom::object o, std::string_view key, Fn fn) {
  dom::array items;
  if (!GetArray(o, key, &items)) return;
  for (dom::element e : items) {
    dom::object item;
    if (e.get_object().get(item) == simdjson::SUCCESS) fn(item);
  }
}

void ParseContactCard(dom::object o, v1::Contact* out) {
  ForEachObject(o, "addresses", [&](dom::object a) {
    auto* addr = out->add_addresses();
    SetString(a, "street", addr->mutable_street());
    SetString(a, "city", addr->mutable_city());
    SetString(a, "state", addr->mutable_state());
    SetString(a, "zip", addr->mutable_zip());
    SetString(a, "country", addr->mutable_country());
    SetString(a, "country_code", addr->mutable_country_code());
    SetString(a, "type", addr->mutable_type());
  });
  SetString(o, "birthday", out->mutable_birthday());
  ForEachObject(o, "emails", [&](dom::object e) {
    auto* email = out->add_emails();
    SetString(e, "email", email->mutable_email());
    SetString(e, "type", email->mutable_type());
  });
  dom::object name;
  if (GetObject(o, "name", &name)) {
    auto* n = out->mutable_name();
    SetString(name, "formatted_name", n->mutable_formatted_name());
    SetString(name, "first_name", n->mutable_first_name());
    SetString(name, "last_name", n->mutable_last_name());
    SetString(name, "middle_name", n->mutable_middle_name());
    SetString(name, "suffix", n->mutable_suffix());
    SetString(name, "prefix", n->mutable_prefix());
  }
  dom::object org;
  if (GetObject(o, "org", &org)) {
    auto* g = out->mutable_org();
    SetString(org, "company", g->mutable_company());
    SetString(org, "department", g->mutable_department());
    SetString(org, "title", g->mutable_title());
  }
  ForEachObject(o, "phones", [&](dom::object p) {
    auto* phone = out->add_phones();
    SetString(p, "phone", phone->mutable_phone());
    SetString(p, "type", phone->mutable_type());
    SetString(p, "wa_id", phone->mutable_wa_id());
  });
  ForEachObject(o, "urls", [&](dom::object u) {
    auto* url = out->add_urls();
    SetString(u, "url", url->mutable_url());
    SetString(u, "type", url->mutable_type());
  });
}

void ParseInteractive(dom::object o, v1::InboundInteractive* out) {
  SetString(o, "type", out->mutable_type());
  dom::object reply;
  if (GetObject(o, "button_reply", &reply)) {
    auto* r = out->mutable_button_reply();
    SetString(reply, "id", r->mutable_id());
    SetString(reply, "title", r->mutable_title());
  } else if (GetObject(o, "list_reply", &reply)) {
    auto* r = out->mutable_list_reply();
    SetString(reply, "id", r->mutable_id());
    SetString(reply, "title", r->mutable_title());
    SetString(reply, "description", r->mutable_description());
  } else if (GetObject(o, "nfm_reply", &reply)) {
    auto* r = out->mutable_nfm_reply();
    SetString(reply, "name", r->mutable_name());
    SetString(reply, "body", r->mutable_body());
    // A JSON string per the docs; keep an object sent instead as its JSON.
    dom::element json;
    if (reply["response_json"].get(json) == simdjson::SUCCESS) {
      if (json.is_object()) {
        *r->mutable_response_json() = Minify(json);
      } else {
        ElementText(json, r->mutable_response_json());
      }
    }
  } else if (GetObject(o, "call_permission_reply", &reply)) {
    auto* r = out->mutable_call_permission_reply();
    SetString(reply, "response", r->mutable_response());
    SetTimestamp(reply, "expiration_timestamp",
                 [&] { return r->mutable_expiration_timestamp(); });
    SetString(reply, "response_source", r->mutable_response_source());
    bool b = false;
    if (GetBool(reply, "is_permanent", &b)) r->set_is_permanent(b);
  }
}

void ParseOrder(dom::object o, v1::Order* out) {
  SetString(o, "catalog_id", out->mutable_catalog_id());
  SetString(o, "text", out->mutable_text());
  ForEachObject(o, "product_items", [&](dom::object p) {
    auto* item = out->add_product_items();
    SetString(p, "product_retailer_id", item->mutable_product_retailer_id());
    int64_t quantity = 0;
    if (GetInt(p, "quantity", &quantity)) item->set_quantity(quantity);
    double price = 0;
    if (GetDouble(p, "item_price", &price)) item->set_item_price(price);
    SetString(p, "currency", item->mutable_currency());
  });
}

// Message types whose content wagate models. "unknown" is the older name of
// "unsupported" (content in errors[]).
bool IsKnownMessageType(std::string_view type) {
  static constexpr std::string_view kTypes[] = {
      "text",     "image",    "video",    "document",        "audio",
      "sticker",  "location", "contacts", "interactive",     "button",
      "reaction", "order",    "system",   "request_welcome", "unsupported",
      "edit",     "revoke",   "unknown"};
  for (std::string_view t : kTypes) {
    if (t == type) return true;
  }
  return false;
}

// Fills the content oneof of `out` from message object `m` of type `type`
// (known: IsKnownMessageType). `depth` bounds edit-inside-edit recursion.
void ParseContent(dom::object m, std::string_view type, v1::InboundMessage* out,
                  int depth) {
  dom::object c;
  const bool has = GetObject(m, type, &c);
  if (type == "text") {
    if (has) SetString(c, "body", out->mutable_text()->mutable_body());
  } else if (type == "image") {
    if (has) ParseMedia(c, out->mutable_image());
  } else if (type == "video") {
    if (has) ParseMedia(c, out->mutable_video());
  } else if (type == "document") {
    if (has) ParseMedia(c, out->mutable_document());
  } else if (type == "audio") {
    if (has) ParseMedia(c, out->mutable_audio());
  } else if (type == "sticker") {
    if (has) ParseMedia(c, out->mutable_sticker());
  } else if (type == "location") {
    if (has) ParseLocation(c, out->mutable_location());
  } else if (type == "contacts") {
    dom::array cards;
    if (GetArray(m, "contacts", &cards)) {
      auto* contacts = out->mutable_contacts();
      for (dom::element e : cards) {
        dom::object card;
        if (e.get_object().get(card) == simdjson::SUCCESS) {
          ParseContactCard(card, contacts->add_contacts());
        }
      }
    }
  } else if (type == "interactive") {
    if (has) ParseInteractive(c, out->mutable_interactive());
  } else if (type == "button") {
    if (has) {
      auto* b = out->mutable_button();
      SetString(c, "payload", b->mutable_payload());
      SetString(c, "text", b->mutable_text());
    }
  } else if (type == "reaction") {
    if (has) {
      auto* r = out->mutable_reaction();
      SetString(c, "message_id", r->mutable_message_id());
      SetString(c, "emoji", r->mutable_emoji());  // absent/empty = removed
    }
  } else if (type == "order") {
    if (has) ParseOrder(c, out->mutable_order());
  } else if (type == "system") {
    auto* s = out->mutable_system();
    if (has) {
      SetString(c, "body", s->mutable_body());
      SetString(c, "wa_id", s->mutable_wa_id());
      SetString(c, "type", s->mutable_type());
      SetString(c, "customer", s->mutable_customer());
      SetString(c, "new_wa_id", s->mutable_new_wa_id());
    }
    dom::object identity;
    if (GetObject(m, "identity", &identity)) {
      auto* i = s->mutable_identity();
      bool b = false;
      if (GetBool(identity, "acknowledged", &b)) i->set_acknowledged(b);
      SetTimestamp(identity, "created_timestamp",
                   [&] { return i->mutable_created_timestamp(); });
      SetString(identity, "hash", i->mutable_hash());
    }
  } else if (type == "request_welcome") {
    out->mutable_request_welcome();
  } else if (type == "unsupported") {
    auto* u = out->mutable_unsupported();
    if (has) SetString(c, "type", u->mutable_type());
  } else if (type == "edit") {
    if (has) {
      auto* edit = out->mutable_edit();
      SetString(c, "original_message_id", edit->mutable_original_message_id());
      dom::object inner;
      if (GetObject(c, "message", &inner) && depth < 2) {
        auto* msg = edit->mutable_message();
        SetString(inner, "type", msg->mutable_type());
        dom::object context;
        if (GetObject(inner, "context", &context)) {
          ParseContext(context, msg->mutable_context());
        }
        ParseErrors(inner, msg->mutable_errors());
        if (IsKnownMessageType(msg->type())) {
          ParseContent(inner, msg->type(), msg, depth + 1);
        }
      }
    }
  } else if (type == "revoke") {
    if (has) {
      SetString(c, "original_message_id",
                out->mutable_revoke()->mutable_original_message_id());
    }
  }
}

// ---- One change.

struct EntryInfo {
  std::string waba_id;
  bool has_time = false;
  int64_t time = 0;
};

class ChangeParser {
 public:
  ChangeParser(const EntryInfo& entry, absl::Time received_at,
               std::vector<v1::Event>* out)
      : entry_(entry), out_(out) {
    const int64_t seconds = absl::ToUnixSeconds(received_at);
    received_at_proto_.set_seconds(seconds);
    received_at_proto_.set_nanos(static_cast<int32_t>(
        (received_at - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  }

  void Parse(dom::element change_element) {
    dom::object change;
    if (change_element.get_object().get(change)) return;  // caller checked
    field_.clear();
    SetString(change, "field", &field_);
    phone_number_id_.clear();
    display_phone_number_.clear();

    dom::element value_element;
    dom::object value;
    if (change["value"].get(value_element) ||
        value_element.get_object().get(value)) {
      // No value object: nothing to type; keep the whole change.
      Unknown(change_element, "");
      return;
    }
    dom::object metadata;
    if (GetObject(value, "metadata", &metadata)) {
      SetString(metadata, "phone_number_id", &phone_number_id_);
      SetString(metadata, "display_phone_number", &display_phone_number_);
    }
    if (display_phone_number_.empty()) {
      SetString(value, "display_phone_number", &display_phone_number_);
    }

    if (field_ == "messages" || field_ == "calls" ||
        field_ == "smb_message_echoes" || field_ == "user_preferences" ||
        field_ == "history" || field_ == "smb_app_state_sync" ||
        field_ == "automatic_events") {
      ParseMessagesFamily(value_element, value);
    } else if (!ParseManagement(value)) {
      Unknown(value_element, "");
    }
  }

 private:
  v1::Event* NewEvent() {
    v1::Event& e = out_->emplace_back();
    *e.mutable_received_at() = received_at_proto_;
    e.set_waba_id(entry_.waba_id);
    e.set_phone_number_id(phone_number_id_);
    e.set_display_phone_number(display_phone_number_);
    e.set_field(field_);
    if (entry_.has_time) e.mutable_entry_time()->set_seconds(entry_.time);
    return &e;
  }

  // "sha256:<hex>" over what identifies an item that has no id of its own.
  std::string DigestId(std::string_view minified) const {
    std::string input;
    input.reserve(minified.size() + 128);
    absl::StrAppend(&input, entry_.waba_id, "\n", phone_number_id_, "\n",
                    field_, "\n");
    if (entry_.has_time) absl::StrAppend(&input, entry_.time);
    input.append("\n");
    input.append(minified.data(), minified.size());
    return absl::StrCat("sha256:", Sha256Hex(input));
  }

  // An unknown event holding `raw`'s JSON. `id` empty = digest of it.
  void Unknown(dom::element raw, const std::string& id) {
    v1::Event* e = NewEvent();
    std::string json = Minify(raw);
    e->set_id(id.empty() ? DigestId(json) : id);
    auto* u = e->mutable_unknown();
    u->set_field(field_);
    u->set_raw_json(std::move(json));
  }

  // An event whose id is the digest of `raw`.
  template <typename Json>  // dom::element, dom::array or dom::object
  v1::Event* DigestEvent(Json raw) {
    v1::Event* e = NewEvent();
    e->set_id(DigestId(simdjson::minify(raw)));
    return e;
  }

  void ParseMessagesFamily(dom::element value_element, dom::object value) {
    const ContactIndex contacts(value);
    dom::array value_errors;
    const bool has_value_errors =
        GetArray(value, "errors", &value_errors) && value_errors.size() > 0;
    size_t items = 0;          // events of any kind from arrays
    size_t error_holders = 0;  // of which can carry errors[]
    const size_t first = out_->size();

    ForEachItem(value, "messages", &items,
                [&](dom::element raw, dom::object m) {
                  ParseMessage(raw, m, contacts);
                  // An unknown-typed message is kept raw; only typed ones
                  // hold errors.
                  if (out_->back().has_message()) ++error_holders;
                });
    ForEachItem(value, "statuses", &items,
                [&](dom::element raw, dom::object s) {
                  ++error_holders;
                  ParseStatus(raw, s);
                });
    ForEachItem(value, "calls", &items, [&](dom::element raw, dom::object c) {
      ++error_holders;
      ParseCall(raw, c, contacts);
    });
    ForEachItem(value, "message_echoes", &items,
                [&](dom::element raw, dom::object m) { ParseEcho(raw, m); });
    ForEachItem(value, "user_preferences", &items,
                [&](dom::element raw, dom::object p) {
                  ParsePreference(raw, p, contacts);
                });
    ForEachItem(value, "history", &items, [&](dom::element raw, dom::object h) {
      ++error_holders;
      ParseHistory(raw, h);
    });
    ForEachItem(
        value, "state_sync", &items,
        [&](dom::element raw, dom::object c) { ParseStateSync(raw, c); });
    ForEachItem(
        value, "automatic_events", &items,
        [&](dom::element raw, dom::object a) { ParseAutomaticEvent(raw, a); });

    if (has_value_errors && error_holders > 0) {
      // Errors about the whole value (e.g. "Unsupported webhook payload"
      // beside a message) belong to each item they came with.
      for (size_t i = first; i < out_->size(); ++i) {
        v1::Event& e = (*out_)[i];
        google::protobuf::RepeatedPtrField<v1::WebhookError>* errors = nullptr;
        if (e.has_message()) {
          errors = e.mutable_message()->mutable_errors();
        } else if (e.has_status()) {
          errors = e.mutable_status()->mutable_errors();
        } else if (e.has_call()) {
          errors = e.mutable_call()->mutable_errors();
        } else if (e.has_history()) {
          errors = e.mutable_history()->mutable_errors();
        }
        if (errors != nullptr) ParseErrors(value, errors);
      }
    } else if (has_value_errors) {
      v1::Event* e = DigestEvent(value_errors);
      ParseErrors(value, e->mutable_system_error()->mutable_errors());
    } else if (items == 0) {
      Unknown(value_element, "");
    }
  }

  // Calls fn(raw element, object) for each item of array `key`; an item that
  // is not an object becomes an unknown event. Counts items in `*count`.
  template <typename Fn>
  void ForEachItem(dom::object value, std::string_view key, size_t* count,
                   Fn fn) {
    dom::array items;
    if (!GetArray(value, key, &items)) return;
    for (dom::element e : items) {
      ++*count;
      dom::object item;
      if (e.get_object().get(item)) {
        Unknown(e, "");
        continue;
      }
      fn(e, item);
    }
  }

  void ParseMessage(dom::element raw, dom::object m,
                    const ContactIndex& contacts) {
    std::string id;
    SetString(m, "id", &id);
    std::string type;
    SetString(m, "type", &type);
    if (!IsKnownMessageType(type)) {
      Unknown(raw, id);
      return;
    }
    v1::Event* e = NewEvent();
    e->set_id(id.empty() ? DigestId(Minify(raw)) : id);
    v1::InboundMessage* msg = e->mutable_message();
    FillMessage(m, msg);
    if (const v1::InboundContact* c =
            contacts.Find(msg->from(), msg->from_user_id())) {
      *msg->mutable_contact() = *c;
      msg->set_contact_name(c->name());
    }
  }

  // The fields of a `messages[]` object (also of history threads).
  static void FillMessage(dom::object m, v1::InboundMessage* msg) {
    SetString(m, "id", msg->mutable_id());
    SetString(m, "from", msg->mutable_from());
    SetString(m, "from_user_id", msg->mutable_from_user_id());
    SetString(m, "from_parent_user_id", msg->mutable_from_parent_user_id());
    SetString(m, "to", msg->mutable_to());
    SetTimestamp(m, "timestamp", [&] { return msg->mutable_timestamp(); });
    SetString(m, "type", msg->mutable_type());
    dom::object o;
    if (GetObject(m, "context", &o)) ParseContext(o, msg->mutable_context());
    if (GetObject(m, "referral", &o)) ParseReferral(o, msg->mutable_referral());
    if (GetObject(m, "history_context", &o)) {
      SetString(o, "status", msg->mutable_history_status());
    }
    ParseErrors(m, msg->mutable_errors());
    if (IsKnownMessageType(msg->type())) {
      ParseContent(m, msg->type(), msg, 0);
    }
  }

  void ParseHistory(dom::element raw, dom::object h) {
    v1::HistoryChunk* chunk = DigestEvent(raw)->mutable_history();
    dom::object meta;
    if (GetObject(h, "metadata", &meta)) {
      int64_t n = 0;
      if (GetInt(meta, "phase", &n)) chunk->set_phase(static_cast<int32_t>(n));
      if (GetInt(meta, "chunk_order", &n)) {
        chunk->set_chunk_order(static_cast<int32_t>(n));
      }
      if (GetInt(meta, "progress", &n)) {
        chunk->set_progress(static_cast<int32_t>(n));
      }
    }
    ForEachObject(h, "threads", [&](dom::object t) {
      v1::HistoryThread* thread = chunk->add_threads();
      SetString(t, "id", thread->mutable_id());
      ForEachObject(t, "messages", [&](dom::object m) {
        FillMessage(m, thread->add_messages());
      });
    });
    ParseErrors(h, chunk->mutable_errors());
  }

  void ParseStateSync(dom::element raw, dom::object c) {
    v1::SmbAppStateSync* sync = DigestEvent(raw)->mutable_smb_app_state_sync();
    SetString(c, "type", sync->mutable_type());
    SetString(c, "action", sync->mutable_action());
    dom::object o;
    if (GetObject(c, "contact", &o)) {
      auto* contact = sync->mutable_contact();
      SetString(o, "full_name", contact->mutable_full_name());
      SetString(o, "first_name", contact->mutable_first_name());
      SetString(o, "phone_number", contact->mutable_phone_number());
    }
    if (GetObject(c, "metadata", &o)) {
      SetTimestamp(o, "timestamp", [&] { return sync->mutable_timestamp(); });
    }
  }

  void ParseAutomaticEvent(dom::element raw, dom::object a) {
    v1::AutomaticEvent* event = DigestEvent(raw)->mutable_automatic_events();
    SetString(a, "id", event->mutable_id());
    SetString(a, "event_name", event->mutable_event_name());
    SetTimestamp(a, "timestamp", [&] { return event->mutable_timestamp(); });
    SetString(a, "ctwa_clid", event->mutable_ctwa_clid());
    dom::object data;
    if (GetObject(a, "custom_data", &data)) {
      SetString(data, "currency", event->mutable_currency());
      // Meta sends the amount in thousandths as an integer; a decimal
      // amount is scaled here so both read the same.
      dom::element value;
      if (data["value"].get(value) == simdjson::SUCCESS) {
        int64_t thousandths = 0;
        double amount = 0;
        if (value.is_int64() || value.is_uint64()) {
          if (GetInt(data, "value", &thousandths)) {
            event->set_value_1000(thousandths);
          }
        } else if (GetDouble(data, "value", &amount) && amount > -9e15 &&
                   amount < 9e15) {
          event->set_value_1000(
              static_cast<int64_t>(std::llround(amount * 1000)));
        }
      }
    }
  }

  void ParseStatus(dom::element raw, dom::object s) {
    v1::Event* e = NewEvent();
    v1::MessageStatus* st = e->mutable_status();
    SetString(s, "id", st->mutable_message_id());
    SetString(s, "status", st->mutable_status_raw());
    st->set_status(StatusOf(st->status_raw()));
    SetString(s, "recipient_id", st->mutable_recipient_id());
    SetString(s, "recipient_type", st->mutable_recipient_type());
    SetString(s, "recipient_participant_id",
              st->mutable_recipient_participant_id());
    SetString(s, "recipient_user_id", st->mutable_recipient_user_id());
    SetString(s, "recipient_parent_user_id",
              st->mutable_recipient_parent_user_id());
    SetString(s, "recipient_participant_user_id",
              st->mutable_recipient_participant_user_id());
    if (st->message_id().empty()) {
      e->set_id(DigestId(Minify(raw)));
    } else {
      // A group message gets one status per participant: without the
      // participant the second one would be dropped as a duplicate.
      const std::string& participant =
          !st->recipient_participant_id().empty()
              ? st->recipient_participant_id()
              : st->recipient_participant_user_id();
      e->set_id(participant.empty()
                    ? absl::StrCat(st->message_id(), ":", st->status_raw())
                    : absl::StrCat(st->message_id(), ":", st->status_raw(), ":",
                                   participant));
    }
    SetString(s, "recipient_participant_parent_user_id",
              st->mutable_recipient_participant_parent_user_id());
    SetString(s, "recipient_identity_key_hash",
              st->mutable_recipient_identity_key_hash());
    SetString(s, "biz_opaque_callback_data",
              st->mutable_biz_opaque_callback_data());
    SetString(s, "type", st->mutable_type());
    SetTimestamp(s, "timestamp", [&] { return st->mutable_timestamp(); });
    ParseErrors(s, st->mutable_errors());
    dom::object o;
    if (GetObject(s, "pricing", &o)) {
      auto* p = st->mutable_pricing();
      bool b = false;
      if (GetBool(o, "billable", &b)) p->set_billable(b);
      SetString(o, "pricing_model", p->mutable_pricing_model());
      SetString(o, "type", p->mutable_type());
      SetString(o, "category", p->mutable_category());
    }
    if (GetObject(s, "conversation", &o)) {
      auto* c = st->mutable_conversation();
      SetString(o, "id", c->mutable_id());
      SetTimestamp(o, "expiration_timestamp",
                   [&] { return c->mutable_expiration_timestamp(); });
      dom::object origin;
      if (GetObject(o, "origin", &origin)) {
        SetString(origin, "type", c->mutable_origin_type());
      }
    }
  }

  static v1::MessageStatus::Status StatusOf(std::string_view s) {
    using S = v1::MessageStatus;
    if (s == "sent") return S::STATUS_SENT;
    if (s == "delivered") return S::STATUS_DELIVERED;
    if (s == "read") return S::STATUS_READ;
    if (s == "played") return S::STATUS_PLAYED;
    if (s == "failed") return S::STATUS_FAILED;
    if (s == "deleted") return S::STATUS_DELETED;
    if (s == "warning") return S::STATUS_WARNING;
    if (s == "RINGING") return S::STATUS_RINGING;
    if (s == "ACCEPTED") return S::STATUS_ACCEPTED;
    if (s == "REJECTED") return S::STATUS_REJECTED;
    if (s.empty()) return S::STATUS_UNSPECIFIED;
    return S::STATUS_OTHER;
  }

  void ParseCall(dom::element raw, dom::object c,
                 const ContactIndex& contacts) {
    v1::Event* e = DigestEvent(raw);
    v1::CallEvent* call = e->mutable_call();
    SetString(c, "id", call->mutable_id());
    SetString(c, "to", call->mutable_to());
    SetString(c, "from", call->mutable_from());
    SetString(c, "event", call->mutable_event());
    SetTimestamp(c, "timestamp", [&] { return call->mutable_timestamp(); });
    SetString(c, "direction", call->mutable_direction());
    dom::object session;
    if (GetObject(c, "session", &session)) {
      auto* s = call->mutable_session();
      SetString(session, "sdp", s->mutable_sdp());
      SetString(session, "sdp_type", s->mutable_sdp_type());
    }
    SetString(c, "biz_opaque_callback_data",
              call->mutable_biz_opaque_callback_data());
    SetString(c, "status", call->mutable_status());
    SetTimestamp(c, "start_time", [&] { return call->mutable_start_time(); });
    SetTimestamp(c, "end_time", [&] { return call->mutable_end_time(); });
    int64_t seconds = 0;
    if (GetInt(c, "duration", &seconds)) {
      call->mutable_duration()->set_seconds(seconds);
    }
    ParseErrors(c, call->mutable_errors());
    // The user is the caller or the callee, depending on the direction.
    const v1::InboundContact* contact = contacts.Find(call->from(), "");
    if (contact == nullptr) contact = contacts.Find(call->to(), "");
    if (contact != nullptr) *call->mutable_contact() = *contact;
  }

  void ParseEcho(dom::element raw, dom::object m) {
    std::string type;
    SetString(m, "type", &type);
    if (!IsKnownMessageType(type)) {
      Unknown(raw, "");
      return;
    }
    v1::Event* e = DigestEvent(raw);
    v1::MessageEcho* echo = e->mutable_message_echo();
    SetString(m, "from", echo->mutable_from());
    SetString(m, "to", echo->mutable_to());
    SetString(m, "to_user_id", echo->mutable_to_user_id());
    SetString(m, "to_parent_user_id", echo->mutable_to_parent_user_id());
    SetString(m, "id", echo->mutable_id());
    SetTimestamp(m, "timestamp", [&] { return echo->mutable_timestamp(); });
    echo->set_type(type);
    v1::InboundMessage* content = echo->mutable_message();
    content->set_type(type);
    dom::object context;
    if (GetObject(m, "context", &context)) {
      ParseContext(context, content->mutable_context());
    }
    ParseContent(m, type, content, 0);
  }

  void ParsePreference(dom::element raw, dom::object p,
                       const ContactIndex& contacts) {
    v1::Event* e = DigestEvent(raw);
    v1::UserPreference* pref = e->mutable_user_preferences();
    SetString(p, "wa_id", pref->mutable_wa_id());
    SetString(p, "detail", pref->mutable_detail());
    SetString(p, "category", pref->mutable_category());
    SetString(p, "value", pref->mutable_value());
    SetTimestamp(p, "timestamp", [&] { return pref->mutable_timestamp(); });
    SetString(p, "signup_id", pref->mutable_signup_id());
    if (const v1::InboundContact* c = contacts.Find(pref->wa_id(), "")) {
      *pref->mutable_contact() = *c;
    }
  }

  // Typed management fields; false if `field_` is not one of them.
  bool ParseManagement(dom::object v) {
    // The value itself is the item digested for the id.
    auto event = [&]() {
      v1::Event* e = NewEvent();
      e->set_id(DigestId(simdjson::minify(v)));
      return e;
    };
    dom::object o;
    if (field_ == "message_template_status_update") {
      auto* t = event()->mutable_template_status();
      SetString(v, "event", t->mutable_event());
      SetString(v, "message_template_id", t->mutable_message_template_id());
      SetString(v, "message_template_name", t->mutable_message_template_name());
      SetString(v, "message_template_language",
                t->mutable_message_template_language());
      SetString(v, "reason", t->mutable_reason());
      SetString(v, "message_template_category",
                t->mutable_message_template_category());
      if (GetObject(v, "disable_info", &o)) {
        SetString(o, "disable_date", t->mutable_disable_date());
      }
      if (GetObject(v, "other_info", &o)) {
        SetString(o, "title", t->mutable_other_info_title());
        SetString(o, "description", t->mutable_other_info_description());
      }
      if (GetObject(v, "rejection_info", &o)) {
        SetString(o, "reason", t->mutable_rejection_info_reason());
        SetString(o, "recommendation",
                  t->mutable_rejection_info_recommendation());
      }
    } else if (field_ == "message_template_quality_update") {
      auto* t = event()->mutable_template_quality();
      SetString(v, "previous_quality_score",
                t->mutable_previous_quality_score());
      SetString(v, "new_quality_score", t->mutable_new_quality_score());
      SetString(v, "message_template_id", t->mutable_message_template_id());
      SetString(v, "message_template_name", t->mutable_message_template_name());
      SetString(v, "message_template_language",
                t->mutable_message_template_language());
    } else if (field_ == "template_category_update") {
      auto* t = event()->mutable_template_category();
      SetString(v, "message_template_id", t->mutable_message_template_id());
      SetString(v, "message_template_name", t->mutable_message_template_name());
      SetString(v, "message_template_language",
                t->mutable_message_template_language());
      SetString(v, "previous_category", t->mutable_previous_category());
      SetString(v, "new_category", t->mutable_new_category());
      SetString(v, "correct_category", t->mutable_correct_category());
      SetTimestamp(v, "category_update_timestamp",
                   [&] { return t->mutable_category_update_timestamp(); });
    } else if (field_ == "message_template_components_update") {
      auto* t = event()->mutable_template_components();
      SetString(v, "message_template_id", t->mutable_message_template_id());
      SetString(v, "message_template_name", t->mutable_message_template_name());
      SetString(v, "message_template_language",
                t->mutable_message_template_language());
      SetString(v, "message_template_title",
                t->mutable_message_template_title());
      SetString(v, "message_template_element",
                t->mutable_message_template_element());
      SetString(v, "message_template_footer",
                t->mutable_message_template_footer());
      ForEachObject(v, "message_template_buttons", [&](dom::object b) {
        auto* button = t->add_message_template_buttons();
        SetString(b, "message_template_button_type",
                  button->mutable_message_template_button_type());
        SetString(b, "message_template_button_text",
                  button->mutable_message_template_button_text());
        SetString(b, "message_template_button_url",
                  button->mutable_message_template_button_url());
        SetString(b, "message_template_button_phone_number",
                  button->mutable_message_template_button_phone_number());
      });
    } else if (field_ == "phone_number_quality_update") {
      auto* q = event()->mutable_phone_number_quality();
      SetString(v, "display_phone_number", q->mutable_display_phone_number());
      SetString(v, "event", q->mutable_event());
      SetString(v, "current_limit", q->mutable_current_limit());
      SetString(v, "old_limit", q->mutable_old_limit());
      SetString(v, "max_daily_conversations_per_business",
                q->mutable_max_daily_conversations_per_business());
    } else if (field_ == "phone_number_name_update") {
      auto* n = event()->mutable_phone_number_name();
      SetString(v, "display_phone_number", n->mutable_display_phone_number());
      SetString(v, "decision", n->mutable_decision());
      SetString(v, "requested_verified_name",
                n->mutable_requested_verified_name());
      SetString(v, "rejection_reason", n->mutable_rejection_reason());
    } else if (field_ == "account_update") {
      ParseAccountUpdate(v, event()->mutable_account_update());
    } else if (field_ == "account_alerts") {
      auto* a = event()->mutable_account_alert();
      SetString(v, "entity_type", a->mutable_entity_type());
      SetString(v, "entity_id", a->mutable_entity_id());
      if (GetObject(v, "alert_info", &o)) {
        SetString(o, "alert_severity", a->mutable_alert_severity());
        SetString(o, "alert_status", a->mutable_alert_status());
        SetString(o, "alert_type", a->mutable_alert_type());
        SetString(o, "alert_description", a->mutable_alert_description());
      }
    } else if (field_ == "account_review_update") {
      SetString(v, "decision",
                event()->mutable_account_review()->mutable_decision());
    } else if (field_ == "business_capability_update") {
      auto* b = event()->mutable_business_capability();
      SetString(v, "max_daily_conversations_per_business",
                b->mutable_max_daily_conversations_per_business());
      SetString(v, "max_phone_numbers_per_waba",
                b->mutable_max_phone_numbers_per_waba());
      SetString(v, "max_phone_numbers_per_business",
                b->mutable_max_phone_numbers_per_business());
      SetString(v, "max_daily_conversation_per_phone",
                b->mutable_max_daily_conversation_per_phone());
    } else if (field_ == "security") {
      auto* s = event()->mutable_security();
      SetString(v, "display_phone_number", s->mutable_display_phone_number());
      SetString(v, "event", s->mutable_event());
      SetString(v, "requester", s->mutable_requester());
    } else if (field_ == "flows") {
      ParseFlows(v, event()->mutable_flows());
    } else if (field_ == "partner_solutions") {
      auto* p = event()->mutable_partner_solutions();
      SetString(v, "event", p->mutable_event());
      SetString(v, "solution_id", p->mutable_solution_id());
      SetString(v, "solution_status", p->mutable_solution_status());
    } else if (field_ == "payment_configuration_update") {
      auto* p = event()->mutable_payment_configuration_update();
      SetString(v, "configuration_name", p->mutable_configuration_name());
      SetString(v, "provider_name", p->mutable_provider_name());
      SetString(v, "provider_mid", p->mutable_provider_mid());
      SetString(v, "status", p->mutable_status());
      SetTimestamp(v, "created_timestamp",
                   [&] { return p->mutable_created_timestamp(); });
      SetTimestamp(v, "updated_timestamp",
                   [&] { return p->mutable_updated_timestamp(); });
    } else {
      return false;
    }
    return true;
  }

  static void ParseAccountUpdate(dom::object v, v1::AccountUpdate* a) {
    SetString(v, "event", a->mutable_event());
    SetString(v, "phone_number", a->mutable_phone_number());
    SetString(v, "country", a->mutable_country());
    dom::object o;
    if (GetObject(v, "violation_info", &o)) {
      SetString(o, "violation_type",
                a->mutable_violation_info()->mutable_violation_type());
    }
    if (GetObject(v, "waba_info", &o)) {
      auto* w = a->mutable_waba_info();
      SetString(o, "waba_id", w->mutable_waba_id());
      SetString(o, "owner_business_id", w->mutable_owner_business_id());
      SetString(o, "ad_account_linked", w->mutable_ad_account_linked());
      SetString(o, "partner_app_id", w->mutable_partner_app_id());
      SetString(o, "solution_id", w->mutable_solution_id());
      AddStrings(o, "solution_partner_business_ids",
                 w->mutable_solution_partner_business_ids());
    }
    if (GetObject(v, "auth_international_rate_eligibility", &o)) {
      auto* r = a->mutable_auth_international_rate_eligibility();
      SetTimestamp(o, "start_time", [&] { return r->mutable_start_time(); });
      ForEachObject(o, "exception_countries", [&](dom::object c) {
        auto* country = r->add_exception_countries();
        SetString(c, "country_code", country->mutable_country_code());
        SetTimestamp(c, "start_time",
                     [&] { return country->mutable_start_time(); });
      });
    }
    if (GetObject(v, "ban_info", &o)) {
      auto* b = a->mutable_ban_info();
      SetString(o, "waba_ban_state", b->mutable_waba_ban_state());
      SetString(o, "waba_ban_date", b->mutable_waba_ban_date());
    }
    if (GetObject(v, "partner_client_certification_info", &o)) {
      auto* p = a->mutable_partner_client_certification_info();
      SetString(o, "client_business_id", p->mutable_client_business_id());
      SetString(o, "status", p->mutable_status());
      AddStrings(o, "rejection_reasons", p->mutable_rejection_reasons());
    }
    if (GetObject(v, "volume_tier_info", &o)) {
      auto* t = a->mutable_volume_tier_info();
      SetTimestamp(o, "tier_update_time",
                   [&] { return t->mutable_tier_update_time(); });
      SetString(o, "pricing_category", t->mutable_pricing_category());
      SetString(o, "tier", t->mutable_tier());
      SetString(o, "effective_month", t->mutable_effective_month());
      SetString(o, "region", t->mutable_region());
    }
    ForEachObject(v, "restriction_info", [&](dom::object r) {
      auto* restriction = a->add_restriction_info();
      SetString(r, "restriction_type", restriction->mutable_restriction_type());
      SetTimestamp(r, "expiration",
                   [&] { return restriction->mutable_expiration(); });
    });
    if (GetObject(v, "disconnection_info", &o)) {
      auto* d = a->mutable_disconnection_info();
      SetString(o, "reason", d->mutable_reason());
      SetString(o, "initiated_by", d->mutable_initiated_by());
    }
  }

  static void AddStrings(dom::object o, std::string_view key,
                         google::protobuf::RepeatedPtrField<std::string>* out) {
    dom::array items;
    if (!GetArray(o, key, &items)) return;
    for (dom::element e : items) {
      std::string s;
      if (ElementText(e, &s)) out->Add(std::move(s));
    }
  }

  static void ParseFlows(dom::object v, v1::FlowEvent* f) {
    SetString(v, "event", f->mutable_event());
    SetString(v, "message", f->mutable_message());
    SetString(v, "flow_id", f->mutable_flow_id());
    SetString(v, "old_status", f->mutable_old_status());
    SetString(v, "new_status", f->mutable_new_status());
    SetString(v, "alert_state", f->mutable_alert_state());
    SetString(v, "warning", f->mutable_warning());
    double d = 0;
    if (GetDouble(v, "error_rate", &d)) f->set_error_rate(d);
    if (GetDouble(v, "threshold", &d)) f->set_threshold(d);
    if (GetDouble(v, "availability", &d)) f->set_availability(d);
    int64_t n = 0;
    if (GetInt(v, "p90_latency", &n)) f->set_p90_latency(n);
    if (GetInt(v, "p50_latency", &n)) f->set_p50_latency(n);
    if (GetInt(v, "requests_count", &n)) f->set_requests_count(n);
    ForEachObject(v, "errors", [&](dom::object e) {
      auto* rate = f->add_errors();
      SetString(e, "error_type", rate->mutable_error_type());
      double r = 0;
      if (GetDouble(e, "error_rate", &r)) rate->set_error_rate(r);
      int64_t count = 0;
      if (GetInt(e, "error_count", &count)) rate->set_error_count(count);
    });
  }

  const EntryInfo& entry_;
  Timestamp received_at_proto_;
  std::vector<v1::Event>* out_;
  std::string field_;
  std::string phone_number_id_;
  std::string display_phone_number_;
};

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("webhook body: ", what));
}

absl::StatusOr<std::vector<v1::Event>> ParseImpl(absl::string_view body,
                                                 absl::Time received_at) {
  // One parser per thread: its buffers are reused across POSTs.
  thread_local dom::parser parser;
  dom::element root;
  // realloc_if_needed copies the body into the parser's padded buffer
  // (simdjson reads up to SIMDJSON_PADDING bytes past the end).
  if (auto error = parser.parse(body.data(), body.size(), true).get(root)) {
    return Invalid(
        absl::StrCat("invalid JSON (", simdjson::error_message(error), ")"));
  }
  dom::object envelope;
  if (root.get_object().get(envelope)) return Invalid("not a JSON object");
  std::string_view object;
  if (envelope["object"].get_string().get(object) || object != kObject) {
    return Invalid("\"object\" is not \"whatsapp_business_account\"");
  }
  dom::array entries;
  if (envelope["entry"].get_array().get(entries)) {
    return Invalid("\"entry\" is missing or not an array");
  }

  std::vector<v1::Event> events;
  for (dom::element entry_element : entries) {
    dom::object entry;
    if (entry_element.get_object().get(entry)) {
      return Invalid("an entry is not an object");
    }
    EntryInfo info;
    SetString(entry, "id", &info.waba_id);
    info.has_time = GetSeconds(entry, "time", &info.time);
    dom::element changes_element;
    if (entry["changes"].get(changes_element)) continue;  // nothing to read
    dom::array changes;
    if (changes_element.get_array().get(changes)) {
      return Invalid("\"changes\" is not an array");
    }
    ChangeParser change_parser(info, received_at, &events);
    for (dom::element change : changes) {
      if (!change.is_object()) return Invalid("a change is not an object");
      change_parser.Parse(change);
    }
  }
  return events;
}

}  // namespace

absl::StatusOr<std::vector<wagate::v1::Event>> ParseWebhook(
    absl::string_view body, absl::Time received_at) {
  // simdjson's DOM error-code API does not throw; this guards allocation
  // failures so nothing escapes the component.
  try {
    return ParseImpl(body, received_at);
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("webhook body: parse failed: ", e.what()));
  }
}

absl::string_view EventKind(const wagate::v1::Event& event) {
  static const google::protobuf::OneofDescriptor* const kPayload =
      wagate::v1::Event::descriptor()->FindOneofByName("payload");
  const google::protobuf::FieldDescriptor* field =
      event.GetReflection()->GetOneofFieldDescriptor(event, kPayload);
  if (field == nullptr) return "";
  return field->name();
}

}  // namespace wagate::webhook
