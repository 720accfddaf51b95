#include "emulator/validation.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace wagate::emulator {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// Walks one request, keeping the first error. Paths in messages use Meta's
// notation: interactive['action']['buttons'][0]['reply']['title'].
class Checker {
 public:
  explicit Checker(GraphError* error) : error_(error) {}

  bool failed() const { return failed_; }

  bool Fail(int code, std::string details) {
    if (!failed_) {
      *error_ = GraphError::Make(code, std::move(details));
      failed_ = true;
    }
    return false;
  }
  bool Missing(const std::string& path) {
    return Fail(131008, absl::StrCat("The parameter ", path, " is required."));
  }
  bool Invalid(std::string details) { return Fail(131009, std::move(details)); }

  // Optional member lookup; false if absent.
  static bool Has(object obj, const char* key, element* out) {
    return obj[key].get(*out) == simdjson::SUCCESS;
  }

  // The object at obj[key]; if absent and `required`, a 131008 error.
  bool Object(object obj, const char* key, const std::string& path,
              bool required, object* out, bool* present = nullptr) {
    element e;
    if (present) *present = false;
    if (!Has(obj, key, &e)) return required ? Missing(path) : !failed_;
    if (present) *present = true;
    if (e.get(*out) != simdjson::SUCCESS) {
      return Fail(100, absl::StrCat("Param ", path, " must be a JSON object."));
    }
    return true;
  }

  bool Array(object obj, const char* key, const std::string& path,
             bool required, array* out, bool* present = nullptr) {
    element e;
    if (present) *present = false;
    if (!Has(obj, key, &e)) return required ? Missing(path) : !failed_;
    if (present) *present = true;
    if (e.get(*out) != simdjson::SUCCESS) {
      return Fail(100, absl::StrCat("Param ", path, " must be an array."));
    }
    return true;
  }

  // A string member with a length limit in characters (0: none). Numbers are
  // accepted where Meta accepts them (ids, indexes) when `numbers_ok`.
  bool String(object obj, const char* key, const std::string& path,
              bool required, size_t max_len, std::string* out,
              bool* present = nullptr, bool numbers_ok = false) {
    element e;
    if (present) *present = false;
    if (!Has(obj, key, &e)) return required ? Missing(path) : !failed_;
    if (present) *present = true;
    std::string_view sv;
    if (e.get(sv) == simdjson::SUCCESS) {
      out->assign(sv.data(), sv.size());
    } else if (numbers_ok && (e.is_int64() || e.is_uint64() || e.is_double())) {
      out->assign(simdjson::minify(e));
    } else {
      return Fail(100, absl::StrCat("Param ", path, " must be a string."));
    }
    if (required && out->empty()) {
      return Fail(100, absl::StrCat("Param ", path, " must be non-empty."));
    }
    if (max_len > 0 && Utf8Length(*out) > max_len) {
      return Fail(100, absl::StrCat("Param ", path, " must be at most ",
                                    max_len, " characters long."));
    }
    return true;
  }

  bool Bool(object obj, const char* key, const std::string& path) {
    element e;
    if (!Has(obj, key, &e)) return !failed_;
    if (!e.is_bool()) {
      return Fail(100, absl::StrCat("Param ", path, " must be a boolean."));
    }
    return true;
  }

 private:
  GraphError* error_;
  bool failed_ = false;
};

std::string Sub(const std::string& path, const char* key) {
  return absl::StrCat(path, "['", key, "']");
}
std::string Idx(const std::string& path, size_t i) {
  return absl::StrCat(path, "[", i, "]");
}

bool IsHttpUrl(absl::string_view s) {
  return absl::StartsWith(s, "https://") || absl::StartsWith(s, "http://");
}

