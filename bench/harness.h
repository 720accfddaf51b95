// The pieces every wagate-bench scenario is built from: the system under test
// started in-process on loopback (emulator + gateway), the same-run
// references (a trivial callback-API gRPC echo of Messaging.Send, a static
// HTTP responder), and two load generators (gRPC Send, HTTP POST) that run
// open loop (calls at scheduled times, latency measured from the schedule so
// a stall is not hidden) or closed loop (a fixed number in flight).
//
//   ASSIGN_OR_RETURN(auto env, Env::Start(EnvOptions{.numbers = 4}));
//   LoadResult r = RunSendLoad(env->grpc_target(), Load::Open(1000, 60s),
//                              [&](uint64_t i, v1::SendRequest* req) {...});
#ifndef WAGATE_BENCH_HARNESS_H_
#define WAGATE_BENCH_HARNESS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/histogram.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "emulator/emulator.h"
#include "grpcpp/grpcpp.h"
#include "service/http/client.h"
#include "service/http/server.h"
#include "service/redis/testing/redis_server.h"
#include "service/server/gateway.h"
#include "wagate/v1/messaging.pb.h"

namespace wagate::bench {

// Secrets of the bench's own account; they exist only in this process.
inline constexpr char kToken[] = "bench-access-token";
inline constexpr char kAppSecret[] = "bench-app-secret";
inline constexpr char kVerifyToken[] = "bench-verify-token";
inline constexpr char kWabaId[] = "102290129340398";

// A free loopback port (bound then released; for addresses that must be
// known before the listener starts, e.g. the webhook URL the emulator needs).
int FreePort();
// Resident set size of this process, MB (VmRSS).
double RssMb();
// A fresh temporary directory.
std::string MakeTempDir(const std::string& prefix);
// "OK", "UNAVAILABLE", ... for a gRPC status code.
std::string CodeName(grpc::StatusCode code);

struct EnvOptions {
  int numbers = 4;               // business phone numbers
  double throughput_mps = 1000;  // per number; gateway pacer and emulator
  bool emulator_throughput_limit = true;
  bool pair_rate_limit = true;
  bool webhooks = false;  // the emulator posts sent/delivered/read back
  int webhook_batch = 1;
  int webhook_concurrency = 64;
  absl::Duration delivered_delay = absl::Milliseconds(10);
  absl::Duration read_delay = absl::Milliseconds(10);
  int gateway_io_threads = 2;
  int emulator_threads = 1;
  bool start_gateway = true;
  // External targets instead of in-process ones (empty: start them).
  std::string gateway_address;                // gRPC host:port
  std::vector<std::string> phone_number_ids;  // with gateway_address
  std::string store = "sqlite";               // or "redis" (see ScenarioFlags)
};

// The system under test: emulator and gateway in this process on loopback.
class Env {
 public:
  static absl::StatusOr<std::unique_ptr<Env>> Start(EnvOptions options);
  ~Env();

  std::string grpc_target() const { return grpc_target_; }
  std::string webhook_url() const { return webhook_url_; }
  std::string graph_url() const;  // the emulator's base URL
  const std::vector<std::string>& phone_number_ids() const { return numbers_; }
  emulator::Emulator* emulator() { return emulator_.get(); }
  // Stops the gateway then the emulator. Idempotent.
  void Stop();

 private:
  Env() : work_(boost::asio::make_work_guard(io_)) {}

  std::vector<std::string> numbers_;
  std::string grpc_target_;
  std::string webhook_url_;
  boost::asio::io_context io_;  // the emulator's
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<redis::TestRedisServer> redis_;  // with store "redis"
  std::unique_ptr<server::Gateway> gateway_;
  std::string temp_dir_;
};

// The gRPC reference: Messaging.Send answered at once by a callback-API
// reactor with a fixed message id — the floor the gateway is measured
// against under the same client.
class EchoServer {
 public:
  static absl::StatusOr<std::unique_ptr<EchoServer>> Start();
  ~EchoServer();
  std::string target() const;

 private:
  EchoServer() = default;
  class Service;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// The HTTP reference: POST /webhook answered 200 at once, on an http::Server
// with as many threads as the gateway's io pool.
class StaticHttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<StaticHttpServer>> Start(int threads);
  ~StaticHttpServer();
  std::string url() const;

 private:
  StaticHttpServer() : work_(boost::asio::make_work_guard(io_)) {}
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  std::unique_ptr<http::Server> server_;
  std::vector<std::thread> threads_;
};

// Open loop (`rate` per second for `duration`) or closed loop (`in_flight`
// calls outstanding for `duration`).
struct Load {
  double rate = 0;
  int in_flight = 0;
  absl::Duration duration = absl::Seconds(10);
  static Load Open(double rate, absl::Duration d) { return {rate, 0, d}; }
  static Load Closed(int in_flight, absl::Duration d) {
    return {0, in_flight, d};
  }
  bool open() const { return rate > 0; }
};

struct LoadResult {
  uint64_t started = 0;
  uint64_t ok = 0;
  uint64_t weight_ok = 0;  // sum of weights of successful calls (events)
  std::map<std::string, uint64_t> errors;  // by code name or HTTP status
  Histogram latency;
  std::vector<uint64_t> per_second;  // completions in each second
  double elapsed_s = 0;              // first start to last completion
  double achieved_rate = 0;          // ok / elapsed_s
  double achieved_weight_rate = 0;   // weight_ok / elapsed_s
};

// Fills request `i` (which number, recipient, content).
using MakeSend = std::function<void(uint64_t i, v1::SendRequest* request)>;
// Called once per finished call, from a gRPC thread.
using OnSent = std::function<void(uint64_t i, const grpc::Status& status,
                                  const v1::SendResponse& response)>;

// Sends Messaging.Send to `target` over `channels` connections.
LoadResult RunSendLoad(const std::string& target, const Load& load,
                       int channels, const MakeSend& make,
                       const OnSent& on_sent = nullptr);

// Builds HTTP request `i`; returns its weight (events it carries).
using MakeHttp = std::function<int(uint64_t i, http::ClientRequest* request)>;

// POSTs with an http::Client (`connections` per host) run by `threads`.
LoadResult RunHttpLoad(const Load& load, int connections, int threads,
                       const MakeHttp& make);

// Closed loop of POSTs to `url` (http://127.0.0.1:PORT/path) over
// `connections` keep-alive HTTP/1.1 connections with a minimal Asio client
// (one request per connection at a time, no libcurl): a load generator
// cheap enough that the server, not the client, sets the ceiling. `make`
// fills body and headers (method and url are ignored).
LoadResult RunRawHttpLoad(const std::string& url, const Load& load,
                          int connections, int threads, const MakeHttp& make);

}  // namespace wagate::bench

#endif  // WAGATE_BENCH_HARNESS_H_
