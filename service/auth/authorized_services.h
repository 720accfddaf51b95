// Decorators that put client authentication and scopes (api_keys.h) in front
// of the six wagate.v1 services, leaving the services themselves untouched.
// Each checks the caller's key, the service and the request's
// phone_number_id / waba_id, then delegates to the wrapped service with the
// same context; a refused call is finished with UNAUTHENTICATED or
// PERMISSION_DENIED and never reaches the service.
//
//   auto keys = *ApiKeys::Create(config, accounts);
//   builder.RegisterService(new AuthorizedMessaging(
//       keys, std::make_unique<messaging::MessagingService>(...)));
//
// Scope rules beyond "the request's id must be in scope":
//  - GetMedia / DownloadMedia / DeleteMedia: a client restricted to some
//    numbers must name one of them in phone_number_id (Graph does not say
//    which number owns a media id; the Media service passes the number to
//    Graph, which refuses another number's media). UploadMedia's
//    phone_number_id arrives in the first stream message, after the
//    decorator has run; the Media service checks it through a
//    PhoneNumberCheck (see below) when given one.
//  - SendStream items are checked one by one inside the Messaging service
//    through SendStreamItemCheck: an out-of-scope item gets a
//    PERMISSION_DENIED result, the others proceed.
//  - Subscribe: requested phone_number_ids must all be in scope; an empty
//    list becomes the client's numbers when it is restricted, so a
//    restricted client receives the events of its numbers. Management
//    events without a phone number (template, quality, account updates)
//    reach a restricted client only for the WABAs in its `waba_ids`
//    (SubscribeScope), as the Templates and Accounts services would: a
//    client scoped to phone numbers alone gets none. A restricted client
//    with no number in scope is refused.
//  - Consumer groups are per client: with authentication on, Subscribe and
//    Ack use the group "<client name>/<group>", so one client can neither
//    join nor acknowledge another client's group.
//  - Templates RPCs are scoped by their waba_id (required for a restricted
//    client); the Templates service then checks that a template_id belongs
//    to that WABA (resources/template_owners.h).
#ifndef WAGATE_SERVICE_AUTH_AUTHORIZED_SERVICES_H_
#define WAGATE_SERVICE_AUTH_AUTHORIZED_SERVICES_H_

#include <functional>
#include <memory>

#include "service/auth/api_keys.h"
#include "service/events/events_api.h"
#include "wagate/v1/accounts.grpc.pb.h"
#include "wagate/v1/events.grpc.pb.h"
#include "wagate/v1/media.grpc.pb.h"
#include "wagate/v1/messaging.grpc.pb.h"
#include "wagate/v1/phone_numbers.grpc.pb.h"
#include "wagate/v1/templates.grpc.pb.h"

namespace wagate::auth {

// Per-item check for streams whose items carry the phone_number_id: OK or
// the UNAUTHENTICATED / PERMISSION_DENIED status for that item.
using PhoneNumberCheck = std::function<absl::Status(
    grpc::CallbackServerContext* context, const std::string& phone_number_id)>;

// The check for SendStream items and UploadMedia's first message: the
// caller's key must be valid and the phone number in its scope.
PhoneNumberCheck MakePhoneNumberCheck(std::shared_ptr<const ApiKeys> keys);

// The caller's client identity for what must be kept apart per client
// (MessagingService::Options::client_identity: idempotency keys): the name
// of the client owning the call's API key; "" when authentication is off
// or the call carries no valid key (the decorators refuse those first).
using ClientIdentity =
    std::function<std::string(grpc::CallbackServerContext* context)>;
ClientIdentity MakeClientIdentity(std::shared_ptr<const ApiKeys> keys);

// Admission of Subscribe streams (EventsServiceOptions::admit_subscriber):
// at most `per_key` open at once per client key (per client name), else
// RESOURCE_EXHAUSTED naming the limit. The returned token holds the slot
// until it is destroyed. Callers without a key (authentication off) share
// one budget.
using SubscriberAdmission = std::function<absl::StatusOr<std::shared_ptr<void>>(
    grpc::CallbackServerContext* context)>;
SubscriberAdmission MakeSubscriberLimit(std::shared_ptr<const ApiKeys> keys,
                                        int per_key);

class AuthorizedMessaging : public v1::Messaging::CallbackService {
 public:
  AuthorizedMessaging(std::shared_ptr<const ApiKeys> keys,
                      std::unique_ptr<v1::Messaging::CallbackService> inner);
  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context,
                                 const v1::SendRequest* request,
                                 v1::SendResponse* response) override;
  grpc::ServerBidiReactor<v1::SendRequest, v1::SendResult>* SendStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* MarkRead(grpc::CallbackServerContext* context,
                                     const v1::MarkReadRequest* request,
                                     v1::MarkReadResponse* response) override;

