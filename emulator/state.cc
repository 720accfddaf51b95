#include "emulator/state.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/json_writer.h"
#include "simdjson.h"

namespace wagate::emulator {
namespace {

constexpr char kHelloWorldComponents[] =
    R"([{"type":"BODY","text":"Hello World"}])";

std::string DisplayNumberFor(absl::string_view id) {
  // "1555" + the id's last 7 digits: a US test number, like Meta's.
  std::string tail(id.substr(id.size() > 7 ? id.size() - 7 : 0));
  while (tail.size() < 7) tail.insert(tail.begin(), '0');
  return absl::StrCat("1555", tail);
}

// Distinct {{...}} placeholders in `text`.
int CountPlaceholders(absl::string_view text) {
  std::set<std::string> seen;
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != absl::string_view::npos) {
    size_t end = text.find("}}", pos + 2);
    if (end == absl::string_view::npos) break;
    seen.insert(std::string(
        absl::StripAsciiWhitespace(text.substr(pos + 2, end - pos - 2))));
    pos = end + 2;
  }
  return static_cast<int>(seen.size());
}

std::string Str(simdjson::dom::object obj, const char* key) {
  std::string_view sv;
  if (obj[key].get(sv) != simdjson::SUCCESS) return "";
  return std::string(sv);
}

}  // namespace

bool CountTemplateParams(absl::string_view components_json, Template* t) {
  simdjson::dom::parser parser;
  simdjson::dom::array components;
  if (parser.parse(components_json.data(), components_json.size())
          .get(components) != simdjson::SUCCESS) {
    return false;
  }
  t->header_params = 0;
  t->body_params = 0;
  t->button_params.clear();
  for (simdjson::dom::element e : components) {
    simdjson::dom::object comp;
    if (e.get(comp) != simdjson::SUCCESS) return false;
    std::string type = absl::AsciiStrToUpper(Str(comp, "type"));
    if (type == "HEADER") {
      std::string format = absl::AsciiStrToUpper(Str(comp, "format"));
      t->header_params = (format.empty() || format == "TEXT")
                             ? CountPlaceholders(Str(comp, "text"))
                             : 1;
    } else if (type == "BODY") {
      t->body_params = CountPlaceholders(Str(comp, "text"));
    } else if (type == "BUTTONS") {
      simdjson::dom::array buttons;
      if (comp["buttons"].get(buttons) != simdjson::SUCCESS) continue;
      int index = 0;
      for (simdjson::dom::element be : buttons) {
        simdjson::dom::object b;
        if (be.get(b) == simdjson::SUCCESS) {
          std::string btype = absl::AsciiStrToUpper(Str(b, "type"));
          if (btype == "URL") {
            int n = CountPlaceholders(Str(b, "url"));
            if (n > 0) t->button_params[index] = n;
          } else if (btype == "COPY_CODE") {
            t->button_params[index] = 1;
          }
        }
        ++index;
      }
    }
  }
  return true;
}

State::State(const EmulatorOptions& options)
    : options_(options), enforce_window_(options.enforce_window) {
  auto latency = LatencyModel::Parse(options.latency);
  if (latency.ok()) latency_ = *latency;
  for (const std::string& t : options.access_tokens) tokens_.insert(t);
  for (const std::string& id : options.phone_number_ids) number_ids_.insert(id);
  for (const std::string& r : options.failed_recipients) {
    failed_recipients_.insert(r);
  }
  absl::MutexLock lock(&mu_);
  rng_.seed(options.seed);
  ResetLocked();
}

void State::Reset() {
  absl::MutexLock lock(&mu_);
  ResetLocked();
}

void State::ResetLocked() {
  numbers_.clear();
  throughput_.clear();
  for (const std::string& id : options_.phone_number_ids) {
    PhoneNumber n;
    n.id = id;
    n.display_phone_number = DisplayNumberFor(id);
    numbers_[id] = n;
    throughput_[id] =
        std::make_unique<ThroughputLimiter>(options_.throughput_mps);
  }
  pairs_.clear();
  last_inbound_.clear();
  enforce_window_ = options_.enforce_window;
  faults_ = Faults();
  faults_active_ = false;
  templates_.clear();
  Template hello;
  hello.id = "1234567890123456";  // fixed so tests and docs can name it
  hello.name = "hello_world";
  hello.language = "en_US";
  hello.category = "UTILITY";
  hello.components_json = kHelloWorldComponents;
  CountTemplateParams(hello.components_json, &hello);
  templates_[hello.id] = hello;
  media_.clear();
  subscribed_ = true;
  override_uri_.clear();
  accepted_by_number_.clear();
  accepted_by_recipient_.clear();
  errors_by_code_.clear();
  accepted_total_ = 0;
}

