// A small blocking Redis client on hiredis, for the Redis backend of the event
// store (and anything else that keeps shared state in Redis): URL parsing,
// one connection with connect/command timeouts, reconnection with backoff,
// and Lua scripts run with EVALSHA (falling back to EVAL on NOSCRIPT, e.g.
// after Redis restarted and lost its script cache).
//
// A Client is one connection and serves one command at a time (calls from
// several threads are serialized); keep one per thread that needs Redis, or a
// small pool. Errors are values: UNAVAILABLE while Redis is unreachable, times
// out or refuses the work for now (OOM, LOADING, BUSY, READONLY...), INTERNAL
// for other error replies (a bug in a command or script).
//
//   ASSIGN_OR_RETURN(redis::Address address,
//                    redis::ParseUrl("redis://127.0.0.1:6379/0"));
//   redis::Client client(address, redis::ClientOptions());
//   ASSIGN_OR_RETURN(redis::Reply pong, client.Command({"PING"}));
//   static const redis::Script kIncr("return redis.call('INCR', KEYS[1])");
//   ASSIGN_OR_RETURN(redis::Reply n, client.Eval(kIncr, {"{app}:n"}, {}));
#ifndef WAGATE_SERVICE_REDIS_CLIENT_H_
#define WAGATE_SERVICE_REDIS_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct redisContext;

namespace wagate::redis {

// Where Redis is: redis://HOST[:PORT][/DB][?OPTIONS], OPTIONS joined by '&':
// `prefix=NAME` names the hash tag of the keys a user of the client writes
// (default "wagate"), so several deployments can share a Redis;
// `durability=relaxed` (or `strict`, the default) tells the event store to
// accept a Redis that may lose acknowledged writes on a crash
// (events/redis_store.h). HOST may be an IPv6 literal in brackets.
struct Address {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string prefix = "wagate";
  bool relaxed_durability = false;

  std::string ToString() const;  // host:port/db, for logs (no secrets in it)
  // "{prefix}": every key of one deployment carries it, so the keys a
  // script touches share one Redis Cluster slot.
  std::string HashTag() const { return "{" + prefix + "}"; }
};

// INVALID_ARGUMENT naming the URL if it is not of the form above.
absl::StatusOr<Address> ParseUrl(absl::string_view url);

// One reply, copied out of hiredis. Error replies never reach callers as a
// Reply (they become a Status), except inside arrays (e.g. a script's
// redis.pcall results).
struct Reply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<Reply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_array() const { return type == Type::kArray; }
  bool is_string() const { return type == Type::kString; }
};

// A Lua script, identified by its SHA1 for EVALSHA.
class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;  // lowercase hex
};

struct ClientOptions {
  // AUTH on every connection when set (Redis 6 ACL user: username too).
  // Secrets: read them from the environment, never from the URL or flags.
  std::string username;
  std::string password;
  absl::Duration connect_timeout = absl::Seconds(1);
  // How long a command may take (send + answer) before UNAVAILABLE.
  absl::Duration command_timeout = absl::Seconds(5);
  // After a failed connection, the next attempt waits min_backoff, doubling
  // up to max_backoff; commands meanwhile fail at once with UNAVAILABLE
  // (a webhook answers 503 instead of queueing behind a dead Redis).
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
};

// Blocks SIGPIPE on this thread for its lifetime and discards one raised
// meanwhile. hiredis writes with write(2): a connection the server reset,
// or that Shutdown closed from another thread just before the write, would
// raise SIGPIPE, whose default action kills the process. Every command runs
// under one (exposed for tests).
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock();
  ~ScopedSigpipeBlock();
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  bool was_pending_ = false;  // pending before: not ours to discard
  bool unblock_ = false;      // blocked here, so unblocked at the end
};

// Fills `options`' empty username and password from WAGATE_REDIS_USERNAME
// and WAGATE_REDIS_PASSWORD: secrets come only from the environment (the
// URL is logged).
void CredentialsFromEnvironment(ClientOptions* options);

class Client {
 public:
  Client(Address address, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs one command (binary-safe arguments). `timeout` overrides the
  // command timeout for this call (e.g. XREAD BLOCK); zero = the default.
  absl::StatusOr<Reply> Command(const std::vector<std::string>& args,
                                absl::Duration timeout = absl::ZeroDuration());

  // EVALSHA, then EVAL if Redis does not know the script.
  absl::StatusOr<Reply> Eval(const Script& script,
                             const std::vector<std::string>& keys,
                             const std::vector<std::string>& args);

  // Makes a command blocked in another thread return now (UNAVAILABLE), and
  // every later command fail: for shutting down a thread that waits in
  // XREAD BLOCK. Thread-safe.
  void Shutdown();

  const Address& address() const { return address_; }

  // Connections made so far. Unchanged across two commands means they ran
  // on one connection (what WAIT / WAITAOF, which wait for the writes of
  // their own connection, rely on).
  uint64_t connections();

 private:
  absl::Status EnsureConnectedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DisconnectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Reply> CommandLocked(const std::vector<std::string>& args,
                                      absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Address address_;
  const ClientOptions options_;

  absl::Mutex mu_;
  redisContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  bool was_connected_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t connections_ ABSL_GUARDED_BY(mu_) = 0;

  // The socket of context_, for Shutdown from another thread. Cleared (under
  // fd_mu_) before the socket is closed, so Shutdown never touches a reused
  // descriptor.
  absl::Mutex fd_mu_;
  int fd_ ABSL_GUARDED_BY(fd_mu_) = -1;
  bool shut_down_ ABSL_GUARDED_BY(fd_mu_) = false;
};

}  // namespace wagate::redis

#endif  // WAGATE_SERVICE_REDIS_CLIENT_H_
