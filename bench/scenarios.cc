#include "bench/scenarios.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/fanout_reference.h"
#include "bench/harness.h"
#include "emulator/webhook_payloads.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/generic/generic_stub.h"
#include "service/common/hmac.h"
#include "service/common/json_writer.h"
#include "simdjson.h"
#include "wagate/v1/events.grpc.pb.h"

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
// — consecutive messages of one pair are numbers·recipients apart. With
// `keyed`, a key unique in the run (a fresh store each run).
void FillSend(const std::vector<std::string>& numbers, int recipients, int area,
              uint64_t i, v1::SendRequest* request, bool keyed = false) {
  request->set_phone_number_id(numbers[i % numbers.size()]);
  request->set_to(Recipient(area, (i / numbers.size()) % recipients));
  request->set_biz_opaque_callback_data(absl::StrCat(i));
  request->mutable_text()->set_body(
      "Your order #4821 has shipped and will arrive on Tuesday.");
  if (keyed) request->set_idempotency_key(absl::StrCat("bench-", i));
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

// ------------------------------------------------------------ the peer

#ifndef WAGATE_SOURCE_DIR_DEFAULT
#define WAGATE_SOURCE_DIR_DEFAULT "."
#endif

std::string PeerScript(const ScenarioFlags& flags) {
  return flags.peer_script.empty()
             ? std::string(WAGATE_SOURCE_DIR_DEFAULT) + "/bench/peer/peer.mjs"
             : flags.peer_script;
}

// Runs the peer's closed-loop sendMessage against the emulator at
// `graph_url`; its JSON line, or an error.
absl::StatusOr<std::string> PeerSend(const ScenarioFlags& flags,
                                     const std::string& graph_url,
                                     const std::vector<std::string>& numbers,
                                     int in_flight, absl::Duration d) {
  std::string cmd = absl::StrCat(
      "node '", PeerScript(flags), "' send --graph ", graph_url, " --token ",
      kToken, " --pnid ", absl::StrJoin(numbers, ","), " --seconds ",
      absl::ToDoubleSeconds(d), " --in_flight ", in_flight);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return absl::UnavailableError("cannot start node");
  std::string out, line;
  char buf[4096];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
  int rc = pclose(pipe);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("peer send failed: ", out));
  }
  return out;
}

// Parses the peer's achieved_rate and latency from its JSON line.
bool ParsePeer(const std::string& json, double* rate, Percentiles* p) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return false;
  if (doc["achieved_rate"].get(*rate) != simdjson::SUCCESS) return false;
  simdjson::dom::element l;
  if (doc["latency_ms"].get(l) == simdjson::SUCCESS) {
    if (l["p50"].get(p->p50) != simdjson::SUCCESS) p->p50 = 0;
    if (l["p90"].get(p->p90) != simdjson::SUCCESS) p->p90 = 0;
    if (l["p99"].get(p->p99) != simdjson::SUCCESS) p->p99 = 0;
    if (l["p999"].get(p->p999) != simdjson::SUCCESS) p->p999 = 0;
    if (l["max"].get(p->max) != simdjson::SUCCESS) p->max = 0;
  }
  return true;
}

