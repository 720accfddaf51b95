// Every wagate flag can also be set from the environment as WAGATE_<NAME>
// (--grpc_address ↔ WAGATE_GRPC_ADDRESS), which suits containers. The command
// line wins over the environment.
//
//   ApplyFlagEnvironment({"grpc_address", "http_address"}, "WAGATE_");
//   absl::ParseCommandLine(argc, argv);  // after, so flags override env
#ifndef WAGATE_SERVICE_CONFIG_ENV_FLAGS_H_
#define WAGATE_SERVICE_CONFIG_ENV_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wagate::config {

// For each flag name, reads `prefix` + upper-cased name from the environment
// and, if set, parses it into the flag. INVALID_ARGUMENT naming the variable
// if a value does not parse (the value itself is not echoed: it may be a
// secret); NOT_FOUND if a name is not a registered flag.
absl::Status ApplyFlagEnvironment(const std::vector<std::string>& flag_names,
                                  absl::string_view prefix = "WAGATE_");

// "grpc_address" → "WAGATE_GRPC_ADDRESS".
std::string EnvironmentName(absl::string_view flag_name,
                            absl::string_view prefix = "WAGATE_");

}  // namespace wagate::config

#endif  // WAGATE_SERVICE_CONFIG_ENV_FLAGS_H_
