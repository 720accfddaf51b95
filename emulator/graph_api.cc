#include "emulator/graph_api.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "service/common/json_writer.h"
#include "simdjson.h"

namespace wagate::emulator {
namespace {

constexpr char kSuccess[] = R"({"success":true})";

bool IsVersion(absl::string_view s) {
  // "v23.0": Graph versions; the emulator answers every version alike.
  if (s.size() < 2 || s[0] != 'v') return false;
  for (char c : s.substr(1)) {
    if (!absl::ascii_isdigit(c) && c != '.') return false;
  }
  return true;
}

std::string BearerToken(const http::Request& request) {
  absl::string_view auth = request.Header("Authorization");
  if (absl::StartsWithIgnoreCase(auth, "Bearer ")) {
    return std::string(absl::StripAsciiWhitespace(auth.substr(7)));
  }
  // Graph also takes the token as a query parameter.
  return request.QueryParam("access_token").value_or("");
}

// Top-level string (or number/bool, minified) members of a JSON body, or
// the pairs of a form-encoded body: Graph accepts both for simple calls.
std::map<std::string, std::string> BodyParams(const http::Request& request) {
  std::map<std::string, std::string> out;
  absl::string_view body = request.body;
  absl::string_view stripped = absl::StripLeadingAsciiWhitespace(body);
  if (!stripped.empty() && stripped[0] == '{') {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(body.data(), body.size()).get(obj) == simdjson::SUCCESS) {
      for (auto field : obj) {
        std::string_view sv;
        std::string key(field.key);
        if (field.value.get(sv) == simdjson::SUCCESS) {
          out[key] = std::string(sv);
        } else {
          out[key] = simdjson::minify(field.value);
        }
      }
    }
  } else if (!body.empty() && absl::StrContains(request.Header("Content-Type"),
                                                "x-www-form-urlencoded")) {
    for (absl::string_view pair : absl::StrSplit(body, '&')) {
      if (pair.empty()) continue;
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(pair, absl::MaxSplits('=', 1));
      out[http::PercentDecode(kv.first, true)] =
          http::PercentDecode(kv.second, true);
    }
  }
  return out;
}

std::string Param(const http::Request& request,
                  const std::map<std::string, std::string>& body,
                  const std::string& name) {
  auto it = body.find(name);
  if (it != body.end()) return it->second;
  return request.QueryParam(name).value_or("");
}

std::vector<std::string> Fields(const http::Request& request) {
  std::vector<std::string> fields;
  auto f = request.QueryParam("fields");
  if (!f) return fields;
  for (absl::string_view s : absl::StrSplit(*f, ',', absl::SkipEmpty())) {
    fields.emplace_back(absl::StripAsciiWhitespace(s));
  }
  return fields;
}

bool Wants(const std::vector<std::string>& fields, absl::string_view name) {
  return std::find(fields.begin(), fields.end(), name) != fields.end();
}

std::string Cursor(size_t index) {
  return absl::WebSafeBase64Escape(absl::StrCat("cursor:", index));
}

bool ParseCursor(absl::string_view cursor, size_t* index) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(cursor, &raw)) return false;
  absl::string_view v = raw;
  return absl::ConsumePrefix(&v, "cursor:") && absl::SimpleAtoi(v, index);
}