// POST /_quit with no body to 127.0.0.1:port, ignoring the answer.
void QuitPeer(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char kReq[] =
        "POST /_quit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
    (void)!write(fd, kReq, sizeof(kReq) - 1);
    char buf[256];
    (void)!read(fd, buf, sizeof(buf));
  }
  close(fd);
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
                         FillSend(ids, recipients, 650, i, req,
                                  flags.idempotency_keys);
                       });
  }

  EnvOptions options;
  options.store = flags.store;
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
  LoadResult load = RunSendLoad(
      (*env)->grpc_target(), Load::Open(rate, flags.duration), flags.channels,
      [&](uint64_t i, v1::SendRequest* req) {
        FillSend(ids, recipients, 650, i, req, flags.idempotency_keys);
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
  r.extra.push_back({"idempotency_keys", flags.idempotency_keys ? 1.0 : 0.0});
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
                         FillSend(ids, recipients, 650, i, req,
                                  flags.idempotency_keys);
                       });
  }

  EnvOptions options;
  options.store = flags.store;
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
        FillSend(ids, recipients, 650, i, req, flags.idempotency_keys);
      });
  Result r = FromLoad("send-max", load);
  r.rss_mb = RssMb();
  r.references = {{"grpc_echo", echo.achieved_rate}};
  r.reference_latency = {{"grpc_echo", Percentiles::Of(echo.latency)}};
  r.ratios = {
      {"rate_vs_grpc_echo", Ratio(load.achieved_rate, echo.achieved_rate)}};
  r.extra = {{"in_flight", static_cast<double>(in_flight)},
             {"numbers", static_cast<double>(numbers)},
             {"idempotency_keys", flags.idempotency_keys ? 1.0 : 0.0}};
  if (flags.peer && (*env)->emulator() != nullptr) {
    // The peer sends straight to the same emulator: its client library's
    // cost against the gateway's whole send path.
    absl::StatusOr<std::string> out =
        PeerSend(flags, (*env)->graph_url(), ids, std::min(in_flight, 64), ref);
    double rate = 0;
    Percentiles p;
    if (!out.ok()) return out.status();
    if (!ParsePeer(*out, &rate, &p)) {
      return absl::UnavailableError(absl::StrCat("peer output: ", *out));
    }
    r.references.push_back({"peer_whatsapp_api_js", rate});
    r.reference_latency.push_back({"peer_whatsapp_api_js", p});
    r.ratios.push_back(
        {"rate_vs_peer_whatsapp_api_js", Ratio(load.achieved_rate, rate)});
  }
  r.notes = "closed loop; latency from call start";
  (*env)->Stop();
  return r;
}

// ------------------------------------------------------------ webhook-max

// Envelope `i` of the webhook mix, cycling through four kinds Meta sends:
// one status, a batch of statuses, one inbound text, a batch of inbound
// messages. Every event has a unique id, so every one is stored.
int WebhookEnvelope(uint64_t i, int status_batch, std::string* body) {
  static const emulator::NumberMetadata kMeta{"15550001000", "106540352241000"};
  const absl::Time now = absl::Now();
  std::vector<emulator::Change> changes;
  auto status = [&](uint64_t j, const char* what) {
    emulator::StatusEvent e;
    e.wamid = absl::StrCat("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI", i, "X", j);
    e.status = what;
    e.time = now;
    e.recipient_id = Recipient(650, i * 100 + j);
    e.biz_opaque_callback_data = absl::StrCat(i);
    e.with_pricing = true;
    e.pricing_category = "utility";
    changes.push_back(emulator::StatusChange(kMeta, e));
  };
  auto inbound = [&](uint64_t j) {
    changes.push_back(emulator::InboundMessageChange(
        kMeta, Recipient(650, i * 100 + j), "Ana Souza",
        absl::StrCat("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBI", i, "X", j), now,
        R"("type":"text","text":{"body":"Hi! Is my order on its way?"})"));
  };
  static const char* kStatuses[] = {"sent", "delivered", "read"};
  switch (i % 4) {
    case 0:
      status(0, kStatuses[i % 3]);
      break;
    case 1:
      for (int j = 0; j < status_batch; ++j) status(j, kStatuses[j % 3]);
      break;
    case 2:
      inbound(0);
      break;
    default:
      for (int j = 0; j < 5; ++j) inbound(j);
      break;
  }
  *body = emulator::Envelope(kWabaId, now, changes);
  return static_cast<int>(changes.size());
}

LoadResult PostWebhooks(const std::string& url, const Load& load,
                        const ScenarioFlags& flags) {
  // The raw client: with http::Client (libcurl) the load generator, not the
  // server, set the ceiling.
  return RunRawHttpLoad(
      url, load, flags.connections, 1,
      [&](uint64_t i, http::ClientRequest* req) {
        req->method = "POST";
        req->url = url;
        int events = WebhookEnvelope(i, flags.status_batch, &req->body);
        req->headers = {{"Content-Type", "application/json"},
                        {"X-Hub-Signature-256",
                         common::SignatureHeader(kAppSecret, req->body)}};
        return events;
      });
}

