#include "service/resources/graph_json.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wagate::resources {
namespace {

using v1::TemplateButtonDefinition;
using v1::TemplateComponentDefinition;

constexpr absl::string_view kComponentTypes[] = {"",
                                                 "HEADER",
                                                 "BODY",
                                                 "FOOTER",
                                                 "BUTTONS",
                                                 "CAROUSEL",
                                                 "LIMITED_TIME_OFFER"};
constexpr absl::string_view kFormats[] = {
    "", "TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION", "PRODUCT"};
constexpr absl::string_view kButtonTypes[] = {
    "",    "QUICK_REPLY", "URL",     "PHONE_NUMBER", "COPY_CODE",
    "OTP", "FLOW",        "CATALOG", "MPM",          "VOICE_CALL"};

template <size_t N>
absl::string_view NameAt(const absl::string_view (&names)[N], int index) {
  return index >= 0 && static_cast<size_t>(index) < N ? names[index] : "";
}

template <size_t N>
int IndexOf(const absl::string_view (&names)[N], absl::string_view text) {
  for (size_t i = 1; i < N; ++i) {
    // Graph answers in upper case; some list answers use lower case.
    if (names[i].size() == text.size()) {
      bool eq = true;
      for (size_t j = 0; j < text.size() && eq; ++j) {
        eq = names[i][j] == (text[j] >= 'a' && text[j] <= 'z'
                                 ? static_cast<char>(text[j] - 'a' + 'A')
                                 : text[j]);
      }
      if (eq) return static_cast<int>(i);
    }
  }
  return 0;
}

void StringArray(absl::string_view key,
                 const google::protobuf::RepeatedPtrField<std::string>& values,
                 common::JsonWriter* w) {
  w->Key(key).BeginArray();
  for (const std::string& v : values) w->String(v);
  w->EndArray();
}

void WriteNamedParams(
    absl::string_view key,
    const google::protobuf::RepeatedPtrField<v1::TemplateNamedParamExample>&
        params,
    common::JsonWriter* w) {
  if (params.empty()) return;
  w->Key(key).BeginArray();
  for (const auto& p : params) {
    w->BeginObject().Field("param_name", p.param_name());
    w->Field("example", p.example()).EndObject();
  }
  w->EndArray();
}

void WriteExample(const v1::TemplateExample& e, common::JsonWriter* w) {
  w->Key("example").BeginObject();
  if (e.header_text_size() > 0) StringArray("header_text", e.header_text(), w);
  if (e.header_handle_size() > 0) {
    StringArray("header_handle", e.header_handle(), w);
  }
  if (e.body_text_size() > 0) {
    w->Key("body_text").BeginArray();
    for (const auto& row : e.body_text()) {
      w->BeginArray();
      for (const std::string& v : row.values()) w->String(v);
      w->EndArray();
    }
    w->EndArray();
  }
  WriteNamedParams("header_text_named_params", e.header_text_named_params(), w);
  WriteNamedParams("body_text_named_params", e.body_text_named_params(), w);
  w->EndObject();
}

void WriteButton(const TemplateButtonDefinition& b, common::JsonWriter* w) {
  w->BeginObject();
  w->Field("type", NameAt(kButtonTypes, b.type()));
  if (!b.text().empty()) w->Field("text", b.text());
  if (!b.url().empty()) w->Field("url", b.url());
  if (!b.phone_number().empty()) w->Field("phone_number", b.phone_number());
  if (b.example_size() > 0) {
    // Graph takes the copy code as a string, URL samples as an array.
    if (b.type() == TemplateButtonDefinition::TYPE_COPY_CODE) {
      w->Field("example", b.example(0));
    } else {
      StringArray("example", b.example(), w);
    }
  }
  if (!b.otp_type().empty()) w->Field("otp_type", b.otp_type());
  if (!b.autofill_text().empty()) w->Field("autofill_text", b.autofill_text());
  if (b.supported_apps_size() > 0) {
    w->Key("supported_apps").BeginArray();
    for (const auto& app : b.supported_apps()) {
      w->BeginObject().Field("package_name", app.package_name());
      w->Field("signature_hash", app.signature_hash()).EndObject();
    }
    w->EndArray();
  }
  if (b.zero_tap_terms_accepted()) w->Field("zero_tap_terms_accepted", true);
  if (!b.flow_id().empty()) w->Field("flow_id", b.flow_id());
  if (!b.flow_name().empty()) w->Field("flow_name", b.flow_name());
  if (!b.flow_json().empty()) w->Field("flow_json", b.flow_json());
  if (!b.flow_action().empty()) w->Field("flow_action", b.flow_action());
  if (!b.navigate_screen().empty()) {
    w->Field("navigate_screen", b.navigate_screen());
  }
  w->EndObject();
}

void WriteComponent(const TemplateComponentDefinition& c,
                    common::JsonWriter* w) {
  w->BeginObject();
  w->Field("type", NameAt(kComponentTypes, c.type()));
  if (c.format() != TemplateComponentDefinition::FORMAT_UNSPECIFIED) {
    w->Field("format", NameAt(kFormats, c.format()));
  }
  if (!c.text().empty()) w->Field("text", c.text());
  if (c.has_example()) WriteExample(c.example(), w);
  if (c.buttons_size() > 0) {
    w->Key("buttons").BeginArray();
    for (const auto& b : c.buttons()) WriteButton(b, w);
    w->EndArray();
  }
  if (c.cards_size() > 0) {
    w->Key("cards").BeginArray();
    for (const auto& card : c.cards()) {
      w->BeginObject().Key("components");
      WriteComponents(card.components(), w);
      w->EndObject();
    }
    w->EndArray();
  }
  if (c.has_limited_time_offer()) {
    w->Key("limited_time_offer").BeginObject();
    w->Field("text", c.limited_time_offer().text());
    w->Field("has_expiration", c.limited_time_offer().has_expiration());
    w->EndObject();
  }
  if (c.add_security_recommendation()) {
    w->Field("add_security_recommendation", true);
  }
  if (c.code_expiration_minutes() != 0) {
    w->Field("code_expiration_minutes", c.code_expiration_minutes());
  }
  w->EndObject();
}

// Strings of a member that is either one string or an array of strings.
std::vector<std::string> StringOrArray(graph::JsonObject o,
                                       absl::string_view key) {
  std::vector<std::string> out = o.GetStringArray(key);
  if (out.empty() && o.Has(key)) {
    std::string one = o.GetString(key);
    if (!one.empty()) out.push_back(std::move(one));
  }
  return out;
}

void ParseNamedParams(
    graph::JsonObject o, absl::string_view key,
    google::protobuf::RepeatedPtrField<v1::TemplateNamedParamExample>* out) {
  for (graph::JsonObject p : o.GetArray(key)) {
    v1::TemplateNamedParamExample* e = out->Add();
    e->set_param_name(p.GetString("param_name"));
    e->set_example(p.GetString("example"));
  }
}

v1::TemplateExample ParseExample(graph::JsonObject o) {
  v1::TemplateExample e;
  for (std::string& s : o.GetStringArray("header_text")) {
    e.add_header_text(std::move(s));
  }
  for (std::string& s : o.GetStringArray("header_handle")) {
    e.add_header_handle(std::move(s));
  }
  simdjson::dom::array rows;
  if (o.raw()["body_text"].get(rows) == simdjson::SUCCESS) {
    for (simdjson::dom::element row : rows) {
      simdjson::dom::array values;
      if (row.get(values) != simdjson::SUCCESS) continue;
      v1::TemplateExampleRow* r = e.add_body_text();
      for (simdjson::dom::element v : values) {
        std::string_view sv;
        if (v.get(sv) == simdjson::SUCCESS) r->add_values(std::string(sv));
      }
    }
  }
  ParseNamedParams(o, "header_text_named_params",
                   e.mutable_header_text_named_params());
  ParseNamedParams(o, "body_text_named_params",
                   e.mutable_body_text_named_params());
  return e;
}

TemplateButtonDefinition ParseButton(graph::JsonObject o) {
  TemplateButtonDefinition b;
  b.set_type(static_cast<TemplateButtonDefinition::Type>(
      IndexOf(kButtonTypes, o.GetString("type"))));
  b.set_text(o.GetString("text"));
  b.set_url(o.GetString("url"));
  b.set_phone_number(o.GetString("phone_number"));
  for (std::string& s : StringOrArray(o, "example")) b.add_example(s);
  b.set_otp_type(o.GetString("otp_type"));
  b.set_autofill_text(o.GetString("autofill_text"));
  for (graph::JsonObject app : o.GetArray("supported_apps")) {
    v1::TemplateSupportedApp* a = b.add_supported_apps();
    a->set_package_name(app.GetString("package_name"));
    a->set_signature_hash(app.GetString("signature_hash"));
  }
  b.set_zero_tap_terms_accepted(o.GetBool("zero_tap_terms_accepted"));
  b.set_flow_id(o.GetString("flow_id"));
  b.set_flow_name(o.GetString("flow_name"));
  b.set_flow_json(o.GetString("flow_json"));
  b.set_flow_action(o.GetString("flow_action"));
  b.set_navigate_screen(o.GetString("navigate_screen"));
  return b;
}

TemplateComponentDefinition ParseComponent(graph::JsonObject o) {
  TemplateComponentDefinition c;
  c.set_type(static_cast<TemplateComponentDefinition::Type>(
      IndexOf(kComponentTypes, o.GetString("type"))));
  c.set_format(static_cast<TemplateComponentDefinition::Format>(
      IndexOf(kFormats, o.GetString("format"))));
  c.set_text(o.GetString("text"));
  if (graph::JsonObject e = o.GetObject("example"); e.valid()) {
    *c.mutable_example() = ParseExample(e);
  }
  for (graph::JsonObject b : o.GetArray("buttons")) {
    *c.add_buttons() = ParseButton(b);
  }
  for (graph::JsonObject card : o.GetArray("cards")) {
    v1::TemplateCardDefinition* d = c.add_cards();
    for (graph::JsonObject cc : card.GetArray("components")) {
      *d->add_components() = ParseComponent(cc);
    }
  }
  if (graph::JsonObject lto = o.GetObject("limited_time_offer"); lto.valid()) {
    c.mutable_limited_time_offer()->set_text(lto.GetString("text"));
    c.mutable_limited_time_offer()->set_has_expiration(
        lto.GetBool("has_expiration"));
  }
  c.set_add_security_recommendation(o.GetBool("add_security_recommendation"));
  c.set_code_expiration_minutes(
      static_cast<int32_t>(o.GetInt("code_expiration_minutes")));
  return c;
}

void WriteProfileField(const v1::BusinessProfile& p, absl::string_view name,
                       common::JsonWriter* w) {
  if (name == "about") w->Field("about", p.about());
  if (name == "address") w->Field("address", p.address());
  if (name == "description") w->Field("description", p.description());
  if (name == "email") w->Field("email", p.email());
  if (name == "websites") StringArray("websites", p.websites(), w);
  if (name == "vertical") w->Field("vertical", p.vertical());
  if (name == "profile_picture_handle") {
    w->Field("profile_picture_handle", p.profile_picture_handle());
  }
}

}  // namespace

