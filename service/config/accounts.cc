#include "service/config/accounts.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace wagate::config {
namespace {

absl::StatusOr<std::string> RequiredEnv(const EnvLookup& env,
                                        absl::string_view name,
                                        absl::string_view key) {
  absl::optional<std::string> value = env(name);
  if (!value.has_value() || value->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: ", key, " names the environment variable ", name,
                     ", which is not set"));
  }
  return *std::move(value);
}

}  // namespace

absl::optional<std::string> SystemEnv(absl::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return absl::nullopt;
  return std::string(value);
}

absl::StatusOr<Accounts> Accounts::Create(const v1::Config& config,
                                          const EnvLookup& env) {
  Accounts accounts;
  accounts.single_account_ = config.accounts().empty();
  if (absl::optional<std::string> token = env("WAGATE_ACCESS_TOKEN")) {
    accounts.default_token_ = *std::move(token);
  }
  for (int i = 0; i < config.accounts_size(); ++i) {
    const v1::Account& account = config.accounts(i);
    absl::StatusOr<std::string> token =
        RequiredEnv(env, account.access_token_env(),
                    absl::StrCat("accounts[", i, "].access_token_env"));
    if (!token.ok()) return token.status();
    accounts.waba_tokens_[account.waba_id()] = *token;
    for (const v1::PhoneNumber& number : account.phone_numbers()) {
      PhoneNumberAccount entry;
      entry.phone_number_id = number.id();
      entry.waba_id = account.waba_id();
      entry.access_token = *token;
      if (number.throughput_mps() > 0) {
        entry.throughput_mps = number.throughput_mps();
      }
      entry.display_phone_number = number.display_phone_number();
      accounts.numbers_[number.id()] = std::move(entry);
    }
  }
  for (int i = 0; i < config.app_secrets_env_size(); ++i) {
    absl::StatusOr<std::string> secret =
        RequiredEnv(env, config.app_secrets_env(i),
                    absl::StrCat("app_secrets_env[", i, "]"));
    if (!secret.ok()) return secret.status();
    accounts.app_secrets_.push_back(*std::move(secret));
  }
  if (absl::optional<std::string> secret = env("WAGATE_APP_SECRET")) {
    if (!secret->empty()) accounts.app_secrets_.push_back(*std::move(secret));
  }
  if (!config.verify_token_env().empty()) {
    absl::StatusOr<std::string> token =
        RequiredEnv(env, config.verify_token_env(), "verify_token_env");
    if (!token.ok()) return token.status();
    accounts.verify_token_ = *std::move(token);
  } else if (absl::optional<std::string> token = env("WAGATE_VERIFY_TOKEN")) {
    accounts.verify_token_ = *std::move(token);
  }
  return accounts;
}

absl::StatusOr<PhoneNumberAccount> Accounts::ForPhoneNumber(
    absl::string_view phone_number_id) const {
  if (!single_account_) {
    auto it = numbers_.find(phone_number_id);
    if (it == numbers_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("phone_number_id ", phone_number_id,
                       " is not configured in any account of this gateway"));
    }
    return it->second;
  }
  if (default_token_.empty()) {
    return absl::FailedPreconditionError(
        "no access token: set WAGATE_ACCESS_TOKEN or configure accounts");
  }
  PhoneNumberAccount entry;
  entry.phone_number_id = std::string(phone_number_id);
  entry.access_token = default_token_;
  return entry;
}

absl::StatusOr<std::string> Accounts::TokenForWaba(
    absl::string_view waba_id) const {
  if (!single_account_) {
    auto it = waba_tokens_.find(waba_id);
    if (it == waba_tokens_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("waba_id ", waba_id,
                       " is not configured in any account of this "
                       "gateway"));
    }
    return it->second;
  }
  if (default_token_.empty()) {
    return absl::FailedPreconditionError(
        "no access token: set WAGATE_ACCESS_TOKEN or configure accounts");
  }
  return default_token_;
}

std::vector<PhoneNumberAccount> Accounts::ConfiguredNumbers() const {
  std::vector<PhoneNumberAccount> out;
  out.reserve(numbers_.size());
  for (const auto& [id, account] : numbers_) out.push_back(account);
  return out;
}

std::vector<std::string> Accounts::ConfiguredWabas() const {
  std::vector<std::string> out;
  for (const auto& [id, token] : waba_tokens_) out.push_back(id);
  return out;
}

}  // namespace wagate::config
