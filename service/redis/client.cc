#include "service/redis/client.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"

namespace wagate::redis {
namespace {

timeval SocketTimeout(absl::Duration d) {
  if (d < absl::Milliseconds(1)) d = absl::Milliseconds(1);
  return absl::ToTimeval(d);
}

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(Convert(r->element[i]));
      }
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

// Error replies that mean "not now" rather than "never": the caller (a
// webhook) should answer 503 and be retried.
bool IsTransientError(absl::string_view error) {
  for (absl::string_view code :
       {"LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "TRYAGAIN",
        "CLUSTERDOWN", "MOVED", "ASK", "NOREPLICAS", "MISCONF"}) {
    if (absl::StartsWith(error, code) &&
        (error.size() == code.size() || error[code.size()] == ' ')) {
      return true;
    }
  }
  return false;
}

bool ValidPrefix(absl::string_view prefix) {
  if (prefix.empty() || prefix.size() > 64) return false;
  for (char c : prefix) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

ScopedSigpipeBlock::ScopedSigpipeBlock() {
  sigset_t pipe, old, pending;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  if (sigpending(&pending) == 0) {
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  unblock_ = pthread_sigmask(SIG_BLOCK, &pipe, &old) == 0 &&
             sigismember(&old, SIGPIPE) == 0;
}

ScopedSigpipeBlock::~ScopedSigpipeBlock() {
  const int saved_errno = errno;
  sigset_t pipe, pending;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  if (!was_pending_ && sigpending(&pending) == 0 &&
      sigismember(&pending, SIGPIPE) == 1) {
    const timespec now{0, 0};
    while (sigtimedwait(&pipe, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  if (unblock_) pthread_sigmask(SIG_UNBLOCK, &pipe, nullptr);
  errno = saved_errno;
}

std::string Address::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port, "/", db);
}

void CredentialsFromEnvironment(ClientOptions* options) {
  if (options->username.empty()) {
    if (const char* user = std::getenv("WAGATE_REDIS_USERNAME")) {
      options->username = user;
    }
  }
  if (options->password.empty()) {
    if (const char* password = std::getenv("WAGATE_REDIS_PASSWORD")) {
      options->password = password;
    }
  }
}

absl::StatusOr<Address> ParseUrl(absl::string_view url) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "redis URL \"", url, "\": ", why,
        " (want redis://HOST[:PORT][/DB][?prefix=NAME][&durability=relaxed])"));
  };
  constexpr absl::string_view kScheme = "redis://";
  if (!absl::StartsWith(url, kScheme)) return bad("not redis://");
  absl::string_view rest = url.substr(kScheme.size());
  Address address;

  absl::string_view query;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  absl::string_view path;
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (rest.find('@') != absl::string_view::npos) {
    return bad("credentials in the URL are not supported");
  }
  absl::string_view port;
  if (absl::StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    if (close == absl::string_view::npos) return bad("unclosed [");
    address.host = std::string(rest.substr(1, close - 1));
    absl::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after ]");
      port = after.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else {
    size_t colon = rest.find(':');
    address.host = std::string(rest.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return bad("empty port");
    }
  }
  if (address.host.empty()) return bad("no host");
  if (!port.empty()) {
    int p = 0;
    if (!absl::SimpleAtoi(port, &p) || p < 1 || p > 65535 ||
        !absl::ascii_isdigit(static_cast<unsigned char>(port[0]))) {
      return bad("bad port");
    }
    address.port = p;
  }
  if (!path.empty()) {
    int db = 0;
    if (!absl::SimpleAtoi(path, &db) || db < 0 || db > 1000000 ||
        !absl::ascii_isdigit(static_cast<unsigned char>(path[0]))) {
      return bad("bad database number");
    }
    address.db = db;
  }
  bool seen_prefix = false, seen_durability = false;
  for (absl::string_view option : absl::StrSplit(query, '&')) {
    if (query.empty()) break;
    constexpr absl::string_view kPrefix = "prefix=";
    constexpr absl::string_view kDurability = "durability=";
    if (absl::StartsWith(option, kPrefix) && !seen_prefix) {
      seen_prefix = true;
      absl::string_view prefix = option.substr(kPrefix.size());
      if (!ValidPrefix(prefix)) {
        return bad("prefix must be 1-64 of [A-Za-z0-9_.-]");
      }
      address.prefix = std::string(prefix);
    } else if (absl::StartsWith(option, kDurability) && !seen_durability) {
      seen_durability = true;
      absl::string_view durability = option.substr(kDurability.size());
      if (durability == "relaxed") {
        address.relaxed_durability = true;
      } else if (durability != "strict") {
        return bad("durability must be strict or relaxed");
      }
    } else {
      return bad("unknown or repeated option");
    }
  }
  return address;
}

Script::Script(std::string source) : source_(std::move(source)) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(source_.data(), source_.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  sha1_.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    sha1_.push_back(kHex[md[i] >> 4]);
    sha1_.push_back(kHex[md[i] & 0xf]);
  }
}

Client::Client(Address address, ClientOptions options)
    : address_(std::move(address)), options_(options) {}

Client::~Client() {
  absl::MutexLock lock(&mu_);
  DisconnectLocked();
}