// The peer's webhook handler fed the same envelopes for `load`.
absl::StatusOr<LoadResult> PeerWebhook(const ScenarioFlags& flags,
                                       const Load& load) {
  std::string cmd = absl::StrCat("node '", PeerScript(flags),
                                 "' webhook --secret ", kAppSecret);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return absl::UnavailableError("cannot start node");
  char buf[4096];
  int port = 0;
  if (fgets(buf, sizeof(buf), pipe) != nullptr) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    int64_t p = 0;
    if (parser.parse(std::string(buf)).get(doc) == simdjson::SUCCESS &&
        doc["port"].get(p) == simdjson::SUCCESS) {
      port = static_cast<int>(p);
    }
  }
  if (port == 0) {
    pclose(pipe);
    return absl::UnavailableError(absl::StrCat("peer webhook: ", buf));
  }
  LoadResult r = PostWebhooks(
      absl::StrCat("http://127.0.0.1:", port, "/webhook"), load, flags);
  QuitPeer(port);
  while (fgets(buf, sizeof(buf), pipe) != nullptr) {
  }
  pclose(pipe);
  return r;
}

absl::StatusOr<Result> WebhookMax(const ScenarioFlags& flags) {
  const int connections = flags.connections;
  const Load ref_load = Load::Closed(connections, RefDuration(flags));
  const Load load = Load::Closed(connections, flags.duration);
  if (!flags.target_url.empty()) {  // e.g. the peer's webhook handler
    LoadResult other = PostWebhooks(flags.target_url, load, flags);
    Result r = FromLoad("webhook-max", other);
    r.unit = "events/s";
    r.achieved_rate = other.achieved_weight_rate;
    r.extra = {{"envelopes_per_s", other.achieved_rate}};
    r.notes = "posted to --target_url " + flags.target_url;
    return r;
  }

  LoadResult reference;
  {
    auto server = StaticHttpServer::Start(2);
    if (!server.ok()) return server.status();
    reference = PostWebhooks((*server)->url(), ref_load, flags);
  }
  EnvOptions options;
  options.store = flags.store;
  options.numbers = 1;
  auto env = Env::Start(options);
  if (!env.ok()) return env.status();
  LoadResult mine = PostWebhooks((*env)->webhook_url(), load, flags);
  Result r = FromLoad("webhook-max", mine);
  r.unit = "events/s";
  r.achieved_rate = mine.achieved_weight_rate;
  r.rss_mb = RssMb();
  r.references = {{"static_http", reference.achieved_weight_rate}};
  r.reference_latency = {{"static_http", Percentiles::Of(reference.latency)}};
  r.ratios = {{"rate_vs_static_http",
               Ratio(mine.achieved_rate, reference.achieved_rate)}};
  r.extra = {{"envelopes_per_s", mine.achieved_rate},
             {"static_http_envelopes_per_s", reference.achieved_rate},
             {"events_per_envelope",
              Ratio(mine.weight_ok, static_cast<double>(mine.ok))},
             {"connections", static_cast<double>(connections)}};
  if (flags.peer) {
    absl::StatusOr<LoadResult> peer = PeerWebhook(flags, ref_load);
    if (!peer.ok()) return peer.status();
    r.references.push_back(
        {"peer_whatsapp_api_js", peer->achieved_weight_rate});
    r.reference_latency.push_back(
        {"peer_whatsapp_api_js", Percentiles::Of(peer->latency)});
    r.ratios.push_back({"rate_vs_peer_whatsapp_api_js",
                        Ratio(mine.achieved_rate, peer->achieved_rate)});
    for (const auto& [code, n] : peer->errors) {
      r.extra.push_back(
          {absl::StrCat("peer_errors_", code), static_cast<double>(n)});
    }
  }
  r.notes =
      "closed loop; mix: 1 status, a batch of status_batch statuses, 1 "
      "inbound text, 5 inbound texts; an envelope counts when answered 200 "
      "(after the durable commit); latency = acknowledgement latency";
  (*env)->Stop();
  return r;
}

// ------------------------------------------------------------ e2e / soak

// What a subscriber checks of an Event, read straight from its wire bytes:
// received_at and the status with its biz_opaque_callback_data. The
// subscribers share the gateway's two cores in this process; decoding whole
// Events (a real consumer does that on its own machine) would make the
// load generator, not the gateway's fan-out, the thing measured.
struct StatusProbe {
  bool has_status = false;
  int status = 0;
  std::string opaque;
  int64_t seconds = 0;
  int32_t nanos = 0;
};

