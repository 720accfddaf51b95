#include "bench/harness.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/streambuf.hpp"
#include "boost/asio/write.hpp"
#include "wagate/v1/messaging.grpc.pb.h"

namespace wagate::bench {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

double RssMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view v(line);
    if (absl::ConsumePrefix(&v, "VmRSS:")) {
      v = absl::StripAsciiWhitespace(v);
      absl::ConsumeSuffix(&v, " kB");
      double kb = 0;
      if (absl::SimpleAtod(v, &kb)) return kb / 1024.0;
    }
  }
  return 0;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string templ =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", prefix, "-XXXXXX");
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return "/tmp";
  return buf.data();
}

std::string CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int c = static_cast<int>(code);
  if (c >= 0 && c < 17) return kNames[c];
  return absl::StrCat("CODE_", c);
}

// ---------------------------------------------------------------- Env

absl::StatusOr<std::unique_ptr<Env>> Env::Start(EnvOptions options) {
  std::unique_ptr<Env> env(new Env());
  if (!options.gateway_address.empty()) {
    env->grpc_target_ = options.gateway_address;
    env->numbers_ = options.phone_number_ids;
    if (env->numbers_.empty()) {
      return absl::InvalidArgumentError(
          "--gateway needs --phone_number_ids (the numbers it serves)");
    }
    return env;
  }
  for (int i = 0; i < options.numbers; ++i) {
    env->numbers_.push_back(absl::StrCat("10654035224", 1000 + i));
  }
  const int http_port = FreePort();
  env->webhook_url_ = absl::StrCat("http://127.0.0.1:", http_port, "/webhook");

  emulator::EmulatorOptions emu;
  emu.address = "127.0.0.1:0";
  emu.webhook_url = options.webhooks ? env->webhook_url_ : "";
  emu.app_secret = kAppSecret;
  emu.access_tokens = {kToken};
  emu.waba_id = kWabaId;
  emu.phone_number_ids = env->numbers_;
  emu.throughput_mps =
      options.emulator_throughput_limit ? options.throughput_mps : 0;
  emu.latency = "0";
  emu.pair_rate_limit = options.pair_rate_limit;
  emu.delivered_delay = options.delivered_delay;
  emu.read_delay = options.read_delay;
  emu.webhook_batch = options.webhook_batch;
  emu.webhook_concurrency = options.webhook_concurrency;
  emu.threads = options.emulator_threads;
  env->emulator_ = std::make_unique<emulator::Emulator>(env->io_, emu);
  absl::Status started = env->emulator_->Start();
  if (!started.ok()) return started;
  for (int i = 0; i < std::max(1, options.emulator_threads); ++i) {
    env->threads_.emplace_back([e = env.get()] { e->io_.run(); });
  }
  if (!options.start_gateway) return env;

  env->temp_dir_ = MakeTempDir("wagate-bench");
  server::GatewayOptions gw;
  gw.grpc_address = "127.0.0.1:0";
  gw.http_address = absl::StrCat("127.0.0.1:", http_port);
  gw.graph_base_url = env->emulator_->base_url();
  if (options.store == "redis") {
    // Persistence as a deployment would run it (appendfsync always).
    env->redis_ = std::make_unique<redis::TestRedisServer>();
    absl::Status redis = env->redis_->Start();
    if (!redis.ok()) return redis;
    gw.store = env->redis_->Url() + "?prefix=bench";
  } else if (options.store == "sqlite") {
    gw.store = absl::StrCat("sqlite:", env->temp_dir_, "/wagate.db");
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--store: \"sqlite\" or \"redis\", not \"", options.store, "\""));
  }
  gw.io_threads = options.gateway_io_threads;
  gw.shutdown_grace = absl::Seconds(2);
  config::v1::Config& config = gw.config;
  config::v1::Account* account = config.add_accounts();
  account->set_waba_id(kWabaId);
  account->set_access_token_env("BENCH_ACCESS_TOKEN");
  for (const std::string& id : env->numbers_) {
    config::v1::PhoneNumber* number = account->add_phone_numbers();
    number->set_id(id);
    number->set_throughput_mps(options.throughput_mps);
  }
  config.add_app_secrets_env("BENCH_APP_SECRET");
  config.set_verify_token_env("BENCH_VERIFY_TOKEN");
  config.mutable_limits()->set_subscribers_per_key(100000);
  config.mutable_limits()->set_grpc_max_concurrent_streams(10000);
  gw.env = [](absl::string_view name) -> absl::optional<std::string> {
    if (name == "BENCH_ACCESS_TOKEN") return std::string(kToken);
    if (name == "BENCH_APP_SECRET") return std::string(kAppSecret);
    if (name == "BENCH_VERIFY_TOKEN") return std::string(kVerifyToken);
    return absl::nullopt;
  };
  absl::StatusOr<std::unique_ptr<server::Gateway>> gateway =
      server::Gateway::Start(std::move(gw));
  if (!gateway.ok()) return gateway.status();
  env->gateway_ = std::move(*gateway);
  env->grpc_target_ = absl::StrCat("127.0.0.1:", env->gateway_->grpc_port());
  return env;
}

