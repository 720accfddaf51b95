#include "service/resources/media_service.h"

#include <openssl/evp.h>

#include <algorithm>
#include <deque>
#include <random>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "service/common/status_macros.h"
#include "service/graph/graph_error.h"
#include "service/graph/graph_response.h"
#include "service/resources/graph_call.h"
#include "service/resources/graph_json.h"
#include "service/resources/media_url.h"
#include "service/resources/validation.h"

namespace wagate::resources {
namespace {

// The token for a media call: the number's when given; otherwise only a
// single-account gateway knows which token to use.
absl::StatusOr<std::string> MediaToken(const config::Accounts& accounts,
                                       const std::string& phone_number_id,
                                       absl::string_view field) {
  if (!phone_number_id.empty()) {
    absl::Status s = RequireId(phone_number_id, field);
    if (!s.ok()) return s;
    return PhoneToken(accounts, phone_number_id);
  }
  if (!accounts.single_account()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": required when the gateway serves several accounts"));
  }
  return accounts.TokenForWaba("");
}

// `method /{media_id}[?phone_number_id=]`: Graph checks the number owns
// the media when it is given.
graph::GraphCall MediaCall(absl::string_view method,
                           const std::string& media_id,
                           const std::string& phone_number_id,
                           absl::string_view operation, std::string token) {
  graph::GraphCall call =
      NewCall(method, "/" + media_id, operation, std::move(token));
  if (!phone_number_id.empty()) {
    call.query.emplace_back("phone_number_id", phone_number_id);
  }
  return call;
}

// A unary RPC on one media object: `method /{media_id}[?phone_number_id=]`.
grpc::ServerUnaryReactor* MediaRpc(
    graph::GraphClient& graph, const config::Accounts& accounts,
    grpc::CallbackServerContext* context, absl::string_view method,
    const std::string& media_id, const std::string& phone_number_id,
    absl::string_view operation, BodyHandler on_ok) {
  return UnaryGraphRpc(
      graph, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(RequireId(media_id, "media_id"));
        ASSIGN_OR_RETURN(
            std::string token,
            MediaToken(accounts, phone_number_id, "phone_number_id"));
        return MediaCall(method, media_id, phone_number_id, operation,
                         std::move(token));
      },
      std::move(on_ok));
}

std::string NewBoundary() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrCat("wagate-", absl::Hex(rng(), absl::kZeroPad16), "-",
                      counter.fetch_add(1));
}

void RaiseTo(std::atomic<uint64_t>* max, uint64_t value) {
  uint64_t seen = max->load(std::memory_order_relaxed);
  while (value > seen && !max->compare_exchange_weak(seen, value)) {
  }
}

// Incremental SHA-256 (EVP), as lowercase hex at the end.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view data) {
    EVP_DigestUpdate(ctx_, data.data(), data.size());
  }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, digest, &n);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < n; ++i) {
      hex.push_back(kHex[digest[i] >> 4]);
      hex.push_back(kHex[digest[i] & 0xf]);
    }
    return hex;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

