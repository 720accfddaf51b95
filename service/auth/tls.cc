#include "service/auth/tls.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "openssl/bio.h"
#include "openssl/crypto.h"
#include "openssl/err.h"
#include "openssl/pem.h"
#include "openssl/x509.h"

namespace wagate::auth {
namespace {

constexpr char kCertKey[] = "tls.grpc.cert_file";
constexpr char kKeyKey[] = "tls.grpc.key_file";
constexpr char kCaKey[] = "tls.grpc.client_ca_file";

// The text of `path`; the error names `key` and the path only.
absl::StatusOr<std::string> ReadFile(const std::string& key,
                                     const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat(key, ": cannot read ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat(key, ": cannot read ", path));
  }
  return std::move(text).str();
}

// Wipes a string holding key material when it goes out of scope.
struct Wipe {
  std::string& text;
  ~Wipe() { OPENSSL_cleanse(text.data(), text.size()); }
};

// A refusing passphrase callback: an encrypted key fails instead of
// prompting on a terminal.
int NoPassphrase(char*, int, int, void*) { return 0; }

// The certificates in a PEM text (0 if none parse); `*leaf` gets the first.
int CountCertificates(const std::string& pem, X509** leaf) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (count == 0 && leaf != nullptr) {
      *leaf = cert;
    } else {
      X509_free(cert);
    }
    ++count;
  }
  BIO_free(bio);
  ERR_clear_error();  // the read that ended the loop
  return count;
}

// The validated PEM texts gRPC is given.
struct Material {
  std::string identity;  // private key, then certificate chain
  std::string ca;        // client CA bundle, or empty
  Material() = default;
  Material(Material&&) = default;
  Material& operator=(Material&&) = default;
  ~Material() { OPENSSL_cleanse(identity.data(), identity.size()); }
};

// Reads and checks tls.grpc's files: the chain parses, the key parses and
// belongs to the chain's first certificate, the CA bundle has a certificate.
absl::StatusOr<Material> LoadMaterial(const config::v1::GrpcTls& tls) {
  absl::StatusOr<std::string> cert = ReadFile(kCertKey, tls.cert_file());
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(kKeyKey, tls.key_file());
  if (!key.ok()) return key.status();
  Wipe wipe{*key};
  X509* leaf = nullptr;
  if (CountCertificates(*cert, &leaf) == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        kCertKey, ": ", tls.cert_file(), " is not a PEM certificate chain"));
  }
  BIO* bio = BIO_new_mem_buf(key->data(), static_cast<int>(key->size()));
  EVP_PKEY* private_key =
      PEM_read_bio_PrivateKey(bio, nullptr, NoPassphrase, nullptr);
  BIO_free(bio);
  const bool matches =
      private_key != nullptr && X509_check_private_key(leaf, private_key) == 1;
  X509_free(leaf);
  EVP_PKEY_free(private_key);
  ERR_clear_error();
  if (private_key == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(kKeyKey, ": ", tls.key_file(),
                     " is not an unencrypted PEM private key"));
  }
  if (!matches) {
    return absl::FailedPreconditionError(
        absl::StrCat(kKeyKey, ": ", tls.key_file(),
                     " does not match the certificate in ", tls.cert_file()));
  }
  Material material;
  if (!tls.client_ca_file().empty()) {
    absl::StatusOr<std::string> ca = ReadFile(kCaKey, tls.client_ca_file());
    if (!ca.ok()) return ca.status();
    if (CountCertificates(*ca, nullptr) == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(kCaKey, ": ", tls.client_ca_file(),
                       " is not a PEM certificate bundle"));
    }
    material.ca = *std::move(ca);
  }
  // gRPC parses the key and the chain by PEM block type, so one text can
  // hold both: a reload then replaces them in one step.
  material.identity = absl::StrCat(*key, "\n", *cert);
  return material;
}

// An in-memory file (never on disk) holding `text`, its modification time
// set to `stamp` seconds; -1 with errno set on failure.
int MemoryFile(const char* name, const std::string& text, time_t stamp) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  // gRPC's watcher compares modification times (in seconds) before and after
  // reading to detect a replacement mid-read: each replacement gets its own.
  timespec times[2] = {{stamp, 0}, {stamp, 0}};
  ::futimens(fd, times);
  return fd;
}

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

}  // namespace

