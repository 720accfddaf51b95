// wagate.v1.Messaging over the gRPC callback API: Send and MarkRead are unary
// reactors, SendStream a bidi reactor; all three run the Sender's path
// (validate → account → idempotency → pacer → Graph) without blocking a
// thread per call.
//
// SendStream is flow-controlled: it reads the next request only while fewer
// than `max_stream_in_flight` of its requests are unfinished (being sent, or
// finished with the result not yet written), so a client pushing 100,000
// requests is held back by HTTP/2 flow control instead of filling memory or
// flooding Graph. One write is in flight at a time; finished results queue
// behind it. Results come in completion order, each with the request's
// `index` (0-based) and `idempotency_key`. The stream ends (OK) after the
// client half-closes and every result is written; if the client cancels,
// requests already started run to completion (they may have reached Meta)
// and their results are dropped.
//
// A phone_number_id the accounts do not serve is refused with
// FAILED_PRECONDITION naming it, before any HTTP call.
//
//   Sender sender(io, graph, accounts, store->idempotency_keys(), {});
//   MessagingService service(sender, MessagingService::Options{});
//   builder.RegisterService(&service);
#ifndef WAGATE_SERVICE_MESSAGING_MESSAGING_SERVICE_H_
#define WAGATE_SERVICE_MESSAGING_MESSAGING_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/messaging/sender.h"
#include "service/metrics/gateway_metrics.h"
#include "wagate/v1/messaging.grpc.pb.h"

namespace wagate::messaging {

struct StreamStats {
  uint64_t streams_open = 0;
  uint64_t requests_in_flight = 0;  // across streams: the SendStream backlog
  uint64_t results_queued = 0;      // finished, waiting to be written
};

class MessagingService final : public wagate::v1::Messaging::CallbackService {
 public:
  struct Options {
    // Unfinished requests per SendStream before it stops reading.
    int max_stream_in_flight = 1000;
    // Deadline of each stream request (the stream's own deadline, if
    // earlier, wins): the time it may wait for pacing plus the Graph call.
    absl::Duration stream_request_timeout = absl::Minutes(2);
    // wagate_send_stream_backlog goes here; null: nowhere.
    metrics::GatewayMetrics* metrics = nullptr;
    // Checks each SendStream item's phone_number_id before it is sent (the
    // caller's scope, see service/auth): a non-OK status becomes that item's
    // result and the item is not sent. Null: no check.
    std::function<absl::Status(grpc::CallbackServerContext*,
                               const std::string& phone_number_id)>
        stream_item_check;
    // The calling client's identity, which scopes idempotency keys (one
    // client can neither replay nor block another's key): the API key's
    // client name (auth::MakeClientIdentity). Asked once per Send and once
    // per SendStream (its items share the call's key). Null: "" for all.
    std::function<std::string(grpc::CallbackServerContext*)> client_identity;
  };

  MessagingService(Sender& sender, Options options);
  ~MessagingService() override;

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context,
                                 const wagate::v1::SendRequest* request,
                                 wagate::v1::SendResponse* response) override;
  grpc::ServerBidiReactor<wagate::v1::SendRequest, wagate::v1::SendResult>*
  SendStream(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* MarkRead(
      grpc::CallbackServerContext* context,
      const wagate::v1::MarkReadRequest* request,
      wagate::v1::MarkReadResponse* response) override;

  StreamStats stream_stats() const;

 private:
  class StreamReactor;

  std::string ClientOf(grpc::CallbackServerContext* context) const {
    return options_.client_identity ? options_.client_identity(context) : "";
  }

  Sender& sender_;
  const Options options_;
  std::atomic<uint64_t> streams_open_{0};
  std::atomic<uint64_t> stream_in_flight_{0};
  std::atomic<uint64_t> stream_results_queued_{0};
};

// The call's deadline as absl::Time (InfiniteFuture when none).
absl::Time DeadlineOf(const grpc::CallbackServerContext& context);

}  // namespace wagate::messaging

#endif  // WAGATE_SERVICE_MESSAGING_MESSAGING_SERVICE_H_
