// The two status macros Abseil 20220623 does not ship.
//
//   RETURN_IF_ERROR(WriteHeader(out));
//   ASSIGN_OR_RETURN(Config config, LoadConfig(path));
//
// Both evaluate their argument once and return the error unchanged.
#ifndef WAGATE_SERVICE_COMMON_STATUS_MACROS_H_
#define WAGATE_SERVICE_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WAGATE_STATUS_CONCAT_INNER_(a, b) a##b
#define WAGATE_STATUS_CONCAT_(a, b) WAGATE_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    ::absl::Status wagate_status_ = (expr);                    \
    if (!wagate_status_.ok()) return wagate_status_;           \
  } while (0)

#define WAGATE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#define ASSIGN_OR_RETURN(lhs, rexpr)                                          \
  WAGATE_ASSIGN_OR_RETURN_IMPL_(                                              \
      WAGATE_STATUS_CONCAT_(wagate_statusor_, __LINE__), lhs, rexpr)

#endif  // WAGATE_SERVICE_COMMON_STATUS_MACROS_H_
