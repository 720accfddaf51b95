#include "service/messaging/validation.h"

#include <cmath>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"

namespace wagate::messaging {
namespace {

using ::wagate::v1::CarouselCard;
using ::wagate::v1::Contact;
using ::wagate::v1::Interactive;
using ::wagate::v1::InteractiveHeader;
using ::wagate::v1::ProductSection;
using ::wagate::v1::SendRequest;
using ::wagate::v1::TemplateButtonAction;
using ::wagate::v1::TemplateComponent;
using ::wagate::v1::TemplateMessage;
using ::wagate::v1::TemplateParameter;

absl::Status Invalid(absl::string_view path, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", rule));
}

std::string At(absl::string_view path, int index) {
  return absl::StrCat(path, "[", index, "]");
}

std::string Dot(absl::string_view path, absl::string_view field) {
  return absl::StrCat(path, ".", field);
}

absl::Status Required(absl::string_view path, absl::string_view value) {
  if (value.empty()) return Invalid(path, "required");
  return absl::OkStatus();
}

// At most `limit` characters; empty is allowed (use Required for that).
absl::Status MaxChars(absl::string_view path, absl::string_view value,
                      size_t limit) {
  if (value.size() <= limit) return absl::OkStatus();  // bytes >= chars
  size_t n = CharacterCount(value);
  if (n <= limit) return absl::OkStatus();
  return Invalid(path, absl::StrCat(n, " characters, the limit is ", limit));
}

absl::Status RequiredMaxChars(absl::string_view path, absl::string_view value,
                              size_t limit) {
  RETURN_IF_ERROR(Required(path, value));
  return MaxChars(path, value, limit);
}

bool IsDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    int extra;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xe0) == 0xc0 && c >= 0xc2) {
      extra = 1;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
    } else if ((c & 0xf8) == 0xf0 && c <= 0xf4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= s.size() && extra > 0) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

bool IsHttpsUrl(absl::string_view url) {
  return absl::StartsWithIgnoreCase(url, "https://") && url.size() > 8;
}

bool IsHttpUrl(absl::string_view url) {
  return (absl::StartsWithIgnoreCase(url, "http://") && url.size() > 7) ||
         IsHttpsUrl(url);
}

// Emoji and pictographs: Meta refuses them in flow_cta. Covers the main
// emoji blocks, dingbats, variation selectors and the zero-width joiner.
bool ContainsEmoji(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    uint32_t cp;
    int len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xe0) == 0xc0 && i + 1 < s.size()) {
      cp = ((c & 0x1f) << 6) | (s[i + 1] & 0x3f);
      len = 2;
    } else if ((c & 0xf0) == 0xe0 && i + 2 < s.size()) {
      cp = ((c & 0x0f) << 12) | ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f);
      len = 3;
    } else if (i + 3 < s.size()) {
      cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3f) << 12) |
           ((s[i + 2] & 0x3f) << 6) | (s[i + 3] & 0x3f);
      len = 4;
    } else {
      return false;
    }
    if ((cp >= 0x1F000 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) ||
        (cp >= 0x2B00 && cp <= 0x2BFF) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
        cp == 0x200D) {
      return true;
    }
    i += len;
  }
  return false;
}

// ---------------------------------------------------------------- media

// Media given by id xor https link.
template <typename Media>
absl::Status ValidateMediaSource(absl::string_view path, const Media& media) {
  switch (media.source_case()) {
    case Media::kId:
      if (media.id().empty()) return Invalid(Dot(path, "id"), "required");
      if (media.id().size() > 256) {
        return Invalid(Dot(path, "id"), "at most 256 characters");
      }
      return absl::OkStatus();
    case Media::kLink:
      if (!IsHttpsUrl(media.link())) {
        return Invalid(Dot(path, "link"), "must be an https:// URL");
      }
      if (media.link().size() > 2048) {
        return Invalid(Dot(path, "link"), "at most 2048 characters");
      }
      return absl::OkStatus();
    default:
      return Invalid(path, "exactly one of id or link is required");
  }
}

// `captioned`: false in headers and template parameters, where Meta ignores
// or refuses a caption.
template <typename Media>
absl::Status ValidateCaptionedMedia(absl::string_view path, const Media& media,
                                    bool captioned) {
  RETURN_IF_ERROR(ValidateMediaSource(path, media));
  if (!captioned) {
    if (!media.caption().empty()) {
      return Invalid(Dot(path, "caption"), "not allowed here");
    }
    return absl::OkStatus();
  }
  return MaxChars(Dot(path, "caption"), media.caption(), kMaxCaption);
}

