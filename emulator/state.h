// The emulated Meta account: its WABA, phone numbers, templates, media,
// blocked users, the send limits, faults and counters. One mutex guards it
// all; every critical section is short (no I/O, no parsing), so two cores
// still reach tens of thousands of sends per second.
//
//   State state(options);
//   Accepted a;
//   GraphError err;
//   if (!state.AcceptMessage(pnid, request, absl::Now(), &a, &err)) ...
#ifndef WAGATE_EMULATOR_STATE_H_
#define WAGATE_EMULATOR_STATE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "emulator/errors.h"
#include "emulator/limits.h"
#include "emulator/options.h"
#include "emulator/validation.h"

namespace wagate::emulator {

struct BusinessProfile {
  std::string about = "Hey there! I am using WhatsApp.";
  std::string address, description, email, vertical = "OTHER";
  std::vector<std::string> websites;
  std::string profile_picture_url;
};

struct PhoneNumber {
  std::string id;
  std::string display_phone_number;
  std::string verified_name = "Wagate Sandbox";
  std::string quality_rating = "GREEN";
  std::string throughput_level = "STANDARD";
  std::string name_status = "APPROVED";
  std::string code_verification_status = "VERIFIED";
  std::string messaging_limit = "TIER_250";
  bool registered = true;
  int register_calls = 0;  // register + deregister, for 133016
  BusinessProfile profile;
  std::set<std::string> blocked;  // wa_ids, ordered for paging
};

struct Template {
  std::string id;
  std::string name;
  std::string language;
  std::string category = "UTILITY";
  std::string status = "APPROVED";
  std::string parameter_format = "POSITIONAL";
  std::string components_json = "[]";  // as created, minified
  // Parameters each part expects (from the {{n}} placeholders and formats).
  int header_params = 0;
  int body_params = 0;
  std::map<int, int> button_params;  // button index → parameters
};

struct Media {
  std::string id;
  std::string phone_number_id;
  std::string mime_type;
  std::string data;
  std::string sha256;
};

// A message the emulator accepted; what the webhook simulation needs.
struct Accepted {
  std::string wamid;
  std::string phone_number_id;
  std::string wa_id;
  std::string biz_opaque_callback_data;
  std::string pricing_category;  // "service", "utility", "marketing"...
  bool is_template = false;
  bool fail = false;  // recipient configured to fail (131026)
  // Graph API version of the send (23 for "/v23.0/..."; 0 if none): statuses
  // carry a `conversation` object only up to v23, as Meta's do.
  int api_version = 0;
  std::string conversation_id;  // set when api_version <= 23
};

// Fault injection, set with the control API.
struct Faults {
  std::map<int, double> error_rates;  // Graph error code → probability
  double http_5xx_rate = 0;           // answer 503 (code 2)
  double drop_connection_rate = 0;    // close without answering
  absl::Duration added_latency = absl::ZeroDuration();
  double webhook_duplicate_rate = 0;     // post a status twice
  double webhook_out_of_order_rate = 0;  // delivered before sent
};

struct RecipientCounter {
  std::string phone_number_id;
  uint64_t count = 0;
  std::deque<int64_t> times_ms;  // unix ms of accepted messages, last 1000
};

class State {
 public:
  explicit State(const EmulatorOptions& options);

  const EmulatorOptions& options() const { return options_; }
  const std::string& waba_id() const { return options_.waba_id; }

  // True if `token` may call the Graph API.
  bool TokenAccepted(absl::string_view token) const;

  bool IsPhoneNumber(absl::string_view id) const;
  // A copy of phone number `id`, if it exists.
  bool GetPhoneNumber(absl::string_view id, PhoneNumber* out) const;
  std::vector<PhoneNumber> PhoneNumbers() const;
  std::string DisplayPhoneNumber(absl::string_view id) const;

  // The state-dependent checks of a send (templates, window, block list,
  // throughput, pair rate, faults) and, if they pass, its bookkeeping.
  bool AcceptMessage(absl::string_view phone_number_id,
                     const SendRequest& request, absl::Time now,
                     Accepted* accepted, GraphError* error);

