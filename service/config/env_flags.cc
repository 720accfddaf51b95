#include "service/config/env_flags.h"

#include <cstdlib>

#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace wagate::config {

std::string EnvironmentName(absl::string_view flag_name,
                            absl::string_view prefix) {
  return absl::StrCat(prefix, absl::AsciiStrToUpper(flag_name));
}

absl::Status ApplyFlagEnvironment(const std::vector<std::string>& flag_names,
                                  absl::string_view prefix) {
  for (const std::string& name : flag_names) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) {
      return absl::NotFoundError(absl::StrCat("no flag named --", name));
    }
    const std::string env_name = EnvironmentName(name, prefix);
    const char* value = std::getenv(env_name.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", env_name,
                       " is not a valid value for --", name, ": ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace wagate::config