// {"id"} or {"link"} (exactly one), plus optional caption/filename/voice.
bool CheckMedia(Checker& c, object msg, const char* type,
                bool caption_allowed) {
  object media;
  if (!c.Object(msg, type, type, true, &media)) return false;
  const std::string path = type;
  std::string id, link, caption, filename;
  bool has_id = false, has_link = false, has_caption = false;
  if (!c.String(media, "id", Sub(path, "id"), false, 0, &id, &has_id, true))
    return false;
  if (!c.String(media, "link", Sub(path, "link"), false, 0, &link, &has_link))
    return false;
  if (!has_id && !has_link) {
    return c.Fail(131008, absl::StrCat("The parameter ", path, "['id'] or ",
                                       path, "['link'] is required."));
  }
  if (has_id && has_link) {
    return c.Invalid(absl::StrCat("Param ", path,
                                  " must have either id or link, not both."));
  }
  if (has_link && !IsHttpUrl(link)) {
    return c.Invalid(
        absl::StrCat("Param ", path, "['link'] must be an http(s) URL."));
  }
  if (!c.String(media, "caption", Sub(path, "caption"), false, 1024, &caption,
                &has_caption))
    return false;
  if (has_caption && !caption_allowed) {
    return c.Fail(
        100, absl::StrCat("Param ", path, "['caption'] is not supported for ",
                          type, " messages."));
  }
  if (!c.String(media, "filename", Sub(path, "filename"), false, 240,
                &filename))
    return false;
  return c.Bool(media, "voice", Sub(path, "voice"));
}

bool CheckCoordinate(Checker& c, object obj, const char* key,
                     const std::string& path, double limit) {
  element e;
  if (!Checker::Has(obj, key, &e)) return c.Missing(Sub(path, key));
  double v = 0;
  std::string_view sv;
  if (e.get(sv) == simdjson::SUCCESS) {
    if (!absl::SimpleAtod(absl::string_view(sv.data(), sv.size()), &v)) {
      return c.Invalid(absl::StrCat("Param ", Sub(path, key),
                                    " must be a number in decimal degrees."));
    }
  } else if (e.get(v) != simdjson::SUCCESS) {
    return c.Fail(100,
                  absl::StrCat("Param ", Sub(path, key), " must be a number."));
  }
  if (v < -limit || v > limit) {
    return c.Invalid(absl::StrCat("Param ", Sub(path, key), " must be between ",
                                  -limit, " and ", limit, "."));
  }
  return true;
}

bool CheckLocation(Checker& c, object msg) {
  object loc;
  if (!c.Object(msg, "location", "location", true, &loc)) return false;
  std::string s;
  return CheckCoordinate(c, loc, "latitude", "location", 90) &&
         CheckCoordinate(c, loc, "longitude", "location", 180) &&
         c.String(loc, "name", "location['name']", false, 1000, &s) &&
         c.String(loc, "address", "location['address']", false, 1000, &s);
}

bool CheckContacts(Checker& c, object msg) {
  array contacts;
  if (!c.Array(msg, "contacts", "contacts", true, &contacts)) return false;
  if (contacts.size() == 0) {
    return c.Invalid("Param contacts must contain at least one contact.");
  }
  size_t i = 0;
  for (element e : contacts) {
    std::string path = Idx("contacts", i++);
    object contact;
    if (e.get(contact) != simdjson::SUCCESS) {
      return c.Fail(100, absl::StrCat("Param ", path, " must be an object."));
    }
    object name;
    if (!c.Object(contact, "name", Sub(path, "name"), true, &name)) {
      return false;
    }
    std::string s;
    if (!c.String(name, "formatted_name",
                  Sub(Sub(path, "name"), "formatted_name"), true, 0, &s))
      return false;
    bool other = false;
    for (const char* part :
         {"first_name", "last_name", "middle_name", "suffix", "prefix"}) {
      element p;
      if (Checker::Has(name, part, &p)) other = true;
    }
    if (!other) {
      return c.Invalid(absl::StrCat(
          "Param ", Sub(path, "name"),
          " requires at least one of first_name, last_name, middle_name, "
          "suffix or prefix besides formatted_name."));
    }
  }
  return true;
}

bool CheckReaction(Checker& c, object msg, bool has_context) {
  object r;
  if (!c.Object(msg, "reaction", "reaction", true, &r)) return false;
  std::string id, emoji;
  if (!c.String(r, "message_id", "reaction['message_id']", true, 0, &id))
    return false;
  bool has_emoji = false;
  if (!c.String(r, "emoji", "reaction['emoji']", false, 0, &emoji, &has_emoji))
    return false;
  if (!has_emoji) return c.Missing("reaction['emoji']");
  if (has_context) {
    return c.Invalid("A reaction cannot be sent as a contextual reply.");
  }
  return true;
}