// ---------------------------------------------------------------------------
// UploadMedia. Lifetime: deleted when both OnDone ran and the HTTP request
// (if started) finished, so curl's callbacks never outlive it. Invariants
// (under mu_): at most one read outstanding (reading_); Finish once
// (finished_); the source hands curl preamble, then buffered chunks, then
// the epilogue after the client half-closed.
class MediaService::UploadReactor
    : public grpc::ServerReadReactor<v1::UploadMediaRequest> {
 public:
  UploadReactor(MediaService* service, grpc::CallbackServerContext* context,
                v1::UploadMediaResponse* response)
      : service_(service),
        context_(context),
        response_(response),
        deadline_(DeadlineOf(*context)),
        control_(std::make_shared<http::StreamControl>()) {
    ++service_->uploads_;
    ++service_->running_;
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      OnClientDone();
      return;
    }
    bool started;
    {
      // reading_ stays true until this chunk is handled below: otherwise
      // curl's Source, on another thread, could start a second read while
      // this one decides whether to read on (gRPC allows one at a time).
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      started = started_;
    }
    if (!started) {
      Begin();
      return;
    }
    if (request_.has_metadata()) {
      Fail(LocalError(absl::InvalidArgumentError(
          "metadata: only the first message may carry metadata")));
      return;
    }
    std::string chunk = std::move(*request_.mutable_chunk());
    request_.Clear();
    bool read_more = false;
    {
      absl::ReleasableMutexLock lock(&mu_);
      received_ += static_cast<int64_t>(chunk.size());
      if (received_ > limit_) {
        std::string message =
            absl::StrCat("chunk: the file exceeds the ", limit_,
                         "-byte limit for ", kind_, " files");
        lock.Release();
        Fail(LocalError(absl::InvalidArgumentError(message)));
        return;
      }
      if (declared_ > 0 && received_ > declared_) {
        std::string message = absl::StrCat(
            "chunk: more bytes than metadata.size_bytes (", declared_, ")");
        lock.Release();
        Fail(LocalError(absl::InvalidArgumentError(message)));
        return;
      }
      buffered_ += chunk.size();
      if (!chunk.empty()) pieces_.push_back(std::move(chunk));
      service_->NoteUploadBuffered(buffered_);
      read_more = buffered_ < service_->options_.upload_buffer_bytes &&
                  BeginReadLocked();
      if (!read_more) reading_ = false;
    }
    control_->Resume();
    if (read_more) StartReadNow();
  }

  void OnCancel() override {
    Fail(grpc::Status(grpc::StatusCode::CANCELLED, "upload cancelled"));
  }

  void OnDone() override { Unref(); }

 private:
  // The first message: metadata, validation, token, then the HTTP request.
  void Begin() {
    if (!request_.has_metadata()) {
      Fail(LocalError(absl::InvalidArgumentError(
          "metadata: the first message must carry the metadata")));
      return;
    }
    const v1::UploadMediaMetadata& m = request_.metadata();
    absl::Status valid = ValidateUploadMetadata(m);
    if (!valid.ok()) {
      Fail(LocalError(valid));
      return;
    }
    if (service_->options_.upload_check) {
      absl::Status allowed =
          service_->options_.upload_check(context_, m.phone_number_id());
      if (!allowed.ok()) {
        Fail(LocalError(allowed));
        return;
      }
    }
    absl::StatusOr<std::string> token =
        PhoneToken(service_->accounts_, m.phone_number_id());
    if (!token.ok()) {
      Fail(LocalError(token.status()));
      return;
    }
    absl::StatusOr<MediaKind> kind = MediaKindFor(m.mime_type());
    const std::string boundary = NewBoundary();
    const std::string file_name =
        m.file_name().empty() ? "file" : m.file_name();
    std::string preamble = absl::StrCat(
        "--", boundary,
        "\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\n"
        "whatsapp\r\n--",
        boundary, "\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n",
        m.mime_type(), "\r\n--", boundary,
        "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"",
        file_name, "\"\r\nContent-Type: ", m.mime_type(), "\r\n\r\n");
    std::string epilogue = absl::StrCat("\r\n--", boundary, "--\r\n");

    graph::GraphCall call =
        NewCall("POST", "/" + m.phone_number_id() + "/media", "upload_media",
                *std::move(token));
    call.content_type =
        absl::StrCat("multipart/form-data; boundary=", boundary);
    call.deadline = deadline_;
    call.timeout = service_->options_.transfer_timeout;
    if (m.size_bytes() > 0) {
      call.body_source_size = static_cast<int64_t>(
          preamble.size() + m.size_bytes() + epilogue.size());
    }
    call.body_source = [this](char* buf, size_t max) {
      return Source(buf, max);
    };
    call.control = control_;
    bool read;
    {
      absl::MutexLock lock(&mu_);
      started_ = true;
      limit_ = kind->max_bytes;
      kind_ = std::string(kind->kind);
      declared_ = m.size_bytes();
      preamble_ = std::move(preamble);
      epilogue_ = std::move(epilogue);
      ++refs_;  // held by the HTTP request
      request_.Clear();
      read = BeginReadLocked();  // not after OnCancel finished the call
      if (!read) reading_ = false;
    }
    // Read on before sending: a request failing at once finishes the call,
    // and no read should start after that.
    if (read) StartReadNow();
    service_->graph_.Call(std::move(call), [this](graph::GraphResult r) {
      OnHttpDone(std::move(r));
    });
  }

  // Called by curl (on its strand) for the next bytes of the body.
  size_t Source(char* buf, size_t max) {
    bool read_more = false;
    size_t n = 0;
    {
      absl::MutexLock lock(&mu_);
      if (phase_ == Phase::kPreamble) {
        n = std::min(max, preamble_.size() - offset_);
        preamble_.copy(buf, n, offset_);
        offset_ += n;
        if (offset_ == preamble_.size()) {
          phase_ = Phase::kFile;
          offset_ = 0;
        }
        return n;
      }
      if (phase_ == Phase::kFile) {
        while (n < max && !pieces_.empty()) {
          std::string& front = pieces_.front();
          size_t take = std::min(max - n, front.size() - offset_);
          front.copy(buf + n, take, offset_);
          offset_ += take;
          n += take;
          if (offset_ == front.size()) {
            pieces_.pop_front();
            offset_ = 0;
          }
        }
        buffered_ -= n;
        if (!reading_ && !eof_ &&
            buffered_ < service_->options_.upload_buffer_bytes / 2) {
          read_more = BeginReadLocked();
        }
        if (n == 0) {
          if (!eof_) {
            n = http::kPauseBody;  // woken by the next chunk or the end
          } else {
            phase_ = Phase::kEpilogue;
          }
        }
      }
      if (phase_ == Phase::kEpilogue && n == 0) {
        n = std::min(max, epilogue_.size() - offset_);
        epilogue_.copy(buf, n, offset_);
        offset_ += n;
      }
    }
    if (read_more) StartReadNow();
    return n;
  }

  // A read may start (marked under the lock, started after unlocking) only
  // while the call is not finished; Finish waits for a read being started
  // (FinishOnce), so no read ever starts after Finish.
  bool BeginReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return false;
    reading_ = true;
    ++starting_reads_;
    return true;
  }

  void StartReadNow() {
    StartRead(&request_);
    grpc::Status deferred;
    {
      absl::MutexLock lock(&mu_);
      if (--starting_reads_ > 0 || !finish_deferred_) return;
      finish_deferred_ = false;
      deferred = std::move(deferred_status_);
    }
    Finish(deferred);
  }

  // The client half-closed (or the call died).
  void OnClientDone() {
    grpc::Status error;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (finished_) return;
      if (!started_) {
        error = LocalError(absl::InvalidArgumentError(
            "metadata: the stream ended before the metadata"));
      } else if (declared_ > 0 && received_ != declared_) {
        error = LocalError(absl::InvalidArgumentError(
            absl::StrCat("chunk: the stream ended after ", received_,
                         " of the ", declared_, " bytes of size_bytes")));
      } else {
        eof_ = true;
      }
    }
    if (!error.ok()) {
      Fail(error);
      return;
    }
    control_->Resume();
  }

  void OnHttpDone(graph::GraphResult r) {
    grpc::Status status = r.status;  // mapped, with details, when failed
    if (r.ok()) {
      graph::JsonDocument doc;
      absl::Status parsed = doc.Parse(r.body);
      std::string id = parsed.ok() ? doc.root().GetString("id") : "";
      if (id.empty()) {
        status = LocalError(absl::InternalError(
            "Graph answered the media upload without an id"));
      } else {
        response_->set_media_id(std::move(id));
      }
    }
    FinishOnce(status);  // no-op if a local failure finished the call
    Unref();
  }

  // Fails the call and aborts the upload (Graph never gets a partial file).
  // Finish first: the abort's own callback would otherwise finish the call
  // with CANCELLED and hide the reason. A reference of our own keeps this
  // reactor alive through the Abort (OnDone may run as soon as Finish does).
  void Fail(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      ++refs_;
    }
    FinishOnce(status);
    control_->Abort();
    Unref();
  }

  void FinishOnce(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      if (starting_reads_ > 0) {
        // StartReadNow finishes once its StartRead has been called.
        finish_deferred_ = true;
        deferred_status_ = status;
        return;
      }
    }
    Finish(status);
  }

  void Unref() {
    bool last;
    {
      absl::MutexLock lock(&mu_);
      last = --refs_ == 0;
    }
    if (last) {
      --service_->running_;
      delete this;
    }
  }

  enum class Phase { kPreamble, kFile, kEpilogue };

  MediaService* const service_;
  grpc::CallbackServerContext* const context_;  // valid until OnDone
  v1::UploadMediaResponse* const response_;
  const absl::Time deadline_;
  const std::shared_ptr<http::StreamControl> control_;
  v1::UploadMediaRequest request_;  // the outstanding read's target

  absl::Mutex mu_;
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // OnDone (+ the HTTP request)
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;   // FinishOnce ran
  int starting_reads_ ABSL_GUARDED_BY(mu_) = 0;  // marked, StartRead pending
  bool finish_deferred_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status deferred_status_ ABSL_GUARDED_BY(mu_);
  int64_t limit_ ABSL_GUARDED_BY(mu_) = 0;
  std::string kind_ ABSL_GUARDED_BY(mu_);
  int64_t declared_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t received_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::string> pieces_ ABSL_GUARDED_BY(mu_);
  size_t buffered_ ABSL_GUARDED_BY(mu_) = 0;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kPreamble;
  size_t offset_ ABSL_GUARDED_BY(mu_) = 0;  // in preamble/front piece/epilogue
  std::string preamble_ ABSL_GUARDED_BY(mu_);
  std::string epilogue_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------
