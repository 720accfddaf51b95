#include "service/server/access_log.h"

#include <atomic>
#include <memory>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "service/common/log.h"
#include "service/metrics/gateway_metrics.h"

namespace wagate::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr char kRequestIdKey[] = "x-request-id";

std::string NewRequestId() {
  // Unique within the process and unlikely to repeat across restarts.
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = std::random_device{}();
  return absl::StrFormat("%08x%08x", static_cast<uint32_t>(seed),
                         static_cast<uint32_t>(counter.fetch_add(1)));
}

class AccessLogInterceptor : public grpc::experimental::Interceptor {
 public:
  AccessLogInterceptor(const char* method,
                       const metrics::KnownGrpcMethods& known)
      : method_(method != nullptr && known.Contains(method)
                    ? method
                    : metrics::kUnknownGrpcMethod),
        start_(absl::Now()) {}

  ~AccessLogInterceptor() override {
    if (!logged_) Log("CANCELLED", log::Level::kInfo);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* metadata = methods->GetRecvInitialMetadata();
      if (metadata != nullptr) {
        auto it = metadata->find(kRequestIdKey);
        if (it != metadata->end()) {
          std::string id(it->second.data(), it->second.size());
          if (IsUsableRequestId(id)) request_id_ = std::move(id);
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kRequestIdKey, RequestId());
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      Log(metrics::GrpcCodeName(static_cast<int>(status.error_code())),
          status.ok() ? log::Level::kDebug : log::Level::kInfo);
    }
    methods->Proceed();
  }

 private:
  const std::string& RequestId() {
    if (request_id_.empty()) request_id_ = NewRequestId();
    return request_id_;
  }

  void Log(absl::string_view code, log::Level level) {
    logged_ = true;
    // Successful calls log at debug: on the send path, skip formatting a
    // line that would be dropped.
    if (!log::Enabled(level)) return;
    log::Write(
        level, "grpc", "call",
        {{"request_id", RequestId()},
         {"method", method_},
         {"code", std::string(code)},
         {"duration_ms", absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(
                                                     absl::Now() - start_))}});
  }

  const std::string method_;
  const absl::Time start_;
  std::string request_id_;
  bool logged_ = false;
};

class AccessLogInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AccessLogInterceptorFactory(
      std::shared_ptr<const metrics::KnownGrpcMethods> known)
      : known_(std::move(known)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AccessLogInterceptor(info->method(), *known_);
  }

 private:
  const std::shared_ptr<const metrics::KnownGrpcMethods> known_;
};

}  // namespace

bool IsUsableRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeAccessLogInterceptorFactory(
    std::shared_ptr<const metrics::KnownGrpcMethods> known) {
  return std::make_unique<AccessLogInterceptorFactory>(std::move(known));
}

}  // namespace wagate::server