// Reads the fields `on_field` wants from a length-delimited message, skipping
// the rest. False on malformed input.
template <typename OnField>
bool ScanMessage(google::protobuf::io::CodedInputStream* in, OnField on_field) {
  while (uint32_t tag = in->ReadTag()) {
    if (!on_field(
            google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag),
            tag, in)) {
      if (!google::protobuf::internal::WireFormatLite::SkipField(in, tag)) {
        return false;
      }
    }
  }
  return in->ConsumedEntireMessage();
}

// Runs `scan` over the length-delimited field the stream is at.
template <typename Scan>
bool ReadNested(google::protobuf::io::CodedInputStream* in, Scan scan) {
  uint32_t length = 0;
  if (!in->ReadVarint32(&length)) return false;
  auto limit = in->PushLimit(static_cast<int>(length));
  bool ok = scan(in);
  in->PopLimit(limit);
  return ok;
}

bool ProbeEvent(const uint8_t* data, size_t size, StatusProbe* probe) {
  using google::protobuf::internal::WireFormatLite;
  using google::protobuf::io::CodedInputStream;
  constexpr auto kLengthDelimited = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
  CodedInputStream in(data, static_cast<int>(size));
  return ScanMessage(&in, [&](int field, uint32_t tag, CodedInputStream* in) {
    if (WireFormatLite::GetTagWireType(tag) != kLengthDelimited) return false;
    if (field == v1::Event::kReceivedAtFieldNumber) {
      return ReadNested(in, [&](CodedInputStream* in) {
        return ScanMessage(in, [&](int f, uint32_t, CodedInputStream* in) {
          uint64_t v = 0;
          if (f == google::protobuf::Timestamp::kSecondsFieldNumber) {
            if (!in->ReadVarint64(&v)) return false;
            probe->seconds = static_cast<int64_t>(v);
            return true;
          }
          if (f == google::protobuf::Timestamp::kNanosFieldNumber) {
            if (!in->ReadVarint64(&v)) return false;
            probe->nanos = static_cast<int32_t>(v);
            return true;
          }
          return false;
        });
      });
    }
    if (field == v1::Event::kStatusFieldNumber) {
      probe->has_status = true;
      return ReadNested(in, [&](CodedInputStream* in) {
        return ScanMessage(in, [&](int f, uint32_t, CodedInputStream* in) {
          if (f == v1::MessageStatus::kStatusFieldNumber) {
            uint32_t v = 0;
            if (!in->ReadVarint32(&v)) return false;
            probe->status = static_cast<int>(v);
            return true;
          }
          if (f == v1::MessageStatus::kBizOpaqueCallbackDataFieldNumber) {
            return WireFormatLite::ReadString(in, &probe->opaque);
          }
          return false;
        });
      });
    }
    return false;
  });
}