  // True if `wa_id` messaged `phone_number_id` in the last 24 h.
  bool InWindow(absl::string_view phone_number_id, absl::string_view wa_id,
                absl::Time now) const;

  // Media.
  void PutMedia(const Media& media);
  bool GetMedia(absl::string_view id, Media* out) const;
  bool DeleteMedia(absl::string_view id);

  // subscribed_apps: whether the app is subscribed, and its override URI.
  void SetSubscription(bool subscribed, absl::string_view override_uri);
  bool Subscribed(std::string* override_uri) const;

  // Records an inbound message from `wa_id` (opens the 24 h window).
  void RecordInbound(absl::string_view phone_number_id, absl::string_view wa_id,
                     absl::Time now);

  // Ids.
  std::string NewWamid(absl::string_view wa_id);
  std::string NewFbtraceId();
  std::string NewNumericId();

  // Random draws for faults and delivery simulation.
  double Uniform();
  absl::Duration SampleLatency();

  // Faults.
  Faults faults() const;
  // False while no fault is set: lets the hot path skip copying them.
  bool faults_active() const {
    return faults_active_.load(std::memory_order_relaxed);
  }
  void SetFaults(const Faults& faults);
  void SetEnforceWindow(bool on);

  // Applies `fn` to phone number `id` under the lock; false if unknown.
  bool UpdatePhoneNumber(absl::string_view id,
                         const std::function<void(PhoneNumber&)>& fn);

  // Sets the throughput of number `id` (a THROUGHPUT_UPGRADE).
  bool SetThroughput(absl::string_view id, double mps, absl::string_view level);

  // Templates.
  // Applies `fn` to template `id` under the lock; false if unknown.
  bool UpdateTemplate(absl::string_view id,
                      const std::function<void(Template&)>& fn);
  bool FindTemplate(absl::string_view name, absl::string_view language,
                    Template* out) const;
  bool GetTemplateById(absl::string_view id, Template* out) const;
  std::vector<Template> Templates() const;
  void PutTemplate(const Template& t);  // insert or replace by id
  // Removes by name (every language) or by id + name; returns how many.
  int DeleteTemplates(absl::string_view name, absl::string_view id);

  // Counters (JSON for the control API).
  std::string CountersJson() const;
  void CountError(int code);
  // Forgets messages, counters, windows, faults, templates (back to
  // hello_world), media and blocks.
  void Reset();

 private:
  void ResetLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool CheckTemplateLocked(const TemplateRef& ref, Template* tmpl,
                           GraphError* error) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const EmulatorOptions options_;
  LatencyModel latency_;
  absl::flat_hash_set<std::string> tokens_;
  absl::flat_hash_set<std::string> number_ids_;  // immutable after construction

  mutable absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  uint64_t id_counter_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, PhoneNumber> numbers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<ThroughputLimiter>>
      throughput_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, PairLimiter> pairs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> last_inbound_
      ABSL_GUARDED_BY(mu_);  // key: pnid + "/" + wa_id
  absl::flat_hash_set<std::string> failed_recipients_;
  bool enforce_window_ ABSL_GUARDED_BY(mu_);
  Faults faults_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> faults_active_{false};
  std::map<std::string, Template> templates_ ABSL_GUARDED_BY(mu_);  // by id

  absl::flat_hash_map<std::string, Media> media_ ABSL_GUARDED_BY(mu_);
  bool subscribed_ ABSL_GUARDED_BY(mu_) = true;
  std::string override_uri_ ABSL_GUARDED_BY(mu_);

  std::map<std::string, uint64_t> accepted_by_number_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, RecipientCounter> accepted_by_recipient_
      ABSL_GUARDED_BY(mu_);
  std::map<int, uint64_t> errors_by_code_ ABSL_GUARDED_BY(mu_);
  uint64_t accepted_total_ ABSL_GUARDED_BY(mu_) = 0;
};

// Parameters a template definition expects, from its components JSON:
// header (text placeholders, or 1 for a media/location header), body, and
// URL/copy-code buttons by index. False if `components_json` is not an array
// of objects.
bool CountTemplateParams(absl::string_view components_json, Template* t);

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_STATE_H_