const char kTemplateFields[] =
    "id,name,language,status,category,sub_category,previous_category,"
    "quality_score,rejected_reason,components,parameter_format,"
    "message_send_ttl_seconds";

const char kPhoneNumberFields[] =
    "id,display_phone_number,verified_name,quality_rating,name_status,"
    "new_name_status,certificate,new_certificate,code_verification_status,"
    "throughput,platform_type,whatsapp_business_manager_messaging_limit,"
    "messaging_limit_tier,account_mode,status,is_on_biz_app,"
    "is_official_business_account,is_pin_enabled,is_preverified_number,"
    "quality_score,webhook_configuration,last_onboarded_time,"
    "search_visibility,health_status";

const char kBusinessProfileFields[] =
    "about,address,description,email,profile_picture_url,websites,vertical";

absl::string_view CategoryName(v1::TemplateCategory category) {
  switch (category) {
    case v1::TEMPLATE_CATEGORY_MARKETING:
      return "MARKETING";
    case v1::TEMPLATE_CATEGORY_UTILITY:
      return "UTILITY";
    case v1::TEMPLATE_CATEGORY_AUTHENTICATION:
      return "AUTHENTICATION";
    default:
      return "";
  }
}

absl::string_view ParameterFormatName(v1::ParameterFormat format) {
  switch (format) {
    case v1::PARAMETER_FORMAT_POSITIONAL:
      return "POSITIONAL";
    case v1::PARAMETER_FORMAT_NAMED:
      return "NAMED";
    default:
      return "";
  }
}

