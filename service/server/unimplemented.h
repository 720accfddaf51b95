// Placeholders for the services whose implementation has not landed yet. Each
// is registered (so reflection and grpcurl show the whole API) and answers
// every RPC with UNIMPLEMENTED and a message saying what is missing, instead
// of gRPC's bare "unimplemented".
#ifndef WAGATE_SERVICE_SERVER_UNIMPLEMENTED_H_
#define WAGATE_SERVICE_SERVER_UNIMPLEMENTED_H_

#include <string>

#include "grpcpp/grpcpp.h"
#include "wagate/v1/accounts.grpc.pb.h"
#include "wagate/v1/events.grpc.pb.h"
#include "wagate/v1/media.grpc.pb.h"
#include "wagate/v1/messaging.grpc.pb.h"
#include "wagate/v1/phone_numbers.grpc.pb.h"
#include "wagate/v1/templates.grpc.pb.h"

namespace wagate::server {

// The status every placeholder RPC answers with.
grpc::Status UnimplementedStatus(const char* service, const char* rpc);

namespace internal {

grpc::ServerUnaryReactor* RejectUnary(grpc::CallbackServerContext* context,
                                      const char* service, const char* rpc);

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

}  // namespace internal

#define WAGATE_REJECT_UNARY(Service, Rpc, Req, Resp)                           \
  grpc::ServerUnaryReactor* Rpc(grpc::CallbackServerContext* context,          \
                                const ::wagate::v1::Req*, ::wagate::v1::Resp*) \
      override {                                                               \
    return internal::RejectUnary(context, "wagate.v1." #Service, #Rpc);        \
  }

class UnimplementedMessaging : public v1::Messaging::CallbackService {
  WAGATE_REJECT_UNARY(Messaging, Send, SendRequest, SendResponse)
  WAGATE_REJECT_UNARY(Messaging, MarkRead, MarkReadRequest, MarkReadResponse)
  grpc::ServerBidiReactor<v1::SendRequest, v1::SendResult>* SendStream(
      grpc::CallbackServerContext*) override {
    return new internal::RejectBidi<v1::SendRequest, v1::SendResult>(
        UnimplementedStatus("wagate.v1.Messaging", "SendStream"));
  }
};

class UnimplementedEvents : public v1::Events::CallbackService {
  WAGATE_REJECT_UNARY(Events, Ack, AckRequest, AckResponse)
  grpc::ServerWriteReactor<v1::Event>* Subscribe(
      grpc::CallbackServerContext*, const v1::SubscribeRequest*) override {
    return new internal::RejectWriter<v1::Event>(
        UnimplementedStatus("wagate.v1.Events", "Subscribe"));
  }
};

class UnimplementedTemplates : public v1::Templates::CallbackService {
  WAGATE_REJECT_UNARY(Templates, ListTemplates, ListTemplatesRequest,
                      ListTemplatesResponse)
  WAGATE_REJECT_UNARY(Templates, GetTemplate, GetTemplateRequest,
                      GetTemplateResponse)
  WAGATE_REJECT_UNARY(Templates, CreateTemplate, CreateTemplateRequest,
                      CreateTemplateResponse)
  WAGATE_REJECT_UNARY(Templates, UpdateTemplate, UpdateTemplateRequest,
                      UpdateTemplateResponse)
  WAGATE_REJECT_UNARY(Templates, DeleteTemplate, DeleteTemplateRequest,
                      DeleteTemplateResponse)
};

class UnimplementedPhoneNumbers : public v1::PhoneNumbers::CallbackService {
  WAGATE_REJECT_UNARY(PhoneNumbers, ListPhoneNumbers, ListPhoneNumbersRequest,
                      ListPhoneNumbersResponse)
  WAGATE_REJECT_UNARY(PhoneNumbers, GetPhoneNumber, GetPhoneNumberRequest,
                      GetPhoneNumberResponse)
  WAGATE_REJECT_UNARY(PhoneNumbers, RegisterPhoneNumber,
                      RegisterPhoneNumberRequest, RegisterPhoneNumberResponse)
  WAGATE_REJECT_UNARY(PhoneNumbers, DeregisterPhoneNumber,
                      DeregisterPhoneNumberRequest,
                      DeregisterPhoneNumberResponse)
  WAGATE_REJECT_UNARY(PhoneNumbers, RequestVerificationCode,
                      RequestVerificationCodeRequest,
                      RequestVerificationCodeResponse)
  WAGATE_REJECT_UNARY(PhoneNumbers, VerifyCode, VerifyCodeRequest,
                      VerifyCodeResponse)
  WAGATE_REJECT_UNARY(PhoneNumbers, GetBusinessProfile,
                      GetBusinessProfileRequest, GetBusinessProfileResponse)
  WAGATE_REJECT_UNARY(PhoneNumbers, UpdateBusinessProfile,
                      UpdateBusinessProfileRequest,
                      UpdateBusinessProfileResponse)
};

class UnimplementedMedia : public v1::Media::CallbackService {
  WAGATE_REJECT_UNARY(Media, GetMedia, GetMediaRequest, GetMediaResponse)
  WAGATE_REJECT_UNARY(Media, DeleteMedia, DeleteMediaRequest,
                      DeleteMediaResponse)
  grpc::ServerReadReactor<v1::UploadMediaRequest>* UploadMedia(
      grpc::CallbackServerContext*, v1::UploadMediaResponse*) override {
    return new internal::RejectReader<v1::UploadMediaRequest>(
        UnimplementedStatus("wagate.v1.Media", "UploadMedia"));
  }
  grpc::ServerWriteReactor<v1::DownloadMediaResponse>* DownloadMedia(
      grpc::CallbackServerContext*, const v1::DownloadMediaRequest*) override {
    return new internal::RejectWriter<v1::DownloadMediaResponse>(
        UnimplementedStatus("wagate.v1.Media", "DownloadMedia"));
  }
};

class UnimplementedAccounts : public v1::Accounts::CallbackService {
  WAGATE_REJECT_UNARY(Accounts, SubscribeApp, SubscribeAppRequest,
                      SubscribeAppResponse)
  WAGATE_REJECT_UNARY(Accounts, UnsubscribeApp, UnsubscribeAppRequest,
                      UnsubscribeAppResponse)
  WAGATE_REJECT_UNARY(Accounts, ListSubscribedApps, ListSubscribedAppsRequest,
                      ListSubscribedAppsResponse)
  WAGATE_REJECT_UNARY(Accounts, BlockUsers, BlockUsersRequest,
                      BlockUsersResponse)
  WAGATE_REJECT_UNARY(Accounts, UnblockUsers, UnblockUsersRequest,
                      UnblockUsersResponse)
  WAGATE_REJECT_UNARY(Accounts, ListBlockedUsers, ListBlockedUsersRequest,
                      ListBlockedUsersResponse)
};

#undef WAGATE_REJECT_UNARY

}  // namespace wagate::server

#endif  // WAGATE_SERVICE_SERVER_UNIMPLEMENTED_H_