std::string PhoneNumberJson(const PhoneNumber& n,
                            const std::vector<std::string>& requested,
                            const std::string& webhook_url) {
  std::vector<std::string> fields = requested;
  if (fields.empty()) {
    fields = {"display_phone_number", "verified_name", "quality_rating"};
  }
  common::JsonWriter w(512);
  w.BeginObject();
  for (const std::string& f : fields) {
    if (f == "display_phone_number") {
      w.Field(f, n.display_phone_number);
    } else if (f == "verified_name") {
      w.Field(f, n.verified_name);
    } else if (f == "quality_rating") {
      w.Field(f, n.quality_rating);
    } else if (f == "name_status") {
      w.Field(f, n.name_status);
    } else if (f == "code_verification_status") {
      w.Field(f, n.code_verification_status);
    } else if (f == "throughput") {
      w.Key(f).BeginObject().Field("level", n.throughput_level).EndObject();
    } else if (f == "platform_type") {
      w.Field(f, n.registered ? "CLOUD_API" : "NOT_APPLICABLE");
    } else if (f == "whatsapp_business_manager_messaging_limit" ||
               f == "messaging_limit_tier") {
      w.Field(f, n.messaging_limit);
    } else if (f == "account_mode") {
      w.Field(f, "LIVE");
    } else if (f == "status") {
      w.Field(f, n.registered ? "CONNECTED" : "PENDING");
    } else if (f == "is_official_business_account" || f == "is_on_biz_app" ||
               f == "is_preverified_number") {
      w.Field(f, false);
    } else if (f == "is_pin_enabled") {
      w.Field(f, true);
    } else if (f == "webhook_configuration") {
      w.Key(f).BeginObject().Field("application", webhook_url).EndObject();
    } else if (f == "health_status") {
      w.Key(f).BeginObject().Field("can_send_message", "AVAILABLE").EndObject();
    }
    // Unknown fields are ignored, as Graph does for fields it cannot read.
  }
  w.Field("id", n.id);
  w.EndObject();
  return std::move(w).Release();
}

std::string TemplateJson(const Template& t,
                         const std::vector<std::string>& requested) {
  std::vector<std::string> fields = requested;
  if (fields.empty()) {
    fields = {"name",     "parameter_format", "components",
              "language", "status",           "category"};
  }
  common::JsonWriter w(256 + t.components_json.size());
  w.BeginObject();
  for (const std::string& f : fields) {
    if (f == "name") w.Field(f, t.name);
    if (f == "parameter_format") w.Field(f, t.parameter_format);
    if (f == "components") w.Key(f).Raw(t.components_json);
    if (f == "language") w.Field(f, t.language);
    if (f == "status") w.Field(f, t.status);
    if (f == "category") w.Field(f, t.category);
  }
  w.Field("id", t.id);
  w.EndObject();
  return std::move(w).Release();
}

// 32 hex digits, unique per message (CLOUD_API.md §3.5) and reproducible
// from the wamid: two 64-bit FNV-1a hashes, each finished with SplitMix64.
// (An HMAC here cost ~8% of a send's CPU.)
std::string ConversationId(absl::string_view wamid) {
  uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
  for (unsigned char c : wamid) {
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ c) * 0x100000001b3ull;
  }
  auto mix = [](uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  a = mix(a);
  b = mix(b + 0x9e3779b97f4a7c15ull);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[i] = kHex[(a >> (60 - 4 * i)) & 0xf];
    out[16 + i] = kHex[(b >> (60 - 4 * i)) & 0xf];
  }
  return out;
}

