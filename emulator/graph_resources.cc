// GraphApi endpoints for media, the business profile, the block list and
// subscribed apps (CLOUD_API.md §1.1, §1.4, §1.5).
#include <openssl/sha.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "emulator/graph_api.h"
#include "service/common/hmac.h"
#include "service/common/json_writer.h"
#include "simdjson.h"

namespace wagate::emulator {
namespace {

constexpr char kSuccess[] = R"({"success":true})";

struct MimeLimit {
  const char* mime;
  size_t max_bytes;
};

// CLOUD_API.md §2.2 "Media types and sizes".
constexpr MimeLimit kMimes[] = {
    {"audio/aac", 16 << 20},
    {"audio/amr", 16 << 20},
    {"audio/mpeg", 16 << 20},
    {"audio/mp4", 16 << 20},
    {"audio/ogg", 16 << 20},
    {"text/plain", 100 << 20},
    {"application/pdf", 100 << 20},
    {"application/vnd.ms-excel", 100 << 20},
    {"application/msword", 100 << 20},
    {"application/vnd.ms-powerpoint", 100 << 20},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     100 << 20},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     100 << 20},
    {"application/vnd.openxmlformats-officedocument.presentationml."
     "presentation",
     100 << 20},
    {"image/jpeg", 5 << 20},
    {"image/png", 5 << 20},
    {"image/webp", 500 << 10},
    {"video/3gpp", 16 << 20},
    {"video/mp4", 16 << 20},
};

const MimeLimit* FindMime(absl::string_view mime) {
  // "audio/ogg; codecs=opus" counts as audio/ogg.
  absl::string_view base = mime.substr(0, mime.find(';'));
  base = absl::StripAsciiWhitespace(base);
  for (const MimeLimit& m : kMimes) {
    if (absl::EqualsIgnoreCase(base, m.mime)) return &m;
  }
  return nullptr;
}

struct Part {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string data;
};

// Splits a multipart/form-data body; false if it is not one.
bool ParseMultipart(absl::string_view content_type, absl::string_view body,
                    std::vector<Part>* parts) {
  size_t b = content_type.find("boundary=");
  if (!absl::StartsWithIgnoreCase(content_type, "multipart/form-data") ||
      b == absl::string_view::npos) {
    return false;
  }
  absl::string_view boundary = content_type.substr(b + 9);
  boundary = boundary.substr(0, boundary.find(';'));
  boundary = absl::StripAsciiWhitespace(boundary);
  if (absl::ConsumePrefix(&boundary, "\""))
    absl::ConsumeSuffix(&boundary, "\"");
  const std::string delimiter = absl::StrCat("--", boundary);
  size_t pos = body.find(delimiter);
  if (pos == absl::string_view::npos) return false;
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return true;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return false;
    pos += 2;
    size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == absl::string_view::npos) return false;
    size_t next = body.find(absl::StrCat("\r\n", delimiter), headers_end + 4);
    if (next == absl::string_view::npos) return false;
    Part part;
    for (absl::string_view line :
         absl::StrSplit(body.substr(pos, headers_end - pos), "\r\n")) {
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(line, absl::MaxSplits(':', 1));
      absl::string_view value = absl::StripAsciiWhitespace(kv.second);
      if (absl::EqualsIgnoreCase(kv.first, "Content-Type")) {
        part.content_type = std::string(value);
      } else if (absl::EqualsIgnoreCase(kv.first, "Content-Disposition")) {
        for (absl::string_view attr : absl::StrSplit(value, ';')) {
          attr = absl::StripAsciiWhitespace(attr);
          std::pair<absl::string_view, absl::string_view> av =
              absl::StrSplit(attr, absl::MaxSplits('=', 1));
          absl::string_view v = av.second;
          if (absl::ConsumePrefix(&v, "\"")) absl::ConsumeSuffix(&v, "\"");
          if (av.first == "name") part.name = std::string(v);
          if (av.first == "filename") part.filename = std::string(v);
        }
      }
    }
    part.data =
        std::string(body.substr(headers_end + 4, next - headers_end - 4));
    parts->push_back(std::move(part));
    pos = next + 2;
  }
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : digest) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xf]);
  }
  return hex;
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

