#include "service/metrics/grpc_interceptor.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "service/metrics/gateway_metrics.h"

namespace wagate::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(absl::string_view method_path, CounterFamily* requests,
                     const KnownGrpcMethods& known)
      : requests_(requests) {
    // Resolved once per call; the labels are views into method_path_ or
    // constants.
    if (known.Contains(method_path)) {
      method_path_ = std::string(method_path);
      labels_ = SplitGrpcMethod(method_path_);
    } else {
      labels_ = {kUnknownGrpcMethod, kUnknownGrpcMethod};
    }
  }

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
    requests_->Get({labels_.first, labels_.second, code})->Increment();
  }

  std::string method_path_;
  std::pair<absl::string_view, absl::string_view> labels_;
  CounterFamily* const requests_;
  bool counted_ = false;
};

class MetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  MetricsInterceptorFactory(CounterFamily* requests,
                            std::shared_ptr<const KnownGrpcMethods> known)
      : requests_(requests), known_(std::move(known)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    return new MetricsInterceptor(method != nullptr ? method : "", requests_,
                                  *known_);
  }

 private:
  CounterFamily* const requests_;
  const std::shared_ptr<const KnownGrpcMethods> known_;
};

}  // namespace

KnownGrpcMethods::KnownGrpcMethods(std::vector<std::string> full_names)
    : names_(std::make_move_iterator(full_names.begin()),
             std::make_move_iterator(full_names.end())) {}

absl::StatusOr<std::shared_ptr<const KnownGrpcMethods>>
KnownGrpcMethods::FromServices(const std::vector<std::string>& services,
                               std::vector<std::string> more) {
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  std::vector<std::string> names = std::move(more);
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        pool->FindServiceByName(name);
    if (service == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("gRPC service ", name, " is not linked in"));
    }
    for (int i = 0; i < service->method_count(); ++i) {
      names.push_back(absl::StrCat("/", service->full_name(), "/",
                                   service->method(i)->name()));
    }
  }
  return std::make_shared<const KnownGrpcMethods>(std::move(names));
}

bool KnownGrpcMethods::Contains(absl::string_view full_name) const {
  return names_.contains(full_name);
}

std::pair<absl::string_view, absl::string_view> KnownGrpcMethods::Labels(
    absl::string_view full_name) const {
  if (!Contains(full_name)) return {kUnknownGrpcMethod, kUnknownGrpcMethod};
  return SplitGrpcMethod(full_name);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcMetricsInterceptorFactory(
    CounterFamily* requests, std::shared_ptr<const KnownGrpcMethods> known) {
  return std::make_unique<MetricsInterceptorFactory>(requests,
                                                     std::move(known));
}

std::pair<absl::string_view, absl::string_view> SplitGrpcMethod(
    absl::string_view path) {
  if (path.size() < 2 || path[0] != '/') return {"", path};
  size_t slash = path.rfind('/');
  if (slash == 0) return {"", path};
  return {path.substr(1, slash - 1), path.substr(slash + 1)};
}

}  // namespace wagate::metrics
