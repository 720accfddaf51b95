// Delivers webhook changes to the configured URL as Meta does: each POST is
// signed (X-Hub-Signature-256 over the exact body), several POSTs are in
// flight at once, several changes may share one POST (batching), and any
// non-200 answer or transport error is retried with exponential backoff
// until `webhook_max_attempts`. Plain http:// URLs go through
// WebhookTransport (persistent connections, no per-POST timers); https://
// through http::Client (libcurl).
//
//   WebhookSender sender(io, options);
//   sender.Enqueue(StatusChange(meta, status), [] { /* acked or dropped */ });
//   WebhookStats s = sender.stats();
#ifndef WAGATE_EMULATOR_WEBHOOK_SENDER_H_
#define WAGATE_EMULATOR_WEBHOOK_SENDER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/io_context.hpp"
#include "emulator/life_guard.h"
#include "emulator/options.h"
#include "emulator/webhook_payloads.h"
#include "emulator/webhook_transport.h"
#include "service/http/client.h"

namespace wagate::emulator {

struct WebhookStats {
  uint64_t posted = 0;        // POST attempts, retries included
  uint64_t acknowledged = 0;  // POSTs answered 200
  uint64_t retried = 0;       // attempts after a failure
  uint64_t dropped = 0;       // POSTs given up after max attempts
  uint64_t duplicated = 0;    // extra copies sent by the duplicate fault
  uint64_t changes = 0;       // changes enqueued
  uint64_t pending = 0;       // changes not yet acknowledged or dropped
};

class WebhookSender {
 public:
  using Done = std::function<void()>;

  WebhookSender(boost::asio::io_context& io, const EmulatorOptions& options);
  ~WebhookSender();

  // False when no webhook URL is configured (Enqueue then only runs `done`).
  bool enabled() const { return !url_.empty(); }

  // Queues `change`; `done` runs (on an io thread) once its POST was
  // acknowledged or dropped, which lets callers keep statuses in order.
  void Enqueue(Change change, Done done = nullptr);

  // The duplicate-delivery fault: each POST is sent a second time with this
  // probability after it was acknowledged.
  void set_duplicate_rate(double rate);

  WebhookStats stats() const;
  void ResetStats();
  // Fails nothing: stops starting new POSTs and cancels retry timers.
  void Stop();

 private:
  struct Post;
  class Signer;
  // Starts POSTs while slots are free. With batching, a partial batch waits
  // up to webhook_batch_linger for more changes unless `flush`.
  void Pump(bool flush = false);
  void Send(std::shared_ptr<Post> post);
  void OnResult(std::shared_ptr<Post> post, int status);

  boost::asio::io_context& io_;
  const std::string url_;
  const std::string secret_;
  const EmulatorOptions options_;
  std::unique_ptr<const Signer> signer_;
  // Exactly one is set (when a URL is configured).
  std::unique_ptr<WebhookTransport> transport_;  // http://
  std::unique_ptr<http::Client> client_;         // https:// and the rest

  mutable absl::Mutex mu_;
  struct Item {
    Change change;
    Done done;
  };
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool linger_armed_ ABSL_GUARDED_BY(mu_) = false;
  double duplicate_rate_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rng_state_ ABSL_GUARDED_BY(mu_);
  WebhookStats stats_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<LifeGuard> guard_;  // callbacks run only while we live
};

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_WEBHOOK_SENDER_H_