v1::ParameterFormat ParseParameterFormat(absl::string_view text) {
  if (text == "POSITIONAL" || text == "positional") {
    return v1::PARAMETER_FORMAT_POSITIONAL;
  }
  if (text == "NAMED" || text == "named") return v1::PARAMETER_FORMAT_NAMED;
  return v1::PARAMETER_FORMAT_UNSPECIFIED;
}

absl::string_view CodeMethodName(v1::CodeMethod method) {
  switch (method) {
    case v1::CODE_METHOD_SMS:
      return "SMS";
    case v1::CODE_METHOD_VOICE:
      return "VOICE";
    default:
      return "";
  }
}

void WriteComponents(const google::protobuf::RepeatedPtrField<
                         TemplateComponentDefinition>& components,
                     common::JsonWriter* w) {
  w->BeginArray();
  for (const auto& c : components) WriteComponent(c, w);
  w->EndArray();
}

std::string CreateTemplateJson(const v1::CreateTemplateRequest& request) {
  common::JsonWriter w(1024);
  w.BeginObject();
  w.Field("name", request.name());
  w.Field("language", request.language());
  w.Field("category", CategoryName(request.category()));
  if (request.parameter_format() != v1::PARAMETER_FORMAT_UNSPECIFIED) {
    w.Field("parameter_format",
            ParameterFormatName(request.parameter_format()));
  }
  if (request.allow_category_change()) w.Field("allow_category_change", true);
  if (request.message_send_ttl_seconds() != 0) {
    w.Field("message_send_ttl_seconds", request.message_send_ttl_seconds());
  }
  w.Key("components");
  WriteComponents(request.components(), &w);
  w.EndObject();
  return std::move(w).Release();
}

