// The floor of gRPC fan-out on this machine, measured beside e2e: a trivial
// Subscribe server that writes events it is handed (encoded once) to every
// open stream, one write in flight per stream with the rest queued and
// buffered — the same write discipline as the gateway, without the event
// log, filters or catch-up. e2e's subscribers read from it exactly as they
// read from the gateway, so the ratio of the two says what wagate's
// fan-out costs beyond gRPC's own.
//
//   auto ref = FanoutReference::Start();
//   ... connect N subscribers to (*ref)->target(), wait for streams() == N
//   (*ref)->Publish({event_bytes, ...});
#ifndef WAGATE_BENCH_FANOUT_REFERENCE_H_
#define WAGATE_BENCH_FANOUT_REFERENCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace wagate::bench {

class FanoutReference {
 public:
  using EventBytes = std::shared_ptr<const grpc::ByteBuffer>;

  // Listens on 127.0.0.1 (a free port).
  static absl::StatusOr<std::unique_ptr<FanoutReference>> Start();
  ~FanoutReference();

  std::string target() const;
  // Subscribe streams open now.
  size_t streams() const;
  // Queues `events` on every open stream, in order.
  void Publish(const std::vector<EventBytes>& events);

  class Impl;

 private:
  explicit FanoutReference(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wagate::bench

#endif  // WAGATE_BENCH_FANOUT_REFERENCE_H_