// One Subscribe stream: checks every status arrives exactly once (by the
// message index carried in biz_opaque_callback_data) and records the
// webhook-to-subscriber latency (Event.received_at to arrival here). A
// generic (bytes) call: see StatusProbe.
class Subscriber
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Subscriber(grpc::GenericStub* stub, size_t messages,
             std::atomic<uint64_t>* received)
      : seen_(messages, 0), received_(received) {
    v1::SubscribeRequest request;
    request.set_from_oldest(true);  // a fresh store: nothing is missed
    request.add_kinds(v1::EVENT_KIND_STATUS);
    grpc::Slice slice(request.SerializeAsString());
    request_ = grpc::ByteBuffer(&slice, 1);
    stub->PrepareBidiStreamingCall(&context_, "/wagate.v1.Events/Subscribe",
                                   grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    const absl::Time now = absl::Now();
    grpc::Slice bytes;
    StatusProbe probe;
    if (!event_.DumpToSingleSlice(&bytes).ok() ||
        !ProbeEvent(bytes.begin(), bytes.size(), &probe)) {
      ++unexpected_;
      StartRead(&event_);
      return;
    }
    latency_.Record(now - (absl::FromUnixSeconds(probe.seconds) +
                           absl::Nanoseconds(probe.nanos)));
    uint64_t index = 0;
    int bit = 0;
    switch (probe.status) {
      case v1::MessageStatus::STATUS_SENT:
        bit = 1;
        break;
      case v1::MessageStatus::STATUS_DELIVERED:
        bit = 2;
        break;
      case v1::MessageStatus::STATUS_READ:
        bit = 4;
        break;
      default:
        break;
    }
    if (!probe.has_status || bit == 0 ||
        !absl::SimpleAtoi(probe.opaque, &index) || index >= seen_.size()) {
      ++unexpected_;
    } else if (seen_[index] & bit) {
      ++duplicates_;
    } else {
      seen_[index] |= bit;
      received_->fetch_add(1);
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    done_ = true;
    status_ = status;
  }
  // Ends the stream and waits for OnDone; the counters are then stable.
  // Returns how the stream had ended by itself (OK if it was still open):
  // a stream the gateway ended early explains lost events.
  grpc::Status Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (done_) return status_;
    }
    context_.TryCancel();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return grpc::Status::OK;
  }
  uint64_t Lost(const std::vector<uint8_t>& sent_ok) const {
    uint64_t lost = 0;
    for (size_t i = 0; i < sent_ok.size(); ++i) {
      if (sent_ok[i]) lost += 3 - __builtin_popcount(seen_[i]);
    }
    return lost;
  }
  // "lost N: first missing message i, last j" (diagnosis: a gap or a
  // stalled stream).
  std::string MissingSummary(const std::vector<uint8_t>& sent_ok) const {
    uint64_t lost = 0;
    size_t first = 0, last = 0;
    for (size_t i = 0; i < sent_ok.size(); ++i) {
      if (!sent_ok[i] || __builtin_popcount(seen_[i]) == 3) continue;
      if (lost == 0) first = i;
      last = i;
      lost += 3 - __builtin_popcount(seen_[i]);
    }
    return absl::StrCat("wagate-bench: subscriber lost ", lost,
                        " statuses of messages ", first, "..", last, " (of ",
                        sent_ok.size(), ")");
  }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t unexpected() const { return unexpected_; }
  const Histogram& latency() const { return latency_; }

 private:
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer event_;
  std::vector<uint8_t> seen_;  // per message: sent|delivered|read bits
  std::atomic<uint64_t>* received_;
  uint64_t duplicates_ = 0;
  uint64_t unexpected_ = 0;
  Histogram latency_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// CPU seconds (user + system, all threads) this process has used so far.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Subscribe stubs over a few connections (as many clients would use).
std::vector<std::unique_ptr<grpc::GenericStub>> SubscriberStubs(
    const std::string& target, int subscribers) {
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  const int channels = std::max(1, std::min(subscribers, 8));
  for (int c = 0; c < channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("wagate.bench.subscriber_channel", c);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stubs.push_back(
        std::make_unique<grpc::GenericStub>(grpc::CreateCustomChannel(
            target, grpc::InsecureChannelCredentials(), args)));
  }
  return stubs;
}

// Waits until every subscriber has `expected` deliveries, or nothing moves
// for 15 s; returns the seconds waited.
double Drain(const std::atomic<uint64_t>& received, uint64_t expected) {
  uint64_t last = received.load();
  absl::Time last_progress = absl::Now();
  const absl::Time start = absl::Now();
  while (received.load() < expected &&
         absl::Now() - last_progress < absl::Seconds(15)) {
    absl::SleepFor(absl::Milliseconds(50));
    if (received.load() != last) {
      last = received.load();
      last_progress = absl::Now();
    }
  }
  return absl::ToDoubleSeconds(absl::Now() - start);
}

// What the gRPC fan-out floor (FanoutReference) achieved.
struct FanoutFloor {
  Histogram latency;
  uint64_t lost = 0;
  uint64_t duplicates = 0;
  double cpu_us_per_delivery = 0;
  double drain_s = 0;
};