std::string Env::graph_url() const {
  return emulator_ != nullptr ? emulator_->base_url() : "";
}

void Env::Stop() {
  if (gateway_ != nullptr) gateway_->Shutdown();
  gateway_.reset();
  redis_.reset();  // after the gateway that uses it
  if (emulator_ != nullptr) emulator_->Stop();
  work_.reset();
  io_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  emulator_.reset();
  if (!temp_dir_.empty()) {
    std::string cmd = absl::StrCat("rm -rf '", temp_dir_, "'");
    if (system(cmd.c_str()) != 0) { /* best effort */
    }
    temp_dir_.clear();
  }
}

Env::~Env() { Stop(); }

// ---------------------------------------------------------------- Echo

class EchoServer::Service : public v1::Messaging::CallbackService {
  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context,
                                 const v1::SendRequest* request,
                                 v1::SendResponse* response) override {
    response->set_message_id("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI0RUNITw==");
    response->set_wa_id(request->to());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Start() {
  std::unique_ptr<EchoServer> echo(new EchoServer());
  echo->service_ = std::make_unique<Service>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &echo->port_);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 10000);
  builder.RegisterService(echo->service_.get());
  echo->server_ = builder.BuildAndStart();
  if (echo->server_ == nullptr || echo->port_ == 0) {
    return absl::UnavailableError("echo server did not start");
  }
  return echo;
}

EchoServer::~EchoServer() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
    server_->Wait();
  }
}

std::string EchoServer::target() const {
  return absl::StrCat("127.0.0.1:", port_);
}

// ---------------------------------------------------------------- Static

absl::StatusOr<std::unique_ptr<StaticHttpServer>> StaticHttpServer::Start(
    int threads) {
  std::unique_ptr<StaticHttpServer> s(new StaticHttpServer());
  s->server_ = std::make_unique<http::Server>(s->io_, http::ServerOptions{});
  s->server_->Handle("POST", "/webhook",
                     [](http::Request, http::Responder done) {
                       done(http::TextResponse(200, ""));
                     });
  absl::Status listening = s->server_->Listen("127.0.0.1:0");
  if (!listening.ok()) return listening;
  for (int i = 0; i < std::max(1, threads); ++i) {
    s->threads_.emplace_back([p = s.get()] { p->io_.run(); });
  }
  return s;
}

StaticHttpServer::~StaticHttpServer() {
  server_->Stop();
  work_.reset();
  io_.stop();
  for (std::thread& t : threads_) t.join();
}

std::string StaticHttpServer::url() const {
  return absl::StrCat("http://127.0.0.1:", server_->port(), "/webhook");
}

// ---------------------------------------------------------------- Load

namespace {

// Shared bookkeeping of one load run; completions come from many threads.
class Tally {
 public:
  explicit Tally(absl::Duration duration)
      : per_second_(static_cast<size_t>(absl::ToDoubleSeconds(duration)) +
                    120) {
    for (auto& c : per_second_) c.store(0);
  }
  void Start() { start_ = absl::Now(); }
  absl::Time start() const { return start_; }

