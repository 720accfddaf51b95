// Client authentication and scopes (DESIGN.md § Security): who is calling,
// from the `authorization: Bearer <key>` metadata, and which services, phone
// numbers and WABAs that client may use, from the config's `clients`.
//
// Keys are never stored: the config holds the lowercase hex SHA-256 of each
// key; a presented key is hashed and compared with every digest in constant
// time. No clients configured = authentication off: every caller is an
// unrestricted anonymous principal.
//
//   ASSIGN_OR_RETURN(auto keys, ApiKeys::Create(config, accounts));
//   absl::StatusOr<Principal> who = keys->Authenticate(*context);
//   if (who.ok() && who->CanUsePhoneNumber("1234")) ...
#ifndef WAGATE_SERVICE_AUTH_API_KEYS_H_
#define WAGATE_SERVICE_AUTH_API_KEYS_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "service/config/accounts.h"
#include "wagate/config/v1/config.pb.h"

namespace wagate::auth {

inline constexpr char kMessagingService[] = "wagate.v1.Messaging";
inline constexpr char kEventsService[] = "wagate.v1.Events";
inline constexpr char kTemplatesService[] = "wagate.v1.Templates";
inline constexpr char kPhoneNumbersService[] = "wagate.v1.PhoneNumbers";
inline constexpr char kMediaService[] = "wagate.v1.Media";
inline constexpr char kAccountsService[] = "wagate.v1.Accounts";

// The message of every UNAUTHENTICATED answer: it never echoes the key.
inline constexpr char kUnauthenticatedMessage[] = "missing or invalid API key";

// What one configured client may do, plus the number→WABA map of the config
// accounts (so a WABA in scope brings its numbers). Immutable, shared.
struct ClientScope {
  std::string name;
  std::set<std::string, std::less<>> services;  // empty = all
  std::set<std::string, std::less<>> phone_number_ids;
  std::set<std::string, std::less<>> waba_ids;
  // phone_number_id → waba_id of the configured accounts.
  std::map<std::string, std::string, std::less<>> number_waba;
};

// The caller of one RPC. Copyable and cheap (a shared pointer).
class Principal {
 public:
  // The unrestricted anonymous principal (authentication off).
  Principal() = default;
  explicit Principal(std::shared_ptr<const ClientScope> scope)
      : scope_(std::move(scope)) {}

  bool anonymous() const { return scope_ == nullptr; }
  // The client name, for logs; "" when anonymous.
  const std::string& name() const;

  bool CanCall(absl::string_view service) const;
  // Listed, or its WABA (per the config accounts) listed, or all numbers.
  bool CanUsePhoneNumber(absl::string_view phone_number_id) const;
  bool CanUseWaba(absl::string_view waba_id) const;
  // True when every phone number and WABA is in scope.
  bool AllNumbers() const;
  // The numbers in scope when !AllNumbers(): those listed plus the configured
  // numbers of the listed WABAs, sorted.
  std::vector<std::string> PhoneNumbers() const;

  // PERMISSION_DENIED naming the client and the service / id, or OK.
  absl::Status CheckService(absl::string_view service) const;
  absl::Status CheckPhoneNumber(absl::string_view phone_number_id) const;
  absl::Status CheckWaba(absl::string_view waba_id) const;

 private:
  std::shared_ptr<const ClientScope> scope_;
};

// The key of an `authorization` header value "Bearer <key>": the scheme is
// case-insensitive, surrounding whitespace is ignored, the key is one token.
// UNAUTHENTICATED (kUnauthenticatedMessage) otherwise.
absl::StatusOr<absl::string_view> ParseBearer(absl::string_view header);

// Lowercase hex SHA-256 of `text`.
std::string Sha256Hex(absl::string_view text);

class ApiKeys {
 public:
  // INVALID_ARGUMENT naming `clients[i]` if a name is empty or repeated, a
  // digest is not 64 hex characters or repeated, or a service is unknown.
  static absl::StatusOr<std::shared_ptr<const ApiKeys>> Create(
      const config::v1::Config& config, const config::Accounts& accounts);

  // False when no clients are configured (everyone is anonymous).
  bool enabled() const { return !clients_.empty(); }

  // The principal owning the key of `authorization` (the header value);
  // UNAUTHENTICATED if missing (nullptr), malformed or unknown.
  absl::StatusOr<Principal> Authenticate(
      const std::string* authorization) const;
  // The same from a call's metadata; UNAUTHENTICATED if the header is sent
  // more than once.
  absl::StatusOr<Principal> Authenticate(
      const grpc::ServerContextBase& context) const;

 private:
  struct Entry {
    unsigned char digest[32];
    std::shared_ptr<const ClientScope> scope;
  };
  std::vector<Entry> clients_;
};

// A call's principal (the key is hashed again: cheap); for code that sees
// only the context, e.g. per-item checks inside a stream.
absl::StatusOr<Principal> PrincipalFor(const ApiKeys& keys,
                                       const grpc::ServerContextBase& context);

// True when a gRPC listening address ("host:port", "[v6]:port", "unix:...")
// accepts only local connections: 127.0.0.0/8, ::1, localhost or a Unix
// socket. Without client keys the gateway listens only on such addresses.
bool IsLoopbackAddress(absl::string_view address);

// absl::Status → grpc::Status, code and message kept.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace wagate::auth

#endif  // WAGATE_SERVICE_AUTH_API_KEYS_H_
