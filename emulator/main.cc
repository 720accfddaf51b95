// wagate-emulator: runs the emulated Cloud API until SIGINT/SIGTERM.
//
//   wagate-emulator --address=127.0.0.1:8090 --access_token=dev \
//     --webhook_url=http://127.0.0.1:8080/webhook --app_secret=s3cret
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "emulator/emulator.h"
#include "service/common/log.h"

ABSL_FLAG(std::string, address, "127.0.0.1:8090", "host:port to serve on");
ABSL_FLAG(std::string, webhook_url, "",
          "where webhooks are POSTed; empty: no webhooks");
ABSL_FLAG(std::string, app_secret, "", "signs webhooks (X-Hub-Signature-256)");
ABSL_FLAG(std::string, access_token, "",
          "accepted bearer tokens, comma-separated; empty: any token");
ABSL_FLAG(std::string, waba_id, "102290129340398", "the WABA id");
ABSL_FLAG(std::string, phone_number_ids, "106540352242922",
          "the WABA's phone number ids, comma-separated");
ABSL_FLAG(double, throughput_mps, 80,
          "messages per second per number (130429 beyond); <= 0: unlimited");
ABSL_FLAG(std::string, latency, "0",
          "answer delay: 0, 5ms, or lognormal:median=200ms,p99=2s");
ABSL_FLAG(uint64_t, seed, 1, "seed of every random choice");
ABSL_FLAG(int, threads, 2, "threads running the server and webhook client");
ABSL_FLAG(bool, pair_rate_limit, true,
          "enforce 1 message per 6 s per user with bursts of 45 (131056)");
ABSL_FLAG(bool, enforce_window, false,
          "refuse non-template messages outside the 24 h window (131047)");
ABSL_FLAG(absl::Duration, sent_delay, absl::ZeroDuration(),
          "delay before the sent status");
ABSL_FLAG(absl::Duration, delivered_delay, absl::Milliseconds(10),
          "delay between sent and delivered");
ABSL_FLAG(absl::Duration, read_delay, absl::Milliseconds(10),
          "delay between delivered and read");
ABSL_FLAG(double, delivered_probability, 1.0, "chance of a delivered status");
ABSL_FLAG(double, read_probability, 1.0, "chance of a read after delivered");
ABSL_FLAG(std::string, failed_recipients, "",
          "wa_ids whose messages fail (131026), comma-separated");
ABSL_FLAG(int, webhook_concurrency, 64, "webhook POSTs in flight");
ABSL_FLAG(int, webhook_batch, 1, "changes per webhook POST");
ABSL_FLAG(absl::Duration, webhook_batch_linger, absl::Milliseconds(5),
          "with batching, how long a partial batch waits for more changes");
ABSL_FLAG(absl::Duration, webhook_retry_initial, absl::Milliseconds(500),
          "first redelivery delay (doubles each attempt)");
ABSL_FLAG(absl::Duration, webhook_retry_max, absl::Seconds(60),
          "longest redelivery delay");
ABSL_FLAG(int, webhook_max_attempts, 12, "attempts before a POST is dropped");
ABSL_FLAG(absl::Duration, template_approval_delay, absl::Seconds(1),
          "created templates turn APPROVED after this");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "A local stand-in for Meta's WhatsApp Cloud API (see "
      "emulator/README.md)");
  absl::ParseCommandLine(argc, argv);
  using wagate::emulator::SplitList;
  wagate::log::Level level;
  if (!wagate::log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "--log_level: unknown level\n");
    return 2;
  }
  wagate::log::SetMinLevel(level);

  wagate::emulator::EmulatorOptions o;
  o.address = absl::GetFlag(FLAGS_address);
  o.webhook_url = absl::GetFlag(FLAGS_webhook_url);
  o.app_secret = absl::GetFlag(FLAGS_app_secret);
  o.access_tokens = SplitList(absl::GetFlag(FLAGS_access_token));
  o.waba_id = absl::GetFlag(FLAGS_waba_id);
  o.phone_number_ids = SplitList(absl::GetFlag(FLAGS_phone_number_ids));
  o.throughput_mps = absl::GetFlag(FLAGS_throughput_mps);
  o.latency = absl::GetFlag(FLAGS_latency);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.pair_rate_limit = absl::GetFlag(FLAGS_pair_rate_limit);
  o.enforce_window = absl::GetFlag(FLAGS_enforce_window);
  o.sent_delay = absl::GetFlag(FLAGS_sent_delay);
  o.delivered_delay = absl::GetFlag(FLAGS_delivered_delay);
  o.read_delay = absl::GetFlag(FLAGS_read_delay);
  o.delivered_probability = absl::GetFlag(FLAGS_delivered_probability);
  o.read_probability = absl::GetFlag(FLAGS_read_probability);
  o.failed_recipients = SplitList(absl::GetFlag(FLAGS_failed_recipients));
  o.webhook_concurrency = absl::GetFlag(FLAGS_webhook_concurrency);
  o.webhook_batch = absl::GetFlag(FLAGS_webhook_batch);
  o.webhook_batch_linger = absl::GetFlag(FLAGS_webhook_batch_linger);
  o.webhook_retry_initial = absl::GetFlag(FLAGS_webhook_retry_initial);
  o.webhook_retry_max = absl::GetFlag(FLAGS_webhook_retry_max);
  o.webhook_max_attempts = absl::GetFlag(FLAGS_webhook_max_attempts);
  o.template_approval_delay = absl::GetFlag(FLAGS_template_approval_delay);

  boost::asio::io_context io(o.threads);
  wagate::emulator::Emulator emulator(io, o);
  absl::Status s = emulator.Start();
  if (!s.ok()) {
    wagate::log::Error("emulator", "cannot start", {{"error", s.ToString()}});
    return 1;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    wagate::log::Info("emulator", "stopping");
    emulator.Stop();
    io.stop();
  });
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, o.threads); ++i) {
    threads.emplace_back([&io] { io.run(); });
  }
  io.run();
  for (auto& t : threads) t.join();
  return 0;
}