  void Done(absl::Time scheduled, bool ok, int weight,
            const std::string& error) {
    absl::Time now = absl::Now();
    size_t second = static_cast<size_t>(absl::ToDoubleSeconds(now - start_));
    if (second < per_second_.size()) per_second_[second].fetch_add(1);
    absl::MutexLock lock(&mu_);
    last_ = std::max(last_, now);
    if (ok) {
      ++ok_;
      weight_ok_ += weight;
      latency_.Record(now - scheduled);
    } else {
      ++errors_[error];
    }
    ++done_;
  }
  uint64_t done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  // Blocks until `started` calls have finished or `timeout` passes.
  void Wait(uint64_t started, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto all_done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return done_ >= started;
    };
    mu_.AwaitWithTimeout(absl::Condition(&all_done), timeout);
  }
  LoadResult Result(uint64_t started) {
    absl::MutexLock lock(&mu_);
    LoadResult r;
    r.started = started;
    r.ok = ok_;
    r.weight_ok = weight_ok_;
    r.errors = errors_;
    if (done_ < started) r.errors["NOT_FINISHED"] += started - done_;
    r.latency = latency_;
    r.elapsed_s = std::max(1e-9, absl::ToDoubleSeconds(last_ - start_));
    r.achieved_rate = ok_ / r.elapsed_s;
    r.achieved_weight_rate = weight_ok_ / r.elapsed_s;
    size_t seconds = static_cast<size_t>(std::ceil(r.elapsed_s));
    for (size_t i = 0; i < std::min(seconds, per_second_.size()); ++i) {
      r.per_second.push_back(per_second_[i].load());
    }
    return r;
  }

 private:
  absl::Time start_;
  std::vector<std::atomic<uint64_t>> per_second_;
  absl::Mutex mu_;
  uint64_t ok_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t weight_ok_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t done_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t> errors_ ABSL_GUARDED_BY(mu_);
  Histogram latency_ ABSL_GUARDED_BY(mu_);
  absl::Time last_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Calls `issue(i, scheduled)` at the load's pace; returns how many started.
// Closed loop: `issue` returns and the caller's completion calls `next()`.
uint64_t Schedule(const Load& load, absl::Time start,
                  const std::function<void(uint64_t, absl::Time)>& issue) {
  const uint64_t total =
      static_cast<uint64_t>(load.rate * absl::ToDoubleSeconds(load.duration));
  uint64_t i = 0;
  while (i < total) {
    absl::Time now = absl::Now();
    uint64_t due = std::min<uint64_t>(
        total,
        static_cast<uint64_t>(absl::ToDoubleSeconds(now - start) * load.rate) +
            1);
    for (; i < due; ++i) {
      issue(i, start + absl::Seconds(i / load.rate));
    }
    absl::Time next = start + absl::Seconds(i / load.rate);
    absl::Duration wait = next - absl::Now();
    if (wait > absl::Microseconds(50)) absl::SleepFor(wait);
  }
  return total;
}

}  // namespace

LoadResult RunSendLoad(const std::string& target, const Load& load,
                       int channels, const MakeSend& make,
                       const OnSent& on_sent) {
  std::vector<std::unique_ptr<v1::Messaging::Stub>> stubs;
  for (int c = 0; c < std::max(1, channels); ++c) {
    grpc::ChannelArguments args;
    // A distinct argument per channel: its own TCP connection.
    args.SetInt("wagate.bench.channel", c);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stubs.push_back(v1::Messaging::NewStub(grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args)));
  }
  for (auto& stub : stubs) {  // connect before the clock starts
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    v1::SendRequest req;
    v1::SendResponse resp;
    (void)stub->Send(&ctx, req, &resp);  // INVALID_ARGUMENT, connection warm
  }

  Tally tally(load.duration);
  struct Call {
    grpc::ClientContext context;
    v1::SendRequest request;
    v1::SendResponse response;
    uint64_t index;
    absl::Time scheduled;
  };
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> started{0};
  absl::Time end;
  std::function<void(uint64_t, absl::Time)> issue;
  issue = [&](uint64_t i, absl::Time scheduled) {
    auto* call = new Call;
    call->index = i;
    call->scheduled = scheduled;
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(30));
    make(i, &call->request);
    started.fetch_add(1);
    stubs[i % stubs.size()]->async()->Send(
        &call->context, &call->request, &call->response,
        [&, call](grpc::Status status) {
          if (on_sent) on_sent(call->index, status, call->response);
          // The next call starts before this one counts as done, so the
          // final wait sees every call that will ever start.
          if (!load.open() && absl::Now() < end) {
            issue(next.fetch_add(1), absl::Now());
          }
          absl::Time scheduled = call->scheduled;
          delete call;
          tally.Done(scheduled, status.ok(), 1, CodeName(status.error_code()));
        });
  };

  tally.Start();
  end = tally.start() + load.duration;
  if (load.open()) {
    Schedule(load, tally.start(), issue);
  } else {
    for (int k = 0; k < load.in_flight; ++k)
      issue(next.fetch_add(1), absl::Now());
    absl::SleepFor(load.duration);
  }
  // Closed loop: a completion after `end` issues nothing more, so `started`
  // settles; wait for the stragglers.
  uint64_t last = 0;
  do {
    last = started.load();
    tally.Wait(last, absl::Seconds(35));
  } while (started.load() != last);
  return tally.Result(started.load());
}

