#include "service/server/throughput_upgrades.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "service/common/log.h"
#include "service/messaging/sender.h"
#include "wagate/v1/events.pb.h"

namespace wagate::server {
namespace {

// "+1 555-078-3881" and "15550783881" name the same number.
std::string Digits(absl::string_view number) {
  std::string out;
  for (char c : number) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) out.push_back(c);
  }
  return out;
}

}  // namespace

ThroughputUpgrades::ThroughputUpgrades(const config::Accounts& accounts,
                                       SetThroughput set)
    : set_(std::move(set)) {
  absl::MutexLock lock(&mu_);
  for (const config::PhoneNumberAccount& number :
       accounts.ConfiguredNumbers()) {
    if (!number.display_phone_number.empty()) {
      Learn(Digits(number.display_phone_number), number.phone_number_id);
    }
  }
}

void ThroughputUpgrades::Learn(const std::string& display,
                               const std::string& phone_number_id) {
  if (display.empty() || phone_number_id.empty()) return;
  std::vector<std::string>& ids = by_display_[display];
  if (std::find(ids.begin(), ids.end(), phone_number_id) == ids.end()) {
    ids.push_back(phone_number_id);
  }
}

void ThroughputUpgrades::OnStored(
    const std::vector<events::EventRecord>& records) {
  for (const events::EventRecord& record : records) {
    const bool quality = record.kind == "phone_number_quality";
    bool new_number = false;
    if (!quality) {
      if (record.phone_number_id.empty()) continue;
      absl::MutexLock lock(&mu_);
      new_number = seen_ids_.insert(record.phone_number_id).second;
      if (!new_number) continue;
    }
    v1::Event event;
    if (!event.ParseFromString(record.payload)) continue;
    std::vector<std::string> upgrade;
    {
      absl::MutexLock lock(&mu_);
      if (new_number) {
        Learn(Digits(event.display_phone_number()), record.phone_number_id);
        continue;
      }
      if (event.phone_number_quality().event() != "THROUGHPUT_UPGRADE")
        continue;
      std::string display =
          Digits(event.phone_number_quality().display_phone_number());
      if (display.empty()) display = Digits(event.display_phone_number());
      auto it = by_display_.find(display);
      if (it == by_display_.end()) {
        log::Warning("pacer",
                     "THROUGHPUT_UPGRADE for a number whose phone_number_id is "
                     "not known yet (set display_phone_number in the config)",
                     {{"display_phone_number", display}});
        continue;
      }
      upgrade = it->second;
    }
    for (const std::string& id : upgrade) {
      log::Info("pacer", "throughput upgraded",
                {{"phone_number_id", id},
                 {"mps", std::to_string(messaging::kHighThroughputMps)}});
      set_(id, messaging::kHighThroughputMps);
    }
  }
}

}  // namespace wagate::server