std::string UpdateTemplateJson(const v1::UpdateTemplateRequest& request) {
  common::JsonWriter w(1024);
  w.BeginObject();
  if (request.has_category()) {
    w.Field("category", CategoryName(request.category()));
  }
  if (request.components_size() > 0) {
    if (request.parameter_format() != v1::PARAMETER_FORMAT_UNSPECIFIED) {
      w.Field("parameter_format",
              ParameterFormatName(request.parameter_format()));
    }
    w.Key("components");
    WriteComponents(request.components(), &w);
  }
  if (request.has_message_send_ttl_seconds()) {
    w.Field("message_send_ttl_seconds", request.message_send_ttl_seconds());
  }
  w.EndObject();
  return std::move(w).Release();
}

v1::Template ParseTemplate(graph::JsonObject o) {
  v1::Template t;
  t.set_id(o.GetString("id"));
  t.set_name(o.GetString("name"));
  t.set_language(o.GetString("language"));
  t.set_status(o.GetString("status"));
  t.set_category(o.GetString("category"));
  t.set_sub_category(o.GetString("sub_category"));
  t.set_previous_category(o.GetString("previous_category"));
  if (graph::JsonObject q = o.GetObject("quality_score"); q.valid()) {
    t.mutable_quality_score()->set_score(q.GetString("score"));
    t.mutable_quality_score()->set_date(q.GetInt("date"));
  }
  t.set_rejected_reason(o.GetString("rejected_reason"));
  for (graph::JsonObject c : o.GetArray("components")) {
    *t.add_components() = ParseComponent(c);
  }
  t.set_parameter_format(ParseParameterFormat(o.GetString("parameter_format")));
  t.set_message_send_ttl_seconds(
      static_cast<int32_t>(o.GetInt("message_send_ttl_seconds")));
  return t;
}