bool State::TokenAccepted(absl::string_view token) const {
  if (token.empty()) return false;
  if (tokens_.empty()) return true;
  return tokens_.contains(token);
}

bool State::IsPhoneNumber(absl::string_view id) const {
  // The set of numbers is fixed by the options (Reset restores the same
  // ones), so this needs no lock.
  return number_ids_.contains(id);
}

bool State::GetPhoneNumber(absl::string_view id, PhoneNumber* out) const {
  absl::MutexLock lock(&mu_);
  auto it = numbers_.find(std::string(id));
  if (it == numbers_.end()) return false;
  *out = it->second;
  return true;
}

std::vector<PhoneNumber> State::PhoneNumbers() const {
  absl::MutexLock lock(&mu_);
  std::vector<PhoneNumber> out;
  for (const auto& [id, n] : numbers_) out.push_back(n);
  return out;
}

std::string State::DisplayPhoneNumber(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = numbers_.find(std::string(id));
  return it == numbers_.end() ? DisplayNumberFor(id)
                              : it->second.display_phone_number;
}

bool State::CheckTemplateLocked(const TemplateRef& ref, Template* tmpl,
                                GraphError* error) const {
  const Template* found = nullptr;
  for (const auto& [id, t] : templates_) {
    if (t.name == ref.name && t.language == ref.language) found = &t;
  }
  if (found == nullptr ||
      (found->status != "APPROVED" && found->status != "PAUSED" &&
       found->status != "DISABLED")) {
    *error = GraphError::Make(
        132001, absl::StrCat("template name (", ref.name,
                             ") does not exist in ", ref.language));
    return false;
  }
  if (found->status == "PAUSED") {
    *error = GraphError::Make(
        132015, absl::StrCat("Template ", ref.name, " is paused."));
    return false;
  }
  if (found->status == "DISABLED") {
    *error = GraphError::Make(
        132016, absl::StrCat("Template ", ref.name, " is disabled."));
    return false;
  }
  int header = 0, body = 0;
  std::map<int, int> buttons;
  for (const TemplateComponentParams& c : ref.components) {
    if (c.type == "header") header += c.parameter_count;
    if (c.type == "body") body += c.parameter_count;
    if (c.type == "button") buttons[c.index] += c.parameter_count;
  }
  auto mismatch = [&](absl::string_view part, int given, int expected) {
    *error = GraphError::Make(
        132000, absl::StrCat(part, ": number of localizable_params (", given,
                             ") does not match the expected number of params (",
                             expected, ")"));
    return false;
  };
  if (header != found->header_params) {
    return mismatch("header", header, found->header_params);
  }
  if (body != found->body_params) {
    return mismatch("body", body, found->body_params);
  }
  for (const auto& [index, expected] : found->button_params) {
    auto it = buttons.find(index);
    int given = it == buttons.end() ? 0 : it->second;
    if (given != expected) {
      return mismatch(absl::StrCat("buttons[", index, "]"), given, expected);
    }
  }
  *tmpl = *found;
  return true;
}

