// Which WhatsApp Business Account and access token serve each phone number,
// its throughput, and the webhook secrets — resolved once at start-up from
// the config file and the environment. Immutable afterwards, so any thread may
// read it without locking.
//
// Two modes (DESIGN.md § Configuration contract):
//  - Single account: the config lists no accounts; WAGATE_ACCESS_TOKEN serves
//    any phone_number_id (throughput 80 mps unless learned otherwise).
//  - Multi-account: each account's token comes from the environment variable
//    its `access_token_env` names; a phone_number_id not listed is refused
//    before any HTTP call.
// Webhook secrets: the variables named by `app_secrets_env` (several, for
// rotation) plus WAGATE_APP_SECRET; the verify token from `verify_token_env`
// or WAGATE_VERIFY_TOKEN.
//
//   ASSIGN_OR_RETURN(Accounts accounts, Accounts::Create(config, SystemEnv));
//   ASSIGN_OR_RETURN(PhoneNumberAccount a, accounts.ForPhoneNumber(id));
#ifndef WAGATE_SERVICE_CONFIG_ACCOUNTS_H_
#define WAGATE_SERVICE_CONFIG_ACCOUNTS_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "wagate/config/v1/config.pb.h"

namespace wagate::config {

// Reads one environment variable; nullopt if unset.
using EnvLookup = std::function<absl::optional<std::string>(absl::string_view)>;
absl::optional<std::string> SystemEnv(absl::string_view name);

inline constexpr double kDefaultThroughputMps = 80;

struct PhoneNumberAccount {
  std::string phone_number_id;
  std::string waba_id;  // empty in single-account mode
  std::string access_token;
  double throughput_mps = kDefaultThroughputMps;
  std::string display_phone_number;
};

class Accounts {
 public:
  // INVALID_ARGUMENT naming the variable if the config refers to an unset or
  // empty environment variable (never its value).
  static absl::StatusOr<Accounts> Create(const v1::Config& config,
                                         const EnvLookup& env);

  // The account serving `phone_number_id`. FAILED_PRECONDITION naming the id
  // if it is not configured (multi-account) or no token is set at all.
  absl::StatusOr<PhoneNumberAccount> ForPhoneNumber(
      absl::string_view phone_number_id) const;

  // The access token for management calls on a WABA. FAILED_PRECONDITION if
  // the WABA is not configured (multi-account) or no token is set.
  absl::StatusOr<std::string> TokenForWaba(absl::string_view waba_id) const;

  // The numbers the config lists (empty in single-account mode).
  std::vector<PhoneNumberAccount> ConfiguredNumbers() const;
  // The WABAs the config lists (empty in single-account mode).
  std::vector<std::string> ConfiguredWabas() const;

  bool single_account() const { return single_account_; }
  // App secrets for X-Hub-Signature-256, in order; may be empty.
  const std::vector<std::string>& app_secrets() const { return app_secrets_; }
  // The webhook verify token; may be empty (verification then always fails).
  const std::string& verify_token() const { return verify_token_; }

 private:
  bool single_account_ = true;
  std::string default_token_;  // single-account mode
  std::map<std::string, PhoneNumberAccount, std::less<>> numbers_;
  std::map<std::string, std::string, std::less<>> waba_tokens_;
  std::vector<std::string> app_secrets_;
  std::string verify_token_;
};

}  // namespace wagate::config

#endif  // WAGATE_SERVICE_CONFIG_ACCOUNTS_H_
