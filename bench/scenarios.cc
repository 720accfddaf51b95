#include "bench/scenarios.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/harness.h"
#include "service/common/json_writer.h"

namespace wagate::bench {
namespace {

absl::Duration RefDuration(const ScenarioFlags& flags) {
  if (flags.ref_duration > absl::ZeroDuration()) return flags.ref_duration;
  return std::min(flags.duration, absl::Seconds(15));
}

// Pair limit (1 per 6 s, burst 45) per (number, recipient): over `seconds`
// at `per_number_rate`, a pair may take 45 + seconds/6 messages, so each
// number needs rate·seconds / (45 + seconds/6) recipients, sent round robin
// (evenly spaced per pair). 25% headroom for scheduling jitter.
int RecipientsPerNumber(double per_number_rate, double seconds) {
  double need = per_number_rate * seconds / (45.0 + seconds / 6.0);
  return std::max(10, static_cast<int>(std::ceil(need * 1.25)));
}

// A recipient wa_id: country 1, area `area`, subscriber `n` (7 digits).
std::string Recipient(int area, uint64_t n) {
  return absl::StrFormat("1%03d%07d", area, n % 10000000);
}

// Message i of a run: number i % numbers, recipient (i / numbers) % recipients
// — consecutive messages of one pair are numbers·recipients apart.
void FillSend(const std::vector<std::string>& numbers, int recipients, int area,
              uint64_t i, v1::SendRequest* request) {
  request->set_phone_number_id(numbers[i % numbers.size()]);
  request->set_to(Recipient(area, (i / numbers.size()) % recipients));
  request->set_biz_opaque_callback_data(absl::StrCat(i));
  request->mutable_text()->set_body(
      "Your order #4821 has shipped and will arrive on Tuesday.");
}

void MergeErrors(const LoadResult& load, Result* result) {
  for (const auto& [code, n] : load.errors) result->errors[code] += n;
}

Result FromLoad(const std::string& scenario, const LoadResult& load) {
  Result r;
  r.scenario = scenario;
  r.achieved_rate = load.achieved_rate;
  r.duration_s = load.elapsed_s;
  r.total = load.started;
  MergeErrors(load, &r);
  r.latency = load.latency;
  r.per_second = load.per_second;
  return r;
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

// The emulator's own time at this rate: the same Graph POSTs sent straight
// to it (no gateway) by the same kind of client the gateway uses.
LoadResult EmulatorDirect(Env& env, const Load& load, int recipients) {
  const std::vector<std::string>& numbers = env.phone_number_ids();
  const std::string base = env.graph_url();
  return RunHttpLoad(load, 64, 1, [&](uint64_t i, http::ClientRequest* req) {
    req->method = "POST";
    req->url =
        absl::StrCat(base, "/v24.0/", numbers[i % numbers.size()], "/messages");
    req->headers = {{"Authorization", absl::StrCat("Bearer ", kToken)},
                    {"Content-Type", "application/json"}};
    req->body = absl::StrCat(
        R"({"messaging_product":"whatsapp","recipient_type":"individual","to":")",
        Recipient(651, (i / numbers.size()) % recipients),
        R"(","type":"text","text":{"body":"Your order #4821 has shipped and will arrive on Tuesday."}})");
    return 1;
  });
}

absl::StatusOr<Result> SendRate(const ScenarioFlags& flags) {
  const double rate = flags.rate;
  const double seconds = absl::ToDoubleSeconds(flags.duration);
  // Meta's upgraded numbers take 1,000 mps; offer each at most half of it.
  const int numbers =
      flags.numbers > 0 ? flags.numbers
                        : std::max(4, static_cast<int>(std::ceil(rate / 500)));
  const int recipients = RecipientsPerNumber(rate / numbers, seconds);
  const absl::Duration ref = RefDuration(flags);

  // Reference 1: the echo server under the same open loop.
  LoadResult echo;
  {
    auto server = EchoServer::Start();
    if (!server.ok()) return server.status();
    std::vector<std::string> ids = {"106540352241000"};
    echo = RunSendLoad((*server)->target(), Load::Open(rate, ref),
                       flags.channels, [&](uint64_t i, v1::SendRequest* req) {
                         FillSend(ids, recipients, 650, i, req);
                       });
  }

  EnvOptions options;
  options.numbers = numbers;
  options.throughput_mps = 1000;
  options.gateway_address = flags.gateway_address;
  options.phone_number_ids = flags.phone_number_ids;
  auto env = Env::Start(options);
  if (!env.ok()) return env.status();

  // Reference 2: the emulator alone (its own time, for added latency).
  LoadResult direct;
  bool has_direct = (*env)->emulator() != nullptr;
  if (has_direct) {
    direct = EmulatorDirect(
        **env, Load::Open(rate, ref),
        RecipientsPerNumber(rate / numbers, absl::ToDoubleSeconds(ref)));
  }

  const std::vector<std::string>& ids = (*env)->phone_number_ids();
  LoadResult load =
      RunSendLoad((*env)->grpc_target(), Load::Open(rate, flags.duration),
                  flags.channels, [&](uint64_t i, v1::SendRequest* req) {
                    FillSend(ids, recipients, 650, i, req);
                  });
  Result r = FromLoad("send-rate", load);
  r.offered_rate = rate;
  r.rss_mb = RssMb();
  r.references = {{"grpc_echo", echo.achieved_rate}};
  r.reference_latency = {{"grpc_echo", Percentiles::Of(echo.latency)}};
  Percentiles mine = Percentiles::Of(load.latency);
  Percentiles echo_p = Percentiles::Of(echo.latency);
  r.ratios = {
      {"rate_vs_grpc_echo", Ratio(load.achieved_rate, echo.achieved_rate)},
      {"p50_vs_grpc_echo", Ratio(mine.p50, echo_p.p50)},
      {"p99_vs_grpc_echo", Ratio(mine.p99, echo_p.p99)}};
  if (has_direct) {
    Percentiles direct_p = Percentiles::Of(direct.latency);
    r.references.push_back({"emulator_direct", direct.achieved_rate});
    r.reference_latency.push_back({"emulator_direct", direct_p});
    r.has_added_latency = true;
    r.added_latency = Percentiles::Minus(mine, direct_p);
    for (const auto& [code, n] : direct.errors) {
      r.extra.push_back({absl::StrCat("emulator_direct_errors_", code),
                         static_cast<double>(n)});
    }
  }
  r.extra.push_back({"numbers", static_cast<double>(numbers)});
  r.extra.push_back({"recipients_per_number", static_cast<double>(recipients)});
  r.notes =
      "open loop, latency from each call's scheduled time; added latency = "
      "gateway percentile minus emulator-direct percentile (same rate, same "
      "process)";
  (*env)->Stop();
  return r;
}

absl::StatusOr<Result> SendMax(const ScenarioFlags& flags) {
  const int in_flight = flags.in_flight > 0 ? flags.in_flight : 256;
  const int numbers = flags.numbers > 0 ? flags.numbers : 8;
  // Enough recipients that no pair nears its limit at any plausible rate.
  const int recipients = 50000;
  const absl::Duration ref = RefDuration(flags);

  LoadResult echo;
  {
    auto server = EchoServer::Start();
    if (!server.ok()) return server.status();
    std::vector<std::string> ids = {"106540352241000"};
    echo = RunSendLoad((*server)->target(), Load::Closed(in_flight, ref),
                       flags.channels, [&](uint64_t i, v1::SendRequest* req) {
                         FillSend(ids, recipients, 650, i, req);
                       });
  }

  EnvOptions options;
  options.numbers = numbers;
  options.throughput_mps = 1e6;  // the pacer is not what we measure here
  options.emulator_throughput_limit = false;
  options.gateway_address = flags.gateway_address;
  options.phone_number_ids = flags.phone_number_ids;
  auto env = Env::Start(options);
  if (!env.ok()) return env.status();
  const std::vector<std::string>& ids = (*env)->phone_number_ids();
  LoadResult load = RunSendLoad(
      (*env)->grpc_target(), Load::Closed(in_flight, flags.duration),
      flags.channels, [&](uint64_t i, v1::SendRequest* req) {
        FillSend(ids, recipients, 650, i, req);
      });
  Result r = FromLoad("send-max", load);
  r.rss_mb = RssMb();
  r.references = {{"grpc_echo", echo.achieved_rate}};
  r.reference_latency = {{"grpc_echo", Percentiles::Of(echo.latency)}};
  r.ratios = {
      {"rate_vs_grpc_echo", Ratio(load.achieved_rate, echo.achieved_rate)}};
  r.extra = {{"in_flight", static_cast<double>(in_flight)},
             {"numbers", static_cast<double>(numbers)}};
  r.notes = "closed loop; latency from call start";
  (*env)->Stop();
  return r;
}

}  // namespace

