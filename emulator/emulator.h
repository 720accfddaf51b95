// wagate-emulator: a local stand-in for Meta's WhatsApp Cloud API. It serves
// the Graph API endpoints wagate uses with Meta's validation, limits and
// error envelope, simulates delivery by POSTing signed status webhooks, and
// exposes a control API under /_emulator/ (inbound messages, events,
// faults, counters, reset; see emulator/README.md).
//
// The executable (main.cc) runs it on its own; `wagate --sandbox` and tests
// embed it on the caller's io_context:
//
//   EmulatorOptions options;
//   options.address = "127.0.0.1:0";
//   options.webhook_url = "http://127.0.0.1:8080/webhook";
//   options.app_secret = "secret";
//   options.access_tokens = {"token"};
//   Emulator emulator(io, options);
//   absl::Status s = emulator.Start();  // emulator.base_url() is ready
//   ... run io ...
//   emulator.Stop();
#ifndef WAGATE_EMULATOR_EMULATOR_H_
#define WAGATE_EMULATOR_EMULATOR_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "emulator/graph_api.h"
#include "emulator/life_guard.h"
#include "emulator/options.h"
#include "emulator/state.h"
#include "emulator/webhook_sender.h"
#include "service/http/server.h"

namespace wagate::emulator {

class Emulator {
 public:
  // `io` runs the server, the webhook client and the timers; it may be run by
  // several threads. Options are checked by Start.
  Emulator(boost::asio::io_context& io, EmulatorOptions options);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Validates the options and binds options.address (port 0 picks one).
  absl::Status Start();
  // The bound port, after Start.
  int port() const;
  // "http://127.0.0.1:PORT".
  std::string base_url() const;
  // Stops serving and sending webhooks. Safe to call twice.
  void Stop();

  State& state() { return *state_; }
  WebhookStats webhook_stats() const { return sender_->stats(); }

 private:
  void HandleGraph(http::Request request, http::Responder respond);
  void HandleControl(http::Request request, http::Responder respond);
  void After(absl::Duration delay, std::function<void()> fn);
  void SimulateDelivery(const Accepted& accepted);
  // Queues a webhook unless the app was unsubscribed from the WABA
  // (DELETE /{WABA}/subscribed_apps), as Meta then sends none.
  void Emit(Change change, WebhookSender::Done done = nullptr);
  // Control API routes (control_api.cc).
  http::Response Control(const http::Request& request);

  boost::asio::io_context& io_;
  const EmulatorOptions options_;
  std::unique_ptr<State> state_;
  std::unique_ptr<WebhookSender> sender_;
  std::unique_ptr<GraphApi> graph_;
  std::unique_ptr<http::Server> server_;
  std::shared_ptr<LifeGuard> guard_;
  std::string host_;
};

// Parses comma-separated flag values ("a,b" → {"a","b"}; empty parts dropped).
std::vector<std::string> SplitList(absl::string_view text);

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_EMULATOR_H_