// Header: text (≤ 60) or a media object; `allowed` lists the accepted types.
bool CheckInteractiveHeader(Checker& c, object inter, bool required,
                            std::initializer_list<const char*> allowed) {
  object header;
  bool present = false;
  if (!c.Object(inter, "header", "interactive['header']", required, &header,
                &present))
    return false;
  if (!present) return true;
  std::string type;
  if (!c.String(header, "type", "interactive['header']['type']", true, 0,
                &type))
    return false;
  bool ok = false;
  for (const char* a : allowed) ok = ok || type == a;
  if (!ok) {
    std::string list;
    for (const char* a : allowed)
      absl::StrAppend(&list, list.empty() ? "" : ", ", a);
    return c.Invalid(
        absl::StrCat("Param interactive['header']['type'] must be "
                     "one of {",
                     list, "} - got \"", type, "\"."));
  }
  std::string text;
  if (type == "text") {
    return c.String(header, "text", "interactive['header']['text']", true, 60,
                    &text);
  }
  object media;
  if (!c.Object(header, type.c_str(),
                Sub("interactive['header']", type.c_str()), true, &media))
    return false;
  std::string id, link;
  bool has_id = false, has_link = false;
  if (!c.String(media, "id", "id", false, 0, &id, &has_id, true) ||
      !c.String(media, "link", "link", false, 0, &link, &has_link))
    return false;
  if (has_id == has_link) {
    return c.Invalid(
        "The interactive header media must have exactly one of id or link.");
  }
  return true;
}

bool CheckBody(Checker& c, object inter, bool required, size_t max_len) {
  object body;
  bool present = false;
  if (!c.Object(inter, "body", "interactive['body']", required, &body,
                &present))
    return false;
  if (!present) return true;
  std::string text;
  return c.String(body, "text", "interactive['body']['text']", true, max_len,
                  &text);
}

bool CheckFooter(Checker& c, object inter, bool allowed = true) {
  object footer;
  bool present = false;
  if (!c.Object(inter, "footer", "interactive['footer']", false, &footer,
                &present))
    return false;
  if (!present) return true;
  if (!allowed) {
    return c.Invalid(
        "Param interactive['footer'] is not allowed for this "
        "interactive type.");
  }
  std::string text;
  return c.String(footer, "text", "interactive['footer']['text']", true, 60,
                  &text);
}

bool CheckReplyButtons(Checker& c, object action) {
  array buttons;
  if (!c.Array(action, "buttons", "interactive['action']['buttons']", true,
               &buttons))
    return false;
  if (buttons.size() < 1 || buttons.size() > 3) {
    return c.Invalid(
        "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: "
        "3");
  }
  std::set<std::string> ids, titles;
  size_t i = 0;
  for (element e : buttons) {
    std::string path = Idx("interactive['action']['buttons']", i++);
    object button, reply;
    if (e.get(button) != simdjson::SUCCESS) {
      return c.Fail(100, absl::StrCat("Param ", path, " must be an object."));
    }
    std::string type, id, title;
    if (!c.String(button, "type", Sub(path, "type"), true, 0, &type))
      return false;
    if (type != "reply") {
      return c.Invalid(absl::StrCat("Param ", Sub(path, "type"),
                                    " must be one of {reply}."));
    }
    if (!c.Object(button, "reply", Sub(path, "reply"), true, &reply) ||
        !c.String(reply, "id", Sub(Sub(path, "reply"), "id"), true, 256, &id))
      return false;
    if (!c.String(reply, "title", Sub(Sub(path, "reply"), "title"), false, 0,
                  &title))
      return false;
    size_t len = Utf8Length(title);
    if (len < 1 || len > 20) {
      return c.Invalid(
          "Button title length invalid. Min length: 1, Max "
          "length: 20");
    }
    if (!ids.insert(id).second) {
      return c.Invalid("Duplicate buttons ids are not allowed.");
    }
    if (!titles.insert(title).second) {
      return c.Invalid("Duplicate buttons titles are not allowed.");
    }
  }
  return true;
}