bool ValidTemplateName(absl::string_view name) {
  if (name.empty() || name.size() > 512) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string PagedJson(const std::vector<std::string>& items,
                      const http::Request& request,
                      const std::string& base_url) {
  size_t limit = 25;
  if (auto l = request.QueryParam("limit")) {
    size_t v;
    if (absl::SimpleAtoi(*l, &v) && v > 0) limit = v;
  }
  size_t begin = 0, end = items.size();
  size_t cursor;
  if (auto after = request.QueryParam("after");
      after && ParseCursor(*after, &cursor)) {
    begin = std::min(cursor + 1, items.size());
    end = std::min(begin + limit, items.size());
  } else if (auto before = request.QueryParam("before");
             before && ParseCursor(*before, &cursor)) {
    end = std::min(cursor, items.size());
    begin = end > limit ? end - limit : 0;
  } else {
    end = std::min(limit, items.size());
  }
  common::JsonWriter w(256);
  w.BeginObject().Key("data").BeginArray();
  for (size_t i = begin; i < end; ++i) w.Raw(items[i]);
  w.EndArray();
  if (begin < end) {
    w.Key("paging").BeginObject();
    w.Key("cursors").BeginObject();
    w.Field("before", Cursor(begin));
    w.Field("after", Cursor(end - 1));
    w.EndObject();
    std::string path = request.path;
    auto link = [&](const char* key, size_t index) {
      std::string url = absl::StrCat(base_url, path, "?limit=", limit, "&", key,
                                     "=", Cursor(index));
      if (auto f = request.QueryParam("fields")) {
        absl::StrAppend(&url, "&fields=", http::PercentEncode(*f));
      }
      return url;
    };
    if (end < items.size()) w.Field("next", link("after", end - 1));
    if (begin > 0) w.Field("previous", link("before", begin));
    w.EndObject();
  }
  w.EndObject();
  return std::move(w).Release();
}

GraphApi::GraphApi(State* state, Hooks hooks)
    : state_(state), hooks_(std::move(hooks)) {}

http::Response GraphApi::Error(const GraphError& error) {
  return http::JsonResponse(error.http_status,
                            ErrorJson(error, state_->NewFbtraceId()));
}

http::Response GraphApi::UnknownObject(const std::string& id) {
  GraphError e = GraphError::Make(
      100,
      absl::StrCat("Unsupported request - method type: get, object ID '", id,
                   "' does not exist, cannot be loaded due to missing "
                   "permissions, or does not support this operation."));
  e.subcode = 33;
  return Error(e);
}

http::Response GraphApi::Handle(const http::Request& request,
                                std::vector<Accepted>* accepted) {
  if (!state_->TokenAccepted(BearerToken(request))) {
    GraphError e = GraphError::Make(
        190, "Invalid OAuth access token - Cannot parse access token");
    state_->CountError(190);
    return Error(e);
  }
  std::vector<std::string> segs =
      absl::StrSplit(request.path, '/', absl::SkipEmpty());
  if (segs.size() == 2 && segs[0] == "whatsapp_business" &&
      segs[1] == "attachments" && request.method == "GET") {
    return DownloadMedia(request);
  }
  int api_version = 0;
  if (!segs.empty() && IsVersion(segs[0])) {
    absl::SimpleAtoi(
        absl::string_view(segs[0]).substr(
            1, segs[0].find('.') == std::string::npos ? std::string::npos
                                                      : segs[0].find('.') - 1),
        &api_version);
    segs.erase(segs.begin());
  }
  if (segs.empty() || segs.size() > 2) {
    return Error(
        GraphError::Make(100, "Unknown path components: " + request.path));
  }
  const std::string& id = segs[0];
  const std::string edge = segs.size() > 1 ? segs[1] : "";
  const std::string& method = request.method;
  const bool is_number = state_->IsPhoneNumber(id);
  const bool is_waba = id == state_->waba_id();

  if (is_number) {
    if (edge == "messages" && method == "POST") {
      size_t before = accepted->size();
      http::Response r = SendMessage(id, request, accepted);
      for (size_t i = before; i < accepted->size(); ++i) {
        Accepted& a = (*accepted)[i];
        a.api_version = api_version;
        if (api_version > 0 && api_version <= 23) {
          // Unique per message up to v23 (CLOUD_API.md §3.5).
          a.conversation_id = ConversationId(a.wamid);
        }
      }
      return r;
    }
    if (edge.empty() && method == "GET") return GetPhoneNumber(id, request);
    if (edge == "media" && method == "POST") return UploadMedia(id, request);
    if (edge == "whatsapp_business_profile") {
      if (method == "GET") return GetProfile(id, request);
      if (method == "POST") return UpdateProfile(id, request);
    }
    if (edge == "block_users") {
      if (method == "POST") return BlockUsers(id, request, true);
      if (method == "DELETE") return BlockUsers(id, request, false);
      if (method == "GET") return ListBlocked(id, request);
    }
    if ((edge == "register" || edge == "deregister" || edge == "request_code" ||
         edge == "verify_code") &&
        method == "POST") {
      return PhoneNumberAction(id, edge, request);
    }
  }
  if (is_waba) {
    if (edge == "phone_numbers" && method == "GET") {
      return ListPhoneNumbers(request);
    }
    if (edge == "subscribed_apps") return SubscribedApps(request);
    if (edge == "message_templates") {
      if (method == "GET") return ListTemplates(request);
      if (method == "POST") return CreateTemplate(request);
      if (method == "DELETE") return DeleteTemplates(request);
    }
  }
  Template t;
  if (!is_number && !is_waba && edge.empty() &&
      state_->GetTemplateById(id, &t)) {
    if (method == "GET") return GetTemplate(t, request);
    if (method == "POST") return EditTemplate(t, request);
  }
  Media media;
  if (!is_number && !is_waba && edge.empty() && state_->GetMedia(id, &media)) {
    if (method == "GET") return GetMedia(media, request);
    if (method == "DELETE") return DeleteMedia(media, request);
  }
  if (is_number || is_waba || !t.id.empty() || !media.id.empty()) {
    GraphError e =
        GraphError::Make(100, absl::StrCat("Unknown path components: /", edge));
    return Error(e);
  }
  return UnknownObject(id);
}

http::Response GraphApi::SendMessage(const std::string& pnid,
                                     const http::Request& request,
                                     std::vector<Accepted>* accepted) {
  SendRequest req;
  GraphError error;
  if (!ParseSendRequest(request.body, &req, &error)) {
    state_->CountError(error.code);
    return Error(error);
  }
  if (req.kind != SendKind::kMessage) {
    if (!absl::StartsWith(req.message_id, "wamid.")) {
      return Error(GraphError::Make(
          100, absl::StrCat("Invalid parameter message_id: \"", req.message_id,
                            "\" is not a WhatsApp message id.")));
    }
    return http::JsonResponse(200, kSuccess);
  }
  Accepted a;
  if (!state_->AcceptMessage(pnid, req, absl::Now(), &a, &error)) {
    return Error(error);
  }
  a.wamid = state_->NewWamid(req.wa_id);
  common::JsonWriter w(256);
  w.BeginObject();
  w.Field("messaging_product", "whatsapp");
  w.Key("contacts").BeginArray().BeginObject();
  w.Field("input", req.to).Field("wa_id", req.wa_id);
  w.EndObject().EndArray();
  w.Key("messages").BeginArray().BeginObject();
  w.Field("id", a.wamid);
  if (a.is_template) w.Field("message_status", "accepted");
  if (req.recipient_type == "group") w.Field("group_id", req.wa_id);
  w.EndObject().EndArray();
  w.EndObject();
  accepted->push_back(std::move(a));
  return http::JsonResponse(200, std::move(w).Release());
}

http::Response GraphApi::GetPhoneNumber(const std::string& pnid,
                                        const http::Request& request) {
  PhoneNumber n;
  if (!state_->GetPhoneNumber(pnid, &n)) return UnknownObject(pnid);
  return http::JsonResponse(
      200, PhoneNumberJson(n, Fields(request), state_->options().webhook_url));
}

http::Response GraphApi::ListPhoneNumbers(const http::Request& request) {
  std::vector<std::string> fields = Fields(request);
  if (fields.empty()) {
    fields = {"verified_name",        "code_verification_status",
              "display_phone_number", "quality_rating",
              "platform_type",        "throughput",
              "webhook_configuration"};
  }
  std::vector<std::string> items;
  for (const PhoneNumber& n : state_->PhoneNumbers()) {
    items.push_back(PhoneNumberJson(n, fields, state_->options().webhook_url));
  }
  return http::JsonResponse(200, PagedJson(items, request, hooks_.base_url()));
}

http::Response GraphApi::PhoneNumberAction(const std::string& pnid,
                                           const std::string& action,
                                           const http::Request& request) {
  std::map<std::string, std::string> body = BodyParams(request);
  GraphError error;
  bool ok = true;
  if (action == "register" || action == "deregister") {
    std::string pin = Param(request, body, "pin");
    if (action == "register") {
      if (Param(request, body, "messaging_product") != "whatsapp") {
        return Error(GraphError::Make(
            100, "The parameter messaging_product is required."));
      }
      if (pin.size() != 6 ||
          !std::all_of(pin.begin(), pin.end(), absl::ascii_isdigit)) {
        return Error(GraphError::Make(
            100, "Param pin must be a 6-digit two-step verification PIN."));
      }
    }
    state_->UpdatePhoneNumber(pnid, [&](PhoneNumber& n) {
      if (++n.register_calls > 10) {
        ok = false;
        error = GraphError::Make(
            133016,
            "Too many register or deregister calls for this number "
            "in 72 hours.");
        return;
      }
      n.registered = action == "register";
    });
  } else if (action == "request_code") {
    std::string code_method = Param(request, body, "code_method");
    if (code_method != "SMS" && code_method != "VOICE") {
      return Error(GraphError::Make(
          100, "Param code_method must be one of {SMS, VOICE}."));
    }
    if (Param(request, body, "language").empty()) {
      return Error(
          GraphError::Make(100, "The parameter language is required."));
    }
  } else if (action == "verify_code") {
    std::string code = Param(request, body, "code");
    if (code.size() != 6 ||
        !std::all_of(code.begin(), code.end(), absl::ascii_isdigit)) {
      return Error(GraphError::Make(
          136025, "Verification code is invalid; it must be 6 digits."));
    }
    state_->UpdatePhoneNumber(
        pnid, [](PhoneNumber& n) { n.code_verification_status = "VERIFIED"; });
  }
  if (!ok) return Error(error);
  return http::JsonResponse(200, kSuccess);
}

http::Response GraphApi::ListTemplates(const http::Request& request) {
  std::vector<std::string> fields = Fields(request);
  auto status = request.QueryParam("status");
  auto name = request.QueryParam("name");
  auto language = request.QueryParam("language");
  auto category = request.QueryParam("category");
  std::vector<std::string> items;
  for (const Template& t : state_->Templates()) {
    if (status && !absl::EqualsIgnoreCase(*status, t.status)) continue;
    if (category && !absl::EqualsIgnoreCase(*category, t.category)) continue;
    if (name && !absl::StrContains(t.name, *name)) continue;
    if (language && *language != t.language) continue;
    items.push_back(TemplateJson(t, fields));
  }
  return http::JsonResponse(200, PagedJson(items, request, hooks_.base_url()));
}

http::Response GraphApi::GetTemplate(const Template& t,
                                     const http::Request& request) {
  return http::JsonResponse(200, TemplateJson(t, Fields(request)));
}

// Checks a components array as Meta's template review does on creation.
static bool CheckTemplateComponents(simdjson::dom::array components,
                                    GraphError* error) {
  bool has_body = false;
  auto fail = [&](std::string details) {
    *error = GraphError::Make(100, std::move(details));
    return false;
  };
  for (simdjson::dom::element e : components) {
    simdjson::dom::object c;
    if (e.get(c) != simdjson::SUCCESS) return fail("Invalid component.");
    std::string_view type_sv, text_sv;
    if (c["type"].get(type_sv) != simdjson::SUCCESS) {
      return fail("Param components[]['type'] is required.");
    }
    std::string type = absl::AsciiStrToUpper(std::string(type_sv));
    bool has_text = c["text"].get(text_sv) == simdjson::SUCCESS;
    size_t len = has_text ? Utf8Length(std::string(text_sv)) : 0;
    if (type == "BODY") {
      has_body = true;
      if (!has_text) return fail("The BODY component requires text.");
      if (len > 1024) return fail("Body text must be at most 1024 characters.");
    } else if (type == "HEADER") {
      if (len > 60) return fail("Header text must be at most 60 characters.");
    } else if (type == "FOOTER") {
      if (len > 60) return fail("Footer text must be at most 60 characters.");
    } else if (type == "BUTTONS") {
      simdjson::dom::array buttons;
      if (c["buttons"].get(buttons) != simdjson::SUCCESS ||
          buttons.size() == 0 || buttons.size() > 10) {
        return fail("BUTTONS must hold 1 to 10 buttons.");
      }
    } else if (type != "CAROUSEL" && type != "LIMITED_TIME_OFFER") {
      return fail(absl::StrCat("Unknown component type ", type, "."));
    }
  }
  if (!has_body) return fail("A template requires a BODY component.");
  return true;
}

http::Response GraphApi::CreateTemplate(const http::Request& request) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(request.body.data(), request.body.size()).get(obj) !=
      simdjson::SUCCESS) {
    return Error(GraphError::Make(100, "The request body is not valid JSON."));
  }
  std::string_view name, category, language, format;
  if (obj["name"].get(name) != simdjson::SUCCESS) {
    return Error(GraphError::Make(100, "The parameter name is required."));
  }
  if (!ValidTemplateName(std::string(name))) {
    return Error(GraphError::Make(
        100,
        "Param name may only hold lowercase letters, digits and "
        "underscores, at most 512 characters."));
  }
  if (obj["language"].get(language) != simdjson::SUCCESS) {
    return Error(GraphError::Make(100, "The parameter language is required."));
  }
  if (obj["category"].get(category) != simdjson::SUCCESS) {
    return Error(GraphError::Make(100, "The parameter category is required."));
  }
  std::string cat = absl::AsciiStrToUpper(std::string(category));
  if (cat != "AUTHENTICATION" && cat != "MARKETING" && cat != "UTILITY") {
    return Error(GraphError::Make(
        100,
        "Param category must be one of {AUTHENTICATION, MARKETING, "
        "UTILITY}."));
  }
  simdjson::dom::array components;
  if (obj["components"].get(components) != simdjson::SUCCESS) {
    return Error(
        GraphError::Make(100, "The parameter components is required."));
  }
  GraphError error;
  if (!CheckTemplateComponents(components, &error)) return Error(error);
  Template existing;
  if (state_->FindTemplate(std::string(name), std::string(language),
                           &existing)) {
    GraphError e = GraphError::Make(
        100, absl::StrCat("Content in this language already exists: ",
                          std::string(name), " (", std::string(language), ")"));
    e.subcode = 2388024;
    return Error(e);
  }
  Template t;
  t.id = state_->NewNumericId();
  t.name = std::string(name);
  t.language = std::string(language);
  t.category = cat;
  t.status = "PENDING";
  if (obj["parameter_format"].get(format) == simdjson::SUCCESS) {
    t.parameter_format = absl::AsciiStrToUpper(std::string(format));
  }
  t.components_json = simdjson::minify(components);
  CountTemplateParams(t.components_json, &t);
  state_->PutTemplate(t);
  ApproveLater(t.id);
  common::JsonWriter w(128);
  w.BeginObject().Field("id", t.id).Field("status", t.status);
  w.Field("category", t.category).EndObject();
  return http::JsonResponse(200, std::move(w).Release());
}