 private:
  std::shared_ptr<const ApiKeys> keys_;
  std::unique_ptr<v1::Messaging::CallbackService> inner_;
};

class AuthorizedEvents : public events::EventsApi {
 public:
  // `inner` must copy what it needs of a Subscribe/Ack request before
  // returning (EventsService does): the decorator passes a scoped copy that
  // lives only during the call.
  AuthorizedEvents(std::shared_ptr<const ApiKeys> keys,
                   std::unique_ptr<events::EventsApi> inner);
  SubscribeWriter* SubscribeParsed(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest& request,
      const events::SubscribeScope& scope) override;
  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* context,
                                const v1::AckRequest* request,
                                v1::AckResponse* response) override;

 private:
  std::shared_ptr<const ApiKeys> keys_;
  std::unique_ptr<events::EventsApi> inner_;
};

#define WAGATE_AUTH_UNARY_DECL(Rpc)                                   \
  grpc::ServerUnaryReactor* Rpc(grpc::CallbackServerContext* context, \
                                const v1::Rpc##Request* request,      \
                                v1::Rpc##Response* response) override;

class AuthorizedTemplates : public v1::Templates::CallbackService {
 public:
  AuthorizedTemplates(std::shared_ptr<const ApiKeys> keys,
                      std::unique_ptr<v1::Templates::CallbackService> inner);
  WAGATE_AUTH_UNARY_DECL(ListTemplates)
  WAGATE_AUTH_UNARY_DECL(GetTemplate)
  WAGATE_AUTH_UNARY_DECL(CreateTemplate)
  WAGATE_AUTH_UNARY_DECL(UpdateTemplate)
  WAGATE_AUTH_UNARY_DECL(DeleteTemplate)

 private:
  std::shared_ptr<const ApiKeys> keys_;
  std::unique_ptr<v1::Templates::CallbackService> inner_;
};

class AuthorizedPhoneNumbers : public v1::PhoneNumbers::CallbackService {
 public:
  AuthorizedPhoneNumbers(
      std::shared_ptr<const ApiKeys> keys,
      std::unique_ptr<v1::PhoneNumbers::CallbackService> inner);
  WAGATE_AUTH_UNARY_DECL(ListPhoneNumbers)
  WAGATE_AUTH_UNARY_DECL(GetPhoneNumber)
  WAGATE_AUTH_UNARY_DECL(RegisterPhoneNumber)
  WAGATE_AUTH_UNARY_DECL(DeregisterPhoneNumber)
  WAGATE_AUTH_UNARY_DECL(RequestVerificationCode)
  WAGATE_AUTH_UNARY_DECL(VerifyCode)
  WAGATE_AUTH_UNARY_DECL(GetBusinessProfile)
  WAGATE_AUTH_UNARY_DECL(UpdateBusinessProfile)

 private:
  std::shared_ptr<const ApiKeys> keys_;
  std::unique_ptr<v1::PhoneNumbers::CallbackService> inner_;
};

class AuthorizedMedia : public v1::Media::CallbackService {
 public:
  AuthorizedMedia(std::shared_ptr<const ApiKeys> keys,
                  std::unique_ptr<v1::Media::CallbackService> inner);
  grpc::ServerReadReactor<v1::UploadMediaRequest>* UploadMedia(
      grpc::CallbackServerContext* context,
      v1::UploadMediaResponse* response) override;
  WAGATE_AUTH_UNARY_DECL(GetMedia)
  grpc::ServerWriteReactor<v1::DownloadMediaResponse>* DownloadMedia(
      grpc::CallbackServerContext* context,
      const v1::DownloadMediaRequest* request) override;
  WAGATE_AUTH_UNARY_DECL(DeleteMedia)

 private:
  std::shared_ptr<const ApiKeys> keys_;
  std::unique_ptr<v1::Media::CallbackService> inner_;
};

class AuthorizedAccounts : public v1::Accounts::CallbackService {
 public:
  AuthorizedAccounts(std::shared_ptr<const ApiKeys> keys,
                     std::unique_ptr<v1::Accounts::CallbackService> inner);
  WAGATE_AUTH_UNARY_DECL(SubscribeApp)
  WAGATE_AUTH_UNARY_DECL(UnsubscribeApp)
  WAGATE_AUTH_UNARY_DECL(ListSubscribedApps)
  WAGATE_AUTH_UNARY_DECL(BlockUsers)
  WAGATE_AUTH_UNARY_DECL(UnblockUsers)
  WAGATE_AUTH_UNARY_DECL(ListBlockedUsers)

 private:
  std::shared_ptr<const ApiKeys> keys_;
  std::unique_ptr<v1::Accounts::CallbackService> inner_;
};

#undef WAGATE_AUTH_UNARY_DECL

}  // namespace wagate::auth

#endif  // WAGATE_SERVICE_AUTH_AUTHORIZED_SERVICES_H_
