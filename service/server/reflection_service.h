// gRPC server reflection (grpc.reflection.v1alpha, what grpcurl speaks) that
// serves the API's descriptors WITH their doc comments, so that
// `grpcurl describe wagate.v1.SendRequest` documents the API. gRPC's own
// reflection plugin serves the compiled-in descriptors, which protoc strips of
// comments; this one serves the descriptor set embedded at build time
// (protos/CMakeLists.txt), falling back to the compiled-in pool for anything
// else linked into the binary (e.g. grpc.health.v1).
#ifndef WAGATE_SERVICE_SERVER_REFLECTION_SERVICE_H_
#define WAGATE_SERVICE_SERVER_REFLECTION_SERVICE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace wagate::server {

class ReflectionService
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // `service_names`: what list_services answers (the registered services).
  static absl::StatusOr<std::unique_ptr<ReflectionService>> Create(
      std::vector<std::string> service_names);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

  // Answers one request. `sent` holds the files already sent on this stream
  // (each file goes once per stream, as gRPC's implementation does).
  grpc::reflection::v1alpha::ServerReflectionResponse Answer(
      const grpc::reflection::v1alpha::ServerReflectionRequest& request,
      std::set<std::string>* sent) const;

 private:
  ReflectionService() = default;
  // Adds `file` and its dependencies not yet in `sent` to `response`.
  void AddFileWithDependencies(
      const google::protobuf::FileDescriptor* file,
      grpc::reflection::v1alpha::FileDescriptorResponse* response,
      std::set<std::string>* sent) const;

  std::vector<std::string> service_names_;
  google::protobuf::DescriptorPool pool_;
  // File name → serialized FileDescriptorProto with source info.
  std::map<std::string, std::string> documented_files_;
};

}  // namespace wagate::server

#endif  // WAGATE_SERVICE_SERVER_REFLECTION_SERVICE_H_
