// Fuzz harness for the config loader (service/config/config.h): the file is
// written by an operator, but a gateway must refuse a broken one with an
// error, never crash on it. A config that parses must also survive being
// printed back to JSON and parsed again (what an operator tool that rewrites
// the file would do).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/json_util.h"
#include "service/config/config.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();  // a broken promise is a finding, like a crash
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<wagate::config::v1::Config> config =
      wagate::config::ParseConfig(json);
  if (!config.ok()) {
    Check(absl::IsInvalidArgument(config.status()));
    return 0;
  }
  Check(wagate::config::ValidateConfig(*config).ok());
  // What the pacer is given must be a real rate (NaN once got through).
  for (const auto& account : config->accounts()) {
    for (const auto& number : account.phone_numbers()) {
      Check(std::isfinite(number.throughput_mps()));
    }
  }
  std::string printed;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  Check(google::protobuf::util::MessageToJsonString(*config, &printed, options)
            .ok());
  absl::StatusOr<wagate::config::v1::Config> again =
      wagate::config::ParseConfig(printed);
  Check(again.ok());
  Check(again->SerializeAsString() == config->SerializeAsString());
  return 0;
}