bool CheckListAction(Checker& c, object action) {
  std::string button;
  if (!c.String(action, "button", "interactive['action']['button']", true, 20,
                &button))
    return false;
  array sections;
  if (!c.Array(action, "sections", "interactive['action']['sections']", true,
               &sections))
    return false;
  if (sections.size() < 1 || sections.size() > 10) {
    return c.Invalid("Invalid number of sections. Min: 1, Max: 10");
  }
  size_t total_rows = 0, i = 0;
  std::set<std::string> row_ids;
  for (element e : sections) {
    std::string path = Idx("interactive['action']['sections']", i++);
    object section;
    if (e.get(section) != simdjson::SUCCESS) {
      return c.Fail(100, absl::StrCat("Param ", path, " must be an object."));
    }
    std::string title;
    if (!c.String(section, "title", Sub(path, "title"), sections.size() > 1, 24,
                  &title))
      return false;
    array rows;
    if (!c.Array(section, "rows", Sub(path, "rows"), true, &rows)) return false;
    if (rows.size() == 0) {
      return c.Invalid(absl::StrCat("Param ", Sub(path, "rows"),
                                    " must contain at least one row."));
    }
    size_t j = 0;
    for (element re : rows) {
      std::string rpath = Idx(Sub(path, "rows"), j++);
      object row;
      if (re.get(row) != simdjson::SUCCESS) {
        return c.Fail(100,
                      absl::StrCat("Param ", rpath, " must be an object."));
      }
      std::string id, rtitle, desc;
      if (!c.String(row, "id", Sub(rpath, "id"), true, 200, &id) ||
          !c.String(row, "title", Sub(rpath, "title"), true, 24, &rtitle) ||
          !c.String(row, "description", Sub(rpath, "description"), false, 72,
                    &desc))
        return false;
      if (!row_ids.insert(id).second) {
        return c.Invalid("Row ids must be unique across all sections.");
      }
      ++total_rows;
    }
  }
  if (total_rows > 10) {
    return c.Invalid("Invalid number of rows. Min: 1, Max: 10 in total.");
  }
  return true;
}

bool CheckCtaUrl(Checker& c, object action) {
  std::string name, text, url;
  if (!c.String(action, "name", "interactive['action']['name']", true, 0,
                &name))
    return false;
  if (name != "cta_url") {
    return c.Invalid("Param interactive['action']['name'] must be cta_url.");
  }
  object params;
  if (!c.Object(action, "parameters", "interactive['action']['parameters']",
                true, &params) ||
      !c.String(params, "display_text",
                "interactive['action']['parameters']['display_text']", true, 20,
                &text) ||
      !c.String(params, "url", "interactive['action']['parameters']['url']",
                true, 2000, &url))
    return false;
  if (!IsHttpUrl(url)) {
    return c.Invalid(
        "Param interactive['action']['parameters']['url'] must "
        "be an http(s) URL.");
  }
  return true;
}

bool CheckFlow(Checker& c, object action) {
  std::string name, s;
  if (!c.String(action, "name", "interactive['action']['name']", true, 0,
                &name))
    return false;
  if (name != "flow") {
    return c.Invalid("Param interactive['action']['name'] must be flow.");
  }
  const std::string p = "interactive['action']['parameters']";
  object params;
  if (!c.Object(action, "parameters", p, true, &params)) return false;
  if (!c.String(params, "flow_message_version", Sub(p, "flow_message_version"),
                true, 0, &s, nullptr, true))
    return false;
  if (s != "3") {
    return c.Invalid(
        absl::StrCat("Param ", Sub(p, "flow_message_version"), " must be 3."));
  }
  bool has_id = false, has_name = false;
  if (!c.String(params, "flow_id", Sub(p, "flow_id"), false, 0, &s, &has_id,
                true) ||
      !c.String(params, "flow_name", Sub(p, "flow_name"), false, 0, &s,
                &has_name))
    return false;
  if (has_id == has_name) {
    return c.Invalid(
        "Exactly one of flow_id or flow_name must be given for a flow.");
  }
  std::string cta;
  if (!c.String(params, "flow_cta", Sub(p, "flow_cta"), true, 20, &cta) ||
      !c.String(params, "flow_token", Sub(p, "flow_token"), false, 0, &s))
    return false;
  std::string mode = "published", flow_action = "navigate";
  if (!c.String(params, "mode", Sub(p, "mode"), false, 0, &mode) ||
      !c.String(params, "flow_action", Sub(p, "flow_action"), false, 0,
                &flow_action))
    return false;
  if (mode != "published" && mode != "draft") {
    return c.Invalid(absl::StrCat("Param ", Sub(p, "mode"),
                                  " must be one of {published, draft}."));
  }
  if (flow_action != "navigate" && flow_action != "data_exchange") {
    return c.Invalid(
        absl::StrCat("Param ", Sub(p, "flow_action"),
                     " must be one of {navigate, data_exchange}."));
  }
  object payload;
  bool has_payload = false;
  if (!c.Object(params, "flow_action_payload", Sub(p, "flow_action_payload"),
                flow_action == "navigate", &payload, &has_payload))
    return false;
  if (has_payload) {
    std::string screen;
    if (!c.String(payload, "screen",
                  Sub(Sub(p, "flow_action_payload"), "screen"),
                  flow_action == "navigate", 0, &screen))
      return false;
    object data;
    bool has_data = false;
    if (!c.Object(payload, "data", Sub(Sub(p, "flow_action_payload"), "data"),
                  false, &data, &has_data))
      return false;
    if (has_data && data.size() == 0) {
      return c.Invalid(
          "Param flow_action_payload['data'] must be non-empty "
          "when given.");
    }
  }
  return true;
}