absl::Status ValidateDocument(absl::string_view path,
                              const wagate::v1::Document& doc, bool captioned) {
  RETURN_IF_ERROR(ValidateCaptionedMedia(path, doc, captioned));
  const std::string& name = doc.filename();
  if (name.size() > 240) {
    return Invalid(Dot(path, "filename"), "at most 240 bytes");
  }
  for (char c : name) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return Invalid(Dot(path, "filename"),
                     "must not contain path separators or control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLocation(absl::string_view path,
                              const wagate::v1::Location& loc) {
  if (!std::isfinite(loc.latitude()) || loc.latitude() < -90 ||
      loc.latitude() > 90) {
    return Invalid(Dot(path, "latitude"), "must be between -90 and 90");
  }
  if (!std::isfinite(loc.longitude()) || loc.longitude() < -180 ||
      loc.longitude() > 180) {
    return Invalid(Dot(path, "longitude"), "must be between -180 and 180");
  }
  RETURN_IF_ERROR(MaxChars(Dot(path, "name"), loc.name(), 1000));
  RETURN_IF_ERROR(MaxChars(Dot(path, "address"), loc.address(), 1000));
  if (!loc.url().empty() && !IsHttpUrl(loc.url())) {
    return Invalid(Dot(path, "url"), "must be an http(s):// URL");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- contacts

bool IsDate(absl::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  int month = (s[5] - '0') * 10 + (s[6] - '0');
  int day = (s[8] - '0') * 10 + (s[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

absl::Status ValidateContact(absl::string_view path, const Contact& contact) {
  if (!contact.has_name()) return Invalid(Dot(path, "name"), "required");
  const auto& name = contact.name();
  std::string name_path = Dot(path, "name");
  RETURN_IF_ERROR(
      Required(Dot(name_path, "formatted_name"), name.formatted_name()));
  if (name.first_name().empty() && name.last_name().empty() &&
      name.middle_name().empty() && name.suffix().empty() &&
      name.prefix().empty()) {
    return Invalid(name_path,
                   "formatted_name and at least one of first_name, "
                   "last_name, middle_name, suffix, prefix are required");
  }
  if (!contact.birthday().empty() && !IsDate(contact.birthday())) {
    return Invalid(Dot(path, "birthday"), "must be YYYY-MM-DD");
  }
  for (int i = 0; i < contact.phones_size(); ++i) {
    const auto& phone = contact.phones(i);
    if (phone.phone().empty() && phone.wa_id().empty()) {
      return Invalid(At(Dot(path, "phones"), i), "phone or wa_id is required");
    }
    if (!phone.wa_id().empty() && !IsDigits(phone.wa_id())) {
      return Invalid(Dot(At(Dot(path, "phones"), i), "wa_id"),
                     "must be digits");
    }
  }
  for (int i = 0; i < contact.emails_size(); ++i) {
    const std::string& email = contact.emails(i).email();
    if (email.empty() || email.find('@') == std::string::npos) {
      return Invalid(Dot(At(Dot(path, "emails"), i), "email"),
                     "must be an email address");
    }
  }
  for (int i = 0; i < contact.urls_size(); ++i) {
    RETURN_IF_ERROR(
        Required(Dot(At(Dot(path, "urls"), i), "url"), contact.urls(i).url()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- interactive

enum class HeaderRule { kAny, kTextOnly, kTextRequired, kNone, kMediaRequired };

absl::Status ValidateHeader(absl::string_view path, const Interactive& msg,
                            HeaderRule rule) {
  if (!msg.has_header()) {
    if (rule == HeaderRule::kTextRequired) {
      return Invalid(path, "a text header is required");
    }
    return absl::OkStatus();
  }
  if (rule == HeaderRule::kNone) return Invalid(path, "not allowed");
  const InteractiveHeader& h = msg.header();
  if (h.header_case() != InteractiveHeader::kText &&
      (rule == HeaderRule::kTextOnly || rule == HeaderRule::kTextRequired)) {
    return Invalid(path, "must be a text header");
  }
  switch (h.header_case()) {
    case InteractiveHeader::kText:
      return RequiredMaxChars(Dot(path, "text"), h.text(), 60);
    case InteractiveHeader::kImage:
      return ValidateCaptionedMedia(Dot(path, "image"), h.image(), false);
    case InteractiveHeader::kVideo:
      return ValidateCaptionedMedia(Dot(path, "video"), h.video(), false);
    case InteractiveHeader::kDocument:
      return ValidateDocument(Dot(path, "document"), h.document(), false);
    default:
      return Invalid(path, "one of text, image, video, document is required");
  }
}

absl::Status ValidateBody(const Interactive& msg, bool required, size_t limit) {
  if (!msg.has_body() || msg.body().text().empty()) {
    if (required) return Invalid("interactive.body.text", "required");
    return absl::OkStatus();
  }
  return MaxChars("interactive.body.text", msg.body().text(), limit);
}

absl::Status ValidateFooter(const Interactive& msg, bool allowed) {
  if (!msg.has_footer()) return absl::OkStatus();
  if (!allowed) return Invalid("interactive.footer", "not allowed");
  return RequiredMaxChars("interactive.footer.text", msg.footer().text(), 60);
}

absl::Status ValidateCtaUrl(absl::string_view path,
                            const wagate::v1::InteractiveCtaUrl& cta) {
  RETURN_IF_ERROR(
      RequiredMaxChars(Dot(path, "display_text"), cta.display_text(), 20));
  if (!IsHttpUrl(cta.url())) {
    return Invalid(Dot(path, "url"), "must be an http(s):// URL");
  }
  return MaxChars(Dot(path, "url"), cta.url(), 2000);
}

absl::Status ValidateReplyButtons(
    absl::string_view path,
    const google::protobuf::RepeatedPtrField<wagate::v1::ReplyButton>& buttons,
    size_t max_id) {
  if (buttons.empty()) return Invalid(path, "at least 1 reply button");
  if (buttons.size() > 3) {
    return Invalid(At(path, 3), "at most 3 reply buttons");
  }
  absl::flat_hash_set<std::string> ids, titles;
  for (int i = 0; i < buttons.size(); ++i) {
    std::string p = At(path, i);
    const auto& b = buttons.Get(i);
    RETURN_IF_ERROR(RequiredMaxChars(Dot(p, "id"), b.id(), max_id));
    RETURN_IF_ERROR(RequiredMaxChars(Dot(p, "title"), b.title(), 20));
    if (!ids.insert(b.id()).second) {
      return Invalid(Dot(p, "id"), "button ids must be unique");
    }
    if (!titles.insert(b.title()).second) {
      return Invalid(Dot(p, "title"), "button titles must be unique");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateProductSections(
    absl::string_view path,
    const google::protobuf::RepeatedPtrField<ProductSection>& sections) {
  if (sections.empty()) return Invalid(path, "at least 1 section");
  if (sections.size() > 10) return Invalid(At(path, 10), "at most 10 sections");
  int products = 0;
  for (int i = 0; i < sections.size(); ++i) {
    std::string p = At(path, i);
    const auto& s = sections.Get(i);
    if (sections.size() > 1) {
      RETURN_IF_ERROR(RequiredMaxChars(Dot(p, "title"), s.title(), 24));
    } else {
      RETURN_IF_ERROR(MaxChars(Dot(p, "title"), s.title(), 24));
    }
    if (s.product_items().empty()) {
      return Invalid(Dot(p, "product_items"), "at least 1 product");
    }
    for (int j = 0; j < s.product_items_size(); ++j) {
      std::string item = At(Dot(p, "product_items"), j);
      if (++products > 30) return Invalid(item, "at most 30 products in total");
      RETURN_IF_ERROR(Required(Dot(item, "product_retailer_id"),
                               s.product_items(j).product_retailer_id()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateList(const Interactive& msg) {
  const auto& list = msg.list();
  RETURN_IF_ERROR(
      RequiredMaxChars("interactive.list.button", list.button(), 20));
  const auto& sections = list.sections();
  const std::string path = "interactive.list.sections";
  if (sections.empty()) return Invalid(path, "at least 1 section");
  if (sections.size() > 10) return Invalid(At(path, 10), "at most 10 sections");
  int rows = 0;
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < sections.size(); ++i) {
    std::string p = At(path, i);
    const auto& s = sections.Get(i);
    if (sections.size() > 1) {
      RETURN_IF_ERROR(RequiredMaxChars(Dot(p, "title"), s.title(), 24));
    } else {
      RETURN_IF_ERROR(MaxChars(Dot(p, "title"), s.title(), 24));
    }
    if (s.rows().empty()) return Invalid(Dot(p, "rows"), "at least 1 row");
    for (int j = 0; j < s.rows_size(); ++j) {
      std::string r = At(Dot(p, "rows"), j);
      if (++rows > 10) return Invalid(r, "at most 10 rows in total");
      const auto& row = s.rows(j);
      RETURN_IF_ERROR(RequiredMaxChars(Dot(r, "id"), row.id(), 200));
      if (!ids.insert(row.id()).second) {
        return Invalid(Dot(r, "id"), "row ids must be unique");
      }
      RETURN_IF_ERROR(RequiredMaxChars(Dot(r, "title"), row.title(), 24));
      RETURN_IF_ERROR(MaxChars(Dot(r, "description"), row.description(), 72));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFlow(const wagate::v1::InteractiveFlow& flow) {
  const std::string path = "interactive.flow";
  // Empty means the current version ("3"), filled in by the Graph layer.
  if (!flow.flow_message_version().empty() &&
      !IsDigits(flow.flow_message_version())) {
    return Invalid(Dot(path, "flow_message_version"),
                   "a version number such as \"3\"");
  }
  switch (flow.flow_case()) {
    case wagate::v1::InteractiveFlow::kFlowId:
      RETURN_IF_ERROR(Required(Dot(path, "flow_id"), flow.flow_id()));
      break;
    case wagate::v1::InteractiveFlow::kFlowName:
      RETURN_IF_ERROR(Required(Dot(path, "flow_name"), flow.flow_name()));
      break;
    default:
      return Invalid(path, "exactly one of flow_id or flow_name is required");
  }
  RETURN_IF_ERROR(RequiredMaxChars(Dot(path, "flow_cta"), flow.flow_cta(), 20));
  if (ContainsEmoji(flow.flow_cta())) {
    return Invalid(Dot(path, "flow_cta"), "must not contain emoji");
  }
  if (flow.flow_action() == wagate::v1::InteractiveFlow::FLOW_ACTION_NAVIGATE &&
      !flow.has_flow_action_payload()) {
    return Invalid(Dot(path, "flow_action_payload"),
                   "required when flow_action is navigate");
  }
  if (flow.has_flow_action_payload()) {
    std::string p = Dot(path, "flow_action_payload");
    RETURN_IF_ERROR(
        Required(Dot(p, "screen"), flow.flow_action_payload().screen()));
    if (flow.flow_action_payload().has_data() &&
        flow.flow_action_payload().data().fields().empty()) {
      return Invalid(Dot(p, "data"), "must not be empty when set");
    }
  }
  return absl::OkStatus();
}

int LineBreaks(absl::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

absl::Status ValidateCarousel(const Interactive& msg) {
  const auto& cards = msg.carousel().cards();
  const std::string path = "interactive.carousel.cards";
  if (cards.size() < 2) return Invalid(path, "at least 2 cards");
  if (cards.size() > 10) return Invalid(At(path, 10), "at most 10 cards");
  for (int i = 0; i < cards.size(); ++i) {
    std::string p = At(path, i);
    const CarouselCard& card = cards.Get(i);
    if (card.card_index() != i) {
      return Invalid(Dot(p, "card_index"),
                     absl::StrCat("must be ", i, " (the card's position)"));
    }
    if (!card.has_header()) return Invalid(Dot(p, "header"), "required");
    const auto& h = card.header();
    if (h.header_case() == InteractiveHeader::kImage) {
      RETURN_IF_ERROR(
          ValidateCaptionedMedia(Dot(p, "header.image"), h.image(), false));
    } else if (h.header_case() == InteractiveHeader::kVideo) {
      RETURN_IF_ERROR(
          ValidateCaptionedMedia(Dot(p, "header.video"), h.video(), false));
    } else {
      return Invalid(Dot(p, "header"), "must be an image or a video");
    }
    RETURN_IF_ERROR(MaxChars(Dot(p, "body.text"), card.body().text(), 160));
    if (LineBreaks(card.body().text()) > 2) {
      return Invalid(Dot(p, "body.text"), "at most 2 line breaks");
    }
    switch (card.action_case()) {
      case CarouselCard::kCtaUrl:
        RETURN_IF_ERROR(ValidateCtaUrl(Dot(p, "cta_url"), card.cta_url()));
        break;
      case CarouselCard::kQuickReplies:
        RETURN_IF_ERROR(ValidateReplyButtons(Dot(p, "quick_replies.buttons"),
                                             card.quick_replies().buttons(),
                                             20));
        break;
      default:
        return Invalid(p, "one of cta_url or quick_replies is required");
    }
    const CarouselCard& first = cards.Get(0);
    if (card.action_case() != first.action_case() ||
        (card.action_case() == CarouselCard::kQuickReplies &&
         card.quick_replies().buttons_size() !=
             first.quick_replies().buttons_size())) {
      return Invalid(p, "every card must have the same button types and count");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateInteractive(const Interactive& msg) {
  const std::string header = "interactive.header";
  switch (msg.kind_case()) {
    case Interactive::kButton:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kAny));
      RETURN_IF_ERROR(ValidateBody(msg, true, 1024));
      RETURN_IF_ERROR(ValidateFooter(msg, true));
      return ValidateReplyButtons("interactive.button.buttons",
                                  msg.button().buttons(), 256);
    case Interactive::kList:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kTextOnly));
      RETURN_IF_ERROR(ValidateBody(msg, true, 4096));
      RETURN_IF_ERROR(ValidateFooter(msg, true));
      return ValidateList(msg);
    case Interactive::kCtaUrl:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kAny));
      RETURN_IF_ERROR(ValidateBody(msg, true, 1024));
      RETURN_IF_ERROR(ValidateFooter(msg, true));
      return ValidateCtaUrl("interactive.cta_url", msg.cta_url());
    case Interactive::kFlow:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kAny));
      RETURN_IF_ERROR(ValidateBody(msg, true, 1024));
      RETURN_IF_ERROR(ValidateFooter(msg, true));
      return ValidateFlow(msg.flow());
    case Interactive::kProduct:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kNone));
      RETURN_IF_ERROR(ValidateBody(msg, false, 1024));
      RETURN_IF_ERROR(ValidateFooter(msg, true));
      RETURN_IF_ERROR(Required("interactive.product.catalog_id",
                               msg.product().catalog_id()));
      return Required("interactive.product.product_retailer_id",
                      msg.product().product_retailer_id());
    case Interactive::kProductList:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kTextRequired));
      RETURN_IF_ERROR(ValidateBody(msg, true, 1024));
      RETURN_IF_ERROR(ValidateFooter(msg, true));
      RETURN_IF_ERROR(Required("interactive.product_list.catalog_id",
                               msg.product_list().catalog_id()));
      return ValidateProductSections("interactive.product_list.sections",
                                     msg.product_list().sections());
    case Interactive::kCatalogMessage:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kNone));
      RETURN_IF_ERROR(ValidateBody(msg, true, 1024));
      return ValidateFooter(msg, true);
    case Interactive::kLocationRequest:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kNone));
      RETURN_IF_ERROR(ValidateBody(msg, true, 1024));
      return ValidateFooter(msg, true);
    case Interactive::kAddressMessage: {
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kAny));
      RETURN_IF_ERROR(ValidateBody(msg, true, 1024));
      RETURN_IF_ERROR(ValidateFooter(msg, true));
      const std::string& country = msg.address_message().country();
      if (country.size() != 2 || !absl::ascii_isupper(country[0]) ||
          !absl::ascii_isupper(country[1])) {
        return Invalid("interactive.address_message.country",
                       "an ISO 3166-1 alpha-2 code (e.g. IN) is required");
      }
      for (int i = 0; i < msg.address_message().saved_addresses_size(); ++i) {
        RETURN_IF_ERROR(Required(
            Dot(At("interactive.address_message.saved_addresses", i), "id"),
            msg.address_message().saved_addresses(i).id()));
      }
      return absl::OkStatus();
    }
    case Interactive::kCarousel:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kNone));
      RETURN_IF_ERROR(ValidateBody(msg, true, 1024));
      RETURN_IF_ERROR(ValidateFooter(msg, false));
      return ValidateCarousel(msg);
    case Interactive::kCallPermissionRequest:
      RETURN_IF_ERROR(ValidateHeader(header, msg, HeaderRule::kNone));
      RETURN_IF_ERROR(ValidateBody(msg, true, 1024));
      return ValidateFooter(msg, true);
    default:
      return Invalid("interactive",
                     "one of button, list, cta_url, flow, product, "
                     "product_list, catalog_message, location_request, "
                     "address_message, carousel, call_permission_request is "
                     "required");
  }
}

// ---------------------------------------------------------------- template

bool IsTemplateName(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) {
      return false;
    }
  }
  return true;
}

// en, en_US, es_419, zh_HK, pt_BR, fil, ...
bool IsLanguageCode(absl::string_view s) {
  size_t i = 0;
  while (i < s.size() && absl::ascii_islower(s[i])) ++i;
  if (i < 2 || i > 3) return false;
  if (i == s.size()) return true;
  if (s[i] != '_') return false;
  size_t rest = s.size() - i - 1;
  if (rest < 2 || rest > 4) return false;
  for (size_t k = i + 1; k < s.size(); ++k) {
    if (!absl::ascii_isalnum(s[k])) return false;
  }
  return true;
}

bool IsParameterName(absl::string_view s) {
  if (s.empty() || !(absl::ascii_islower(s[0]) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) {
      return false;
    }
  }
  return true;
}

absl::Status ValidateButtonAction(absl::string_view path,
                                  TemplateComponent::SubType sub_type,
                                  const TemplateButtonAction& action) {
  if (sub_type == TemplateComponent::SUB_TYPE_MPM) {
    RETURN_IF_ERROR(Required(Dot(path, "thumbnail_product_retailer_id"),
                             action.thumbnail_product_retailer_id()));
    return ValidateProductSections(Dot(path, "sections"), action.sections());
  }
  return absl::OkStatus();
}

struct TemplateContext {
  bool body_only = false;  // text parameters may then be 32768 characters
  int named = 0;           // header/body parameters with parameter_name
  int positional = 0;      // header/body parameters without
};

absl::Status ValidateTemplateParameter(absl::string_view path,
                                       const TemplateComponent& component,
                                       const TemplateParameter& param,
                                       TemplateContext* ctx) {
  using P = TemplateParameter;
  const auto type = component.type();
  const bool header_or_body = type == TemplateComponent::TYPE_HEADER ||
                              type == TemplateComponent::TYPE_BODY;
  if (!param.parameter_name().empty()) {
    if (!header_or_body) {
      return Invalid(Dot(path, "parameter_name"),
                     "only header and body parameters are named");
    }
    if (!IsParameterName(param.parameter_name())) {
      return Invalid(Dot(path, "parameter_name"),
                     "lowercase letters, digits and underscores, starting "
                     "with a letter or underscore");
    }
  }
  // Media, location and product headers never carry a name.
  const bool nameable = param.value_case() == P::kText ||
                        param.value_case() == P::kCurrency ||
                        param.value_case() == P::kDateTime;
  if (header_or_body && nameable) {
    (param.parameter_name().empty() ? ctx->positional : ctx->named)++;
  }

  // Which value kinds each component type takes.
  auto not_allowed = [&](absl::string_view what) {
    return Invalid(path, absl::StrCat(what, " parameters are not allowed in ",
                                      TemplateComponent::Type_Name(type)));
  };
  switch (param.value_case()) {
    case P::kText: {
      if (type != TemplateComponent::TYPE_HEADER &&
          type != TemplateComponent::TYPE_BODY &&
          !(type == TemplateComponent::TYPE_BUTTON &&
            component.sub_type() == TemplateComponent::SUB_TYPE_URL)) {
        return not_allowed("text");
      }
      size_t limit = (type == TemplateComponent::TYPE_BODY && ctx->body_only)
                         ? 32768
                     : type == TemplateComponent::TYPE_HEADER ? 60
                                                              : 1024;
      return RequiredMaxChars(Dot(path, "text"), param.text(), limit);
    }
    case P::kCurrency: {
      if (!header_or_body) return not_allowed("currency");
      const auto& c = param.currency();
      RETURN_IF_ERROR(
          Required(Dot(path, "currency.fallback_value"), c.fallback_value()));
      if (c.code().size() != 3 || !absl::ascii_isupper(c.code()[0]) ||
          !absl::ascii_isupper(c.code()[1]) ||
          !absl::ascii_isupper(c.code()[2])) {
        return Invalid(Dot(path, "currency.code"),
                       "an ISO 4217 code (e.g. USD) is required");
      }
      return absl::OkStatus();
    }
    case P::kDateTime:
      if (!header_or_body) return not_allowed("date_time");
      return Required(Dot(path, "date_time.fallback_value"),
                      param.date_time().fallback_value());
    case P::kImage:
      if (type != TemplateComponent::TYPE_HEADER) return not_allowed("image");
      return ValidateCaptionedMedia(Dot(path, "image"), param.image(), false);
    case P::kVideo:
      if (type != TemplateComponent::TYPE_HEADER) return not_allowed("video");
      return ValidateCaptionedMedia(Dot(path, "video"), param.video(), false);
    case P::kDocument:
      if (type != TemplateComponent::TYPE_HEADER) {
        return not_allowed("document");
      }
      return ValidateDocument(Dot(path, "document"), param.document(), false);
    case P::kLocation:
      if (type != TemplateComponent::TYPE_HEADER) {
        return not_allowed("location");
      }
      return ValidateLocation(Dot(path, "location"), param.location());
    case P::kProduct:
      if (type != TemplateComponent::TYPE_HEADER) return not_allowed("product");
      RETURN_IF_ERROR(Required(Dot(path, "product.catalog_id"),
                               param.product().catalog_id()));
      return Required(Dot(path, "product.product_retailer_id"),
                      param.product().product_retailer_id());
    case P::kPayload:
      if (component.sub_type() != TemplateComponent::SUB_TYPE_QUICK_REPLY) {
        return Invalid(path, "payload is only for quick_reply buttons");
      }
      return RequiredMaxChars(Dot(path, "payload"), param.payload(), 1024);
    case P::kCouponCode:
      if (component.sub_type() != TemplateComponent::SUB_TYPE_COPY_CODE) {
        return Invalid(path, "coupon_code is only for copy_code buttons");
      }
      return RequiredMaxChars(Dot(path, "coupon_code"), param.coupon_code(),
                              15);
    case P::kAction: {
      auto st = component.sub_type();
      if (st != TemplateComponent::SUB_TYPE_FLOW &&
          st != TemplateComponent::SUB_TYPE_CATALOG &&
          st != TemplateComponent::SUB_TYPE_MPM) {
        return Invalid(path,
                       "action is only for flow, catalog and mpm buttons");
      }
      return ValidateButtonAction(Dot(path, "action"), st, param.action());
    }
    case P::kLimitedTimeOffer:
      if (type != TemplateComponent::TYPE_LIMITED_TIME_OFFER) {
        return not_allowed("limited_time_offer");
      }
      if (param.limited_time_offer().expiration_time_ms() < 0) {
        return Invalid(Dot(path, "limited_time_offer.expiration_time_ms"),
                       "must not be negative");
      }
      return absl::OkStatus();
    default:
      return Invalid(path, "a value is required");
  }
}

absl::Status ValidateTemplateComponents(
    absl::string_view path,
    const google::protobuf::RepeatedPtrField<TemplateComponent>& components,
    TemplateContext* ctx, bool in_card) {
  bool header = false, body = false, lto = false, carousel = false;
  // (index, sub_type) of the button components seen: one set of parameters
  // per button.
  absl::flat_hash_set<std::pair<int, int>> button_indexes;
  for (int i = 0; i < components.size(); ++i) {
    std::string p = At(path, i);
    const TemplateComponent& c = components.Get(i);
    switch (c.type()) {
      case TemplateComponent::TYPE_HEADER:
        if (header) return Invalid(p, "at most one header component");
        header = true;
        if (c.parameters_size() > 1) {
          return Invalid(At(Dot(p, "parameters"), 1),
                         "a header takes at most 1 parameter");
        }
        break;
      case TemplateComponent::TYPE_BODY:
        if (body) return Invalid(p, "at most one body component");
        body = true;
        break;
      case TemplateComponent::TYPE_BUTTON:
        if (c.sub_type() == TemplateComponent::SUB_TYPE_UNSPECIFIED ||
            !TemplateComponent::SubType_IsValid(c.sub_type())) {
          return Invalid(Dot(p, "sub_type"), "required for a button component");
        }
        if (c.index() < 0 || c.index() > 9) {
          return Invalid(Dot(p, "index"), "must be from 0 to 9");
        }
        if (!button_indexes.insert({c.index(), c.sub_type()}).second) {
          return Invalid(Dot(p, "index"),
                         absl::StrCat("button ", c.index(), " given twice"));
        }
        if (c.sub_type() != TemplateComponent::SUB_TYPE_VOICE_CALL &&
            c.parameters_size() > 1) {
          return Invalid(At(Dot(p, "parameters"), 1),
                         "a button takes at most 1 parameter");
        }
        break;
      case TemplateComponent::TYPE_LIMITED_TIME_OFFER:
        if (in_card) return Invalid(Dot(p, "type"), "not allowed in a card");
        if (lto) return Invalid(p, "at most one limited_time_offer component");
        lto = true;
        break;
      case TemplateComponent::TYPE_CAROUSEL:
        if (in_card) return Invalid(Dot(p, "type"), "not allowed in a card");
        if (carousel) return Invalid(p, "at most one carousel component");
        carousel = true;
        break;
      default:
        return Invalid(Dot(p, "type"), "required");
    }
    if (c.type() != TemplateComponent::TYPE_BUTTON &&
        (c.sub_type() != TemplateComponent::SUB_TYPE_UNSPECIFIED ||
         c.index() != 0)) {
      return Invalid(Dot(p, "sub_type"), "only for button components");
    }
    if (c.type() == TemplateComponent::TYPE_CAROUSEL) {
      if (c.parameters_size() > 0) {
        return Invalid(Dot(p, "parameters"), "use cards for a carousel");
      }
      if (c.cards().empty()) return Invalid(Dot(p, "cards"), "at least 1 card");
      if (c.cards_size() > 10) {
        return Invalid(At(Dot(p, "cards"), 10), "at most 10 cards");
      }
      for (int k = 0; k < c.cards_size(); ++k) {
        std::string cp = At(Dot(p, "cards"), k);
        if (c.cards(k).card_index() != k) {
          return Invalid(Dot(cp, "card_index"),
                         absl::StrCat("must be ", k, " (the card's position)"));
        }
        TemplateContext card_ctx;
        RETURN_IF_ERROR(ValidateTemplateComponents(
            Dot(cp, "components"), c.cards(k).components(), &card_ctx, true));
      }
      continue;
    }
    if (!c.cards().empty()) {
      return Invalid(Dot(p, "cards"), "only for a carousel component");
    }
    for (int j = 0; j < c.parameters_size(); ++j) {
      RETURN_IF_ERROR(ValidateTemplateParameter(At(Dot(p, "parameters"), j), c,
                                                c.parameters(j), ctx));
    }
    // Named parameters: unique within the component.
    absl::flat_hash_set<std::string> names;
    for (int j = 0; j < c.parameters_size(); ++j) {
      const std::string& name = c.parameters(j).parameter_name();
      if (!name.empty() && !names.insert(name).second) {
        return Invalid(Dot(At(Dot(p, "parameters"), j), "parameter_name"),
                       absl::StrCat("\"", name, "\" given twice"));
      }
    }
  }
  if (ctx->named > 0 && ctx->positional > 0) {
    return Invalid(path,
                   "header and body parameters must be all named "
                   "(parameter_name) or all positional");
  }
  return absl::OkStatus();
}

absl::Status ValidateTemplate(const TemplateMessage& t) {
  if (t.name().empty()) return Invalid("template.name", "required");
  RETURN_IF_ERROR(MaxChars("template.name", t.name(), 512));
  if (!IsTemplateName(t.name())) {
    return Invalid("template.name",
                   "lowercase letters, digits and underscores only");
  }
  if (!IsLanguageCode(t.language().code())) {
    return Invalid("template.language.code",
                   "a language code such as en or en_US is required");
  }
  if (!t.language().policy().empty() &&
      t.language().policy() != "deterministic") {
    return Invalid("template.language.policy",
                   "must be empty or \"deterministic\"");
  }
  TemplateContext ctx;
  ctx.body_only = t.components_size() == 1 &&
                  t.components(0).type() == TemplateComponent::TYPE_BODY;
  return ValidateTemplateComponents("template.components", t.components(), &ctx,
                                    false);
}

// ---------------------------------------------------------------- envelope

absl::Status ValidatePhoneNumberId(absl::string_view value) {
  if (value.empty()) return Invalid("phone_number_id", "required");
  if (!IsDigits(value) || value.size() > 32) {
    return Invalid("phone_number_id",
                   "must be the numeric phone number ID (digits only)");
  }
  return absl::OkStatus();
}

absl::Status ValidateRecipient(const SendRequest& r) {
  if (r.to().empty()) return Invalid("to", "required");
  if (r.to().size() > 64) return Invalid("to", "at most 64 characters");
  if (!wagate::v1::RecipientType_IsValid(r.recipient_type())) {
    return Invalid("recipient_type", "unknown value");
  }
  if (r.recipient_type() == wagate::v1::RECIPIENT_TYPE_GROUP) {
    for (char c : r.to()) {
      if (static_cast<unsigned char>(c) <= 0x20) {
        return Invalid("to", "a group ID has no spaces or control characters");
      }
    }
    return absl::OkStatus();
  }
  int digits = 0;
  for (size_t i = 0; i < r.to().size(); ++i) {
    char c = r.to()[i];
    if (absl::ascii_isdigit(c)) {
      ++digits;
    } else if (c == '+') {
      if (digits > 0) return Invalid("to", "'+' may only lead the number");
    } else if (c != '-' && c != '(' && c != ')' && c != ' ') {
      return Invalid("to",
                     "a phone number: digits with optional + - ( ) and "
                     "spaces");
    }
  }
  if (digits < 5 || digits > 20) {
    return Invalid(
        "to", absl::StrCat("a phone number of 5 to 20 digits, got ", digits));
  }
  return absl::OkStatus();
}

}  // namespace

size_t CharacterCount(absl::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xc0) != 0x80;
  return n;
}