// DownloadMedia. Lifetime: deleted when OnDone ran and the Graph and HTTP
// calls (if started) finished. Invariants (under mu_): one write in flight
// (writing_); `queued_` counts bytes fetched and not yet handed to a write;
// Finish once, when the transfer is over and no write is in flight.
class MediaService::DownloadReactor
    : public grpc::ServerWriteReactor<v1::DownloadMediaResponse> {
 public:
  DownloadReactor(MediaService* service, grpc::CallbackServerContext* context,
                  const v1::DownloadMediaRequest& request)
      : service_(service),
        deadline_(DeadlineOf(*context)),
        control_(std::make_shared<http::StreamControl>()) {
    ++service_->downloads_;
    ++service_->running_;
    absl::Status valid = RequireId(request.media_id(), "media_id");
    absl::StatusOr<std::string> token =
        valid.ok() ? MediaToken(service_->accounts_, request.phone_number_id(),
                                "phone_number_id")
                   : valid;
    if (!token.ok()) {
      FinishNow(LocalError(token.status()));
      return;
    }
    token_ = *std::move(token);
    graph::GraphCall call =
        MediaCall("GET", request.media_id(), request.phone_number_id(),
                  "get_media", token_);
    call.deadline = deadline_;
    {
      absl::MutexLock lock(&mu_);
      ++refs_;  // held by the Graph call
    }
    service_->graph_.Call(std::move(call), [this](graph::GraphResult r) {
      OnMetadata(std::move(r));
      Unref();
    });
  }

  void OnWriteDone(bool ok) override {
    bool resume = false;
    bool write = false;
    grpc::Status finish;
    bool do_finish = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        // The client is gone: stop fetching.
        failed_ = true;
        if (final_.ok()) {
          final_ = grpc::Status(grpc::StatusCode::CANCELLED,
                                "the client stopped reading");
        }
        queue_.clear();
        queued_ = 0;
      }
      if (!failed_ && !queue_.empty()) {
        write = true;
        PopLocked();
        resume = queued_ < service_->options_.download_buffer_bytes;
      } else {
        do_finish = ReadyToFinishLocked(&finish);
      }
    }
    if (!ok) control_->Abort();
    if (write) StartWrite(&out_);
    if (resume) control_->Resume();
    if (do_finish) Finish(finish);
  }

  void OnCancel() override {
    control_->Abort();
    grpc::Status finish;
    bool do_finish;
    {
      absl::MutexLock lock(&mu_);
      failed_ = true;
      final_ = grpc::Status(grpc::StatusCode::CANCELLED, "download cancelled");
      queue_.clear();
      queued_ = 0;
      do_finish = ReadyToFinishLocked(&finish);
    }
    if (do_finish) Finish(finish);
  }

  void OnDone() override { Unref(); }

 private:
  void OnMetadata(graph::GraphResult r) {
    if (!r.ok()) {
      EndTransfer(r.status);
      return;
    }
    graph::JsonDocument doc;
    absl::Status parsed = doc.Parse(r.body);
    v1::MediaMetadata metadata;
    if (parsed.ok()) metadata = ParseMediaMetadata(doc.root());
    if (metadata.url().empty()) {
      EndTransfer(LocalError(absl::InternalError(
          "Graph answered the media lookup without a download URL")));
      return;
    }
    if (absl::Status where = CheckMediaDownloadUrl(
            metadata.url(), service_->options_.graph_base_url);
        !where.ok()) {
      EndTransfer(LocalError(where));
      return;
    }
    graph::GraphCall call = NewCall("GET", "", "download_media", token_);
    call.url = metadata.url();  // signed, short-lived; needs the token too
    call.deadline = deadline_;
    call.timeout = service_->options_.transfer_timeout;
    call.body_sink = [this](absl::string_view piece) { return Sink(piece); };
    call.control = control_;
    expected_sha256_ = metadata.sha256();
    expected_size_ = metadata.file_size();
    v1::DownloadMediaResponse first;
    *first.mutable_metadata() = std::move(metadata);
    first.mutable_metadata()->clear_url();  // short-lived and secret-ish
    bool write = false;
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      cancelled = failed_;
      if (!cancelled) {
        ++refs_;  // held by the HTTP request
        queue_.push_back(std::move(first));
        if (!writing_) {
          write = true;
          PopLocked();
        }
      }
    }
    if (cancelled) {
      EndTransfer(grpc::Status::OK);  // final_ holds the cancellation
      return;
    }
    if (write) StartWrite(&out_);
    service_->graph_.Call(std::move(call), [this](graph::GraphResult r) {
      OnHttpDone(std::move(r));
      Unref();
    });
  }

  // Called by curl (on its strand) with the next bytes of the file.
  bool Sink(absl::string_view piece) {
    const Options& o = service_->options_;
    bool write = false;
    {
      absl::MutexLock lock(&mu_);
      if (failed_) return true;  // dropped; the transfer is being aborted
      if (queued_ >= o.download_buffer_bytes) return false;  // paused
      sha_.Update(piece);
      received_ += static_cast<int64_t>(piece.size());
      queued_ += piece.size();
      while (!piece.empty()) {
        if (queue_.empty() ||
            queue_.back().chunk().size() >= o.download_chunk_bytes ||
            !queue_.back().has_chunk()) {
          queue_.emplace_back().mutable_chunk();
        }
        std::string* chunk = queue_.back().mutable_chunk();
        size_t take =
            std::min(piece.size(), o.download_chunk_bytes - chunk->size());
        chunk->append(piece.data(), take);
        piece.remove_prefix(take);
      }
      service_->NoteDownloadBuffered(queued_);
      if (!writing_) {
        write = true;
        PopLocked();
      }
    }
    if (write) StartWrite(&out_);
    return true;
  }

  void OnHttpDone(graph::GraphResult r) {
    grpc::Status status = r.status;  // mapped, with details, when failed
    if (r.ok()) {
      std::string digest;
      int64_t received;
      {
        absl::MutexLock lock(&mu_);
        digest = sha_.HexDigest();
        received = received_;
      }
      if (!expected_sha256_.empty() &&
          !absl::EqualsIgnoreCase(digest, expected_sha256_)) {
        status = LocalError(absl::DataLossError(
            absl::StrCat("the downloaded file's sha256 ", digest,
                         " differs from the one Meta reported (",
                         expected_sha256_, "): discard it")));
      } else if (expected_size_ > 0 && received != expected_size_) {
        status = LocalError(absl::DataLossError(
            absl::StrCat("downloaded ", received, " bytes, Meta reported ",
                         expected_size_, ": discard it")));
      }
    }
    EndTransfer(status);
  }

  // The fetch is over (or never started): finish once the writes drain.
  void EndTransfer(const grpc::Status& status) {
    grpc::Status finish;
    bool do_finish;
    {
      absl::MutexLock lock(&mu_);
      transfer_done_ = true;
      if (!status.ok() && final_.ok()) {
        final_ = status;
        failed_ = true;
        queue_.clear();
        queued_ = 0;
      }
      do_finish = ReadyToFinishLocked(&finish);
    }
    if (do_finish) Finish(finish);
  }

  // Finish before anything started.
  void FinishNow(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
    }
    Finish(status);
  }

  bool ReadyToFinishLocked(grpc::Status* status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || !transfer_done_ || writing_ ||
        (!failed_ && !queue_.empty())) {
      return false;
    }
    finished_ = true;
    *status = final_;
    return true;
  }

  void PopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    out_ = std::move(queue_.front());
    queue_.pop_front();
    queued_ -= out_.chunk().size();
    writing_ = true;
  }

  void Unref() {
    bool last;
    {
      absl::MutexLock lock(&mu_);
      last = --refs_ == 0;
    }
    if (last) {
      --service_->running_;
      delete this;
    }
  }

  MediaService* const service_;
  const absl::Time deadline_;
  const std::shared_ptr<http::StreamControl> control_;
  std::string token_;
  std::string expected_sha256_;
  int64_t expected_size_ = 0;
  v1::DownloadMediaResponse out_;  // the outstanding write's message

  absl::Mutex mu_;
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // OnDone (+ Graph call, HTTP request)
  std::deque<v1::DownloadMediaResponse> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;  // chunk bytes in queue_
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool transfer_done_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_ ABSL_GUARDED_BY(mu_);
  Sha256 sha_ ABSL_GUARDED_BY(mu_);
  int64_t received_ ABSL_GUARDED_BY(mu_) = 0;
};