// e2e's subscribers fed by FanoutReference: 3 status events per message at
// `rate` messages/s, published every millisecond, each shaped like a
// gateway status event (ids, numbers, timestamps) and stamped with
// received_at when published.
absl::StatusOr<FanoutFloor> MeasureFanoutFloor(double rate,
                                               absl::Duration duration,
                                               int subscriber_count) {
  absl::StatusOr<std::unique_ptr<FanoutReference>> ref =
      FanoutReference::Start();
  if (!ref.ok()) return ref.status();
  const size_t messages =
      static_cast<size_t>(rate * absl::ToDoubleSeconds(duration));
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs =
      SubscriberStubs((*ref)->target(), subscriber_count);
  std::atomic<uint64_t> received{0};
  std::vector<std::unique_ptr<Subscriber>> subscribers;
  for (int s = 0; s < subscriber_count; ++s) {
    subscribers.push_back(std::make_unique<Subscriber>(
        stubs[s % stubs.size()].get(), messages, &received));
  }
  const absl::Time connect_deadline = absl::Now() + absl::Seconds(30);
  while ((*ref)->streams() < static_cast<size_t>(subscriber_count)) {
    if (absl::Now() > connect_deadline) {
      return absl::DeadlineExceededError(
          "fan-out reference: subscribers did not connect");
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  auto encode = [](size_t k) {
    v1::Event event;
    const std::string wamid = absl::StrCat("wamid.HBgLMTU1NTAwMDAwMDAVAgARGBI",
                                           absl::Hex(k, absl::kZeroPad16));
    event.set_id(absl::StrCat(wamid, "/", k % 3 + 1));
    event.set_waba_id("102290129340398");
    event.set_phone_number_id("106540352242922");
    event.set_display_phone_number("15550000000");
    event.set_field("messages");
    const absl::Time now = absl::Now();
    const int64_t nanos = absl::ToUnixNanos(now);
    event.mutable_received_at()->set_seconds(nanos / 1000000000);
    event.mutable_received_at()->set_nanos(nanos % 1000000000);
    v1::MessageStatus* status = event.mutable_status();
    status->set_message_id(wamid);
    status->set_status(static_cast<v1::MessageStatus::Status>(k % 3 + 1));
    status->set_recipient_id("15551230000");
    status->mutable_timestamp()->set_seconds(nanos / 1000000000);
    status->set_biz_opaque_callback_data(absl::StrCat(k / 3));
    event.set_cursor(absl::StrCat("e", 10000000000000000 + k));
    grpc::Slice slice(event.SerializeAsString());
    return std::make_shared<const grpc::ByteBuffer>(&slice, 1);
  };
  const double cpu_start = ProcessCpuSeconds();
  const size_t events = 3 * messages;
  const absl::Time start = absl::Now();
  size_t published = 0;
  while (published < events) {
    const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
    const size_t due =
        std::min(events, static_cast<size_t>(3 * rate * elapsed) + 1);
    std::vector<FanoutReference::EventBytes> batch;
    for (; published < due; ++published) batch.push_back(encode(published));
    if (!batch.empty()) (*ref)->Publish(batch);
    absl::SleepFor(absl::Milliseconds(1));
  }
  FanoutFloor floor;
  floor.drain_s = Drain(received, events * subscribers.size());
  const double cpu_s = ProcessCpuSeconds() - cpu_start;
  const std::vector<uint8_t> all_sent(messages, 1);
  for (auto& s : subscribers) {
    s->Stop();
    floor.latency.Merge(s->latency());
    floor.lost += s->Lost(all_sent);
    floor.duplicates += s->duplicates();
  }
  if (received.load() > 0) {
    floor.cpu_us_per_delivery =
        cpu_s * 1e6 / static_cast<double>(received.load());
  }
  return floor;
}

absl::StatusOr<Result> EndToEnd(const std::string& name,
                                const ScenarioFlags& flags) {
  const double rate = flags.rate;
  const double seconds = absl::ToDoubleSeconds(flags.duration);
  const int numbers =
      flags.numbers > 0 ? flags.numbers
                        : std::max(4, static_cast<int>(std::ceil(rate / 500)));
  const int recipients = RecipientsPerNumber(rate / numbers, seconds);
  const size_t messages = static_cast<size_t>(rate * seconds);

  // The gRPC fan-out floor first, alone on the machine.
  std::optional<FanoutFloor> floor;
  if (flags.fanout_reference && flags.subscribers > 0 && name == "e2e") {
    absl::StatusOr<FanoutFloor> measured =
        MeasureFanoutFloor(rate, RefDuration(flags), flags.subscribers);
    if (!measured.ok()) return measured.status();
    floor = *std::move(measured);
  }

  EnvOptions options;
  options.store = flags.store;
  options.numbers = numbers;
  options.throughput_mps = 1000;
  options.webhooks = true;
  options.webhook_batch = flags.webhook_batch;
  auto env = Env::Start(options);
  if (!env.ok()) return env.status();

  // RSS once a second for the whole run (the soak's growth figure).
  std::vector<double> rss_series;
  uint64_t pending_max = 0;  // webhooks queued in the emulator (backlog)
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling.load()) {
      rss_series.push_back(RssMb());
      if (flags.max_rss_mb > 0 && rss_series.back() > flags.max_rss_mb) {
        // A backlog that grows without bound would take the machine down
        // with it: stop here, loudly.
        std::cerr << "wagate-bench: RSS " << rss_series.back()
                  << " MB over --max_rss_mb " << flags.max_rss_mb << " after "
                  << rss_series.size() << " s; aborting\n";
        std::_Exit(1);
      }
      if (emulator::Emulator* emu = (*env)->emulator()) {
        pending_max =
            std::max<uint64_t>(pending_max, emu->webhook_stats().pending);
      }
      absl::SleepFor(absl::Seconds(1));
    }
  });

  std::vector<std::unique_ptr<grpc::GenericStub>> stubs =
      SubscriberStubs((*env)->grpc_target(), flags.subscribers);
  std::atomic<uint64_t> received{0};
  std::vector<std::unique_ptr<Subscriber>> subscribers;
  for (int s = 0; s < flags.subscribers; ++s) {
    subscribers.push_back(std::make_unique<Subscriber>(
        stubs[s % stubs.size()].get(), messages, &received));
  }

  std::vector<uint8_t> sent_ok(messages, 0);
  const std::vector<std::string>& ids = (*env)->phone_number_ids();
  // CPU per delivery: a cost figure that, unlike latency, hardly depends on
  // what else the shared machine runs.
  const double cpu_start = ProcessCpuSeconds();
  LoadResult load = RunSendLoad(
      (*env)->grpc_target(), Load::Open(rate, flags.duration), flags.channels,
      [&](uint64_t i, v1::SendRequest* req) {
        FillSend(ids, recipients, 650, i, req);
      },
      [&](uint64_t i, const grpc::Status& status, const v1::SendResponse&) {
        if (status.ok() && i < sent_ok.size()) sent_ok[i] = 1;
      });

  // Drain: wait until every subscriber has every status, or nothing moves
  // for 15 s.
  uint64_t expected = 0;
  for (uint8_t ok : sent_ok) expected += ok;
  expected *= 3 * subscribers.size();
  const double drain_s = Drain(received, expected);
  const double cpu_s = ProcessCpuSeconds() - cpu_start;
  const uint64_t delivered = received.load();
  const double rss_end = RssMb();
  sampling.store(false);
  sampler.join();

  Result r;
  r.scenario = name;
  r.offered_rate = rate;
  r.achieved_rate = load.achieved_rate;
  r.duration_s = load.elapsed_s;
  r.total = load.started;
  MergeErrors(load, &r);
  r.per_second = load.per_second;
  uint64_t unexpected = 0;
  for (auto& s : subscribers) {
    grpc::Status ended = s->Stop();
    if (!ended.ok()) {
      r.errors[absl::StrCat("SUBSCRIBE_ENDED_",
                            CodeName(ended.error_code()))]++;
      std::cerr << "wagate-bench: a Subscribe stream ended early: "
                << ended.error_message() << "\n";
    }
    r.latency.Merge(s->latency());
    const uint64_t lost = s->Lost(sent_ok);
    r.lost += lost;
    if (lost > 0) std::cerr << s->MissingSummary(sent_ok) << "\n";
    r.duplicates += s->duplicates();
    unexpected += s->unexpected();
  }
  if (unexpected > 0) r.errors["UNEXPECTED_EVENT"] += unexpected;
  r.rss_mb = rss_end;
  r.rss_series = rss_series;
  for (double v : rss_series) r.rss_peak_mb = std::max(r.rss_peak_mb, v);
  Percentiles send = Percentiles::Of(load.latency);
  r.extra = {
      {"subscribers", static_cast<double>(flags.subscribers)},
      {"statuses_stored_per_s", 3 * load.achieved_rate},
      {"deliveries_per_s", 3.0 * load.achieved_rate * flags.subscribers},
      {"send_p50_ms", send.p50},
      {"send_p99_ms", send.p99},
      {"drain_s", drain_s},
      {"cpu_s", cpu_s},
      {"cpu_us_per_delivery",
       delivered > 0 ? cpu_s * 1e6 / static_cast<double>(delivered) : 0.0}};
  if (emulator::Emulator* emu = (*env)->emulator()) {
    emulator::WebhookStats w = emu->webhook_stats();
    r.extra.push_back({"webhooks_posted", static_cast<double>(w.posted)});
    r.extra.push_back({"webhooks_retried", static_cast<double>(w.retried)});
    r.extra.push_back({"webhooks_dropped", static_cast<double>(w.dropped)});
    r.extra.push_back(
        {"webhooks_pending_max", static_cast<double>(pending_max)});
  }
  if (floor.has_value()) {
    const Percentiles mine = Percentiles::Of(r.latency);
    const Percentiles ref = Percentiles::Of(floor->latency);
    const double cpu_us =
        delivered > 0 ? cpu_s * 1e6 / static_cast<double>(delivered) : 0.0;
    // Fed at the offered rate (3 statuses per message, same subscribers):
    // its latency is the comparison.
    r.references.push_back({"grpc_fanout_floor", rate});
    r.reference_latency.push_back({"grpc_fanout_floor", ref});
    r.ratios.push_back({"p99_vs_grpc_fanout_floor", Ratio(mine.p99, ref.p99)});
    r.ratios.push_back({"cpu_per_delivery_vs_grpc_fanout_floor",
                        Ratio(cpu_us, floor->cpu_us_per_delivery)});
    r.extra.push_back(
        {"floor_cpu_us_per_delivery", floor->cpu_us_per_delivery});
    r.extra.push_back({"floor_drain_s", floor->drain_s});
    r.extra.push_back({"floor_lost", static_cast<double>(floor->lost)});
  }
  if (rss_series.size() > 2) {
    // Growth after warm-up: from the sample at 10% of the run to the end.
    double start_mb = rss_series[rss_series.size() / 10];
    r.extra.push_back({"rss_after_warmup_mb", start_mb});
    r.extra.push_back({"rss_growth_mb", rss_series.back() - start_mb});
  }
  r.notes =
      "latency = webhook-to-subscriber (Event.received_at to arrival at the "
      "subscriber, same process clock); RSS is the whole bench process "
      "(gateway + emulator + load generator + subscribers)";
  subscribers.clear();
  (*env)->Stop();
  return r;
}