void Client::Shutdown() {
  absl::MutexLock lock(&fd_mu_);
  shut_down_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void Client::DisconnectLocked() {
  if (context_ == nullptr) return;
  {
    absl::MutexLock lock(&fd_mu_);
    fd_ = -1;
  }
  redisFree(context_);
  context_ = nullptr;
}

absl::Status Client::EnsureConnectedLocked() {
  {
    absl::MutexLock lock(&fd_mu_);
    if (shut_down_) return absl::UnavailableError("redis client shut down");
  }
  if (context_ != nullptr) {
    // Between commands nothing may be readable; if something is, the server
    // closed the connection while it was idle (e.g. Redis restarted). Find
    // out now rather than after sending a command that may or may not run.
    pollfd p{context_->fd, POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) {
      log::Info("redis", "connection closed by the server, reconnecting",
                {{"address", address_.ToString()}});
      DisconnectLocked();
    } else {
      return absl::OkStatus();
    }
  }
  const absl::Time now = absl::Now();
  if (now < next_attempt_) {
    return absl::UnavailableError(absl::StrCat(
        "redis at ", address_.ToString(), " is unreachable; retrying in ",
        absl::FormatDuration(next_attempt_ - now)));
  }
  redisContext* c =
      redisConnectWithTimeout(address_.host.c_str(), address_.port,
                              SocketTimeout(options_.connect_timeout));
  std::string error;
  if (c == nullptr) {
    error = "out of memory";
  } else if (c->err) {
    error = c->errstr;
  } else if (redisSetTimeout(c, SocketTimeout(options_.command_timeout)) !=
             REDIS_OK) {
    error = "cannot set socket timeout";
  }
  // Runs a setup command on the new connection; false (and `error`) if it
  // failed.
  auto setup = [&](std::vector<std::string> args) {
    ScopedSigpipeBlock no_sigpipe;
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(
        c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) {
      error = c->errstr;
    } else {
      if (r->type == REDIS_REPLY_ERROR) {
        // Never echo what was sent with AUTH; Redis's error names no secret.
        error = absl::StrCat(args[0], ": ", absl::string_view(r->str, r->len));
      }
      freeReplyObject(r);
    }
    return error.empty();
  };
  if (error.empty() && !options_.password.empty()) {
    if (options_.username.empty()) {
      setup({"AUTH", options_.password});
    } else {
      setup({"AUTH", options_.username, options_.password});
    }
  }
  if (error.empty() && address_.db != 0) {
    setup({"SELECT", absl::StrCat(address_.db)});
  }
  if (!error.empty()) {
    if (c != nullptr) redisFree(c);
    backoff_ = backoff_ == absl::ZeroDuration()
                   ? options_.min_backoff
                   : std::min(backoff_ * 2, options_.max_backoff);
    next_attempt_ = now + backoff_;
    if (was_connected_) {
      was_connected_ = false;
      log::Warning("redis", "cannot connect",
                   {{"address", address_.ToString()}, {"error", error}});
    }
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to redis at ", address_.ToString(), ": ", error));
  }
  {
    absl::MutexLock lock(&fd_mu_);
    if (shut_down_) {
      redisFree(c);
      return absl::UnavailableError("redis client shut down");
    }
    fd_ = c->fd;
  }
  context_ = c;
  ++connections_;
  if (backoff_ != absl::ZeroDuration()) {
    log::Info("redis", "reconnected", {{"address", address_.ToString()}});
  }
  backoff_ = absl::ZeroDuration();
  next_attempt_ = absl::InfinitePast();
  was_connected_ = true;
  return absl::OkStatus();
}

absl::StatusOr<Reply> Client::CommandLocked(
    const std::vector<std::string>& args, absl::Duration timeout) {
  RETURN_IF_ERROR(EnsureConnectedLocked());
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  const bool custom_timeout = timeout != absl::ZeroDuration();
  if (custom_timeout) redisSetTimeout(context_, SocketTimeout(timeout));
  redisReply* r;
  {
    ScopedSigpipeBlock no_sigpipe;  // a dead peer is an error, not a kill
    r = static_cast<redisReply*>(redisCommandArgv(
        context_, static_cast<int>(argv.size()), argv.data(), lens.data()));
  }
  if (r == nullptr) {
    // The connection is unusable after an I/O error or timeout: a late
    // answer would be read as the answer to the next command.
    std::string error = context_->errstr;
    if (error.empty()) error = "connection lost";
    DisconnectLocked();
    bool shut_down;
    {
      absl::MutexLock lock(&fd_mu_);
      shut_down = shut_down_;
    }
    if (!shut_down) {
      log::Warning("redis", "command failed",
                   {{"address", address_.ToString()},
                    {"command", args.empty() ? "" : args[0]},
                    {"error", error}});
    }
    return absl::UnavailableError(
        absl::StrCat("redis at ", address_.ToString(), ": ", error));
  }
  if (custom_timeout) {
    redisSetTimeout(context_, SocketTimeout(options_.command_timeout));
  }
  Reply reply = Convert(r);
  freeReplyObject(r);
  if (reply.type == Reply::Type::kError) {
    std::string message = absl::StrCat("redis: ", reply.str);
    if (IsTransientError(reply.str)) {
      return absl::UnavailableError(message);
    }
    return absl::InternalError(message);
  }
  return reply;
}

absl::StatusOr<Reply> Client::Command(const std::vector<std::string>& args,
                                      absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return CommandLocked(args, timeout);
}

uint64_t Client::connections() {
  absl::MutexLock lock(&mu_);
  return connections_;
}

absl::StatusOr<Reply> Client::Eval(const Script& script,
                                   const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(script.sha1());
  argv.push_back(absl::StrCat(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Reply> reply = CommandLocked(argv, absl::ZeroDuration());
  if (reply.ok() ||
      !absl::StartsWith(reply.status().message(), "redis: NOSCRIPT")) {
    return reply;
  }
  // Not cached (first use, or Redis restarted): EVAL runs and caches it.
  argv[0] = "EVAL";
  argv[1] = script.source();
  return CommandLocked(argv, absl::ZeroDuration());
}

}  // namespace wagate::redis
