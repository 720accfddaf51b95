#include "bench/fanout_reference.h"

#include <deque>
#include <set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "service/events/events_api.h"

namespace wagate::bench {

namespace {

class Stream;

// Open streams; Publish goes to each.
class Registry {
 public:
  void Add(Stream* s) {
    absl::MutexLock lock(&mu_);
    streams_.insert(s);
  }
  void Remove(Stream* s) {
    absl::MutexLock lock(&mu_);
    streams_.erase(s);
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return streams_.size();
  }
  template <typename F>
  void ForEach(F f) {
    absl::MutexLock lock(&mu_);
    for (Stream* s : streams_) f(s);
  }

 private:
  mutable absl::Mutex mu_;
  std::set<Stream*> streams_ ABSL_GUARDED_BY(mu_);
};

class Stream final : public events::EventsApi::SubscribeWriter {
 public:
  explicit Stream(Registry* registry) : registry_(registry) {
    registry_->Add(this);
  }

  void Publish(const std::vector<FanoutReference::EventBytes>& events) {
    const grpc::ByteBuffer* write = nullptr;
    bool hint = false;
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      queue_.insert(queue_.end(), events.begin(), events.end());
      if (in_flight_ != nullptr) return;
      write = NextLocked(&hint);
    }
    Start(write, hint);
  }

  void OnWriteDone(bool ok) override {
    const grpc::ByteBuffer* write = nullptr;
    bool hint = false;
    {
      absl::MutexLock lock(&mu_);
      in_flight_.reset();
      if (!ok) {
        done_ = true;
        queue_.clear();
        Finish(grpc::Status::OK);
        return;
      }
      write = NextLocked(&hint);
    }
    Start(write, hint);
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    if (done_) return;
    done_ = true;
    queue_.clear();
    if (in_flight_ == nullptr) Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    registry_->Remove(this);
    delete this;
  }

 private:
  // The next write, buffered when more follow (as the gateway does).
  const grpc::ByteBuffer* NextLocked(bool* hint)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (queue_.empty()) return nullptr;
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    ++sent_;
    *hint = sent_ > 1 && !queue_.empty() && ++coalesced_ < 64;
    if (!*hint) coalesced_ = 0;
    return in_flight_.get();
  }
  void Start(const grpc::ByteBuffer* write, bool hint) {
    if (write == nullptr) return;
    if (hint) {
      StartWrite(write, grpc::WriteOptions().set_buffer_hint());
    } else {
      StartWrite(write);
    }
  }

  Registry* const registry_;
  absl::Mutex mu_;
  std::deque<FanoutReference::EventBytes> queue_ ABSL_GUARDED_BY(mu_);
  FanoutReference::EventBytes in_flight_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  int coalesced_ ABSL_GUARDED_BY(mu_) = 0;
};

class Service final : public events::EventsApi {
 public:
  explicit Service(Registry* registry) : registry_(registry) {}
  SubscribeWriter* SubscribeParsed(grpc::CallbackServerContext*,
                                   const v1::SubscribeRequest&,
                                   const events::SubscribeScope&) override {
    return new Stream(registry_);
  }
  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* context,
                                const v1::AckRequest*,
                                v1::AckResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "reference"));
    return reactor;
  }

 private:
  Registry* const registry_;
};

}  // namespace

class FanoutReference::Impl {
 public:
  Registry registry;
  Service service{&registry};
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

absl::StatusOr<std::unique_ptr<FanoutReference>> FanoutReference::Start() {
  auto impl = std::make_unique<Impl>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &impl->port);
  builder.RegisterService(&impl->service);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError("fan-out reference: cannot listen");
  }
  return std::unique_ptr<FanoutReference>(new FanoutReference(std::move(impl)));
}

FanoutReference::FanoutReference(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

FanoutReference::~FanoutReference() {
  impl_->server->Shutdown(std::chrono::system_clock::now() +
                          std::chrono::seconds(2));
}

std::string FanoutReference::target() const {
  return absl::StrCat("127.0.0.1:", impl_->port);
}

size_t FanoutReference::streams() const { return impl_->registry.size(); }

void FanoutReference::Publish(const std::vector<EventBytes>& events) {
  impl_->registry.ForEach([&](Stream* s) { s->Publish(events); });
}

}  // namespace wagate::bench
