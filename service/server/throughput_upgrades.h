// Applies Meta's THROUGHPUT_UPGRADE webhook (phone_number_quality_update,
// event THROUGHPUT_UPGRADE: the number may now send 1,000 messages per
// second) to the pacer as soon as the event is stored.
//
// The webhook names the number by display_phone_number only, so the
// phone_number_id is found from the config (accounts[].phone_numbers[].
// display_phone_number) or learned from `messages` webhooks, whose metadata
// carries both.
//
//   ThroughputUpgrades upgrades(accounts, [&](std::string id, int mps) {
//     sender.SetThroughput(id, mps);
//   });
//   store->AddListener([&](const auto& records) { upgrades.OnStored(records);
//   });
#ifndef WAGATE_SERVICE_SERVER_THROUGHPUT_UPGRADES_H_
#define WAGATE_SERVICE_SERVER_THROUGHPUT_UPGRADES_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "service/config/accounts.h"
#include "service/events/store.h"

namespace wagate::server {

class ThroughputUpgrades {
 public:
  using SetThroughput =
      std::function<void(const std::string& phone_number_id, int mps)>;
  ThroughputUpgrades(const config::Accounts& accounts, SetThroughput set);

  // A store listener: quick, runs on the store's writer thread. Parses only
  // phone_number_quality events and the first event of each phone number.
  void OnStored(const std::vector<events::EventRecord>& records);

 private:
  void Learn(const std::string& display, const std::string& phone_number_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SetThroughput set_;
  absl::Mutex mu_;
  // display_phone_number (digits) → phone_number_ids.
  absl::flat_hash_map<std::string, std::vector<std::string>> by_display_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> seen_ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wagate::server

#endif  // WAGATE_SERVICE_SERVER_THROUGHPUT_UPGRADES_H_
