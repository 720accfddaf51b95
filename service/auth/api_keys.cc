#include "service/auth/api_keys.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace wagate::auth {
namespace {

const std::string& EmptyName() {
  static const std::string* const empty = new std::string();
  return *empty;
}

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError(kUnauthenticatedMessage);
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Client names namespace consumer groups ("<name>/<group>") and appear in
// logs and metric labels: a `/` would let two clients share a group.
constexpr size_t kMaxClientNameLength = 64;

absl::Status ValidateClientName(absl::string_view name,
                                absl::string_view where) {
  if (name.size() > kMaxClientNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ".name: at most ", kMaxClientNameLength, " characters"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-' && c != '@') {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".name: \"", absl::CHexEscape(name),
          "\" may contain only letters, digits, '.', '_', '-' and '@' (no "
          "'/': it separates the client from its consumer groups)"));
    }
  }
  return absl::OkStatus();
}

// Graph object ids (phone numbers, WABAs) are digits.
absl::Status ValidateIds(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    absl::string_view where) {
  for (int i = 0; i < ids.size(); ++i) {
    const std::string& id = ids[i];
    bool digits = !id.empty() && id.size() <= 32;
    for (char c : id) digits = digits && absl::ascii_isdigit(c);
    if (!digits) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "[", i, "]: \"", absl::CHexEscape(id),
                       "\" is not a Graph id (digits only)"));
    }
  }
  return absl::OkStatus();
}

bool KnownService(absl::string_view name) {
  for (const char* known :
       {kMessagingService, kEventsService, kTemplatesService,
        kPhoneNumbersService, kMediaService, kAccountsService}) {
    if (name == known) return true;
  }
  return false;
}

}  // namespace

const std::string& Principal::name() const {
  return scope_ == nullptr ? EmptyName() : scope_->name;
}

bool Principal::CanCall(absl::string_view service) const {
  if (scope_ == nullptr || scope_->services.empty()) return true;
  return scope_->services.find(service) != scope_->services.end();
}

bool Principal::AllNumbers() const {
  return scope_ == nullptr ||
         (scope_->phone_number_ids.empty() && scope_->waba_ids.empty());
}

bool Principal::CanUseWaba(absl::string_view waba_id) const {
  if (AllNumbers()) return true;
  return !waba_id.empty() &&
         scope_->waba_ids.find(waba_id) != scope_->waba_ids.end();
}

bool Principal::CanUsePhoneNumber(absl::string_view phone_number_id) const {
  if (AllNumbers()) return true;
  if (phone_number_id.empty()) return false;
  if (scope_->phone_number_ids.find(phone_number_id) !=
      scope_->phone_number_ids.end()) {
    return true;
  }
  auto it = scope_->number_waba.find(phone_number_id);
  return it != scope_->number_waba.end() && CanUseWaba(it->second);
}

std::vector<std::string> Principal::PhoneNumbers() const {
  std::set<std::string> numbers;
  if (scope_ == nullptr) return {};
  numbers.insert(scope_->phone_number_ids.begin(),
                 scope_->phone_number_ids.end());
  for (const auto& [number, waba] : scope_->number_waba) {
    if (scope_->waba_ids.count(waba) > 0) numbers.insert(number);
  }
  return std::vector<std::string>(numbers.begin(), numbers.end());
}

absl::Status Principal::CheckService(absl::string_view service) const {
  if (CanCall(service)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("client \"", name(), "\" may not call ", service));
}

absl::Status Principal::CheckPhoneNumber(
    absl::string_view phone_number_id) const {
  if (CanUsePhoneNumber(phone_number_id)) return absl::OkStatus();
  if (phone_number_id.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "client \"", name(),
        "\" is restricted to some phone numbers: phone_number_id is "
        "required"));
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "client \"", name(), "\" may not use phone_number_id ", phone_number_id));
}

absl::Status Principal::CheckWaba(absl::string_view waba_id) const {
  if (CanUseWaba(waba_id)) return absl::OkStatus();
  if (waba_id.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("client \"", name(),
                     "\" is restricted to some WABAs: waba_id is required"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("client \"", name(), "\" may not use waba_id ", waba_id));
}

absl::StatusOr<absl::string_view> ParseBearer(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  constexpr absl::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(header, kScheme) ||
      !IsSpace(header[kScheme.size()])) {
    return Unauthenticated();
  }
  absl::string_view key =
      absl::StripAsciiWhitespace(header.substr(kScheme.size()));
  if (key.empty()) return Unauthenticated();
  for (char c : key) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return Unauthenticated();
    }
  }
  return key;
}

