// The Events service as registered with gRPC: Ack typed, Subscribe raw.
//
// Subscribe writes events already encoded (grpc::ByteBuffer): one event is
// encoded once and the same bytes go to every stream that sends it, with no
// per-stream serialization. Its request arrives as bytes too; EventsApi
// parses it once and hands the typed request to SubscribeParsed, which is
// what implementations (EventsService) and decorators (auth's
// AuthorizedEvents, which scopes the request before passing it on)
// override. On the wire and in reflection nothing changes: clients see
// `rpc Subscribe(SubscribeRequest) returns (stream Event)`.
//
//   class MyEvents : public EventsApi {
//     SubscribeWriter* SubscribeParsed(grpc::CallbackServerContext* context,
//                                      const v1::SubscribeRequest& request)
//         override;
//     grpc::ServerUnaryReactor* Ack(...) override;
//   };
#ifndef WAGATE_SERVICE_EVENTS_EVENTS_API_H_
#define WAGATE_SERVICE_EVENTS_EVENTS_API_H_

#include <string>
#include <utility>

#include "grpcpp/grpcpp.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::events {

class EventsApi : public wagate::v1::Events::WithRawCallbackMethod_Subscribe<
                      wagate::v1::Events::WithCallbackMethod_Ack<
                          wagate::v1::Events::Service>> {
 public:
  // Writes encoded wagate.v1.Event messages.
  using SubscribeWriter = grpc::ServerWriteReactor<grpc::ByteBuffer>;

  // A stream that only finishes with `status` (refusals, bad requests).
  class RejectedSubscribe final : public SubscribeWriter {
   public:
    explicit RejectedSubscribe(grpc::Status status) {
      Finish(std::move(status));
    }
    void OnDone() override { delete this; }
  };

  // Subscribe with its request parsed.
  virtual SubscribeWriter* SubscribeParsed(
      grpc::CallbackServerContext* context,
      const wagate::v1::SubscribeRequest& request) = 0;

  SubscribeWriter* Subscribe(grpc::CallbackServerContext* context,
                             const grpc::ByteBuffer* request) final {
    wagate::v1::SubscribeRequest parsed;
    grpc::Slice bytes;
    if (request == nullptr || !request->DumpToSingleSlice(&bytes).ok() ||
        !parsed.ParseFromArray(bytes.begin(), static_cast<int>(bytes.size()))) {
      return new RejectedSubscribe(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       "request: not a wagate.v1.SubscribeRequest"));
    }
    return SubscribeParsed(context, parsed);
  }
};

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_EVENTS_API_H_
