#include "service/server/reflection_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"

extern const unsigned char wagate_descriptor_set[];
extern const unsigned long wagate_descriptor_set_size;

namespace wagate::server {

using grpc::reflection::v1alpha::FileDescriptorResponse;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

namespace {

class ReflectionReactor
    : public grpc::ServerBidiReactor<ServerReflectionRequest,
                                     ServerReflectionResponse> {
 public:
  explicit ReflectionReactor(const ReflectionService* service)
      : service_(service) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    response_ = service_->Answer(request_, &sent_);
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNKNOWN, "write failed"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const ReflectionService* service_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
  std::set<std::string> sent_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ReflectionService>> ReflectionService::Create(
    std::vector<std::string> service_names) {
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromArray(wagate_descriptor_set,
                          static_cast<int>(wagate_descriptor_set_size))) {
    return absl::InternalError("embedded descriptor set does not parse");
  }
  std::unique_ptr<ReflectionService> service(new ReflectionService());
  service->service_names_ = std::move(service_names);
  // --include_imports orders dependencies before their dependents.
  for (const google::protobuf::FileDescriptorProto& file : set.file()) {
    if (service->pool_.BuildFile(file) == nullptr) {
      return absl::InternalError(
          absl::StrCat("embedded descriptor ", file.name(), " does not build"));
    }
    service->documented_files_[file.name()] = file.SerializeAsString();
  }
  return service;
}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new ReflectionReactor(this);
}

void ReflectionService::AddFileWithDependencies(
    const google::protobuf::FileDescriptor* file,
    FileDescriptorResponse* response, std::set<std::string>* sent) const {
  if (!sent->insert(file->name()).second) return;
  auto documented = documented_files_.find(file->name());
  if (documented != documented_files_.end()) {
    response->add_file_descriptor_proto(documented->second);
  } else {
    google::protobuf::FileDescriptorProto proto;
    file->CopyTo(&proto);
    response->add_file_descriptor_proto(proto.SerializeAsString());
  }
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFileWithDependencies(file->dependency(i), response, sent);
  }
}

ServerReflectionResponse ReflectionService::Answer(
    const ServerReflectionRequest& request, std::set<std::string>* sent) const {
  ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  const google::protobuf::DescriptorPool* generated =
      google::protobuf::DescriptorPool::generated_pool();
  auto not_found = [&response](const std::string& what) {
    auto* error = response.mutable_error_response();
    error->set_error_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
    error->set_error_message(what);
  };
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kListServices:
      for (const std::string& name : service_names_) {
        response.mutable_list_services_response()->add_service()->set_name(
            name);
      }
      break;
    case ServerReflectionRequest::kFileByFilename: {
      const google::protobuf::FileDescriptor* file =
          pool_.FindFileByName(request.file_by_filename());
      if (file == nullptr) {
        file = generated->FindFileByName(request.file_by_filename());
      }
      if (file == nullptr) {
        not_found(absl::StrCat("file not found: ", request.file_by_filename()));
        break;
      }
      AddFileWithDependencies(file, response.mutable_file_descriptor_response(),
                              sent);
      break;
    }
    case ServerReflectionRequest::kFileContainingSymbol: {
      const google::protobuf::FileDescriptor* file =
          pool_.FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        file = generated->FindFileContainingSymbol(
            request.file_containing_symbol());
      }
      if (file == nullptr) {
        not_found(absl::StrCat("symbol not found: ",
                               request.file_containing_symbol()));
        break;
      }
      AddFileWithDependencies(file, response.mutable_file_descriptor_response(),
                              sent);
      break;
    }
    case ServerReflectionRequest::kFileContainingExtension:
      // The API defines no extensions.
      not_found("extension not found");
      break;
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const std::string& type = request.all_extension_numbers_of_type();
      if (pool_.FindMessageTypeByName(type) == nullptr &&
          generated->FindMessageTypeByName(type) == nullptr) {
        not_found(absl::StrCat("type not found: ", type));
        break;
      }
      response.mutable_all_extension_numbers_response()->set_base_type_name(
          type);
      break;
    }
    default: {
      auto* error = response.mutable_error_response();
      error->set_error_code(static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
      error->set_error_message("unknown reflection request");
    }
  }
  return response;
}

}  // namespace wagate::server
