#include "emulator/webhook_sender.h"

#include <algorithm>
#include <cstring>

#include "absl/time/clock.h"
#include "boost/asio/steady_timer.hpp"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "service/common/hmac.h"
#include "service/common/json_writer.h"
#include "service/common/log.h"

namespace wagate::emulator {

struct WebhookSender::Post {
  std::vector<Change> changes;  // until the body is built
  std::string body;
  std::string signature;
  std::vector<Done> done;
  size_t changes_count = 0;
  int attempt = 0;
  bool duplicate = false;  // a fault copy: no callbacks, no retries
};

// HMAC-SHA256 with the key's inner and outer pad states hashed once: the
// one-shot HMAC() fetches the digest and re-derives both on every call, a
// tenth of a webhook POST's CPU.
class WebhookSender::Signer {
 public:
  explicit Signer(absl::string_view secret)
      : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)),
        inner_(EVP_MD_CTX_new()),
        outer_(EVP_MD_CTX_new()) {
    unsigned char key[64] = {0};
    if (secret.size() > sizeof(key)) {  // long keys are hashed first (RFC 2104)
      unsigned int n = 0;
      EVP_Digest(secret.data(), secret.size(), key, &n, md_, nullptr);
    } else {
      std::memcpy(key, secret.data(), secret.size());
    }
    unsigned char pad[64];
    for (size_t i = 0; i < sizeof(pad); ++i) pad[i] = key[i] ^ 0x36;
    EVP_DigestInit_ex(inner_, md_, nullptr);
    EVP_DigestUpdate(inner_, pad, sizeof(pad));
    for (size_t i = 0; i < sizeof(pad); ++i) pad[i] = key[i] ^ 0x5c;
    EVP_DigestInit_ex(outer_, md_, nullptr);
    EVP_DigestUpdate(outer_, pad, sizeof(pad));
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(pad, sizeof(pad));
  }
  ~Signer() {
    EVP_MD_CTX_free(inner_);
    EVP_MD_CTX_free(outer_);
    EVP_MD_free(md_);
  }
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // "sha256=<hex>", as common::SignatureHeader. Thread-safe: the pad states
  // are only read.
  std::string Header(absl::string_view body) const {
    struct Free {
      void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
    };
    thread_local std::unique_ptr<EVP_MD_CTX, Free> scratch(EVP_MD_CTX_new());
    EVP_MD_CTX* ctx = scratch.get();
    unsigned char inner[32], digest[32];
    unsigned int n = 0;
    EVP_MD_CTX_copy_ex(ctx, inner_);
    EVP_DigestUpdate(ctx, body.data(), body.size());
    EVP_DigestFinal_ex(ctx, inner, &n);
    EVP_MD_CTX_copy_ex(ctx, outer_);
    EVP_DigestUpdate(ctx, inner, sizeof(inner));
    EVP_DigestFinal_ex(ctx, digest, &n);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "sha256=";
    out.resize(7 + 64);
    for (size_t i = 0; i < 32; ++i) {
      out[7 + 2 * i] = kHex[digest[i] >> 4];
      out[8 + 2 * i] = kHex[digest[i] & 0xf];
    }
    return out;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* inner_;
  EVP_MD_CTX* outer_;
};