// The key that signs media URLs: only this emulator's URLs download.
constexpr char kUrlKey[] = "wagate-emulator-media-url";

std::string MediaUrlHash(absl::string_view id, int64_t expiry) {
  return common::HmacSha256Hex(kUrlKey, absl::StrCat(id, ":", expiry))
      .substr(0, 32);
}

bool ValidEmail(absl::string_view email) {
  size_t at = email.find('@');
  return at != absl::string_view::npos && at > 0 &&
         email.find('.', at) != absl::string_view::npos &&
         email.find(' ') == absl::string_view::npos && email.back() != '.';
}

constexpr const char* kVerticals[] = {"",
                                      "ALCOHOL",
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

}  // namespace

http::Response GraphApi::UploadMedia(const std::string& pnid,
                                     const http::Request& request) {
  std::vector<Part> parts;
  if (!ParseMultipart(request.Header("Content-Type"), request.body, &parts)) {
    return Error(GraphError::Make(
        100, "Media upload needs a multipart/form-data body."));
  }
  std::string product, type;
  const Part* file = nullptr;
  for (const Part& p : parts) {
    if (p.name == "messaging_product") product = p.data;
    if (p.name == "type") type = p.data;
    if (p.name == "file") file = &p;
  }
  if (product != "whatsapp") {
    return Error(
        GraphError::Make(100, "The parameter messaging_product is required."));
  }
  if (file == nullptr) {
    return Error(GraphError::Make(100, "The parameter file is required."));
  }
  std::string mime = !type.empty() ? type : file->content_type;
  if (mime.empty()) {
    return Error(GraphError::Make(100, "The parameter type is required."));
  }
  const MimeLimit* limit = FindMime(mime);
  if (limit == nullptr) {
    return Error(GraphError::Make(
        131053, absl::StrCat("Unsupported MIME type ", mime, ".")));
  }
  if (file->data.size() > limit->max_bytes) {
    return Error(GraphError::Make(
        131053,
        absl::StrCat("File of ", file->data.size(), " bytes exceeds the ",
                     limit->max_bytes, "-byte limit for ", limit->mime, ".")));
  }
  Media m;
  m.id = state_->NewNumericId();
  m.phone_number_id = pnid;
  m.mime_type = mime;
  m.data = file->data;
  m.sha256 = Sha256Hex(m.data);
  state_->PutMedia(m);
  common::JsonWriter w(64);
  w.BeginObject().Field("id", m.id).EndObject();
  return http::JsonResponse(200, std::move(w).Release());
}

http::Response GraphApi::GetMedia(const Media& media,
                                  const http::Request& request) {
  auto pnid = request.QueryParam("phone_number_id");
  if (pnid && *pnid != media.phone_number_id) {
    return Error(GraphError::Make(
        100,
        "Param phone_number_id does not match the number that uploaded "
        "this media."));
  }
  const int64_t expiry =
      absl::ToUnixSeconds(absl::Now() + state_->options().media_url_ttl);
  std::string url = absl::StrCat(
      hooks_.base_url(), "/whatsapp_business/attachments/?mid=", media.id,
      "&ext=", expiry, "&hash=", MediaUrlHash(media.id, expiry));
  common::JsonWriter w(512);
  w.BeginObject();
  w.Field("messaging_product", "whatsapp");
  w.Field("url", url);
  w.Field("mime_type", media.mime_type);
  w.Field("sha256", media.sha256);
  w.Field("file_size", absl::StrCat(media.data.size()));
  w.Field("id", media.id);
  w.EndObject();
  return http::JsonResponse(200, std::move(w).Release());
}

http::Response GraphApi::DeleteMedia(const Media& media,
                                     const http::Request& request) {
  auto pnid = request.QueryParam("phone_number_id");
  if (pnid && *pnid != media.phone_number_id) {
    return Error(GraphError::Make(
        100,
        "Param phone_number_id does not match the number that uploaded "
        "this media."));
  }
  state_->DeleteMedia(media.id);
  return http::JsonResponse(200, kSuccess);
}