bool State::AcceptMessage(absl::string_view phone_number_id,
                          const SendRequest& request, absl::Time now,
                          Accepted* accepted, GraphError* error) {
  absl::MutexLock lock(&mu_);
  const std::string pnid(phone_number_id);
  auto number = numbers_.find(pnid);
  if (number == numbers_.end()) {
    *error = GraphError::Make(100, "Unknown phone number");
    return false;
  }
  if (!number->second.registered) {
    *error = GraphError::Make(
        133010, "Phone number is not registered on the Cloud API.");
    return false;
  }
  // Injected errors come first: they stand for anything Meta may answer.
  for (const auto& [code, rate] : faults_.error_rates) {
    if (rate > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < rate) {
      *error = GraphError::Make(code,
                                "Injected by the emulator's fault "
                                "configuration.");
      ++errors_by_code_[code];
      return false;
    }
  }
  auto fail = [&](GraphError e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++errors_by_code_[e.code];
    *error = std::move(e);
    return false;
  };
  if (request.wa_id == DisplayNumberFor(pnid) ||
      request.wa_id == number->second.display_phone_number) {
    return fail(GraphError::Make(131021, "Recipient cannot be sender."));
  }
  Template tmpl;
  const bool is_template = request.type == "template";
  if (is_template) {
    if (!CheckTemplateLocked(request.tmpl, &tmpl, error)) {
      ++errors_by_code_[error->code];
      return false;
    }
  } else if (enforce_window_) {
    auto it = last_inbound_.find(absl::StrCat(pnid, "/", request.wa_id));
    if (it == last_inbound_.end() || now - it->second > absl::Hours(24)) {
      return fail(GraphError::Make(
          131047,
          "Message failed to send because more than 24 hours have passed "
          "since the customer last replied to this number."));
    }
  }
  if (number->second.blocked.count(request.wa_id) > 0) {
    return fail(GraphError::Make(131026, "The recipient has been blocked."));
  }
  ThroughputLimiter& limiter = *throughput_[pnid];
  if (!limiter.TryAcquire(now)) {
    return fail(GraphError::Make(
        130429, "Cloud API message throughput has been reached."));
  }
  if (options_.pair_rate_limit) {
    std::string key = absl::StrCat(pnid, "/", request.wa_id);
    auto it = pairs_.find(key);
    if (it == pairs_.end()) {
      it = pairs_
               .emplace(key, PairLimiter(options_.pair_burst,
                                         options_.pair_interval, now))
               .first;
    }
    if (!it->second.TryAcquire(now)) {
      return fail(GraphError::Make(
          131056,
          "Message failed to send because there were too many messages sent "
          "from this phone number to the same phone number in a short period "
          "of time."));
    }
  }

  accepted->phone_number_id = pnid;
  accepted->wa_id = request.wa_id;
  accepted->biz_opaque_callback_data = request.biz_opaque_callback_data;
  accepted->is_template = is_template;
  accepted->pricing_category =
      is_template ? absl::AsciiStrToLower(tmpl.category) : "service";
  accepted->fail = failed_recipients_.contains(request.wa_id);
  ++accepted_total_;
  ++accepted_by_number_[pnid];
  RecipientCounter& rc = accepted_by_recipient_[request.wa_id];
  rc.phone_number_id = pnid;
  ++rc.count;
  rc.times_ms.push_back(absl::ToUnixMillis(now));
  if (rc.times_ms.size() > 1000) rc.times_ms.pop_front();
  return true;
}

bool State::InWindow(absl::string_view phone_number_id, absl::string_view wa_id,
                     absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = last_inbound_.find(absl::StrCat(phone_number_id, "/", wa_id));
  return it != last_inbound_.end() && now - it->second <= absl::Hours(24);
}

void State::PutMedia(const Media& media) {
  absl::MutexLock lock(&mu_);
  media_[media.id] = media;
}

bool State::GetMedia(absl::string_view id, Media* out) const {
  absl::MutexLock lock(&mu_);
  auto it = media_.find(id);
  if (it == media_.end()) return false;
  *out = it->second;
  return true;
}

bool State::DeleteMedia(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  return media_.erase(id) > 0;
}

void State::SetSubscription(bool subscribed, absl::string_view override_uri) {
  absl::MutexLock lock(&mu_);
  subscribed_ = subscribed;
  override_uri_ = std::string(override_uri);
}

bool State::Subscribed(std::string* override_uri) const {
  absl::MutexLock lock(&mu_);
  *override_uri = override_uri_;
  return subscribed_;
}

void State::RecordInbound(absl::string_view phone_number_id,
                          absl::string_view wa_id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  last_inbound_[absl::StrCat(phone_number_id, "/", wa_id)] = now;
}

std::string State::NewWamid(absl::string_view wa_id) {
  uint64_t counter, random;
  {
    absl::MutexLock lock(&mu_);
    counter = ++id_counter_;
    random = rng_();
  }
  // Shaped like Meta's: base64 of a small binary record holding the wa_id
  // and an 18-hex-digit message key (unique here by the counter).
  std::string raw;
  raw.reserve(48);
  raw.append("\x1c\x18", 2);
  raw.push_back(static_cast<char>(std::min<size_t>(wa_id.size(), 0x7f)));
  raw.append(wa_id.data(), wa_id.size());
  raw.append("\x15\x02\x00\x11\x18\x12", 6);
  // "%08X%010X" of the random's top half and the counter's low 40 bits,
  // by hand: StrFormat was a visible share of a send.
  static constexpr char kHex[] = "0123456789ABCDEF";
  char key[18];
  const uint64_t top = random >> 32;
  for (int i = 0; i < 8; ++i) key[i] = kHex[(top >> (28 - 4 * i)) & 0xf];
  for (int i = 0; i < 10; ++i) {
    key[8 + i] = kHex[(counter >> (36 - 4 * i)) & 0xf];
  }
  raw.append(key, sizeof(key));
  raw.push_back('\0');
  return absl::StrCat("wamid.", absl::Base64Escape(raw));
}