v1::PhoneNumber ParsePhoneNumber(graph::JsonObject o) {
  v1::PhoneNumber n;
  n.set_id(o.GetString("id"));
  n.set_display_phone_number(o.GetString("display_phone_number"));
  n.set_verified_name(o.GetString("verified_name"));
  n.set_quality_rating(o.GetString("quality_rating"));
  n.set_name_status(o.GetString("name_status"));
  n.set_new_name_status(o.GetString("new_name_status"));
  n.set_certificate(o.GetString("certificate"));
  n.set_new_certificate(o.GetString("new_certificate"));
  n.set_code_verification_status(o.GetString("code_verification_status"));
  if (graph::JsonObject t = o.GetObject("throughput"); t.valid()) {
    n.mutable_throughput()->set_level(t.GetString("level"));
  }
  n.set_platform_type(o.GetString("platform_type"));
  n.set_whatsapp_business_manager_messaging_limit(
      o.GetString("whatsapp_business_manager_messaging_limit"));
  n.set_messaging_limit_tier(o.GetString("messaging_limit_tier"));
  n.set_account_mode(o.GetString("account_mode"));
  n.set_status(o.GetString("status"));
  n.set_is_on_biz_app(o.GetBool("is_on_biz_app"));
  n.set_is_official_business_account(o.GetBool("is_official_business_account"));
  n.set_is_pin_enabled(o.GetBool("is_pin_enabled"));
  n.set_is_preverified_number(o.GetBool("is_preverified_number"));
  if (graph::JsonObject q = o.GetObject("quality_score"); q.valid()) {
    v1::PhoneNumberQualityScore* s = n.mutable_quality_score();
    s->set_score(q.GetString("score"));
    s->set_date(q.GetInt("date"));
    for (std::string& r : q.GetStringArray("reasons")) s->add_reasons(r);
  }
  if (graph::JsonObject wc = o.GetObject("webhook_configuration"); wc.valid()) {
    v1::WebhookConfiguration* c = n.mutable_webhook_configuration();
    c->set_application(wc.GetString("application"));
    c->set_whatsapp_business_account(wc.GetString("whatsapp_business_account"));
    c->set_phone_number(wc.GetString("phone_number"));
  }
  n.set_last_onboarded_time(o.GetString("last_onboarded_time"));
  n.set_search_visibility(o.GetString("search_visibility"));
  if (graph::JsonObject h = o.GetObject("health_status"); h.valid()) {
    v1::HealthStatus* hs = n.mutable_health_status();
    hs->set_can_send_message(h.GetString("can_send_message"));
    for (graph::JsonObject e : h.GetArray("entities")) {
      v1::HealthStatusEntity* entity = hs->add_entities();
      entity->set_entity_type(e.GetString("entity_type"));
      entity->set_id(e.GetString("id"));
      entity->set_can_send_message(e.GetString("can_send_message"));
      for (std::string& info : StringOrArray(e, "additional_info")) {
        entity->add_additional_info(info);
      }
      for (graph::JsonObject err : e.GetArray("errors")) {
        v1::HealthStatusError* x = entity->add_errors();
        x->set_error_code(static_cast<int32_t>(err.GetInt("error_code")));
        x->set_error_description(err.GetString("error_description"));
        x->set_possible_solution(err.GetString("possible_solution"));
      }
    }
  }
  return n;
}

v1::BusinessProfile ParseBusinessProfile(graph::JsonObject o) {
  v1::BusinessProfile p;
  p.set_about(o.GetString("about"));
  p.set_address(o.GetString("address"));
  p.set_description(o.GetString("description"));
  p.set_email(o.GetString("email"));
  p.set_profile_picture_url(o.GetString("profile_picture_url"));
  for (std::string& w : o.GetStringArray("websites")) p.add_websites(w);
  p.set_vertical(o.GetString("vertical"));
  return p;
}