GrpcTls::GrpcTls(config::v1::GrpcTls settings)
    : settings_(std::move(settings)) {}

GrpcTls::~GrpcTls() {
  // The watcher thread stops with the provider; only then may the files go.
  credentials_.reset();
  provider_.reset();
  if (identity_fd_ >= 0) ::close(identity_fd_);
  if (ca_fd_ >= 0) ::close(ca_fd_);
}

absl::StatusOr<std::unique_ptr<GrpcTls>> GrpcTls::Create(
    const config::v1::GrpcTls& tls) {
  if (tls.cert_file().empty() && tls.key_file().empty() &&
      !tls.client_ca_file().empty()) {
    return absl::InvalidArgumentError(
        "tls.grpc.client_ca_file: needs cert_file and key_file");
  }
  if (tls.cert_file().empty() != tls.key_file().empty()) {
    return absl::InvalidArgumentError(
        "tls.grpc: cert_file and key_file go together");
  }
  std::unique_ptr<GrpcTls> result(new GrpcTls(tls));
  absl::Status started = result->Start();
  if (!started.ok()) return started;
  return result;
}

absl::Status GrpcTls::Start() {
  if (!enabled()) {
    credentials_ = grpc::InsecureServerCredentials();
    return absl::OkStatus();
  }
  absl::StatusOr<Material> material = LoadMaterial(settings_);
  if (!material.ok()) return material.status();
  absl::MutexLock lock(&mu_);
  generation_ = static_cast<long>(std::time(nullptr));
  identity_fd_ =
      MemoryFile("wagate-grpc-identity", material->identity, generation_);
  if (identity_fd_ < 0) {
    return absl::InternalError(absl::StrCat(
        "tls.grpc: cannot create an in-memory file: ", std::strerror(errno)));
  }
  if (mtls()) {
    ca_fd_ = MemoryFile("wagate-grpc-client-ca", material->ca, generation_);
    if (ca_fd_ < 0) {
      return absl::InternalError(absl::StrCat(
          "tls.grpc: cannot create an in-memory file: ", std::strerror(errno)));
    }
  }
  // gRPC 1.51 has no public provider that can be pushed new certificates, so
  // its file watcher reads the in-memory files above, which only Reload
  // replaces, and only with validated contents.
  const std::string identity = FdPath(identity_fd_);
  provider_ =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          identity, identity, mtls() ? FdPath(ca_fd_) : "",
          kGrpcTlsRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider_);
  options.watch_identity_key_cert_pairs();
  if (mtls()) {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  credentials_ = grpc::experimental::TlsServerCredentials(options);
  if (credentials_ == nullptr) {
    return absl::InternalError("tls.grpc: gRPC refused the TLS options");
  }
  return absl::OkStatus();
}

absl::Status GrpcTls::Reload() {
  if (!enabled()) return absl::FailedPreconditionError("TLS is not configured");
  absl::StatusOr<Material> material = LoadMaterial(settings_);
  if (!material.ok()) return material.status();
  absl::MutexLock lock(&mu_);
  const long stamp = generation_ + 1;
  int identity = MemoryFile("wagate-grpc-identity", material->identity, stamp);
  int ca = -1;
  if (identity >= 0 && mtls()) {
    ca = MemoryFile("wagate-grpc-client-ca", material->ca, stamp);
  }
  if (identity < 0 || (mtls() && ca < 0)) {
    const int saved = errno;
    if (identity >= 0) ::close(identity);
    return absl::InternalError(absl::StrCat(
        "tls.grpc: cannot create an in-memory file: ", std::strerror(saved)));
  }
  // dup3 swaps what each watched path refers to in one step.
  bool swapped = ::dup3(identity, identity_fd_, O_CLOEXEC) >= 0;
  if (swapped && ca >= 0) swapped = ::dup3(ca, ca_fd_, O_CLOEXEC) >= 0;
  const int saved = errno;
  ::close(identity);
  if (ca >= 0) ::close(ca);
  if (!swapped) {
    return absl::InternalError(absl::StrCat(
        "tls.grpc: cannot replace the certificate: ", std::strerror(saved)));
  }
  generation_ = stamp;
  return absl::OkStatus();
}

}  // namespace wagate::auth