http::Response GraphApi::DownloadMedia(const http::Request& request) {
  std::string id = request.QueryParam("mid").value_or("");
  std::string hash = request.QueryParam("hash").value_or("");
  int64_t expiry = 0;
  Media media;
  // Meta answers a stale or unknown URL with a bare 404.
  if (!absl::SimpleAtoi(request.QueryParam("ext").value_or(""), &expiry) ||
      !common::ConstantTimeEquals(hash, MediaUrlHash(id, expiry)) ||
      absl::ToUnixSeconds(absl::Now()) > expiry ||
      !state_->GetMedia(id, &media)) {
    return http::TextResponse(404, "Not Found");
  }
  http::Response r;
  r.status = 200;
  r.content_type = media.mime_type;
  r.body = media.data;
  return r;
}

http::Response GraphApi::GetProfile(const std::string& pnid,
                                    const http::Request& request) {
  PhoneNumber n;
  if (!state_->GetPhoneNumber(pnid, &n)) return UnknownObject(pnid);
  std::vector<std::string> fields = Fields(request);
  if (fields.empty()) fields = {"about"};  // Graph's default for this edge
  const BusinessProfile& p = n.profile;
  common::JsonWriter w(512);
  w.BeginObject().Key("data").BeginArray().BeginObject();
  for (const std::string& f : fields) {
    if (f == "about") w.Field(f, p.about);
    if (f == "address" && !p.address.empty()) w.Field(f, p.address);
    if (f == "description" && !p.description.empty()) {
      w.Field(f, p.description);
    }
    if (f == "email" && !p.email.empty()) w.Field(f, p.email);
    if (f == "vertical") w.Field(f, p.vertical);
    if (f == "profile_picture_url" && !p.profile_picture_url.empty()) {
      w.Field(f, p.profile_picture_url);
    }
    if (f == "websites" && !p.websites.empty()) {
      w.Key(f).BeginArray();
      for (const std::string& s : p.websites) w.String(s);
      w.EndArray();
    }
  }
  w.Field("messaging_product", "whatsapp");
  w.EndObject().EndArray().EndObject();
  return http::JsonResponse(200, std::move(w).Release());
}

http::Response GraphApi::UpdateProfile(const std::string& pnid,
                                       const http::Request& request) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(request.body.data(), request.body.size()).get(obj) !=
      simdjson::SUCCESS) {
    return Error(GraphError::Make(100, "The request body is not valid JSON."));
  }
  std::string_view product;
  if (obj["messaging_product"].get(product) != simdjson::SUCCESS ||
      product != "whatsapp") {
    return Error(
        GraphError::Make(100, "The parameter messaging_product is required."));
  }
  BusinessProfile update;
  bool has[6] = {};
  auto str = [&](const char* key, size_t max, std::string* out, bool* present,
                 GraphError* error) {
    simdjson::dom::element e;
    if (obj[key].get(e) != simdjson::SUCCESS) return true;
    std::string_view sv;
    if (e.get(sv) != simdjson::SUCCESS) {
      *error = GraphError::Make(
          100, absl::StrCat("Param ", key, " must be a string."));
      return false;
    }
    if (Utf8Length(std::string(sv)) > max) {
      *error =
          GraphError::Make(100, absl::StrCat("Param ", key, " must be at most ",
                                             max, " characters long."));
      return false;
    }
    *out = std::string(sv);
    *present = true;
    return true;
  };
  GraphError error;
  if (!str("about", 139, &update.about, &has[0], &error) ||
      !str("address", 256, &update.address, &has[1], &error) ||
      !str("description", 512, &update.description, &has[2], &error) ||
      !str("email", 128, &update.email, &has[3], &error) ||
      !str("vertical", 64, &update.vertical, &has[4], &error)) {
    return Error(error);
  }
  if (has[0] && update.about.empty()) {
    return Error(GraphError::Make(100, "Param about must not be empty."));
  }
  if (has[3] && !update.email.empty() && !ValidEmail(update.email)) {
    return Error(
        GraphError::Make(100, "Param email must be a valid email address."));
  }
  if (has[4] &&
      std::none_of(std::begin(kVerticals), std::end(kVerticals),
                   [&](const char* v) { return update.vertical == v; })) {
    return Error(GraphError::Make(
        100, absl::StrCat("Param vertical must be one of the documented "
                          "verticals - got \"",
                          update.vertical, "\".")));
  }
  // A Resumable Upload handle sets the picture; Meta then serves it from
  // its CDN (never fetched here, so a stand-in URL naming the handle).
  std::string_view handle;
  std::string picture_url;
  if (obj["profile_picture_handle"].get(handle) == simdjson::SUCCESS &&
      !handle.empty()) {
    picture_url = absl::StrCat(
        "https://pps.whatsapp.net/v/emulator/",
        http::PercentEncode(absl::string_view(handle.data(), handle.size())));
  }
  simdjson::dom::array websites;
  if (obj["websites"].get(websites) == simdjson::SUCCESS) {
    if (websites.size() > 2) {
      return Error(GraphError::Make(100, "Param websites holds at most 2."));
    }
    for (simdjson::dom::element e : websites) {
      std::string_view site;
      if (e.get(site) != simdjson::SUCCESS || site.size() > 256 ||
          !(absl::StartsWith(std::string(site), "http://") ||
            absl::StartsWith(std::string(site), "https://"))) {
        return Error(GraphError::Make(
            100,
            "Param websites: each must start with http:// or https:// "
            "and be at most 256 characters."));
      }
      update.websites.emplace_back(site);
    }
    has[5] = true;
  }
  state_->UpdatePhoneNumber(pnid, [&](PhoneNumber& n) {
    if (has[0]) n.profile.about = update.about;
    if (has[1]) n.profile.address = update.address;
    if (has[2]) n.profile.description = update.description;
    if (has[3]) n.profile.email = update.email;
    if (has[4]) n.profile.vertical = update.vertical;
    if (has[5]) n.profile.websites = update.websites;
    if (!picture_url.empty()) n.profile.profile_picture_url = picture_url;
  });
  return http::JsonResponse(200, kSuccess);
}

