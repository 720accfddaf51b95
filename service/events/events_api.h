// The Events service as registered with gRPC: Ack typed, Subscribe raw.
//
// Subscribe writes events already encoded (grpc::ByteBuffer): one event is
// encoded once and the same bytes go to every stream that sends it, with no
// per-stream serialization. Its request arrives as bytes too; EventsApi
// parses it once, checks the sizes of its lists, and hands the typed request
// to SubscribeParsed, which is what implementations (EventsService) and
// decorators (auth's AuthorizedEvents, which scopes the request before
// passing it on) override. On the wire and in reflection nothing changes:
// clients see `rpc Subscribe(SubscribeRequest) returns (stream Event)`.
//
// Alongside the request goes a SubscribeScope: what the caller may see
// beyond the request's own filters. Only decorators set it (the wire cannot):
// a call from the wire starts unrestricted.
//
//   class MyEvents : public EventsApi {
//     SubscribeWriter* SubscribeParsed(grpc::CallbackServerContext* context,
//                                      const v1::SubscribeRequest& request,
//                                      const SubscribeScope& scope) override;
//     grpc::ServerUnaryReactor* Ack(...) override;
//   };
#ifndef WAGATE_SERVICE_EVENTS_EVENTS_API_H_
#define WAGATE_SERVICE_EVENTS_EVENTS_API_H_

#include <functional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::events {

// The caller's scope for one Subscribe call, set by decorators.
struct SubscribeScope {
  // Number-less events (template, quality, account updates: a waba_id and
  // no phone_number_id) are delivered only if this accepts their WABA; null
  // = any WABA. A decorator narrowing the scope wraps the predicate it got.
  std::function<bool(absl::string_view waba_id)> may_see_waba;
};

class EventsApi : public wagate::v1::Events::WithRawCallbackMethod_Subscribe<
                      wagate::v1::Events::WithCallbackMethod_Ack<
                          wagate::v1::Events::Service>> {
 public:
  // Writes encoded wagate.v1.Event messages.
  using SubscribeWriter = grpc::ServerWriteReactor<grpc::ByteBuffer>;

  // Distinct entries at most in SubscribeRequest.phone_number_ids, and in
  // kinds; more is INVALID_ARGUMENT naming the field. Duplicates count once.
  static constexpr size_t kMaxFilterEntries = 256;

  // A stream that only finishes with `status` (refusals, bad requests).
  class RejectedSubscribe final : public SubscribeWriter {
   public:
    explicit RejectedSubscribe(grpc::Status status) {
      Finish(std::move(status));
    }
    void OnDone() override { delete this; }
  };

  // OK, or INVALID_ARGUMENT naming the list with more than
  // kMaxFilterEntries distinct entries.
  static grpc::Status CheckFilterSizes(
      const wagate::v1::SubscribeRequest& request) {
    auto too_many = [](const char* field) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat(field, ": more than ", kMaxFilterEntries,
                       " distinct entries; subscribe with fewer (or none: "
                       "all the caller may see) and filter on the client"));
    };
    // Counted distinct, stopping as soon as the limit is passed.
    std::set<absl::string_view> numbers;
    for (const std::string& number : request.phone_number_ids()) {
      numbers.insert(number);
      if (numbers.size() > kMaxFilterEntries) {
        return too_many("phone_number_ids");
      }
    }
    std::set<int> kinds;
    for (int kind : request.kinds()) {
      kinds.insert(kind);
      if (kinds.size() > kMaxFilterEntries) return too_many("kinds");
    }
    return grpc::Status::OK;
  }

  // Subscribe with its request parsed and checked.
  virtual SubscribeWriter* SubscribeParsed(
      grpc::CallbackServerContext* context,
      const wagate::v1::SubscribeRequest& request,
      const SubscribeScope& scope) = 0;

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
    // The client's lists, before a decorator fills in the numbers of a
    // client's scope (which may be more: the config's business, not the
    // client's).
    grpc::Status sizes = CheckFilterSizes(parsed);
    if (!sizes.ok()) return new RejectedSubscribe(std::move(sizes));
    return SubscribeParsed(context, parsed, SubscribeScope());
  }
};

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_EVENTS_API_H_