LoadResult RunHttpLoad(const Load& load, int connections, int threads,
                       const MakeHttp& make) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  http::ClientOptions options;
  options.max_connections_per_host = connections;
  options.max_total_connections = connections;
  auto client = std::make_unique<http::Client>(io, options);
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) {
    pool.emplace_back([&io] { io.run(); });
  }

  Tally tally(load.duration);
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> started{0};
  absl::Time end;
  std::function<void(uint64_t, absl::Time)> issue;
  issue = [&](uint64_t i, absl::Time scheduled) {
    http::ClientRequest request;
    request.timeout = absl::Seconds(30);
    int weight = make(i, &request);
    started.fetch_add(1);
    client->Send(
        std::move(request),
        [&, scheduled, weight](absl::StatusOr<http::ClientResponse> r) {
          bool ok = r.ok() && r->status == 200;
          std::string error;
          if (!r.ok()) {
            error = absl::StatusCodeToString(r.status().code());
          } else if (!ok) {
            error = absl::StrCat("HTTP_", r->status);
          }
          if (!load.open() && absl::Now() < end) {
            issue(next.fetch_add(1), absl::Now());
          }
          tally.Done(scheduled, ok, weight, error);
        });
  };
  tally.Start();
  end = tally.start() + load.duration;
  if (load.open()) {
    Schedule(load, tally.start(), issue);
  } else {
    for (int k = 0; k < load.in_flight; ++k)
      issue(next.fetch_add(1), absl::Now());
    absl::SleepFor(load.duration);
  }
  uint64_t last = 0;
  do {
    last = started.load();
    tally.Wait(last, absl::Seconds(35));
  } while (started.load() != last);
  LoadResult result = tally.Result(started.load());
  client.reset();
  work.reset();
  io.stop();
  for (std::thread& t : pool) t.join();
  return result;
}

namespace {

// One keep-alive connection posting request after request until `end`.
class RawConnection : public std::enable_shared_from_this<RawConnection> {
 public:
  RawConnection(boost::asio::io_context& io, std::string host, int port,
                std::string path, const MakeHttp& make,
                std::atomic<uint64_t>* next, std::atomic<uint64_t>* started,
                absl::Time end, Tally* tally)
      : socket_(io),
        host_(std::move(host)),
        port_(port),
        path_(std::move(path)),
        make_(make),
        next_(next),
        started_(started),
        end_(end),
        tally_(tally) {}

  void Start() {
    boost::system::error_code ec;
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(host_, ec),
                                      port_);
    auto self = shared_from_this();
    socket_.async_connect(ep, [self](const boost::system::error_code& ec) {
      if (ec) {
        self->Fail("CONNECT");
        return;
      }
      self->socket_.set_option(boost::asio::ip::tcp::no_delay(true));
      self->Next();
    });
  }

