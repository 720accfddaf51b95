// gRPC server TLS from the config's `tls.grpc`: plaintext when unset, TLS
// with the certificate chain and key files, and mTLS (a client certificate
// signed by `client_ca_file` required and verified) when a client CA is given.
// The files are read at start-up and again on Reload() (the gateway calls it
// on SIGHUP): new handshakes use the new certificate within about a second,
// open connections keep theirs, and a file that cannot be read or does not
// match keeps the previous certificate in use.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<auth::GrpcTls> tls,
//                    auth::GrpcTls::Create(config.tls().grpc()));
//   builder.AddListeningPort(address, tls->credentials(), &port);
//   ...
//   absl::Status reloaded = tls->Reload();  // on SIGHUP
#ifndef WAGATE_SERVICE_AUTH_TLS_H_
#define WAGATE_SERVICE_AUTH_TLS_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "wagate/config/v1/config.pb.h"

namespace wagate::auth {

// How long at most before a reloaded gRPC certificate is used by new
// handshakes: gRPC's certificate watcher re-reads its (in-memory) files at
// this interval, its minimum.
inline constexpr int kGrpcTlsRefreshSeconds = 1;

class GrpcTls {
 public:
  // FAILED_PRECONDITION naming the config key and the path (never the file's
  // contents) if a file cannot be read, is not PEM, or the key does not match
  // the certificate; INVALID_ARGUMENT if cert_file and key_file are not given
  // together, or client_ca_file comes without them.
  static absl::StatusOr<std::unique_ptr<GrpcTls>> Create(
      const config::v1::GrpcTls& tls);
  // Must outlive every server built with credentials().
  ~GrpcTls();
  GrpcTls(const GrpcTls&) = delete;
  GrpcTls& operator=(const GrpcTls&) = delete;

  std::shared_ptr<grpc::ServerCredentials> credentials() const {
    return credentials_;
  }
  bool enabled() const { return !settings_.cert_file().empty(); }
  bool mtls() const { return !settings_.client_ca_file().empty(); }

  // Re-reads the files. On success new handshakes use them within
  // kGrpcTlsRefreshSeconds; on error (as for Create) nothing changes.
  // FAILED_PRECONDITION when TLS is off.
  absl::Status Reload();

 private:
  explicit GrpcTls(config::v1::GrpcTls settings);
  absl::Status Start();

  const config::v1::GrpcTls settings_;
  // What gRPC's watcher reads: in-memory files (memfd) holding the validated
  // key and chain (one file, so a reload swaps both at once) and the client
  // CA, replaced atomically by Reload. -1 when unused.
  int identity_fd_ = -1;
  int ca_fd_ = -1;
  absl::Mutex mu_;
  long generation_ ABSL_GUARDED_BY(mu_) = 0;  // stamps each replacement
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
};

// True when `tls` asks for TLS (cert_file set).
inline bool GrpcTlsEnabled(const config::v1::GrpcTls& tls) {
  return !tls.cert_file().empty();
}

}  // namespace wagate::auth

#endif  // WAGATE_SERVICE_AUTH_TLS_H_