std::string State::NewFbtraceId() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id(23, 'A');
  absl::MutexLock lock(&mu_);
  uint64_t r = rng_();
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 10) r = rng_();
    id[i] = kAlphabet[r & 63];
    r >>= 6;
  }
  return id;
}

std::string State::NewNumericId() {
  absl::MutexLock lock(&mu_);
  // 15-16 digits like Graph object ids; the counter keeps them unique.
  return absl::StrCat(1000000000000000ull + (rng_() % 8000000000000ull) * 1000 +
                      (++id_counter_ % 1000));
}

double State::Uniform() {
  absl::MutexLock lock(&mu_);
  return std::uniform_real_distribution<double>(0, 1)(rng_);
}

absl::Duration State::SampleLatency() {
  if (latency_.is_zero() && !faults_active()) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  absl::Duration d = latency_.Sample(rng_);
  return d + faults_.added_latency;
}

Faults State::faults() const {
  absl::MutexLock lock(&mu_);
  return faults_;
}

void State::SetFaults(const Faults& faults) {
  absl::MutexLock lock(&mu_);
  faults_ = faults;
  faults_active_ = !faults.error_rates.empty() || faults.http_5xx_rate > 0 ||
                   faults.drop_connection_rate > 0 ||
                   faults.added_latency > absl::ZeroDuration() ||
                   faults.webhook_duplicate_rate > 0 ||
                   faults.webhook_out_of_order_rate > 0;
}

void State::SetEnforceWindow(bool on) {
  absl::MutexLock lock(&mu_);
  enforce_window_ = on;
}

bool State::UpdatePhoneNumber(absl::string_view id,
                              const std::function<void(PhoneNumber&)>& fn) {
  absl::MutexLock lock(&mu_);
  auto it = numbers_.find(std::string(id));
  if (it == numbers_.end()) return false;
  fn(it->second);
  return true;
}

bool State::SetThroughput(absl::string_view id, double mps,
                          absl::string_view level) {
  absl::MutexLock lock(&mu_);
  auto it = numbers_.find(std::string(id));
  if (it == numbers_.end()) return false;
  it->second.throughput_level = std::string(level);
  throughput_[it->first]->set_limit(mps);
  return true;
}

bool State::UpdateTemplate(absl::string_view id,
                           const std::function<void(Template&)>& fn) {
  absl::MutexLock lock(&mu_);
  auto it = templates_.find(std::string(id));
  if (it == templates_.end()) return false;
  fn(it->second);
  return true;
}

bool State::FindTemplate(absl::string_view name, absl::string_view language,
                         Template* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, t] : templates_) {
    if (t.name == name && t.language == language) {
      *out = t;
      return true;
    }
  }
  return false;
}

bool State::GetTemplateById(absl::string_view id, Template* out) const {
  absl::MutexLock lock(&mu_);
  auto it = templates_.find(std::string(id));
  if (it == templates_.end()) return false;
  *out = it->second;
  return true;
}

std::vector<Template> State::Templates() const {
  absl::MutexLock lock(&mu_);
  std::vector<Template> out;
  for (const auto& [id, t] : templates_) out.push_back(t);
  return out;
}

void State::PutTemplate(const Template& t) {
  absl::MutexLock lock(&mu_);
  templates_[t.id] = t;
}

int State::DeleteTemplates(absl::string_view name, absl::string_view id) {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (auto it = templates_.begin(); it != templates_.end();) {
    if (it->second.name == name && (id.empty() || it->first == id)) {
      it = templates_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

void State::CountError(int code) {
  absl::MutexLock lock(&mu_);
  ++errors_by_code_[code];
}

std::string State::CountersJson() const {
  absl::MutexLock lock(&mu_);
  common::JsonWriter w(1024);
  w.BeginObject();
  w.Field("accepted", accepted_total_);
  w.Key("accepted_by_number").BeginObject();
  for (const auto& [id, n] : accepted_by_number_) w.Field(id, n);
  w.EndObject();
  w.Key("accepted_by_recipient").BeginObject();
  for (const auto& [wa_id, rc] : accepted_by_recipient_) {
    w.Key(wa_id).BeginObject();
    w.Field("phone_number_id", rc.phone_number_id);
    w.Field("count", rc.count);
    w.Key("times_ms").BeginArray();
    for (int64_t t : rc.times_ms) w.Int(t);
    w.EndArray().EndObject();
  }
  w.EndObject();
  w.Key("errors_by_code").BeginObject();
  for (const auto& [code, n] : errors_by_code_) w.Field(absl::StrCat(code), n);
  w.EndObject();
  w.EndObject();
  return std::move(w).Release();
}

}  // namespace wagate::emulator