absl::Status ValidateSendRequest(const SendRequest& r) {
  RETURN_IF_ERROR(ValidatePhoneNumberId(r.phone_number_id()));
  RETURN_IF_ERROR(ValidateRecipient(r));
  RETURN_IF_ERROR(
      MaxChars("idempotency_key", r.idempotency_key(), kMaxIdempotencyKey));
  RETURN_IF_ERROR(
      MaxChars("reply_to_message_id", r.reply_to_message_id(), 256));
  RETURN_IF_ERROR(MaxChars("recipient_identity_key_hash",
                           r.recipient_identity_key_hash(), 256));
  if (r.biz_opaque_callback_data().size() > kMaxBizOpaqueCallbackDataBytes) {
    return Invalid(
        "biz_opaque_callback_data",
        absl::StrCat(r.biz_opaque_callback_data().size(),
                     " bytes, the limit is ", kMaxBizOpaqueCallbackDataBytes));
  }
  switch (r.content_case()) {
    case SendRequest::kText:
      if (!ValidUtf8(r.text().body())) {
        return Invalid("text.body", "not valid UTF-8");
      }
      return RequiredMaxChars("text.body", r.text().body(), kMaxTextBody);
    case SendRequest::kImage:
      return ValidateCaptionedMedia("image", r.image(), true);
    case SendRequest::kAudio:
      return ValidateMediaSource("audio", r.audio());
    case SendRequest::kVideo:
      return ValidateCaptionedMedia("video", r.video(), true);
    case SendRequest::kDocument:
      return ValidateDocument("document", r.document(), true);
    case SendRequest::kSticker:
      return ValidateMediaSource("sticker", r.sticker());
    case SendRequest::kLocation:
      return ValidateLocation("location", r.location());
    case SendRequest::kContacts: {
      const auto& list = r.contacts().contacts();
      if (list.empty())
        return Invalid("contacts.contacts", "at least 1 contact");
      if (list.size() > 257) {
        return Invalid(At("contacts.contacts", 257), "at most 257 contacts");
      }
      for (int i = 0; i < list.size(); ++i) {
        RETURN_IF_ERROR(
            ValidateContact(At("contacts.contacts", i), list.Get(i)));
      }
      return absl::OkStatus();
    }
    case SendRequest::kInteractive:
      return ValidateInteractive(r.interactive());
    case SendRequest::kTemplate:
      return ValidateTemplate(r.template_());
    case SendRequest::kReaction:
      if (!r.reply_to_message_id().empty()) {
        return Invalid("reply_to_message_id",
                       "a reaction cannot be a contextual reply");
      }
      RETURN_IF_ERROR(
          Required("reaction.message_id", r.reaction().message_id()));
      // One emoji, possibly a ZWJ sequence with modifiers; "" removes it.
      return MaxChars("reaction.emoji", r.reaction().emoji(), 10);
    default:
      return Invalid("content",
                     "one of text, image, audio, video, document, sticker, "
                     "location, contacts, interactive, template, reaction is "
                     "required");
  }
}

absl::Status ValidateMarkReadRequest(
    const wagate::v1::MarkReadRequest& request) {
  RETURN_IF_ERROR(ValidatePhoneNumberId(request.phone_number_id()));
  RETURN_IF_ERROR(Required("message_id", request.message_id()));
  return MaxChars("message_id", request.message_id(), 256);
}

}  // namespace wagate::messaging