bool CheckProductList(Checker& c, object action, bool single) {
  std::string s;
  if (!c.String(action, "catalog_id", "interactive['action']['catalog_id']",
                true, 0, &s, nullptr, true))
    return false;
  if (single) {
    return c.String(action, "product_retailer_id",
                    "interactive['action']['product_retailer_id']", true, 0, &s,
                    nullptr, true);
  }
  array sections;
  if (!c.Array(action, "sections", "interactive['action']['sections']", true,
               &sections))
    return false;
  if (sections.size() < 1 || sections.size() > 10) {
    return c.Invalid("Invalid number of sections. Min: 1, Max: 10");
  }
  size_t products = 0, i = 0;
  for (element e : sections) {
    std::string path = Idx("interactive['action']['sections']", i++);
    object section;
    if (e.get(section) != simdjson::SUCCESS) {
      return c.Fail(100, absl::StrCat("Param ", path, " must be an object."));
    }
    if (!c.String(section, "title", Sub(path, "title"), sections.size() > 1, 24,
                  &s))
      return false;
    array items;
    if (!c.Array(section, "product_items", Sub(path, "product_items"), true,
                 &items))
      return false;
    if (items.size() == 0) {
      return c.Invalid(absl::StrCat("Param ", Sub(path, "product_items"),
                                    " must not be empty."));
    }
    size_t j = 0;
    for (element ie : items) {
      object item;
      std::string ipath = Idx(Sub(path, "product_items"), j++);
      if (ie.get(item) != simdjson::SUCCESS) {
        return c.Fail(100,
                      absl::StrCat("Param ", ipath, " must be an object."));
      }
      if (!c.String(item, "product_retailer_id",
                    Sub(ipath, "product_retailer_id"), true, 0, &s, nullptr,
                    true))
        return false;
      ++products;
    }
  }
  if (products > 30) {
    return c.Invalid("Invalid number of products. Max allowed: 30");
  }
  return true;
}

bool CheckNamedAction(Checker& c, object action, const char* expected) {
  std::string name;
  if (!c.String(action, "name", "interactive['action']['name']", true, 0,
                &name))
    return false;
  if (name != expected) {
    return c.Invalid(absl::StrCat(
        "Param interactive['action']['name'] must be ", expected, "."));
  }
  return true;
}

bool CheckCarousel(Checker& c, object action) {
  array cards;
  if (!c.Array(action, "cards", "interactive['action']['cards']", true, &cards))
    return false;
  if (cards.size() < 2 || cards.size() > 10) {
    return c.Invalid("Invalid number of cards. Min: 2, Max: 10");
  }
  std::string first_shape;  // button kind and count, equal on every card
  size_t i = 0;
  for (element e : cards) {
    std::string path = Idx("interactive['action']['cards']", i++);
    object card;
    if (e.get(card) != simdjson::SUCCESS) {
      return c.Fail(100, absl::StrCat("Param ", path, " must be an object."));
    }
    std::string s;
    element idx;
    if (!Checker::Has(card, "card_index", &idx)) {
      return c.Missing(Sub(path, "card_index"));
    }
    object header;
    if (!c.Object(card, "header", Sub(path, "header"), true, &header) ||
        !c.String(header, "type", Sub(Sub(path, "header"), "type"), true, 0,
                  &s))
      return false;
    if (s != "image" && s != "video") {
      return c.Invalid(absl::StrCat("Param ", Sub(Sub(path, "header"), "type"),
                                    " must be one of {image, video}."));
    }
    object body;
    bool has_body = false;
    if (!c.Object(card, "body", Sub(path, "body"), false, &body, &has_body))
      return false;
    if (has_body) {
      std::string text;
      if (!c.String(body, "text", Sub(Sub(path, "body"), "text"), true, 160,
                    &text))
        return false;
      int breaks = 0;
      for (char ch : text) breaks += ch == '\n';
      if (breaks > 2) {
        return c.Invalid(
            "A carousel card body may have at most 2 line "
            "breaks.");
      }
    }
    object card_action;
    if (!c.Object(card, "action", Sub(path, "action"), true, &card_action))
      return false;
    std::string shape;
    array buttons;
    bool has_buttons = false;
    if (!c.Array(card_action, "buttons", Sub(Sub(path, "action"), "buttons"),
                 false, &buttons, &has_buttons))
      return false;
    if (has_buttons) {
      if (buttons.size() < 1 || buttons.size() > 2) {
        return c.Invalid("Invalid number of card buttons. Min: 1, Max: 2");
      }
      for (element be : buttons) {
        object b, qr;
        if (be.get(b) != simdjson::SUCCESS) {
          return c.Fail(100, "Param card buttons must be objects.");
        }
        std::string id, title;
        if (!c.Object(b, "quick_reply", "quick_reply", true, &qr) ||
            !c.String(qr, "id", "quick_reply['id']", true, 20, &id) ||
            !c.String(qr, "title", "quick_reply['title']", true, 20, &title))
          return false;
      }
      shape = absl::StrCat("quick_reply:", buttons.size());
    } else {
      if (!CheckCtaUrl(c, card_action)) return false;
      shape = "cta_url:1";
    }
    if (first_shape.empty()) {
      first_shape = shape;
    } else if (shape != first_shape) {
      return c.Invalid(
          "Every carousel card must have the same button types "
          "and count.");
    }
  }
  return true;
}