std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * SHA256_DIGEST_LENGTH, '0');
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const ApiKeys>> ApiKeys::Create(
    const config::v1::Config& config, const config::Accounts& accounts) {
  auto keys = std::shared_ptr<ApiKeys>(new ApiKeys());
  std::map<std::string, std::string, std::less<>> number_waba;
  for (const auto& number : accounts.ConfiguredNumbers()) {
    number_waba[number.phone_number_id] = number.waba_id;
  }
  std::set<std::string> names;
  for (int i = 0; i < config.clients_size(); ++i) {
    const config::v1::Client& client = config.clients(i);
    const std::string where = absl::StrCat("clients[", i, "]");
    if (client.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".name: required"));
    }
    if (absl::Status name = ValidateClientName(client.name(), where);
        !name.ok()) {
      return name;
    }
    if (!names.insert(client.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".name: \"", client.name(), "\" is used twice"));
    }
    Entry entry;
    const std::string& hex = client.api_key_sha256();
    if (hex.size() != 64) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".api_key_sha256: must be 64 hex characters (SHA-256)"));
    }
    for (int b = 0; b < 32; ++b) {
      int hi = HexValue(hex[2 * b]);
      int lo = HexValue(hex[2 * b + 1]);
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".api_key_sha256: must be 64 hex characters (SHA-256)"));
      }
      entry.digest[b] = static_cast<unsigned char>(hi * 16 + lo);
    }
    for (const Entry& other : keys->clients_) {
      if (std::equal(other.digest, other.digest + 32, entry.digest)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".api_key_sha256: the same key as client \"",
                         other.scope->name, "\""));
      }
    }
    auto scope = std::make_shared<ClientScope>();
    scope->name = client.name();
    for (const std::string& service : client.services()) {
      if (!KnownService(service)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".services: unknown service \"", service,
                         "\" (full names, e.g. wagate.v1.Messaging)"));
      }
      scope->services.insert(service);
    }
    if (absl::Status ids =
            ValidateIds(client.phone_number_ids(),
                        absl::StrCat(where, ".phone_number_ids"));
        !ids.ok()) {
      return ids;
    }
    if (absl::Status ids =
            ValidateIds(client.waba_ids(), absl::StrCat(where, ".waba_ids"));
        !ids.ok()) {
      return ids;
    }
    scope->phone_number_ids.insert(client.phone_number_ids().begin(),
                                   client.phone_number_ids().end());
    scope->waba_ids.insert(client.waba_ids().begin(), client.waba_ids().end());
    scope->number_waba = number_waba;
    entry.scope = std::move(scope);
    keys->clients_.push_back(std::move(entry));
  }
  return std::shared_ptr<const ApiKeys>(std::move(keys));
}

absl::StatusOr<Principal> ApiKeys::Authenticate(
    const std::string* authorization) const {
  if (!enabled()) return Principal();
  if (authorization == nullptr) return Unauthenticated();
  absl::StatusOr<absl::string_view> key = ParseBearer(*authorization);
  if (!key.ok()) return key.status();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key->data()), key->size(),
         digest);
  // Every digest is compared, without early exit, so the time taken does not
  // tell which prefix matched.
  const Entry* found = nullptr;
  for (const Entry& entry : clients_) {
    if (CRYPTO_memcmp(entry.digest, digest, sizeof(digest)) == 0) {
      found = &entry;
    }
  }
  if (found == nullptr) return Unauthenticated();
  return Principal(found->scope);
}

absl::StatusOr<Principal> ApiKeys::Authenticate(
    const grpc::ServerContextBase& context) const {
  if (!enabled()) return Principal();
  const auto& metadata = context.client_metadata();
  auto range = metadata.equal_range("authorization");
  if (range.first == range.second) return Unauthenticated();
  if (std::next(range.first) != range.second) return Unauthenticated();
  std::string value(range.first->second.data(), range.first->second.size());
  return Authenticate(&value);
}

absl::StatusOr<Principal> PrincipalFor(const ApiKeys& keys,
                                       const grpc::ServerContextBase& context) {
  return keys.Authenticate(context);
}

bool IsLoopbackAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") ||
      absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  absl::ConsumePrefix(&address, "ipv4:");
  absl::ConsumePrefix(&address, "ipv6:");
  absl::string_view host;
  if (absl::StartsWith(address, "[")) {
    size_t close = address.find(']');
    if (close == absl::string_view::npos) return false;
    host = address.substr(1, close - 1);
  } else {
    size_t colon = address.rfind(':');
    host =
        colon == absl::string_view::npos ? address : address.substr(0, colon);
  }
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  std::string text(host);
  unsigned char v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  if (inet_pton(AF_INET6, text.c_str(), v6) == 1) {
    static const unsigned char kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                 0, 0, 0, 0, 0, 0, 0, 1};
    return std::equal(v6, v6 + 16, kLoopback6);
  }
  return false;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace wagate::auth
