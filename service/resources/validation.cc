#include "service/resources/validation.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/status_macros.h"

namespace wagate::resources {
namespace {

using v1::TemplateButtonDefinition;
using v1::TemplateComponentDefinition;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status MaxLength(absl::string_view value, size_t max,
                       absl::string_view field) {
  const size_t n = Utf8Length(value);
  if (n > max) {
    return Invalid(field,
                   absl::StrCat("at most ", max, " characters (got ", n, ")"));
  }
  return absl::OkStatus();
}

absl::Status Required(absl::string_view value, size_t max,
                      absl::string_view field) {
  if (value.empty()) return Invalid(field, "required");
  return MaxLength(value, max, field);
}

bool IsHttpUrl(absl::string_view url) {
  return (absl::StartsWithIgnoreCase(url, "https://") && url.size() > 8) ||
         (absl::StartsWithIgnoreCase(url, "http://") && url.size() > 7);
}

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Language codes as Meta lists them: "en", "en_US", "zh_CN", "es_LA"...
bool IsLanguageCode(absl::string_view s) {
  if (s.size() < 2 || s.size() > 15) return false;
  for (char c : s) {
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return s.front() != '_' && s.back() != '_';
}

bool ValidCategory(v1::TemplateCategory c) {
  return c == v1::TEMPLATE_CATEGORY_MARKETING ||
         c == v1::TEMPLATE_CATEGORY_UTILITY ||
         c == v1::TEMPLATE_CATEGORY_AUTHENTICATION;
}

absl::Status ValidateButtons(const TemplateComponentDefinition& c,
                             absl::string_view field) {
  const int n = c.buttons_size();
  if (n == 0) return Invalid(absl::StrCat(field, ".buttons"), "required");
  if (n > 10) {
    return Invalid(absl::StrCat(field, ".buttons"),
                   absl::StrCat("at most 10 buttons (got ", n, ")"));
  }
  int quick = 0, url = 0, phone = 0, copy = 0;
  // Quick replies must form one contiguous group (before or after the
  // others): count the switches between quick-reply and other runs.
  int runs = 0;
  bool prev_quick = false;
  for (int i = 0; i < n; ++i) {
    const TemplateButtonDefinition& b = c.buttons(i);
    const std::string f = absl::StrCat(field, ".buttons[", i, "]");
    const bool is_quick =
        b.type() == TemplateButtonDefinition::TYPE_QUICK_REPLY;
    if (i == 0 || is_quick != prev_quick) ++runs;
    prev_quick = is_quick;
    switch (b.type()) {
      case TemplateButtonDefinition::TYPE_QUICK_REPLY:
        ++quick;
        {
          absl::Status s = Required(b.text(), 25, absl::StrCat(f, ".text"));
          if (!s.ok()) return s;
        }
        break;
      case TemplateButtonDefinition::TYPE_URL: {
        ++url;
        absl::Status s = Required(b.text(), 25, absl::StrCat(f, ".text"));
        if (!s.ok()) return s;
        s = Required(b.url(), 2000, absl::StrCat(f, ".url"));
        if (!s.ok()) return s;
        if (!IsHttpUrl(b.url())) {
          return Invalid(absl::StrCat(f, ".url"),
                         "must start with http:// or https://");
        }
        break;
      }
      case TemplateButtonDefinition::TYPE_PHONE_NUMBER: {
        ++phone;
        absl::Status s = Required(b.text(), 25, absl::StrCat(f, ".text"));
        if (!s.ok()) return s;
        s = Required(b.phone_number(), 20, absl::StrCat(f, ".phone_number"));
        if (!s.ok()) return s;
        break;
      }
      case TemplateButtonDefinition::TYPE_COPY_CODE: {
        ++copy;
        if (b.example_size() != 1) {
          return Invalid(absl::StrCat(f, ".example"),
                         "exactly one sample code required");
        }
        absl::Status s =
            Required(b.example(0), 15, absl::StrCat(f, ".example[0]"));
        if (!s.ok()) return s;
        break;
      }
      case TemplateButtonDefinition::TYPE_OTP:
        if (b.otp_type() != "COPY_CODE" && b.otp_type() != "ONE_TAP" &&
            b.otp_type() != "ZERO_TAP") {
          return Invalid(absl::StrCat(f, ".otp_type"),
                         "must be COPY_CODE, ONE_TAP or ZERO_TAP");
        }
        break;
      case TemplateButtonDefinition::TYPE_FLOW: {
        absl::Status s = Required(b.text(), 25, absl::StrCat(f, ".text"));
        if (!s.ok()) return s;
        if (b.flow_id().empty() && b.flow_name().empty() &&
            b.flow_json().empty()) {
          return Invalid(f, "one of flow_id, flow_name or flow_json required");
        }
        break;
      }
      case TemplateButtonDefinition::TYPE_CATALOG:
      case TemplateButtonDefinition::TYPE_MPM:
      case TemplateButtonDefinition::TYPE_VOICE_CALL: {
        absl::Status s = MaxLength(b.text(), 25, absl::StrCat(f, ".text"));
        if (!s.ok()) return s;
        break;
      }
      default:
        return Invalid(absl::StrCat(f, ".type"), "required");
    }
  }
  const std::string bf = absl::StrCat(field, ".buttons");
  if (url > 2) return Invalid(bf, "at most 2 URL buttons");
  if (phone > 1) return Invalid(bf, "at most 1 PHONE_NUMBER button");
  if (copy > 1) return Invalid(bf, "at most 1 COPY_CODE button");
  if (quick > 0 && quick < n && runs > 2) {
    return Invalid(bf,
                   "QUICK_REPLY buttons must be grouped together, before or "
                   "after the other buttons");
  }
  return absl::OkStatus();
}

absl::Status ValidateComponent(const TemplateComponentDefinition& c,
                               v1::TemplateCategory category,
                               absl::string_view f) {
  const bool auth = category == v1::TEMPLATE_CATEGORY_AUTHENTICATION;
  switch (c.type()) {
    case TemplateComponentDefinition::TYPE_HEADER:
      switch (c.format()) {
        case TemplateComponentDefinition::FORMAT_TEXT:
          return Required(c.text(), 60, absl::StrCat(f, ".text"));
        case TemplateComponentDefinition::FORMAT_LOCATION:
          if (auth) {
            return Invalid(absl::StrCat(f, ".format"),
                           "LOCATION headers are for UTILITY and MARKETING "
                           "templates only");
          }
          return absl::OkStatus();
        case TemplateComponentDefinition::FORMAT_IMAGE:
        case TemplateComponentDefinition::FORMAT_VIDEO:
        case TemplateComponentDefinition::FORMAT_DOCUMENT:
        case TemplateComponentDefinition::FORMAT_PRODUCT:
          return absl::OkStatus();
        default:
          return Invalid(absl::StrCat(f, ".format"), "required for a header");
      }
    case TemplateComponentDefinition::TYPE_BODY:
      // Authentication bodies are Meta's fixed text: none is sent.
      if (auth) return MaxLength(c.text(), 1024, absl::StrCat(f, ".text"));
      return Required(c.text(), 1024, absl::StrCat(f, ".text"));
    case TemplateComponentDefinition::TYPE_FOOTER:
      if (c.code_expiration_minutes() != 0 &&
          (c.code_expiration_minutes() < 1 ||
           c.code_expiration_minutes() > 90)) {
        return Invalid(absl::StrCat(f, ".code_expiration_minutes"),
                       "must be 1-90");
      }
      if (auth) return MaxLength(c.text(), 60, absl::StrCat(f, ".text"));
      return Required(c.text(), 60, absl::StrCat(f, ".text"));
    case TemplateComponentDefinition::TYPE_BUTTONS:
      return ValidateButtons(c, f);
    case TemplateComponentDefinition::TYPE_CAROUSEL: {
      if (c.cards_size() == 0) {
        return Invalid(absl::StrCat(f, ".cards"), "required");
      }
      if (c.cards_size() > 10) {
        return Invalid(absl::StrCat(f, ".cards"), "at most 10 cards");
      }
      for (int i = 0; i < c.cards_size(); ++i) {
        const std::string cf = absl::StrCat(f, ".cards[", i, "]");
        for (int j = 0; j < c.cards(i).components_size(); ++j) {
          const TemplateComponentDefinition& cc = c.cards(i).components(j);
          if (cc.type() == TemplateComponentDefinition::TYPE_CAROUSEL) {
            return Invalid(absl::StrCat(cf, ".components[", j, "].type"),
                           "a card cannot hold a carousel");
          }
          absl::Status s = ValidateComponent(
              cc, category, absl::StrCat(cf, ".components[", j, "]"));
          if (!s.ok()) return s;
        }
      }
      return absl::OkStatus();
    }
    case TemplateComponentDefinition::TYPE_LIMITED_TIME_OFFER:
      return Required(c.limited_time_offer().text(), 16,
                      absl::StrCat(f, ".limited_time_offer.text"));
    default:
      return Invalid(absl::StrCat(f, ".type"), "required");
  }
}

absl::Status ValidateTtl(int32_t ttl, v1::TemplateCategory category,
                         absl::string_view field) {
  if (ttl == 0) return absl::OkStatus();
  int32_t lo = 0, hi = 0;
  bool minus_one = false;
  switch (category) {
    case v1::TEMPLATE_CATEGORY_AUTHENTICATION:
      lo = 30, hi = 900, minus_one = true;
      break;
    case v1::TEMPLATE_CATEGORY_UTILITY:
      lo = 30, hi = 43200, minus_one = true;
      break;
    case v1::TEMPLATE_CATEGORY_MARKETING:
      lo = 43200, hi = 2592000;
      break;
    default:
      // Unknown category (an update): the widest documented range.
      if (ttl == -1 || (ttl >= 30 && ttl <= 2592000)) return absl::OkStatus();
      return Invalid(field, "must be -1 or 30-2592000 seconds");
  }
  if ((minus_one && ttl == -1) || (ttl >= lo && ttl <= hi)) {
    return absl::OkStatus();
  }
  return Invalid(field, absl::StrCat("must be ", minus_one ? "-1 or " : "", lo,
                                     "-", hi, " seconds for this category"));
}

bool IsEmail(absl::string_view email) {
  const size_t at = email.find('@');
  if (at == absl::string_view::npos || at == 0 ||
      email.find('@', at + 1) != absl::string_view::npos) {
    return false;
  }
  absl::string_view domain = email.substr(at + 1);
  const size_t dot = domain.rfind('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 >= domain.size() ||
      absl::StrContains(domain, "..")) {
    return false;
  }
  for (char c : email) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

constexpr absl::string_view kVerticals[] = {"ALCOHOL",
                                            "APPAREL",
                                            "AUTO",
                                            "BEAUTY",
                                            "EDU",
                                            "ENTERTAIN",
                                            "EVENT_PLAN",
                                            "FINANCE",
                                            "GOVT",
                                            "GROCERY",
                                            "HEALTH",
                                            "HOTEL",
                                            "NONPROFIT",
                                            "ONLINE_GAMBLING",
                                            "OTC_DRUGS",
                                            "OTHER",
                                            "PHYSICAL_GAMBLING",
                                            "PROF_SERVICES",
                                            "RESTAURANT",
                                            "RETAIL",
                                            "TRAVEL"};

constexpr absl::string_view kProfileFields[] = {
    "about",    "address",  "description",           "email",
    "websites", "vertical", "profile_picture_handle"};

absl::Status ValidateProfileField(const v1::BusinessProfile& p,
                                  absl::string_view name) {
  const std::string f = absl::StrCat("business_profile.", name);
  if (name == "about") return Required(p.about(), 139, f);
  if (name == "address") return MaxLength(p.address(), 256, f);
  if (name == "description") return MaxLength(p.description(), 512, f);
  if (name == "email") {
    if (p.email().empty()) return absl::OkStatus();
    absl::Status s = MaxLength(p.email(), 128, f);
    if (!s.ok()) return s;
    if (!IsEmail(p.email())) return Invalid(f, "not a valid email address");
    return absl::OkStatus();
  }
  if (name == "websites") {
    if (p.websites_size() > 2) return Invalid(f, "at most 2 websites");
    for (int i = 0; i < p.websites_size(); ++i) {
      const std::string wf = absl::StrCat(f, "[", i, "]");
      absl::Status s = Required(p.websites(i), 256, wf);
      if (!s.ok()) return s;
      if (!IsHttpUrl(p.websites(i))) {
        return Invalid(wf, "must start with http:// or https://");
      }
    }
    return absl::OkStatus();
  }
  if (name == "vertical") {
    if (p.vertical().empty()) return absl::OkStatus();
    for (absl::string_view v : kVerticals) {
      if (p.vertical() == v) return absl::OkStatus();
    }
    return Invalid(f, "not a known vertical (see BusinessProfile.vertical)");
  }
  if (name == "profile_picture_handle") {
    return MaxLength(p.profile_picture_handle(), 4096, f);
  }
  return Invalid("update_mask", absl::StrCat("unknown field ", name));
}

struct MimeEntry {
  absl::string_view mime;
  absl::string_view kind;
  int64_t max_bytes;
};

// CLOUD_API.md §2.2 "Media types and sizes" (MB as MiB, as the emulator and
// Meta's upload endpoint count them).
constexpr int64_t kMiB = 1 << 20;
constexpr MimeEntry kMimes[] = {
    {"audio/aac", "audio", 16 * kMiB},
    {"audio/amr", "audio", 16 * kMiB},
    {"audio/mpeg", "audio", 16 * kMiB},
    {"audio/mp4", "audio", 16 * kMiB},
    {"audio/ogg", "audio", 16 * kMiB},
    {"text/plain", "document", 100 * kMiB},
    {"application/vnd.ms-excel", "document", 100 * kMiB},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     "document", 100 * kMiB},
    {"application/msword", "document", 100 * kMiB},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "document", 100 * kMiB},
    {"application/vnd.ms-powerpoint", "document", 100 * kMiB},
    {"application/"
     "vnd.openxmlformats-officedocument.presentationml.presentation",
     "document", 100 * kMiB},
    {"application/pdf", "document", 100 * kMiB},
    {"image/jpeg", "image", 5 * kMiB},
    {"image/png", "image", 5 * kMiB},
    {"image/webp", "sticker", 500 << 10},
    {"video/3gpp", "video", 16 * kMiB},
    {"video/mp4", "video", 16 * kMiB},
};

}  // namespace

size_t Utf8Length(absl::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

absl::Status RequireId(absl::string_view value, absl::string_view field) {
  if (value.empty()) return Invalid(field, "required");
  // Meta issues template, media, phone-number and WABA ids as digits. The id
  // becomes a path segment: anything else ("..", "me", "1/messages") could
  // reach another Graph object than the one named.
  if (value.size() > 32) return Invalid(field, "at most 32 digits");
  for (char c : value) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return Invalid(field, "must be a numeric Graph object id (digits only)");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePageSize(int32_t page_size) {
  if (page_size < 0) return Invalid("page_size", "must not be negative");
  return absl::OkStatus();
}

absl::Status ValidateTemplateName(absl::string_view name,
                                  absl::string_view field) {
  if (name.empty()) return Invalid(field, "required");
  if (name.size() > 512) return Invalid(field, "at most 512 characters");
  for (char c : name) {
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '_') {
      return Invalid(field,
                     "only lowercase letters, digits and underscores allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTemplateComponents(
    const google::protobuf::RepeatedPtrField<TemplateComponentDefinition>&
        components,
    v1::TemplateCategory category, absl::string_view field) {
  int headers = 0, bodies = 0, footers = 0, buttons = 0;
  for (int i = 0; i < components.size(); ++i) {
    const TemplateComponentDefinition& c = components.Get(i);
    const std::string f = absl::StrCat(field, "[", i, "]");
    switch (c.type()) {
      case TemplateComponentDefinition::TYPE_HEADER:
        if (++headers > 1) return Invalid(f, "at most one HEADER");
        break;
      case TemplateComponentDefinition::TYPE_BODY:
        if (++bodies > 1) return Invalid(f, "at most one BODY");
        break;
      case TemplateComponentDefinition::TYPE_FOOTER:
        if (++footers > 1) return Invalid(f, "at most one FOOTER");
        break;
      case TemplateComponentDefinition::TYPE_BUTTONS:
        if (++buttons > 1) return Invalid(f, "at most one BUTTONS");
        break;
      default:
        break;
    }
    absl::Status s = ValidateComponent(c, category, f);
    if (!s.ok()) return s;
  }
  if (bodies == 0) return Invalid(field, "a BODY component is required");
  return absl::OkStatus();
}

absl::Status ValidateListTemplates(const v1::ListTemplatesRequest& request) {
  RETURN_IF_ERROR(RequireId(request.waba_id(), "waba_id"));
  if (request.category() != v1::TEMPLATE_CATEGORY_UNSPECIFIED &&
      !ValidCategory(request.category())) {
    return Invalid("category", "unknown value");
  }
  if (!request.language().empty() && !IsLanguageCode(request.language())) {
    return Invalid("language", "not a language code (e.g. en_US)");
  }
  return ValidatePageSize(request.page_size());
}

absl::Status ValidateCreateTemplate(const v1::CreateTemplateRequest& request) {
  RETURN_IF_ERROR(RequireId(request.waba_id(), "waba_id"));
  RETURN_IF_ERROR(ValidateTemplateName(request.name(), "name"));
  if (request.language().empty()) return Invalid("language", "required");
  if (!IsLanguageCode(request.language())) {
    return Invalid("language", "not a language code (e.g. en_US)");
  }
  if (!ValidCategory(request.category())) {
    return Invalid("category",
                   "required: MARKETING, UTILITY or AUTHENTICATION");
  }
  if (request.components_size() == 0) return Invalid("components", "required");
  RETURN_IF_ERROR(ValidateTemplateComponents(request.components(),
                                             request.category(), "components"));
  return ValidateTtl(request.message_send_ttl_seconds(), request.category(),
                     "message_send_ttl_seconds");
}

absl::Status ValidateUpdateTemplate(const v1::UpdateTemplateRequest& request) {
  RETURN_IF_ERROR(RequireId(request.template_id(), "template_id"));
  if (!request.waba_id().empty()) {
    RETURN_IF_ERROR(RequireId(request.waba_id(), "waba_id"));
  }
  if (!request.has_category() && request.components_size() == 0 &&
      !request.has_message_send_ttl_seconds()) {
    return Invalid("template_id",
                   "nothing to update: set category, components or "
                   "message_send_ttl_seconds");
  }
  const v1::TemplateCategory category = request.has_category()
                                            ? request.category()
                                            : v1::TEMPLATE_CATEGORY_UNSPECIFIED;
  if (request.has_category() && !ValidCategory(request.category())) {
    return Invalid("category", "must be MARKETING, UTILITY or AUTHENTICATION");
  }
  if (request.components_size() > 0) {
    RETURN_IF_ERROR(ValidateTemplateComponents(request.components(), category,
                                               "components"));
  } else if (request.parameter_format() != v1::PARAMETER_FORMAT_UNSPECIFIED) {
    return Invalid("parameter_format", "only with components");
  }
  if (request.has_message_send_ttl_seconds()) {
    RETURN_IF_ERROR(ValidateTtl(request.message_send_ttl_seconds(), category,
                                "message_send_ttl_seconds"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDeleteTemplate(const v1::DeleteTemplateRequest& request) {
  RETURN_IF_ERROR(RequireId(request.waba_id(), "waba_id"));
  RETURN_IF_ERROR(ValidateTemplateName(request.name(), "name"));
  if (!request.template_id().empty()) {
    RETURN_IF_ERROR(RequireId(request.template_id(), "template_id"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRegister(const v1::RegisterPhoneNumberRequest& request) {
  RETURN_IF_ERROR(RequireId(request.phone_number_id(), "phone_number_id"));
  // Never echo the PIN itself.
  if (request.pin().size() != 6 || !AllDigits(request.pin())) {
    return Invalid("pin", "must be exactly 6 digits");
  }
  const std::string& region = request.data_localization_region();
  if (!region.empty() &&
      (region.size() != 2 ||
       !absl::ascii_isupper(static_cast<unsigned char>(region[0])) ||
       !absl::ascii_isupper(static_cast<unsigned char>(region[1])))) {
    return Invalid("data_localization_region",
                   "must be a 2-letter ISO country code such as CH");
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestCode(
    const v1::RequestVerificationCodeRequest& request) {
  RETURN_IF_ERROR(RequireId(request.phone_number_id(), "phone_number_id"));
  if (request.code_method() != v1::CODE_METHOD_SMS &&
      request.code_method() != v1::CODE_METHOD_VOICE) {
    return Invalid("code_method", "required: SMS or VOICE");
  }
  if (request.language().empty()) return Invalid("language", "required");
  if (!IsLanguageCode(request.language())) {
    return Invalid("language", "not a language code (e.g. en)");
  }
  return absl::OkStatus();
}

absl::Status ValidateVerifyCode(const v1::VerifyCodeRequest& request) {
  RETURN_IF_ERROR(RequireId(request.phone_number_id(), "phone_number_id"));
  if (request.code().empty()) return Invalid("code", "required");
  if (request.code().size() > 10 || !AllDigits(request.code())) {
    return Invalid("code", "must be the digits received");
  }
  return absl::OkStatus();
}

bool IsProfileField(absl::string_view name) {
  for (absl::string_view f : kProfileFields) {
    if (f == name) return true;
  }
  return false;
}

absl::Status ValidateUpdateBusinessProfile(
    const v1::UpdateBusinessProfileRequest& request) {
  RETURN_IF_ERROR(RequireId(request.phone_number_id(), "phone_number_id"));
  const v1::BusinessProfile& p = request.business_profile();
  if (request.update_mask().paths_size() > 0) {
    for (int i = 0; i < request.update_mask().paths_size(); ++i) {
      const std::string& path = request.update_mask().paths(i);
      if (!IsProfileField(path)) {
        return Invalid(absl::StrCat("update_mask.paths[", i, "]"),
                       absl::StrCat("unknown or read-only field \"", path,
                                    "\" (writable: ",
                                    absl::StrJoin(kProfileFields, ", "), ")"));
      }
      RETURN_IF_ERROR(ValidateProfileField(p, path));
    }
    return absl::OkStatus();
  }
  bool any = false;
  for (absl::string_view f : kProfileFields) {
    const bool set =
        (f == "about" && !p.about().empty()) ||
        (f == "address" && !p.address().empty()) ||
        (f == "description" && !p.description().empty()) ||
        (f == "email" && !p.email().empty()) ||
        (f == "websites" && p.websites_size() > 0) ||
        (f == "vertical" && !p.vertical().empty()) ||
        (f == "profile_picture_handle" && !p.profile_picture_handle().empty());
    if (!set) continue;
    any = true;
    RETURN_IF_ERROR(ValidateProfileField(p, f));
  }
  if (!any) {
    return Invalid("business_profile",
                   "nothing to update: set a field or name it in update_mask");
  }
  return absl::OkStatus();
}

absl::Status ValidateSubscribeApp(const v1::SubscribeAppRequest& request) {
  RETURN_IF_ERROR(RequireId(request.waba_id(), "waba_id"));
  if (request.override_callback_uri().empty()) {
    if (!request.verify_token().empty()) {
      return Invalid("verify_token", "only with override_callback_uri");
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(
      MaxLength(request.override_callback_uri(), 200, "override_callback_uri"));
  if (!absl::StartsWithIgnoreCase(request.override_callback_uri(),
                                  "https://") &&
      !absl::StartsWithIgnoreCase(request.override_callback_uri(), "http://")) {
    return Invalid("override_callback_uri", "must be an http(s) URL");
  }
  if (request.verify_token().empty()) {
    return Invalid("verify_token", "required with override_callback_uri");
  }
  return absl::OkStatus();
}

absl::Status ValidateUsers(
    const google::protobuf::RepeatedPtrField<std::string>& users) {
  if (users.empty()) return Invalid("users", "at least one user required");
  if (users.size() > kMaxUsersPerCall) {
    return Invalid("users",
                   absl::StrCat("at most ", kMaxUsersPerCall,
                                " users per call (got ", users.size(), ")"));
  }
  for (int i = 0; i < users.size(); ++i) {
    RETURN_IF_ERROR(Required(users.Get(i), 32, absl::StrCat("users[", i, "]")));
  }
  return absl::OkStatus();
}

absl::StatusOr<MediaKind> MediaKindFor(absl::string_view mime_type) {
  absl::string_view base = mime_type.substr(0, mime_type.find(';'));
  base = absl::StripAsciiWhitespace(base);
  if (base.empty()) return Invalid("mime_type", "required");
  for (const MimeEntry& e : kMimes) {
    if (absl::EqualsIgnoreCase(base, e.mime)) {
      return MediaKind{e.kind, e.max_bytes};
    }
  }
  return Invalid("mime_type",
                 absl::StrCat("unsupported type \"", base,
                              "\" (see CLOUD_API.md §2.2 for the list)"));
}

absl::Status ValidateUploadMetadata(const v1::UploadMediaMetadata& metadata) {
  RETURN_IF_ERROR(
      RequireId(metadata.phone_number_id(), "metadata.phone_number_id"));
  absl::StatusOr<MediaKind> kind = MediaKindFor(metadata.mime_type());
  if (!kind.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata.", kind.status().message()));
  }
  if (metadata.size_bytes() < 0) {
    return Invalid("metadata.size_bytes", "must not be negative");
  }
  if (metadata.size_bytes() > kind->max_bytes) {
    return Invalid("metadata.size_bytes",
                   absl::StrCat(metadata.size_bytes(), " bytes exceeds the ",
                                kind->max_bytes, "-byte limit for ", kind->kind,
                                " files"));
  }
  if (Utf8Length(metadata.file_name()) > 255) {
    return Invalid("metadata.file_name", "at most 255 characters");
  }
  for (char c : metadata.file_name()) {
    // It goes into a multipart header line.
    if (c == '"' || c == '\r' || c == '\n' || c == '\\') {
      return Invalid("metadata.file_name",
                     "must not contain quotes, backslashes or line breaks");
    }
  }
  return absl::OkStatus();
}

}  // namespace wagate::resources