void GraphApi::ApproveLater(const std::string& template_id) {
  State* state = state_;
  auto emit = hooks_.emit;
  hooks_.after(
      state_->options().template_approval_delay, [state, emit, template_id] {
        Template t;
        bool changed = state->UpdateTemplate(template_id, [&](Template& tt) {
          if (tt.status != "PENDING") return;
          tt.status = "APPROVED";
          t = tt;
        });
        if (changed && !t.id.empty() && emit) {
          emit(TemplateStatusChange("APPROVED", t.id, t.name, t.language,
                                    t.category, "NONE"));
        }
      });
}

http::Response GraphApi::EditTemplate(Template t,
                                      const http::Request& request) {
  if (t.status != "APPROVED" && t.status != "REJECTED" &&
      t.status != "PAUSED") {
    return Error(GraphError::Make(
        100,
        absl::StrCat("A template in status ", t.status, " cannot be edited.")));
  }
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(request.body.data(), request.body.size()).get(obj) !=
      simdjson::SUCCESS) {
    return Error(GraphError::Make(100, "The request body is not valid JSON."));
  }
  std::string_view category;
  if (obj["category"].get(category) == simdjson::SUCCESS) {
    std::string cat = absl::AsciiStrToUpper(std::string(category));
    if (t.status == "APPROVED" && cat != t.category) {
      return Error(GraphError::Make(
          100, "The category of an approved template cannot be changed."));
    }
    t.category = cat;
  }
  simdjson::dom::array components;
  if (obj["components"].get(components) == simdjson::SUCCESS) {
    GraphError error;
    if (!CheckTemplateComponents(components, &error)) return Error(error);
    t.components_json = simdjson::minify(components);
    CountTemplateParams(t.components_json, &t);
  }
  state_->PutTemplate(t);
  return http::JsonResponse(200, kSuccess);
}

http::Response GraphApi::DeleteTemplates(const http::Request& request) {
  std::string name = request.QueryParam("name").value_or("");
  std::string hsm_id = request.QueryParam("hsm_id").value_or("");
  if (name.empty()) {
    return Error(GraphError::Make(100, "The parameter name is required."));
  }
  if (state_->DeleteTemplates(name, hsm_id) == 0) {
    return Error(GraphError::Make(
        100, absl::StrCat("Message template \"", name, "\" not found.")));
  }
  return http::JsonResponse(200, kSuccess);
}

}  // namespace wagate::emulator
