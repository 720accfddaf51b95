// gRPC server credentials from the config's `tls.grpc`: plaintext when unset,
// TLS with the certificate chain and key files, and mTLS (a client
// certificate signed by `client_ca_file` required and verified) when a
// client CA is given. Files are read once, at start-up.
//
//   ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
//                    auth::GrpcServerCredentials(config.tls().grpc()));
//   builder.AddListeningPort(address, credentials, &port);
#ifndef WAGATE_SERVICE_AUTH_TLS_H_
#define WAGATE_SERVICE_AUTH_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "wagate/config/v1/config.pb.h"

namespace wagate::auth {

// FAILED_PRECONDITION naming the config key and the path (never the file's
// contents) if a file cannot be read or is not PEM; INVALID_ARGUMENT if
// cert_file and key_file are not given together.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const config::v1::GrpcTls& tls);

// True when `tls` asks for TLS (cert_file set).
inline bool GrpcTlsEnabled(const config::v1::GrpcTls& tls) {
  return !tls.cert_file().empty();
}

}  // namespace wagate::auth

#endif  // WAGATE_SERVICE_AUTH_TLS_H_