bool CheckInteractive(Checker& c, object msg) {
  object inter, action;
  if (!c.Object(msg, "interactive", "interactive", true, &inter)) return false;
  std::string type;
  if (!c.String(inter, "type", "interactive['type']", true, 0, &type))
    return false;
  auto need_action = [&]() {
    return c.Object(inter, "action", "interactive['action']", true, &action);
  };
  if (type == "button") {
    return CheckInteractiveHeader(c, inter, false,
                                  {"text", "image", "video", "document"}) &&
           CheckBody(c, inter, true, 1024) && CheckFooter(c, inter) &&
           need_action() && CheckReplyButtons(c, action);
  }
  if (type == "list") {
    return CheckInteractiveHeader(c, inter, false, {"text"}) &&
           CheckBody(c, inter, true, 4096) && CheckFooter(c, inter) &&
           need_action() && CheckListAction(c, action);
  }
  if (type == "cta_url") {
    return CheckInteractiveHeader(c, inter, false,
                                  {"text", "image", "video", "document"}) &&
           CheckBody(c, inter, true, 1024) && CheckFooter(c, inter) &&
           need_action() && CheckCtaUrl(c, action);
  }
  if (type == "flow") {
    return CheckInteractiveHeader(c, inter, false,
                                  {"text", "image", "video", "document"}) &&
           CheckBody(c, inter, true, 1024) && CheckFooter(c, inter) &&
           need_action() && CheckFlow(c, action);
  }
  if (type == "product") {
    return CheckBody(c, inter, false, 1024) && CheckFooter(c, inter) &&
           need_action() && CheckProductList(c, action, true);
  }
  if (type == "product_list") {
    return CheckInteractiveHeader(c, inter, true, {"text"}) &&
           CheckBody(c, inter, true, 1024) && CheckFooter(c, inter) &&
           need_action() && CheckProductList(c, action, false);
  }
  if (type == "catalog_message") {
    return CheckBody(c, inter, true, 1024) && CheckFooter(c, inter) &&
           need_action() && CheckNamedAction(c, action, "catalog_message");
  }
  if (type == "location_request_message") {
    return CheckBody(c, inter, true, 1024) && need_action() &&
           CheckNamedAction(c, action, "send_location");
  }
  if (type == "address_message") {
    if (!CheckBody(c, inter, true, 1024) || !need_action() ||
        !CheckNamedAction(c, action, "address_message"))
      return false;
    object params;
    std::string country;
    return c.Object(action, "parameters", "interactive['action']['parameters']",
                    true, &params) &&
           c.String(params, "country",
                    "interactive['action']['parameters']['country']", true, 0,
                    &country);
  }
  if (type == "carousel") {
    object header;
    bool has_header = false;
    if (!c.Object(inter, "header", "interactive['header']", false, &header,
                  &has_header))
      return false;
    if (has_header) {
      return c.Invalid("A carousel message cannot have a header.");
    }
    return CheckBody(c, inter, true, 1024) && CheckFooter(c, inter, false) &&
           need_action() && CheckCarousel(c, action);
  }
  if (type == "request_contact_info") {  // newer than the digest; wajs sends it
    return CheckBody(c, inter, true, 1024) && need_action() &&
           CheckNamedAction(c, action, "request_contact_info");
  }
  if (type == "call_permission_request") {
    return CheckBody(c, inter, true, 1024) && need_action() &&
           CheckNamedAction(c, action, "call_permission_request");
  }
  return c.Fail(
      100, absl::StrCat("Param interactive['type'] must be one of {button, "
                        "list, cta_url, flow, product, product_list, "
                        "catalog_message, location_request_message, "
                        "address_message, carousel, call_permission_request, "
                        "request_contact_info} "
                        "- got \"",
                        type, "\"."));
}