http::Response GraphApi::BlockUsers(const std::string& pnid,
                                    const http::Request& request, bool block) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(request.body.data(), request.body.size()).get(obj) !=
      simdjson::SUCCESS) {
    return Error(GraphError::Make(100, "The request body is not valid JSON."));
  }
  std::string_view product;
  if (obj["messaging_product"].get(product) != simdjson::SUCCESS ||
      product != "whatsapp") {
    return Error(
        GraphError::Make(100, "The parameter messaging_product is required."));
  }
  simdjson::dom::array users;
  if (obj["block_users"].get(users) != simdjson::SUCCESS || users.size() == 0) {
    return Error(
        GraphError::Make(100, "The parameter block_users is required."));
  }
  struct Outcome {
    std::string input, wa_id;
    int code = 0;
    std::string details;
  };
  std::vector<Outcome> outcomes;
  absl::Time now = absl::Now();
  PhoneNumber number;
  state_->GetPhoneNumber(pnid, &number);
  size_t blocked_count = number.blocked.size();
  for (simdjson::dom::element e : users) {
    std::string_view user;
    Outcome o;
    if (e["user"].get(user) != simdjson::SUCCESS) {
      return Error(
          GraphError::Make(100, "Param block_users[]['user'] is required."));
    }
    o.input = std::string(user);
    o.wa_id = NormalizePhoneNumber(o.input);
    if (o.wa_id.empty()) {
      o.code = 131047;
      o.details = "Invalid user: not a phone number or wa_id.";
    } else if (block && !state_->InWindow(pnid, o.wa_id, now)) {
      // Meta only blocks users who messaged in the last 24 h.
      o.code = 131047;
      o.details =
          "Re-engagement message: the user has not messaged this "
          "number in the last 24 hours.";
    } else if (block && blocked_count >= 64000) {
      o.code = 139101;
      o.details = "The block list holds at most 64,000 users.";
    } else if (block) {
      ++blocked_count;
    }
    outcomes.push_back(std::move(o));
  }
  state_->UpdatePhoneNumber(pnid, [&](PhoneNumber& n) {
    for (const Outcome& o : outcomes) {
      if (o.code != 0) continue;
      if (block) {
        n.blocked.insert(o.wa_id);
      } else {
        n.blocked.erase(o.wa_id);
      }
    }
  });
  bool any_failed = std::any_of(outcomes.begin(), outcomes.end(),
                                [](const Outcome& o) { return o.code != 0; });
  common::JsonWriter w(512);
  w.BeginObject();
  w.Field("messaging_product", "whatsapp");
  w.Key("block_users").BeginObject();
  w.Key(block ? "added_users" : "removed_users").BeginArray();
  for (const Outcome& o : outcomes) {
    if (o.code != 0) continue;
    w.BeginObject().Field("input", o.input).Field("wa_id", o.wa_id).EndObject();
  }
  w.EndArray();
  if (any_failed) {
    w.Key("failed_users").BeginArray();
    for (const Outcome& o : outcomes) {
      if (o.code == 0) continue;
      w.BeginObject().Field("input", o.input).Field("wa_id", o.wa_id);
      w.Key("errors").BeginArray().Raw(WebhookErrorJson(o.code, o.details));
      w.EndArray().EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  if (any_failed) {
    // Mixed results: HTTP 400 with both lists and a top-level 139100 error.
    w.Key("error");
    WriteErrorObject(GraphError::Make(139100, "Failed to block/unblock users"),
                     state_->NewFbtraceId(), &w);
  }
  w.EndObject();
  return http::JsonResponse(any_failed ? 400 : 200, std::move(w).Release());
}

http::Response GraphApi::ListBlocked(const std::string& pnid,
                                     const http::Request& request) {
  PhoneNumber n;
  if (!state_->GetPhoneNumber(pnid, &n)) return UnknownObject(pnid);
  std::vector<std::string> items;
  for (const std::string& wa_id : n.blocked) {
    common::JsonWriter w(64);
    w.BeginObject().Field("input", wa_id).Field("wa_id", wa_id).EndObject();
    items.push_back(std::move(w).Release());
  }
  // Page over users, then wrap the page as Meta does:
  // {"data":[{"block_users":[...]}],"paging":...}.
  std::string paged = PagedJson(items, request, hooks_.base_url());
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(paged).get(obj) != simdjson::SUCCESS) {
    return http::JsonResponse(500, "{}");
  }
  common::JsonWriter w(paged.size() + 64);
  w.BeginObject().Key("data").BeginArray().BeginObject();
  w.Key("block_users").Raw(simdjson::minify(obj["data"]));
  w.EndObject().EndArray();
  simdjson::dom::element paging;
  if (obj["paging"].get(paging) == simdjson::SUCCESS) {
    w.Key("paging").Raw(simdjson::minify(paging));
  }
  w.EndObject();
  return http::JsonResponse(200, std::move(w).Release());
}

