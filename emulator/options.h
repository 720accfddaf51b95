// The emulator's configuration: the account it starts with, Meta's limits,
// and how its simulated users and webhooks behave. Shared by the library
// (wagate --sandbox fills it in code) and the executable (flags.cc).
#ifndef WAGATE_EMULATOR_OPTIONS_H_
#define WAGATE_EMULATOR_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace wagate::emulator {

struct EmulatorOptions {
  std::string address = "127.0.0.1:8090";
  std::string webhook_url;                 // empty: no webhooks
  std::string app_secret;                  // signs webhooks
  std::vector<std::string> access_tokens;  // accepted bearer tokens; empty:
                                           // any non-empty token
  std::string waba_id = "102290129340398";
  std::vector<std::string> phone_number_ids = {"106540352242922"};
  double throughput_mps = 80;  // per number; <= 0: unlimited
  std::string latency = "0";   // "0", "5ms", "lognormal:median=200ms,p99=2s"
  uint64_t seed = 1;

  // Threads running the io_context in the executable (the library runs on
  // the caller's io_context).
  int threads = 2;

  // Pair rate (131056): 1 message per `pair_interval` to one user, with
  // bursts of up to `pair_burst`. Off for load tests that hammer one user.
  bool pair_rate_limit = true;
  int pair_burst = 45;
  absl::Duration pair_interval = absl::Seconds(6);

  // 24 h customer-service window (131047). Off by default so a sandbox user
  // can send free-form messages without first faking an inbound message;
  // when on, only users who messaged in the last 24 h (inbound injected with
  // the control API) get non-template messages.
  bool enforce_window = false;

  // Simulated delivery: delays after acceptance (sent) and between statuses,
  // and the chance that a message is delivered and then read.
  absl::Duration sent_delay = absl::ZeroDuration();
  absl::Duration delivered_delay = absl::Milliseconds(10);
  absl::Duration read_delay = absl::Milliseconds(10);
  double delivered_probability = 1.0;
  double read_probability = 1.0;
  // Recipients (wa_id) whose messages fail with 131026 after acceptance.
  std::vector<std::string> failed_recipients;

  // Webhook delivery.
  int webhook_concurrency = 64;  // POSTs in flight
  int webhook_batch = 1;         // changes per POST (Meta batches up to 1000)
  // With batching, how long a partial batch waits for more changes.
  absl::Duration webhook_batch_linger = absl::Milliseconds(5);
  absl::Duration webhook_timeout = absl::Seconds(10);
  absl::Duration webhook_retry_initial = absl::Milliseconds(500);
  absl::Duration webhook_retry_max = absl::Seconds(60);
  int webhook_max_attempts = 12;  // then dropped (Meta: after 36 h / 7 days)

  // Media download URLs (GET /{media_id}) stop working after this.
  absl::Duration media_url_ttl = absl::Minutes(5);

  // Templates created through the API turn APPROVED after this delay.
  absl::Duration template_approval_delay = absl::Seconds(1);
};

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_OPTIONS_H_
