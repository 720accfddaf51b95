#include "service/config/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace wagate::config {
namespace {

bool IsDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsLowerHex(absl::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) ||
        absl::ascii_isupper(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// An environment variable name as POSIX shells accept it.
bool IsEnvName(absl::string_view s) {
  if (s.empty() || absl::ascii_isdigit(static_cast<unsigned char>(s[0]))) {
    return false;
  }
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

absl::Status KeyError(absl::string_view key, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("config: ", key, ": ", problem));
}

constexpr absl::string_view kServices[] = {
    "wagate.v1.Messaging",    "wagate.v1.Events", "wagate.v1.Templates",
    "wagate.v1.PhoneNumbers", "wagate.v1.Media",  "wagate.v1.Accounts",
};

}  // namespace

absl::Status ValidateConfig(const v1::Config& config) {
  std::set<std::string> wabas;
  std::set<std::string> numbers;
  for (int i = 0; i < config.accounts_size(); ++i) {
    const v1::Account& account = config.accounts(i);
    const std::string key = absl::StrCat("accounts[", i, "]");
    if (!IsDigits(account.waba_id())) {
      return KeyError(key + ".waba_id", "required, digits only");
    }
    if (!wabas.insert(account.waba_id()).second) {
      return KeyError(key + ".waba_id", "listed twice");
    }
    if (!IsEnvName(account.access_token_env())) {
      return KeyError(key + ".access_token_env",
                      "required: the name of the environment variable that "
                      "holds the account's access token");
    }
    for (int j = 0; j < account.phone_numbers_size(); ++j) {
      const v1::PhoneNumber& number = account.phone_numbers(j);
      const std::string nkey = absl::StrCat(key, ".phone_numbers[", j, "]");
      if (!IsDigits(number.id())) {
        return KeyError(nkey + ".id", "required, digits only");
      }
      if (!numbers.insert(number.id()).second) {
        return KeyError(nkey + ".id", "phone number listed twice");
      }
      // Written so that NaN (which protobuf's JSON parser accepts) fails.
      if (!(number.throughput_mps() >= 0 && number.throughput_mps() <= 10000)) {
        return KeyError(nkey + ".throughput_mps",
                        "must be between 0 (default: 80) and 10000");
      }
    }
  }
  for (int i = 0; i < config.app_secrets_env_size(); ++i) {
    if (!IsEnvName(config.app_secrets_env(i))) {
      return KeyError(absl::StrCat("app_secrets_env[", i, "]"),
                      "must be an environment variable name");
    }
  }
  if (!config.verify_token_env().empty() &&
      !IsEnvName(config.verify_token_env())) {
    return KeyError("verify_token_env", "must be an environment variable name");
  }
  std::set<std::string> client_names;
  for (int i = 0; i < config.clients_size(); ++i) {
    const v1::Client& client = config.clients(i);
    const std::string key = absl::StrCat("clients[", i, "]");
    if (client.name().empty()) return KeyError(key + ".name", "required");
    if (!client_names.insert(client.name()).second) {
      return KeyError(key + ".name", "client name listed twice");
    }
    if (!IsLowerHex(client.api_key_sha256(), 64)) {
      return KeyError(key + ".api_key_sha256",
                      "must be the lowercase hex SHA-256 of the key "
                      "(64 characters)");
    }
    for (int j = 0; j < client.services_size(); ++j) {
      bool known = false;
      for (absl::string_view service : kServices) {
        known = known || client.services(j) == service;
      }
      if (!known) {
        return KeyError(absl::StrCat(key, ".services[", j, "]"),
                        absl::StrCat("unknown service \"", client.services(j),
                                     "\" (use full names such as "
                                     "wagate.v1.Messaging)"));
      }
    }
  }
  if (config.has_retention()) {
    if (config.retention().max_age().seconds() < 0) {
      return KeyError("retention.max_age", "must not be negative");
    }
    if (config.retention().max_bytes() < 0) {
      return KeyError("retention.max_bytes", "must not be negative");
    }
  }
  const v1::Limits& limits = config.limits();
  if (limits.grpc_max_message_bytes() < 0 ||
      limits.grpc_max_concurrent_streams() < 0 ||
      limits.send_stream_backlog() < 0 || limits.subscribers_per_key() < 0 ||
      limits.http_max_body_bytes() < 0 || limits.http_max_header_bytes() < 0 ||
      limits.http_max_connections() < 0 || limits.event_queue() < 0 ||
      limits.http_max_connections_per_ip() < 0) {
    return KeyError("limits", "limits must not be negative (0 = default)");
  }
  const v1::Tls& tls = config.tls();
  if (tls.grpc().cert_file().empty() != tls.grpc().key_file().empty()) {
    return KeyError("tls.grpc", "cert_file and key_file go together");
  }
  if (!tls.grpc().client_ca_file().empty() && tls.grpc().cert_file().empty()) {
    return KeyError("tls.grpc.client_ca_file", "needs cert_file and key_file");
  }
  if (tls.http().cert_file().empty() != tls.http().key_file().empty()) {
    return KeyError("tls.http", "cert_file and key_file go together");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Config> ParseConfig(absl::string_view json) {
  v1::Config config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  google::protobuf::util::Status status =
      google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), &config,
          options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: ", std::string(status.message())));
  }
  // "-0" parses as a negative zero, which the JSON printer then omits as
  // the default: store a plain 0 (the default rate) so the file round-trips.
  for (auto& account : *config.mutable_accounts()) {
    for (auto& number : *account.mutable_phone_numbers()) {
      if (number.throughput_mps() == 0) number.set_throughput_mps(0);
    }
  }
  absl::Status valid = ValidateConfig(config);
  if (!valid.ok()) return valid;
  return config;
}

absl::StatusOr<v1::Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("config: cannot read ", path));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  absl::StatusOr<v1::Config> config = ParseConfig(contents.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace wagate::config