 private:
  void Next() {
    if (absl::Now() >= end_) return;
    http::ClientRequest request;
    weight_ = make_(next_->fetch_add(1), &request);
    started_->fetch_add(1);
    out_ = absl::StrCat("POST ", path_, " HTTP/1.1\r\nHost: ", host_, ":",
                        port_, "\r\n");
    for (const auto& [name, value] : request.headers) {
      absl::StrAppend(&out_, name, ": ", value, "\r\n");
    }
    absl::StrAppend(&out_, "Content-Length: ", request.body.size(), "\r\n\r\n",
                    request.body);
    scheduled_ = absl::Now();
    auto self = shared_from_this();
    boost::asio::async_write(
        socket_, boost::asio::buffer(out_),
        [self](const boost::system::error_code& ec, size_t) {
          if (ec) return self->Fail("WRITE");
          self->ReadHead();
        });
  }

  void ReadHead() {
    auto self = shared_from_this();
    boost::asio::async_read_until(
        socket_, in_, "\r\n\r\n",
        [self](const boost::system::error_code& ec, size_t head_size) {
          if (ec) return self->Fail("READ");
          std::string head(
              boost::asio::buffers_begin(self->in_.data()),
              boost::asio::buffers_begin(self->in_.data()) + head_size);
          self->in_.consume(head_size);
          int status = 0;
          size_t length = 0;
          if (head.size() > 12) {
            (void)absl::SimpleAtoi(head.substr(9, 3), &status);
          }
          for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
            if (absl::StartsWithIgnoreCase(line, "content-length:")) {
              (void)absl::SimpleAtoi(
                  absl::StripAsciiWhitespace(line.substr(15)), &length);
            }
          }
          self->ReadBody(status, length);
        });
  }

  void ReadBody(int status, size_t length) {
    auto self = shared_from_this();
    size_t have = in_.size();
    auto done = [self, status, length] {
      self->in_.consume(length);
      bool ok = status == 200;
      const absl::Time scheduled = self->scheduled_;
      const int weight = self->weight_;
      // The next request starts before this one counts as done (see
      // RunSendLoad); Next overwrites scheduled_ and weight_.
      self->Next();
      self->tally_->Done(scheduled, ok, weight,
                         ok ? "" : absl::StrCat("HTTP_", status));
    };
    if (have >= length) return done();
    boost::asio::async_read(
        socket_, in_, boost::asio::transfer_exactly(length - have),
        [self, done](const boost::system::error_code& ec, size_t) {
          if (ec) return self->Fail("READ");
          done();
        });
  }

  void Fail(const char* what) {
    tally_->Done(scheduled_, false, 0, absl::StrCat("TRANSPORT_", what));
  }

  boost::asio::ip::tcp::socket socket_;
  std::string host_;
  int port_;
  std::string path_;
  const MakeHttp& make_;
  std::atomic<uint64_t>* next_;
  std::atomic<uint64_t>* started_;
  absl::Time end_;
  Tally* tally_;
  std::string out_;
  boost::asio::streambuf in_;
  absl::Time scheduled_;
  int weight_ = 0;
};

}  // namespace

LoadResult RunRawHttpLoad(const std::string& url, const Load& load,
                          int connections, int threads, const MakeHttp& make) {
  // "http://host:port/path"
  absl::string_view rest = url;
  absl::ConsumePrefix(&rest, "http://");
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  std::string path =
      slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  size_t colon = authority.rfind(':');
  std::string host(authority.substr(0, colon));
  int port = 80;
  if (colon != absl::string_view::npos) {
    (void)absl::SimpleAtoi(authority.substr(colon + 1), &port);
  }

  boost::asio::io_context io;
  Tally tally(load.duration);
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> started{0};
  tally.Start();
  const absl::Time end = tally.start() + load.duration;
  // Started before the io threads run: the first callbacks run there.
  {
    std::vector<std::shared_ptr<RawConnection>> conns;
    for (int c = 0; c < std::max(1, connections); ++c) {
      conns.push_back(std::make_shared<RawConnection>(
          io, host, port, path, make, &next, &started, end, &tally));
      conns.back()->Start();
    }
  }
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) {
    pool.emplace_back([&io] { io.run(); });  // returns when all conns end
  }
  for (std::thread& t : pool) t.join();
  return tally.Result(started.load());
}

}  // namespace wagate::bench