bool CheckTemplate(Checker& c, object msg, TemplateRef* ref) {
  object tmpl, lang;
  if (!c.Object(msg, "template", "template", true, &tmpl) ||
      !c.String(tmpl, "name", "template['name']", true, 512, &ref->name) ||
      !c.Object(tmpl, "language", "template['language']", true, &lang) ||
      !c.String(lang, "code", "template['language']['code']", true, 0,
                &ref->language))
    return false;
  array components;
  bool has_components = false;
  if (!c.Array(tmpl, "components", "template['components']", false, &components,
               &has_components))
    return false;
  if (!has_components) return true;
  size_t i = 0;
  for (element e : components) {
    std::string path = Idx("template['components']", i++);
    object comp;
    if (e.get(comp) != simdjson::SUCCESS) {
      return c.Fail(100, absl::StrCat("Param ", path, " must be an object."));
    }
    TemplateComponentParams p;
    if (!c.String(comp, "type", Sub(path, "type"), true, 0, &p.type))
      return false;
    p.type = absl::AsciiStrToLower(p.type);
    if (p.type != "header" && p.type != "body" && p.type != "button" &&
        p.type != "limited_time_offer" && p.type != "carousel") {
      return c.Invalid(absl::StrCat(
          "Param ", Sub(path, "type"),
          " must be one of {header, body, button, limited_time_offer, "
          "carousel} - got \"",
          p.type, "\"."));
    }
    if (p.type == "button") {
      std::string index;
      if (!c.String(comp, "sub_type", Sub(path, "sub_type"), true, 0,
                    &p.sub_type) ||
          !c.String(comp, "index", Sub(path, "index"), true, 0, &index, nullptr,
                    true))
        return false;
      if (!absl::SimpleAtoi(index, &p.index) || p.index < 0 || p.index > 9) {
        return c.Invalid(absl::StrCat("Param ", Sub(path, "index"),
                                      " must be an integer from 0 to 9."));
      }
    }
    array params;
    bool has_params = false;
    if (!c.Array(comp, "parameters", Sub(path, "parameters"),
                 p.type == "button", &params, &has_params))
      return false;
    if (has_params) {
      size_t j = 0;
      for (element pe : params) {
        std::string ppath = Idx(Sub(path, "parameters"), j++);
        object param;
        if (pe.get(param) != simdjson::SUCCESS) {
          return c.Fail(100,
                        absl::StrCat("Param ", ppath, " must be an object."));
        }
        std::string ptype;
        if (!c.String(param, "type", Sub(ppath, "type"), true, 0, &ptype))
          return false;
        // The value sits under the member named by the type.
        element value;
        if (!Checker::Has(param, ptype.c_str(), &value)) {
          return c.Missing(Sub(ppath, ptype.c_str()));
        }
        if (ptype == "text") {
          std::string text;
          size_t max = p.type == "body" ? 32768 : 1024;
          if (!c.String(param, "text", Sub(ppath, "text"), true, max, &text))
            return false;
        }
        ++p.parameter_count;
      }
    }
    ref->components.push_back(std::move(p));
  }
  return true;
}

}  // namespace

size_t Utf8Length(absl::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xc0) != 0x80;
  return n;
}

std::string NormalizePhoneNumber(absl::string_view to) {
  std::string digits;
  digits.reserve(to.size());
  for (char c : to) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c != '+' && c != '-' && c != '(' && c != ')' && c != ' ' &&
               c != '.') {
      return "";
    }
  }
  return digits;
}