namespace {

bool IsAscii(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

WebhookSender::WebhookSender(boost::asio::io_context& io,
                             const EmulatorOptions& options)
    : io_(io),
      url_(options.webhook_url),
      secret_(options.app_secret),
      options_(options),
      rng_state_(options.seed * 0x9E3779B97F4A7C15ull + 1),
      guard_(std::make_shared<LifeGuard>()) {
  if (url_.empty()) return;
  signer_ = std::make_unique<const Signer>(secret_);
  const int connections = std::max(1, options.webhook_concurrency);
  absl::StatusOr<HttpTarget> target = ParseHttpUrl(url_);
  if (target.ok()) {
    transport_ = std::make_unique<WebhookTransport>(
        io, *std::move(target),
        WebhookTransportOptions{.connections = connections,
                                .timeout = options.webhook_timeout});
  } else {
    client_ = std::make_unique<http::Client>(
        io, http::ClientOptions{
                .max_connections_per_host = static_cast<size_t>(connections),
                .max_total_connections = static_cast<size_t>(connections),
            });
  }
}

WebhookSender::~WebhookSender() {
  Stop();
  guard_->Kill();  // then the transport's destructor cancels into no-ops
}

void WebhookSender::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void WebhookSender::set_duplicate_rate(double rate) {
  absl::MutexLock lock(&mu_);
  duplicate_rate_ = rate;
}

WebhookStats WebhookSender::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void WebhookSender::ResetStats() {
  absl::MutexLock lock(&mu_);
  uint64_t pending = stats_.pending;
  stats_ = WebhookStats();
  stats_.pending = pending;
}

void WebhookSender::Enqueue(Change change, Done done) {
  if (!enabled()) {
    if (done) done();
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.changes;
    ++stats_.pending;
    queue_.push_back(Item{std::move(change), std::move(done)});
  }
  Pump();
}

void WebhookSender::Pump(bool flush) {
  std::vector<std::shared_ptr<Post>> to_send;
  bool arm_linger = false;
  {
    absl::MutexLock lock(&mu_);
    const int batch = std::max(1, options_.webhook_batch);
    while (!stopped_ && !queue_.empty() &&
           in_flight_ < std::max(1, options_.webhook_concurrency)) {
      if (batch > 1 && !flush && static_cast<int>(queue_.size()) < batch) {
        arm_linger = !linger_armed_;
        linger_armed_ = true;
        break;
      }
      auto post = std::make_shared<Post>();
      while (!queue_.empty() &&
             static_cast<int>(post->changes.size()) < batch) {
        post->changes.push_back(std::move(queue_.front().change));
        if (queue_.front().done)
          post->done.push_back(std::move(queue_.front().done));
        queue_.pop_front();
      }
      post->changes_count = post->changes.size();
      ++in_flight_;
      ++stats_.posted;
      to_send.push_back(std::move(post));
    }
  }
  // Bodies are built and signed outside the lock, so io threads do it in
  // parallel.
  for (auto& post : to_send) {
    post->body = Envelope(options_.waba_id, absl::Now(), post->changes);
    post->changes.clear();
    // Meta's bodies are ASCII (\uXXXX escapes); clients such as
    // whatsapp-api-js re-escape the raw body that way before verifying.
    if (!IsAscii(post->body)) post->body = common::EscapeNonAscii(post->body);
    post->signature = signer_->Header(post->body);
    Send(std::move(post));
  }
  if (arm_linger) {
    auto timer = std::make_shared<boost::asio::steady_timer>(
        io_, absl::ToChronoNanoseconds(options_.webhook_batch_linger));
    std::shared_ptr<LifeGuard> guard = guard_;
    timer->async_wait([this, timer, guard](boost::system::error_code ec) {
      if (ec) return;
      guard->Run([this] {
        {
          absl::MutexLock lock(&mu_);
          linger_armed_ = false;
        }
        Pump(/*flush=*/true);
      });
    });
  }
}

void WebhookSender::Send(std::shared_ptr<Post> post) {
  // stats_.posted (and retried) were counted by the caller, under its lock.
  ++post->attempt;
  std::shared_ptr<LifeGuard> guard = guard_;
  if (transport_) {
    // Reused per thread: building three header pairs per POST was a
    // handful of allocations.
    thread_local http::HeaderList headers = {
        {"Content-Type", "application/json"},
        {"X-Hub-Signature-256", ""},
        {"User-Agent", "facebookexternalua"}};
    headers[1].second = post->signature;
    transport_->Post(
        post->body, headers, [this, post, guard](absl::StatusOr<int> status) {
          guard->Run([&] { OnResult(post, status.ok() ? *status : 0); });
        });
    return;
  }
  http::ClientRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers = {{"Content-Type", "application/json"},
                 {"X-Hub-Signature-256", post->signature},
                 {"User-Agent", "facebookexternalua"}};
  req.body = post->body;
  req.timeout = options_.webhook_timeout;
  client_->Send(std::move(req),
                [this, post, guard](absl::StatusOr<http::ClientResponse> r) {
                  guard->Run([&] { OnResult(post, r.ok() ? r->status : 0); });
                });
}

void WebhookSender::OnResult(std::shared_ptr<Post> post, int status) {
  if (post->duplicate) {
    absl::MutexLock lock(&mu_);
    if (status == 200) ++stats_.acknowledged;
    --in_flight_;
  } else if (status == 200 || post->attempt >= options_.webhook_max_attempts) {
    bool duplicate = false;
    {
      absl::MutexLock lock(&mu_);
      --in_flight_;
      if (status == 200) {
        ++stats_.acknowledged;
      } else {
        ++stats_.dropped;
        log::Warning("emulator", "webhook dropped after retries",
                     {{"attempts", std::to_string(post->attempt)}});
      }
      stats_.pending -= std::min<uint64_t>(stats_.pending, post->changes_count);
      if (duplicate_rate_ > 0 && !stopped_) {
        rng_state_ =
            rng_state_ * 6364136223846793005ull + 1442695040888963407ull;
        duplicate = static_cast<double>(rng_state_ >> 11) / 9007199254740992.0 <
                    duplicate_rate_;
        if (duplicate) {
          ++stats_.duplicated;
          ++stats_.posted;
          ++in_flight_;
        }
      }
    }
    for (Done& d : post->done) d();
    if (duplicate) {
      auto copy = std::make_shared<Post>();
      copy->body = post->body;
      copy->signature = post->signature;
      copy->duplicate = true;
      Send(copy);
    }
  } else {
    // Backoff: initial * 2^(attempt-1), capped.
    absl::Duration delay = options_.webhook_retry_initial;
    for (int i = 1; i < post->attempt && delay < options_.webhook_retry_max;
         ++i) {
      delay *= 2;
    }
    delay = std::min(delay, options_.webhook_retry_max);
    {
      absl::MutexLock lock(&mu_);
      --in_flight_;  // a waiting retry does not hold a delivery slot
      if (stopped_) return;
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(
        io_, absl::ToChronoNanoseconds(delay));
    std::shared_ptr<LifeGuard> guard = guard_;
    timer->async_wait([this, post, timer, guard](boost::system::error_code ec) {
      if (ec) return;
      guard->Run([&] {
        {
          absl::MutexLock lock(&mu_);
          if (stopped_) return;
          ++in_flight_;
          ++stats_.posted;
          ++stats_.retried;
        }
        Send(post);
      });
    });
  }
  Pump();
}

}  // namespace wagate::emulator