uint64_t Result::error_count() const {
  uint64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

std::string Result::Json() const {
  common::JsonWriter w(4096);
  w.BeginObject();
  w.Field("scenario", scenario);
  w.Field("unit", unit);
  w.Field("offered_rate", offered_rate);
  w.Field("achieved_rate", achieved_rate);
  w.Field("duration_s", duration_s);
  w.Field("total", total);
  w.Key("errors").BeginObject();
  for (const auto& [code, n] : errors) w.Field(code, n);
  w.EndObject();
  w.Key("latency_ms").Raw(Percentiles::Of(latency).Json());
  if (has_added_latency) w.Key("added_latency_ms").Raw(added_latency.Json());
  w.Field("lost", lost);
  w.Field("duplicates", duplicates);
  w.Field("rss_mb", rss_mb);
  w.Field("rss_peak_mb", rss_peak_mb);
  w.Key("references").BeginObject();
  for (const auto& [name, rate] : references) {
    w.Key(name).BeginObject().Field("rate", rate);
    for (const auto& [lname, p] : reference_latency) {
      if (lname == name) w.Key("latency_ms").Raw(p.Json());
    }
    w.EndObject();
  }
  w.EndObject();
  w.Key("ratios").BeginObject();
  for (const auto& [name, v] : ratios) w.Field(name, v);
  w.EndObject();
  w.Key("extra").BeginObject();
  for (const auto& [name, v] : extra) w.Field(name, v);
  w.EndObject();
  w.Key("per_second").BeginArray();
  for (uint64_t n : per_second) w.Uint(n);
  w.EndArray();
  w.Key("rss_series_mb").BeginArray();
  for (double v : rss_series) w.Double(v);
  w.EndArray();
  w.Key("latency_cdf").BeginArray();
  for (const auto& [ms, frac] : latency.Cdf()) {
    w.BeginArray().Double(ms).Double(frac).EndArray();
  }
  w.EndArray();
  w.Field("notes", notes);
  w.EndObject();
  return std::move(w).Release();
}

std::string Result::Table() const {
  Percentiles p = Percentiles::Of(latency);
  std::string out = absl::StrFormat(
      "== %s ==\n"
      "  achieved      %12.1f %s%s over %.1f s (%u calls)\n"
      "  errors        %12u",
      scenario, achieved_rate, unit,
      offered_rate > 0 ? absl::StrFormat(" (offered %.0f)", offered_rate) : "",
      duration_s, total, error_count());
  for (const auto& [code, n] : errors) absl::StrAppend(&out, " ", code, "=", n);
  absl::StrAppendFormat(&out,
                        "\n  latency ms    p50 %.3f  p90 %.3f  p99 %.3f  "
                        "p99.9 %.3f  max %.3f\n",
                        p.p50, p.p90, p.p99, p.p999, p.max);
  if (has_added_latency) {
    absl::StrAppendFormat(&out,
                          "  added ms      p50 %.3f  p90 %.3f  p99 %.3f  "
                          "p99.9 %.3f  max %.3f\n",
                          added_latency.p50, added_latency.p90,
                          added_latency.p99, added_latency.p999,
                          added_latency.max);
  }
  absl::StrAppendFormat(&out, "  lost %u  duplicates %u  rss %.1f MB\n", lost,
                        duplicates, rss_mb);
  for (const auto& [name, rate] : references) {
    absl::StrAppendFormat(&out, "  ref %-18s %12.1f %s", name, rate, unit);
    for (const auto& [lname, lp] : reference_latency) {
      if (lname == name) {
        absl::StrAppendFormat(&out, "  p50 %.3f p99 %.3f ms", lp.p50, lp.p99);
      }
    }
    out += "\n";
  }
  for (const auto& [name, v] : ratios) {
    absl::StrAppendFormat(&out, "  ratio %-26s %8.3f\n", name, v);
  }
  for (const auto& [name, v] : extra) {
    absl::StrAppendFormat(&out, "  %-32s %12.1f\n", name, v);
  }
  return out;
}

absl::StatusOr<Result> RunScenario(const std::string& name,
                                   const ScenarioFlags& flags) {
  if (name == "send-rate") return SendRate(flags);
  if (name == "send-max") return SendMax(flags);
  return absl::InvalidArgumentError(absl::StrCat("unknown scenario: ", name));
}

}  // namespace wagate::bench
