#include "service/auth/authorized_services.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "service/common/log.h"

namespace wagate::auth {
namespace {

template <typename Response>
class RejectWriter : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RejectWriter(grpc::Status status) {
    this->Finish(std::move(status));
  }
  void OnDone() override { delete this; }
};

template <typename Request>
class RejectReader : public grpc::ServerReadReactor<Request> {
 public:
  explicit RejectReader(grpc::Status status) {
    this->Finish(std::move(status));
  }
  void OnDone() override { delete this; }
};

template <typename Request, typename Response>
class RejectBidi : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RejectBidi(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// Logs a refusal by client name (never the key) and returns it.
absl::Status Refused(absl::Status status, const std::string& client,
                     const char* service, const char* rpc) {
  log::Info("auth", "call refused",
            {{"client", client.empty() ? "(no valid key)" : client},
             {"service", service},
             {"rpc", rpc},
             {"code", absl::StatusCodeToString(status.code())}});
  return status;
}

// Authenticates the call and checks the service; on success `*principal`
// is the caller.
absl::Status Authorize(const ApiKeys& keys,
                       grpc::CallbackServerContext* context,
                       const char* service, const char* rpc,
                       Principal* principal) {
  absl::StatusOr<Principal> who = keys.Authenticate(*context);
  if (!who.ok()) return Refused(who.status(), "", service, rpc);
  *principal = *std::move(who);
  absl::Status allowed = principal->CheckService(service);
  if (!allowed.ok()) return Refused(allowed, principal->name(), service, rpc);
  return absl::OkStatus();
}

// kPhoneNumber and kWaba: the id must be in scope; empty is in scope only
// for a client allowed every number.
enum class Id { kNone, kPhoneNumber, kWaba };

absl::Status AuthorizeId(const ApiKeys& keys,
                         grpc::CallbackServerContext* context,
                         const char* service, const char* rpc, Id kind,
                         const std::string& id) {
  Principal principal;
  absl::Status status = Authorize(keys, context, service, rpc, &principal);
  if (!status.ok()) return status;
  switch (kind) {
    case Id::kNone:
      break;
    case Id::kPhoneNumber:
      status = principal.CheckPhoneNumber(id);
      break;
    case Id::kWaba:
      status = principal.CheckWaba(id);
      break;
  }
  if (!status.ok()) return Refused(status, principal.name(), service, rpc);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* RejectUnary(grpc::CallbackServerContext* context,
                                      const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

PhoneNumberCheck MakePhoneNumberCheck(std::shared_ptr<const ApiKeys> keys) {
  return [keys = std::move(keys)](grpc::CallbackServerContext* context,
                                  const std::string& phone_number_id) {
    absl::StatusOr<Principal> who = PrincipalFor(*keys, *context);
    if (!who.ok()) return who.status();
    return who->CheckPhoneNumber(phone_number_id);
  };
}

ClientIdentity MakeClientIdentity(std::shared_ptr<const ApiKeys> keys) {
  return [keys = std::move(keys)](
             grpc::CallbackServerContext* context) -> std::string {
    if (!keys->enabled()) return "";
    absl::StatusOr<Principal> who = PrincipalFor(*keys, *context);
    if (!who.ok() || who->anonymous()) return "";
    return who->name();
  };
}

SubscriberAdmission MakeSubscriberLimit(std::shared_ptr<const ApiKeys> keys,
                                        int per_key) {
  struct Counts {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, int> open ABSL_GUARDED_BY(mu);
  };
  auto counts = std::make_shared<Counts>();
  return [keys = std::move(keys), counts,
          per_key](grpc::CallbackServerContext* context)
             -> absl::StatusOr<std::shared_ptr<void>> {
    absl::StatusOr<Principal> who = PrincipalFor(*keys, *context);
    if (!who.ok()) return who.status();
    std::string name = who->anonymous() ? "" : who->name();
    {
      absl::MutexLock lock(&counts->mu);
      int& open = counts->open[name];
      if (open >= per_key) {
        return absl::ResourceExhaustedError(
            absl::StrCat("limits.subscribers_per_key: client \"", name,
                         "\" already has ", open, " Subscribe streams open"));
      }
      ++open;
    }
    // The token: releases the slot when the stream ends.
    return std::shared_ptr<void>(
        nullptr, [counts, name = std::move(name)](void*) {
          absl::MutexLock lock(&counts->mu);
          auto it = counts->open.find(name);
          if (it != counts->open.end() && --it->second == 0) {
            counts->open.erase(it);
          }
        });
  };
}

// One unary RPC: check, then delegate with the same context.
#define WAGATE_AUTH_UNARY(Class, Service, Rpc, kind, field)                  \
  grpc::ServerUnaryReactor* Class::Rpc(grpc::CallbackServerContext* context, \
                                       const v1::Rpc##Request* request,      \
                                       v1::Rpc##Response* response) {        \
    absl::Status status =                                                    \
        AuthorizeId(*keys_, context, Service, #Rpc, kind, request->field()); \
    if (!status.ok()) return RejectUnary(context, status);                   \
    return inner_->Rpc(context, request, response);                          \
  }

// ---- Messaging

AuthorizedMessaging::AuthorizedMessaging(
    std::shared_ptr<const ApiKeys> keys,
    std::unique_ptr<v1::Messaging::CallbackService> inner)
    : keys_(std::move(keys)), inner_(std::move(inner)) {}

WAGATE_AUTH_UNARY(AuthorizedMessaging, kMessagingService, Send,
                  Id::kPhoneNumber, phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedMessaging, kMessagingService, MarkRead,
                  Id::kPhoneNumber, phone_number_id)

grpc::ServerBidiReactor<v1::SendRequest, v1::SendResult>*
AuthorizedMessaging::SendStream(grpc::CallbackServerContext* context) {
  Principal principal;
  absl::Status status =
      Authorize(*keys_, context, kMessagingService, "SendStream", &principal);
  if (!status.ok()) {
    return new RejectBidi<v1::SendRequest, v1::SendResult>(
        ToGrpcStatus(status));
  }
  return inner_->SendStream(context);
}

// ---- Events

AuthorizedEvents::AuthorizedEvents(std::shared_ptr<const ApiKeys> keys,
                                   std::unique_ptr<events::EventsApi> inner)
    : keys_(std::move(keys)), inner_(std::move(inner)) {}

events::EventsApi::SubscribeWriter* AuthorizedEvents::SubscribeParsed(
    grpc::CallbackServerContext* context, const v1::SubscribeRequest& request,
    const events::SubscribeScope& scope) {
  Principal principal;
  absl::Status status =
      Authorize(*keys_, context, kEventsService, "Subscribe", &principal);
  if (!status.ok()) {
    return new RejectedSubscribe(ToGrpcStatus(status));
  }
  v1::SubscribeRequest scoped = request;
  events::SubscribeScope narrowed = scope;
  if (!principal.AllNumbers()) {
    // Number-less events (template, quality, account updates) only of the
    // WABAs the client may use, as Templates and Accounts would allow: a
    // client scoped to phone numbers alone gets none.
    narrowed.may_see_waba =
        [principal, outer = scope.may_see_waba](absl::string_view waba_id) {
          return principal.CanUseWaba(waba_id) && (!outer || outer(waba_id));
        };
    if (scoped.phone_number_ids().empty()) {
      for (std::string& number : principal.PhoneNumbers()) {
        scoped.add_phone_number_ids(std::move(number));
      }
      if (scoped.phone_number_ids().empty()) {
        status = absl::PermissionDeniedError(
            absl::StrCat("client \"", principal.name(),
                         "\" has no phone number in scope to subscribe to"));
      }
    }
    for (const std::string& number : scoped.phone_number_ids()) {
      if (!status.ok()) break;
      status = principal.CheckPhoneNumber(number);
    }
    if (!status.ok()) {
      return new RejectedSubscribe(ToGrpcStatus(
          Refused(status, principal.name(), kEventsService, "Subscribe")));
    }
  }
  if (!principal.anonymous() && !scoped.group().empty()) {
    scoped.set_group(absl::StrCat(principal.name(), "/", scoped.group()));
  }
  return inner_->SubscribeParsed(context, scoped, narrowed);
}

grpc::ServerUnaryReactor* AuthorizedEvents::Ack(
    grpc::CallbackServerContext* context, const v1::AckRequest* request,
    v1::AckResponse* response) {
  Principal principal;
  absl::Status status =
      Authorize(*keys_, context, kEventsService, "Ack", &principal);
  if (!status.ok()) return RejectUnary(context, status);
  if (principal.anonymous() || request->group().empty()) {
    return inner_->Ack(context, request, response);
  }
  v1::AckRequest scoped = *request;
  scoped.set_group(absl::StrCat(principal.name(), "/", scoped.group()));
  return inner_->Ack(context, &scoped, response);
}

// ---- Templates

AuthorizedTemplates::AuthorizedTemplates(
    std::shared_ptr<const ApiKeys> keys,
    std::unique_ptr<v1::Templates::CallbackService> inner)
    : keys_(std::move(keys)), inner_(std::move(inner)) {}

WAGATE_AUTH_UNARY(AuthorizedTemplates, kTemplatesService, ListTemplates,
                  Id::kWaba, waba_id)
WAGATE_AUTH_UNARY(AuthorizedTemplates, kTemplatesService, GetTemplate,
                  Id::kWaba, waba_id)
WAGATE_AUTH_UNARY(AuthorizedTemplates, kTemplatesService, CreateTemplate,
                  Id::kWaba, waba_id)
WAGATE_AUTH_UNARY(AuthorizedTemplates, kTemplatesService, UpdateTemplate,
                  Id::kWaba, waba_id)
WAGATE_AUTH_UNARY(AuthorizedTemplates, kTemplatesService, DeleteTemplate,
                  Id::kWaba, waba_id)

// ---- PhoneNumbers

AuthorizedPhoneNumbers::AuthorizedPhoneNumbers(
    std::shared_ptr<const ApiKeys> keys,
    std::unique_ptr<v1::PhoneNumbers::CallbackService> inner)
    : keys_(std::move(keys)), inner_(std::move(inner)) {}

WAGATE_AUTH_UNARY(AuthorizedPhoneNumbers, kPhoneNumbersService,
                  ListPhoneNumbers, Id::kWaba, waba_id)
WAGATE_AUTH_UNARY(AuthorizedPhoneNumbers, kPhoneNumbersService, GetPhoneNumber,
                  Id::kPhoneNumber, phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedPhoneNumbers, kPhoneNumbersService,
                  RegisterPhoneNumber, Id::kPhoneNumber, phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedPhoneNumbers, kPhoneNumbersService,
                  DeregisterPhoneNumber, Id::kPhoneNumber, phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedPhoneNumbers, kPhoneNumbersService,
                  RequestVerificationCode, Id::kPhoneNumber, phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedPhoneNumbers, kPhoneNumbersService, VerifyCode,
                  Id::kPhoneNumber, phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedPhoneNumbers, kPhoneNumbersService,
                  GetBusinessProfile, Id::kPhoneNumber, phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedPhoneNumbers, kPhoneNumbersService,
                  UpdateBusinessProfile, Id::kPhoneNumber, phone_number_id)

// ---- Media

AuthorizedMedia::AuthorizedMedia(
    std::shared_ptr<const ApiKeys> keys,
    std::unique_ptr<v1::Media::CallbackService> inner)
    : keys_(std::move(keys)), inner_(std::move(inner)) {}

grpc::ServerReadReactor<v1::UploadMediaRequest>* AuthorizedMedia::UploadMedia(
    grpc::CallbackServerContext* context, v1::UploadMediaResponse* response) {
  Principal principal;
  absl::Status status =
      Authorize(*keys_, context, kMediaService, "UploadMedia", &principal);
  if (!status.ok()) {
    return new RejectReader<v1::UploadMediaRequest>(ToGrpcStatus(status));
  }
  return inner_->UploadMedia(context, response);
}

// Media ids name no number: a restricted client must say which of its
// numbers the media belongs to, and the Media service passes it to Graph,
// which refuses media of another number.
WAGATE_AUTH_UNARY(AuthorizedMedia, kMediaService, GetMedia, Id::kPhoneNumber,
                  phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedMedia, kMediaService, DeleteMedia,
                  Id::kPhoneNumber, phone_number_id)

grpc::ServerWriteReactor<v1::DownloadMediaResponse>*
AuthorizedMedia::DownloadMedia(grpc::CallbackServerContext* context,
                               const v1::DownloadMediaRequest* request) {
  absl::Status status =
      AuthorizeId(*keys_, context, kMediaService, "DownloadMedia",
                  Id::kPhoneNumber, request->phone_number_id());
  if (!status.ok()) {
    return new RejectWriter<v1::DownloadMediaResponse>(ToGrpcStatus(status));
  }
  return inner_->DownloadMedia(context, request);
}

// ---- Accounts

AuthorizedAccounts::AuthorizedAccounts(
    std::shared_ptr<const ApiKeys> keys,
    std::unique_ptr<v1::Accounts::CallbackService> inner)
    : keys_(std::move(keys)), inner_(std::move(inner)) {}

WAGATE_AUTH_UNARY(AuthorizedAccounts, kAccountsService, SubscribeApp, Id::kWaba,
                  waba_id)
WAGATE_AUTH_UNARY(AuthorizedAccounts, kAccountsService, UnsubscribeApp,
                  Id::kWaba, waba_id)
WAGATE_AUTH_UNARY(AuthorizedAccounts, kAccountsService, ListSubscribedApps,
                  Id::kWaba, waba_id)
WAGATE_AUTH_UNARY(AuthorizedAccounts, kAccountsService, BlockUsers,
                  Id::kPhoneNumber, phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedAccounts, kAccountsService, UnblockUsers,
                  Id::kPhoneNumber, phone_number_id)
WAGATE_AUTH_UNARY(AuthorizedAccounts, kAccountsService, ListBlockedUsers,
                  Id::kPhoneNumber, phone_number_id)

#undef WAGATE_AUTH_UNARY

}  // namespace wagate::auth