// Every scenario at tiny rates for a few seconds: the suite's guard that the
// benchmarks still run. Fails on errors, lost or duplicated events only.
absl::StatusOr<Result> Smoke(const ScenarioFlags& base) {
  Result all;
  all.scenario = "smoke";
  struct Step {
    const char* name;
    ScenarioFlags flags;
  };
  std::vector<Step> steps;
  ScenarioFlags f = base;
  f.duration = absl::Seconds(2);
  f.ref_duration = absl::Seconds(1);
  f.rate = 50;
  steps.push_back({"send-rate", f});
  f.in_flight = 16;
  steps.push_back({"send-max", f});
  f.connections = 4;
  steps.push_back({"webhook-max", f});
  f.rate = 20;
  f.subscribers = 3;
  steps.push_back({"e2e", f});
  f.duration = absl::Seconds(3);
  f.subscribers = 2;
  f.webhook_batch = 10;
  steps.push_back({"soak", f});
  for (const Step& step : steps) {
    absl::StatusOr<Result> r = RunScenario(step.name, step.flags);
    if (!r.ok()) return r.status();
    std::cout << r->Table() << std::flush;
    for (const auto& [code, n] : r->errors) {
      all.errors[absl::StrCat(step.name, ":", code)] += n;
    }
    all.lost += r->lost;
    all.duplicates += r->duplicates;
    all.total += r->total;
    if (r->total == 0) all.errors[absl::StrCat(step.name, ":NOTHING_SENT")]++;
  }
  all.rss_mb = RssMb();
  return all;
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
  if (name == "webhook-max") return WebhookMax(flags);
  if (name == "e2e" || name == "soak") return EndToEnd(name, flags);
  if (name == "smoke") return Smoke(flags);
  return absl::InvalidArgumentError(absl::StrCat("unknown scenario: ", name));
}

}  // namespace wagate::bench
