#include "emulator/emulator.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "service/common/log.h"

namespace wagate::emulator {

std::vector<std::string> SplitList(absl::string_view text) {
  return absl::StrSplit(text, ',', absl::SkipWhitespace());
}

Emulator::Emulator(boost::asio::io_context& io, EmulatorOptions options)
    : io_(io),
      options_(std::move(options)),
      state_(std::make_unique<State>(options_)),
      sender_(std::make_unique<WebhookSender>(io, options_)),
      guard_(std::make_shared<LifeGuard>()) {
  GraphApi::Hooks hooks;
  hooks.base_url = [this] { return base_url(); };
  hooks.after = [this](absl::Duration d, std::function<void()> fn) {
    After(d, std::move(fn));
  };
  hooks.emit = [this](Change c) { Emit(std::move(c)); };
  graph_ = std::make_unique<GraphApi>(state_.get(), std::move(hooks));
  // Meta takes documents up to 100 MB (CLOUD_API.md §2.2) as multipart
  // uploads: the body limit leaves room for the multipart framing.
  http::ServerOptions server_options;
  server_options.max_body_bytes = 101 << 20;
  server_ = std::make_unique<http::Server>(io, server_options);
}

Emulator::~Emulator() {
  Stop();
  guard_->Kill();  // waits for callbacks running on io threads
}

absl::Status Emulator::Start() {
  absl::StatusOr<LatencyModel> latency = LatencyModel::Parse(options_.latency);
  if (!latency.ok()) return latency.status();
  if (options_.phone_number_ids.empty()) {
    return absl::InvalidArgumentError("phone_number_ids: at least one needed");
  }
  if (!options_.webhook_url.empty() && options_.app_secret.empty()) {
    return absl::InvalidArgumentError(
        "app_secret: required to sign webhooks when webhook_url is set");
  }
  std::shared_ptr<LifeGuard> guard = guard_;
  server_->HandlePrefix(
      "", "/", [this, guard](http::Request r, http::Responder d) {
        guard->Run([&] { HandleGraph(std::move(r), std::move(d)); });
      });
  server_->HandlePrefix(
      "", "/_emulator/", [this, guard](http::Request r, http::Responder d) {
        guard->Run([&] { HandleControl(std::move(r), std::move(d)); });
      });
  absl::string_view address = options_.address;
  host_ = std::string(address.substr(0, address.rfind(':')));
  if (host_.empty() || host_ == "0.0.0.0") host_ = "127.0.0.1";
  absl::Status s = server_->Listen(options_.address);
  if (s.ok()) {
    log::Info("emulator", "listening",
              {{"address", absl::StrCat(host_, ":", server_->port())},
               {"webhook_url", options_.webhook_url}});
  }
  return s;
}

int Emulator::port() const { return server_->port(); }

std::string Emulator::base_url() const {
  return absl::StrCat("http://", host_, ":", server_->port());
}

void Emulator::Stop() {
  if (server_) server_->Stop();
  if (sender_) sender_->Stop();
}

void Emulator::After(absl::Duration delay, std::function<void()> fn) {
  std::shared_ptr<LifeGuard> guard = guard_;
  if (delay <= absl::ZeroDuration()) {
    boost::asio::post(io_, [guard, fn = std::move(fn)] { guard->Run(fn); });
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(
      io_, absl::ToChronoNanoseconds(delay));
  timer->async_wait(
      [timer, guard, fn = std::move(fn)](boost::system::error_code ec) {
        if (!ec) guard->Run(fn);
      });
}

void Emulator::Emit(Change change, WebhookSender::Done done) {
  std::string override_uri;
  if (!state_->Subscribed(&override_uri)) {
    if (done) done();
    return;
  }
  sender_->Enqueue(std::move(change), std::move(done));
}

void Emulator::HandleGraph(http::Request request, http::Responder respond) {
  const Faults faults = state_->faults_active() ? state_->faults() : Faults();
  if (faults.drop_connection_rate > 0 &&
      state_->Uniform() < faults.drop_connection_rate) {
    http::Response r;
    r.drop_connection = true;
    respond(std::move(r));
    return;
  }
  std::vector<Accepted> accepted;
  http::Response response;
  if (faults.http_5xx_rate > 0 && state_->Uniform() < faults.http_5xx_rate) {
    state_->CountError(2);
    response = graph_->Error(
        GraphError::Make(2, "Service temporarily unavailable (injected)."));
  } else {
    response = graph_->Handle(request, &accepted);
  }
  absl::Duration latency = state_->SampleLatency();
  auto finish = [this, respond = std::move(respond),
                 response = std::move(response),
                 accepted = std::move(accepted)]() mutable {
    respond(std::move(response));
    for (const Accepted& a : accepted) SimulateDelivery(a);
  };
  if (latency <= absl::ZeroDuration()) {
    finish();
  } else {
    After(latency, std::move(finish));
  }
}

namespace {

// One message's status sequence, posted in order: each status is enqueued
// after the previous one was acknowledged (or dropped) and its delay passed.
struct Chain {
  NumberMetadata meta;
  Accepted accepted;
  std::vector<StatusEvent> statuses;
  std::vector<absl::Duration> delays;
};

}  // namespace

void Emulator::SimulateDelivery(const Accepted& a) {
  if (!sender_->enabled()) return;
  auto chain = std::make_shared<Chain>();
  chain->meta.phone_number_id = a.phone_number_id;
  chain->meta.display_phone_number =
      state_->DisplayPhoneNumber(a.phone_number_id);
  chain->accepted = a;
  auto add = [&](const char* status, absl::Duration delay, bool pricing) {
    StatusEvent s;
    s.wamid = a.wamid;
    s.status = status;
    s.recipient_id = a.wa_id;
    s.biz_opaque_callback_data = a.biz_opaque_callback_data;
    s.with_pricing = pricing;
    s.pricing_category = a.pricing_category;
    s.conversation_id = a.conversation_id;
    chain->statuses.push_back(std::move(s));
    chain->delays.push_back(delay);
  };
  if (a.fail) {
    add("failed", options_.sent_delay, false);
    chain->statuses.back().error_code = 131026;
    chain->statuses.back().error_details =
        "Message failed to send because the recipient is not a WhatsApp "
        "user or has not accepted the latest terms (emulator: configured "
        "failed recipient).";
  } else {
    add("sent", options_.sent_delay, true);
    bool delivered = state_->Uniform() < options_.delivered_probability;
    bool read = delivered && state_->Uniform() < options_.read_probability;
    if (delivered) add("delivered", options_.delivered_delay, true);
    if (read) add("read", options_.read_delay, false);
    const Faults faults = state_->faults_active() ? state_->faults() : Faults();
    if (chain->statuses.size() > 1 && faults.webhook_out_of_order_rate > 0 &&
        state_->Uniform() < faults.webhook_out_of_order_rate) {
      std::swap(chain->statuses[0], chain->statuses[1]);
    }
  }
  // Post statuses[i] after delays[i], then continue with i + 1.
  auto step = std::make_shared<std::function<void(size_t)>>();
  std::weak_ptr<std::function<void(size_t)>> weak_step = step;
  std::shared_ptr<LifeGuard> guard = guard_;
  *step = [this, chain, weak_step, guard](size_t i) {
    if (i >= chain->statuses.size()) return;
    auto self = weak_step.lock();
    if (!self) return;
    After(chain->delays[i], [this, chain, self, guard, i] {
      StatusEvent s = chain->statuses[i];
      s.time = absl::Now();
      // The sender may call back after this emulator is gone: guard it.
      Emit(StatusChange(chain->meta, s),
           [self, guard, i] { guard->Run([&] { (*self)(i + 1); }); });
    });
  };
  (*step)(0);
}

void Emulator::HandleControl(http::Request request, http::Responder respond) {
  respond(Control(request));
}

}  // namespace wagate::emulator