http::Response GraphApi::SubscribedApps(const http::Request& request) {
  if (request.method == "POST") {
    std::string uri, token;
    if (!request.body.empty()) {
      simdjson::dom::parser parser;
      simdjson::dom::object obj;
      if (parser.parse(request.body.data(), request.body.size()).get(obj) ==
          simdjson::SUCCESS) {
        std::string_view sv;
        if (obj["override_callback_uri"].get(sv) == simdjson::SUCCESS) {
          uri = std::string(sv);
        }
        if (obj["verify_token"].get(sv) == simdjson::SUCCESS) {
          token = std::string(sv);
        }
      }
    }
    if (uri.size() > 200) {
      return Error(GraphError::Make(
          100, "Param override_callback_uri must be at most 200 characters."));
    }
    if (!uri.empty() && token.empty()) {
      return Error(
          GraphError::Make(100,
                           "The parameter verify_token is required with "
                           "override_callback_uri."));
    }
    state_->SetSubscription(true, uri);
    return http::JsonResponse(200, kSuccess);
  }
  if (request.method == "DELETE") {
    state_->SetSubscription(false, "");
    return http::JsonResponse(200, kSuccess);
  }
  if (request.method != "GET") {
    return Error(GraphError::Make(100, "Unsupported method."));
  }
  std::string uri;
  bool subscribed = state_->Subscribed(&uri);
  common::JsonWriter w(256);
  w.BeginObject().Key("data").BeginArray();
  if (subscribed) {
    w.BeginObject();
    w.Key("whatsapp_business_api_data").BeginObject();
    w.Field("id", "1177778846543210");
    w.Field("name", "wagate-emulator");
    w.Field("link", "https://www.facebook.com/games/?app_id=1177778846543210");
    w.EndObject();
    if (!uri.empty()) w.Field("override_callback_uri", uri);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return http::JsonResponse(200, std::move(w).Release());
}

}  // namespace wagate::emulator
