#include "service/server/unimplemented.h"

#include "absl/strings/str_cat.h"

namespace wagate::server {

grpc::Status UnimplementedStatus(const char* service, const char* rpc) {
  return grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      absl::StrCat(service, "/", rpc,
                   " is part of the API but not implemented in this build of "
                   "wagate yet"));
}

namespace internal {

grpc::ServerUnaryReactor* RejectUnary(grpc::CallbackServerContext* context,
                                      const char* service, const char* rpc) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(UnimplementedStatus(service, rpc));
  return reactor;
}

}  // namespace internal
}  // namespace wagate::server