// ---------------------------------------------------------------------------

MediaService::MediaService(graph::GraphClient& graph,
                           const config::Accounts& accounts, Options options)
    : graph_(graph), accounts_(accounts), options_(std::move(options)) {}

MediaStats MediaService::stats() const {
  MediaStats s;
  s.uploads = uploads_.load();
  s.downloads = downloads_.load();
  s.transfers_running = running_.load();
  s.max_upload_buffered_bytes = max_upload_buffered_.load();
  s.max_download_buffered_bytes = max_download_buffered_.load();
  return s;
}

void MediaService::NoteUploadBuffered(uint64_t bytes) {
  RaiseTo(&max_upload_buffered_, bytes);
}

void MediaService::NoteDownloadBuffered(uint64_t bytes) {
  RaiseTo(&max_download_buffered_, bytes);
}

grpc::ServerReadReactor<v1::UploadMediaRequest>* MediaService::UploadMedia(
    grpc::CallbackServerContext* context, v1::UploadMediaResponse* response) {
  return new UploadReactor(this, context, response);
}

grpc::ServerWriteReactor<v1::DownloadMediaResponse>*
MediaService::DownloadMedia(grpc::CallbackServerContext* context,
                            const v1::DownloadMediaRequest* request) {
  return new DownloadReactor(this, context, *request);
}

grpc::ServerUnaryReactor* MediaService::GetMedia(
    grpc::CallbackServerContext* context, const v1::GetMediaRequest* request,
    v1::GetMediaResponse* response) {
  return MediaRpc(graph_, accounts_, context, "GET", request->media_id(),
                  request->phone_number_id(), "get_media",
                  Json([response](graph::JsonObject root) {
                    v1::MediaMetadata m = ParseMediaMetadata(root);
                    response->set_url(m.url());
                    response->set_mime_type(m.mime_type());
                    response->set_sha256(m.sha256());
                    response->set_file_size(m.file_size());
                    response->set_id(m.id());
                    return absl::OkStatus();
                  }));
}

grpc::ServerUnaryReactor* MediaService::DeleteMedia(
    grpc::CallbackServerContext* context, const v1::DeleteMediaRequest* request,
    v1::DeleteMediaResponse* response) {
  return MediaRpc(graph_, accounts_, context, "DELETE", request->media_id(),
                  request->phone_number_id(), "delete_media",
                  SuccessInto(response));
}

}  // namespace wagate::resources