std::string UpdateBusinessProfileJson(
    const v1::UpdateBusinessProfileRequest& request) {
  const v1::BusinessProfile& p = request.business_profile();
  common::JsonWriter w(512);
  w.BeginObject().Field("messaging_product", "whatsapp");
  if (request.update_mask().paths_size() > 0) {
    for (const std::string& path : request.update_mask().paths()) {
      WriteProfileField(p, path, &w);
    }
  } else {
    if (!p.about().empty()) WriteProfileField(p, "about", &w);
    if (!p.address().empty()) WriteProfileField(p, "address", &w);
    if (!p.description().empty()) WriteProfileField(p, "description", &w);
    if (!p.email().empty()) WriteProfileField(p, "email", &w);
    if (p.websites_size() > 0) WriteProfileField(p, "websites", &w);
    if (!p.vertical().empty()) WriteProfileField(p, "vertical", &w);
    if (!p.profile_picture_handle().empty()) {
      WriteProfileField(p, "profile_picture_handle", &w);
    }
  }
  w.EndObject();
  return std::move(w).Release();
}

v1::MediaMetadata ParseMediaMetadata(graph::JsonObject o) {
  v1::MediaMetadata m;
  m.set_id(o.GetString("id"));
  m.set_url(o.GetString("url"));
  m.set_mime_type(o.GetString("mime_type"));
  m.set_sha256(o.GetString("sha256"));
  m.set_file_size(o.GetInt("file_size"));
  return m;
}

v1::SubscribedApp ParseSubscribedApp(graph::JsonObject o) {
  v1::SubscribedApp a;
  graph::JsonObject d = o.GetObject("whatsapp_business_api_data");
  if (d.valid()) {
    a.set_id(d.GetString("id"));
    a.set_name(d.GetString("name"));
    a.set_link(d.GetString("link"));
  }
  a.set_override_callback_uri(o.GetString("override_callback_uri"));
  return a;
}

std::string BlockUsersJson(
    const google::protobuf::RepeatedPtrField<std::string>& users) {
  common::JsonWriter w(64 + 48 * users.size());
  w.BeginObject().Field("messaging_product", "whatsapp");
  w.Key("block_users").BeginArray();
  for (const std::string& u : users)
    w.BeginObject().Field("user", u).EndObject();
  w.EndArray().EndObject();
  return std::move(w).Release();
}

v1::BlockedUser ParseBlockedUser(graph::JsonObject o) {
  v1::BlockedUser u;
  u.set_input(o.GetString("input"));
  u.set_wa_id(o.GetString("wa_id"));
  return u;
}

v1::FailedUser ParseFailedUser(graph::JsonObject o) {
  v1::FailedUser u;
  u.set_input(o.GetString("input"));
  u.set_wa_id(o.GetString("wa_id"));
  for (graph::JsonObject e : o.GetArray("errors")) {
    v1::GraphError* g = u.add_errors();
    g->set_code(static_cast<int32_t>(e.GetInt("code")));
    g->set_error_subcode(static_cast<int32_t>(e.GetInt("error_subcode")));
    g->set_message(e.GetString("message"));
    g->set_type(e.GetString("type"));
    std::string details = e.GetObject("error_data").valid()
                              ? e.GetObject("error_data").GetString("details")
                              : "";
    if (details.empty()) details = e.GetString("details");
    g->set_details(details);
    g->set_fbtrace_id(e.GetString("fbtrace_id"));
  }
  return u;
}

void AddPaging(int32_t page_size, const std::string& page_token,
               QueryParams* query) {
  if (page_size > 0) query->emplace_back("limit", absl::StrCat(page_size));
  if (page_token.empty()) return;
  if (absl::StartsWith(page_token, kBeforeTokenPrefix)) {
    query->emplace_back("before", page_token.substr(kBeforeTokenPrefix.size()));
  } else {
    query->emplace_back("after", page_token);
  }
}

std::string NextPageToken(graph::JsonObject root) {
  graph::JsonObject paging = root.GetObject("paging");
  if (!paging.valid() || !paging.Has("next")) return "";
  return paging.GetObject("cursors").GetString("after");
}

std::string PreviousPageToken(graph::JsonObject root) {
  graph::JsonObject paging = root.GetObject("paging");
  if (!paging.valid() || !paging.Has("previous")) return "";
  std::string before = paging.GetObject("cursors").GetString("before");
  if (before.empty()) return "";
  return absl::StrCat(kBeforeTokenPrefix, before);
}

}  // namespace wagate::resources