bool ParseSendRequest(absl::string_view body, SendRequest* request,
                      GraphError* error) {
  thread_local simdjson::dom::parser parser;
  Checker c(error);
  element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) {
    return c.Fail(100, "The request body is not valid JSON.");
  }
  object msg;
  if (doc.get(msg) != simdjson::SUCCESS) {
    return c.Fail(100, "The request body must be a JSON object.");
  }
  std::string product;
  element e;
  if (!Checker::Has(msg, "messaging_product", &e)) {
    return c.Fail(100, "The parameter messaging_product is required.");
  }
  if (!c.String(msg, "messaging_product", "messaging_product", true, 0,
                &product))
    return false;
  if (product != "whatsapp") {
    return c.Fail(100, absl::StrCat("Param messaging_product must be one of "
                                    "{WHATSAPP} - got \"",
                                    product, "\"."));
  }

  // Mark read and typing indicator share the endpoint.
  std::string status;
  bool has_status = false;
  if (!c.String(msg, "status", "status", false, 0, &status, &has_status))
    return false;
  if (has_status) {
    if (status != "read") {
      return c.Fail(100, absl::StrCat("Param status must be one of {read} - "
                                      "got \"",
                                      status, "\"."));
    }
    if (!c.String(msg, "message_id", "message_id", true, 0,
                  &request->message_id))
      return false;
    object typing;
    bool has_typing = false;
    if (!c.Object(msg, "typing_indicator", "typing_indicator", false, &typing,
                  &has_typing))
      return false;
    request->kind = SendKind::kMarkRead;
    if (has_typing) {
      std::string ttype;
      if (!c.String(typing, "type", "typing_indicator['type']", true, 0,
                    &ttype))
        return false;
      if (ttype != "text") {
        return c.Fail(100,
                      "Param typing_indicator['type'] must be one of "
                      "{text}.");
      }
      request->kind = SendKind::kTypingIndicator;
    }
    return true;
  }

  if (!c.String(msg, "recipient_type", "recipient_type", false, 0,
                &request->recipient_type))
    return false;
  if (request->recipient_type != "individual" &&
      request->recipient_type != "group") {
    return c.Fail(100, absl::StrCat("Param recipient_type must be one of "
                                    "{individual, group} - got \"",
                                    request->recipient_type, "\"."));
  }
  if (!c.String(msg, "to", "to", true, 0, &request->to, nullptr, true))
    return false;
  if (request->recipient_type == "group") {
    request->wa_id = request->to;
  } else {
    request->wa_id = NormalizePhoneNumber(request->to);
    if (request->wa_id.size() < 5 || request->wa_id.size() > 15) {
      return c.Fail(100, absl::StrCat("Invalid parameter 'to': \"", request->to,
                                      "\" is not a valid phone number."));
    }
  }
  if (!c.String(msg, "biz_opaque_callback_data", "biz_opaque_callback_data",
                false, 512, &request->biz_opaque_callback_data))
    return false;
  object context;
  bool has_context = false;
  if (!c.Object(msg, "context", "context", false, &context, &has_context))
    return false;
  if (has_context && !c.String(context, "message_id", "context['message_id']",
                               true, 0, &request->context_message_id))
    return false;

  request->type = "text";  // Meta's default when type is omitted
  if (!c.String(msg, "type", "type", false, 0, &request->type)) return false;
  const std::string& type = request->type;
  if (type == "text") {
    object text;
    std::string s;
    return c.Object(msg, "text", "text", true, &text) &&
           c.String(text, "body", "text['body']", true, 4096, &s) &&
           c.Bool(text, "preview_url", "text['preview_url']");
  }
  if (type == "image" || type == "video" || type == "document") {
    return CheckMedia(c, msg, type.c_str(), true);
  }
  if (type == "audio" || type == "sticker") {
    return CheckMedia(c, msg, type.c_str(), false);
  }
  if (type == "location") return CheckLocation(c, msg);
  if (type == "contacts") return CheckContacts(c, msg);
  if (type == "reaction") return CheckReaction(c, msg, has_context);
  if (type == "interactive") return CheckInteractive(c, msg);
  if (type == "template") return CheckTemplate(c, msg, &request->tmpl);
  return c.Fail(100, absl::StrCat("Param type must be one of {audio, contacts, "
                                  "document, image, interactive, location, "
                                  "reaction, sticker, template, text, video} "
                                  "- got \"",
                                  type, "\"."));
}

}  // namespace wagate::emulator
