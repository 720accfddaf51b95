#include "service/metrics/grpc_interceptor.h"

#include "service/metrics/gateway_metrics.h"

namespace wagate::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(absl::string_view method_path, CounterFamily* requests)
      : method_path_(method_path), requests_(requests) {}

  // The interceptor lives as long as the call: a call that never sent a
  // status was cancelled.
  ~MetricsInterceptor() override {
    if (!counted_) Count("CANCELLED");
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      Count(GrpcCodeName(
          static_cast<int>(methods->GetSendStatus().error_code())));
    }
    methods->Proceed();
  }

 private:
  void Count(absl::string_view code) {
    counted_ = true;
    auto [service, method] = SplitGrpcMethod(method_path_);
    requests_->Get({service, method, code})->Increment();
  }

  const std::string method_path_;
  CounterFamily* const requests_;
  bool counted_ = false;
};

class MetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(CounterFamily* requests)
      : requests_(requests) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    return new MetricsInterceptor(method != nullptr ? method : "", requests_);
  }

 private:
  CounterFamily* const requests_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcMetricsInterceptorFactory(CounterFamily* requests) {
  return std::make_unique<MetricsInterceptorFactory>(requests);
}

std::pair<absl::string_view, absl::string_view> SplitGrpcMethod(
    absl::string_view path) {
  if (path.size() < 2 || path[0] != '/') return {"", path};
  size_t slash = path.rfind('/');
  if (slash == 0) return {"", path};
  return {path.substr(1, slash - 1), path.substr(slash + 1)};
}

}  // namespace wagate::metrics
