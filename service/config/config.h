// The gateway's configuration file: JSON whose schema is
// protos/wagate/config/v1/config.proto, read with protobuf's JSON parser and
// then checked for what the schema cannot say (required keys, formats,
// duplicates). Every error names the key.
//
//   absl::StatusOr<wagate::config::v1::Config> config = LoadConfigFile(path);
#ifndef WAGATE_SERVICE_CONFIG_CONFIG_H_
#define WAGATE_SERVICE_CONFIG_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "wagate/config/v1/config.pb.h"

namespace wagate::config {

// Parses and validates `json`. Unknown keys and invalid values are
// INVALID_ARGUMENT errors naming the key.
absl::StatusOr<v1::Config> ParseConfig(absl::string_view json);

// Reads `path` and parses it; NOT_FOUND if it cannot be read.
absl::StatusOr<v1::Config> LoadConfigFile(const std::string& path);

// The checks beyond the schema (called by ParseConfig).
absl::Status ValidateConfig(const v1::Config& config);

}  // namespace wagate::config

#endif  // WAGATE_SERVICE_CONFIG_CONFIG_H_
