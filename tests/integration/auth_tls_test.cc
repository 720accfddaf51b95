// gRPC TLS and mTLS from the config's tls.grpc, and HTTPS from tls.http, with
// CAs, server and client certificates made at test time by the openssl CLI: a
// TLS client trusting the CA is served, a plaintext one is not; with a client
// CA, a client without a certificate is refused and one with a signed
// certificate is served; client keys still apply over TLS; /healthz and signed
// webhooks are served over HTTPS. Certificates replaced on disk are served
// after Gateway::ReloadTls (and after SIGHUP to a wagate process) on both
// listeners, and bad files keep the old ones.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "curl/curl.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "service/auth/api_keys.h"
#include "service/server/gateway.h"
#include "tests/integration/util/subprocess.h"
#include "wagate/v1/events.grpc.pb.h"

namespace wagate::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAppSecret[] = "tls-test-app-secret";
constexpr char kVerifyToken[] = "tls-test-verify-token";

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `command` in `dir`; true on exit 0.
bool RunIn(const std::string& dir, const std::string& command) {
  std::string line =
      absl::StrCat("cd '", dir, "' && ", command, " >>openssl.log 2>&1");
  return std::system(line.c_str()) == 0;
}

// One HTTPS exchange by libcurl, verifying the server against `ca_file`.
struct HttpsReply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
};

size_t Collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

HttpsReply Https(const std::string& url, const std::string& ca_file,
                 const std::string* post_body = nullptr,
                 const std::string& signature = "") {
  HttpsReply reply;
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  if (post_body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(post_body->size()));
    headers = curl_slist_append(headers, "Content-Type: application/json");
    if (!signature.empty()) {
      headers = curl_slist_append(
          headers, ("X-Hub-Signature-256: " + signature).c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  reply.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

// Meta's X-Hub-Signature-256 of `body`.
std::string Sign(const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), kAppSecret, static_cast<int>(sizeof(kAppSecret) - 1),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
       &size);
  return "sha256=" + absl::BytesToHexString(absl::string_view(
                         reinterpret_cast<const char*>(mac), size));
}

// A status webhook for one message, as Meta posts it.
std::string WebhookBody() {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"A"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.TLSTEST1","timestamp":"1700000000","type":"text","text":{"body":"hi"}}]}}]}]})";
}

class AuthTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("auth_tls_test");
    std::ofstream(dir_ + "/server.ext")
        << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    MakeCa("ca");
    MakeSigned("ca", "server", /*server=*/true);
    MakeSigned("ca", "client", /*server=*/false);
  }

  // A self-signed CA: <name>.pem and <name>.key in dir_.
  void MakeCa(const std::string& name) {
    ASSERT_TRUE(
        RunIn(dir_, absl::StrCat("openssl req -x509 ", kEc, " -nodes -keyout ",
                                 name, ".key -out ", name,
                                 ".pem -days 1 -subj /CN=wagate-test-", name)))
        << Read(dir_ + "/openssl.log");
  }

  // <name>.pem and <name>.key in dir_, signed by CA `ca`.
  void MakeSigned(const std::string& ca, const std::string& name, bool server) {
    ASSERT_TRUE(
        RunIn(dir_, absl::StrCat("openssl req ", kEc, " -nodes -keyout ", name,
                                 ".key -out ", name, ".csr -subj /CN=", name)))
        << Read(dir_ + "/openssl.log");
    ASSERT_TRUE(RunIn(
        dir_,
        absl::StrCat("openssl x509 -req -in ", name, ".csr -CA ", ca,
                     ".pem -CAkey ", ca, ".key -CAcreateserial -out ", name,
                     ".pem -days 1", server ? " -extfile server.ext" : "")))
        << Read(dir_ + "/openssl.log");
  }

  // Replaces the server certificate and key files with <name>'s, each by a
  // rename (as a deployment tool would).
  void InstallServerCert(const std::string& name) {
    for (const char* ext : {".pem", ".key"}) {
      std::ofstream(dir_ + "/next" + ext) << Read(dir_ + "/" + name + ext);
      ASSERT_EQ(std::rename((dir_ + "/next" + ext).c_str(),
                            (dir_ + "/server" + ext).c_str()),
                0);
    }
  }

  std::string HttpsUrl(const std::string& path) const {
    return absl::StrCat("https://127.0.0.1:", gateway_->http_port(), path);
  }

  // The gateway's options with TLS on both listeners.
  GatewayOptions TlsOptions() {
    GatewayOptions options;
    options.grpc_address = "127.0.0.1:0";
    options.http_address = "127.0.0.1:0";
    options.store = "sqlite:" + dir_ + "/w.db";
    options.env = [](absl::string_view name) -> absl::optional<std::string> {
      if (name == "WAGATE_APP_SECRET") return std::string(kAppSecret);
      if (name == "WAGATE_VERIFY_TOKEN") return std::string(kVerifyToken);
      return absl::nullopt;
    };
    options.shutdown_grace = absl::Seconds(1);
    auto* tls = options.config.mutable_tls();
    tls->mutable_grpc()->set_cert_file(dir_ + "/server.pem");
    tls->mutable_grpc()->set_key_file(dir_ + "/server.key");
    tls->mutable_http()->set_cert_file(dir_ + "/server.pem");
    tls->mutable_http()->set_key_file(dir_ + "/server.key");
    return options;
  }

  void StartGateway(bool mtls, bool keys = false) {
    GatewayOptions options;
    options.grpc_address = "127.0.0.1:0";
    options.http_address = "127.0.0.1:0";
    options.store = "sqlite:" + dir_ + "/w.db";
    options.env = [](absl::string_view) { return absl::nullopt; };
    options.shutdown_grace = absl::Seconds(1);
    auto* tls = options.config.mutable_tls()->mutable_grpc();
    tls->set_cert_file(dir_ + "/server.pem");
    tls->set_key_file(dir_ + "/server.key");
    if (mtls) tls->set_client_ca_file(dir_ + "/ca.pem");
    if (keys) {
      auto* client = options.config.add_clients();
      client->set_name("tls-client");
      client->set_api_key_sha256(auth::Sha256Hex("tls-key"));
    }
    absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
  }

  void TearDown() override {
    if (gateway_) gateway_->Shutdown();
  }

  std::string Target() const {
    return absl::StrCat("127.0.0.1:", gateway_->grpc_port());
  }

  std::shared_ptr<grpc::ChannelCredentials> Tls(bool with_client_cert,
                                                const std::string& ca = "ca") {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(dir_ + "/" + ca + ".pem");
    if (with_client_cert) {
      options.pem_private_key = Read(dir_ + "/client.key");
      options.pem_cert_chain = Read(dir_ + "/client.pem");
    }
    return grpc::SslCredentials(options);
  }

  static grpc::Status Check(std::shared_ptr<grpc::Channel> channel) {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse response;
    return health->Check(&context, grpc::health::v1::HealthCheckRequest(),
                         &response);
  }

  // A health check on a fresh connection to `port` trusting only CA `ca`.
  grpc::Status CheckFresh(int port, const std::string& ca) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // no shared connection
    return Check(grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                           Tls(false, ca), args));
  }

  // Polls until a fresh gRPC connection trusting `ca` is served: the gRPC
  // listener takes up a reloaded certificate within
  // auth::kGrpcTlsRefreshSeconds.
  bool GrpcEventuallyServes(int port, const std::string& ca) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (CheckFresh(port, ca).ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  static constexpr char kEc[] =
      "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";

  std::string dir_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(AuthTlsTest, TlsClientIsServedPlaintextIsNot) {
  StartGateway(/*mtls=*/false);
  grpc::Status tls =
      Check(grpc::CreateChannel(Target(), Tls(/*with_client_cert=*/false)));
  EXPECT_TRUE(tls.ok()) << tls.error_message();
  grpc::Status plain =
      Check(grpc::CreateChannel(Target(), grpc::InsecureChannelCredentials()));
  EXPECT_FALSE(plain.ok());
}

TEST_F(AuthTlsTest, MtlsRequiresAClientCertificateSignedByTheCa) {
  StartGateway(/*mtls=*/true);
  grpc::Status with_cert =
      Check(grpc::CreateChannel(Target(), Tls(/*with_client_cert=*/true)));
  EXPECT_TRUE(with_cert.ok()) << with_cert.error_message();
  grpc::Status without_cert =
      Check(grpc::CreateChannel(Target(), Tls(/*with_client_cert=*/false)));
  EXPECT_FALSE(without_cert.ok());
}

TEST_F(AuthTlsTest, ClientKeysStillApplyOverTls) {
  StartGateway(/*mtls=*/false, /*keys=*/true);
  auto events = v1::Events::NewStub(
      grpc::CreateChannel(Target(), Tls(/*with_client_cert=*/false)));
  v1::AckRequest request;
  request.set_group("g");
  v1::AckResponse response;
  {
    grpc::ClientContext context;
    EXPECT_EQ(events->Ack(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer tls-key");
  grpc::Status status = events->Ack(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(AuthTlsTest, UnreadableCertificateFailsStartNamingTheKey) {
  GatewayOptions options;
  options.grpc_address = "127.0.0.1:0";
  options.http_address = "127.0.0.1:0";
  options.store = "sqlite:" + dir_ + "/w.db";
  options.env = [](absl::string_view) { return absl::nullopt; };
  auto* tls = options.config.mutable_tls()->mutable_grpc();
  tls->set_cert_file(dir_ + "/missing.pem");
  tls->set_key_file(dir_ + "/server.key");
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  ASSERT_FALSE(gateway.ok());
  EXPECT_THAT(gateway.status().message(), HasSubstr("tls.grpc.cert_file"));
}

TEST_F(AuthTlsTest, HttpsServesHealthzAndSignedWebhooks) {
  GatewayOptions options = TlsOptions();
  options.config.mutable_tls()->clear_grpc();
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  gateway_ = *std::move(gateway);

  HttpsReply health = Https(HttpsUrl("/healthz"), dir_ + "/ca.pem");
  ASSERT_EQ(health.code, CURLE_OK) << curl_easy_strerror(health.code);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");

  const std::string body = WebhookBody();
  HttpsReply stored =
      Https(HttpsUrl("/webhook"), dir_ + "/ca.pem", &body, Sign(body));
  ASSERT_EQ(stored.code, CURLE_OK) << curl_easy_strerror(stored.code);
  EXPECT_EQ(stored.status, 200) << stored.body;
  HttpsReply forged = Https(HttpsUrl("/webhook"), dir_ + "/ca.pem", &body,
                            "sha256=" + std::string(64, '0'));
  EXPECT_EQ(forged.status, 403);

  // Plaintext HTTP to the HTTPS port gets no answer; an untrusted
  // certificate is refused by the client.
  HttpsReply plain = Https(
      absl::StrCat("http://127.0.0.1:", gateway_->http_port(), "/healthz"),
      dir_ + "/ca.pem");
  EXPECT_NE(plain.code, CURLE_OK);
  EXPECT_EQ(plain.status, 0);
  MakeCa("ca2");
  EXPECT_NE(Https(HttpsUrl("/healthz"), dir_ + "/ca2.pem").code, CURLE_OK);
}

TEST_F(AuthTlsTest, UnreadableHttpCertificateFailsStartNamingTheKey) {
  GatewayOptions options = TlsOptions();
  options.config.mutable_tls()->mutable_http()->set_key_file(dir_ +
                                                             "/missing.key");
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(options);
  ASSERT_FALSE(gateway.ok());
  EXPECT_THAT(gateway.status().message(), HasSubstr("tls.http.key_file"));
  EXPECT_THAT(gateway.status().message(), HasSubstr(dir_ + "/missing.key"));
}

TEST_F(AuthTlsTest, ReloadServesNewCertificatesOnBothListeners) {
  absl::StatusOr<std::unique_ptr<Gateway>> gateway =
      Gateway::Start(TlsOptions());
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  gateway_ = *std::move(gateway);
  ASSERT_TRUE(CheckFresh(gateway_->grpc_port(), "ca").ok());
  ASSERT_EQ(Https(HttpsUrl("/healthz"), dir_ + "/ca.pem").status, 200);

  // Broken files: both listeners refuse the reload and keep serving.
  std::ofstream(dir_ + "/server.pem", std::ios::trunc) << "not a certificate";
  std::vector<TlsReload> failed = gateway_->ReloadTls();
  ASSERT_EQ(failed.size(), 2u);
  for (const TlsReload& reload : failed) {
    EXPECT_FALSE(reload.status.ok()) << reload.listener;
    EXPECT_THAT(reload.status.message(),
                HasSubstr("tls." + reload.listener + ".cert_file"));
    EXPECT_THAT(reload.status.message(), HasSubstr(dir_ + "/server.pem"));
  }
  EXPECT_EQ(Https(HttpsUrl("/healthz"), dir_ + "/ca.pem").status, 200);

  // A certificate from another CA: served on both after the reload.
  MakeCa("ca2");
  MakeSigned("ca2", "server2", /*server=*/true);
  InstallServerCert("server2");
  std::vector<TlsReload> reloaded = gateway_->ReloadTls();
  ASSERT_EQ(reloaded.size(), 2u);
  for (const TlsReload& reload : reloaded) {
    EXPECT_TRUE(reload.status.ok()) << reload.listener << ": " << reload.status;
  }
  HttpsReply https = Https(HttpsUrl("/healthz"), dir_ + "/ca2.pem");
  EXPECT_EQ(https.code, CURLE_OK) << curl_easy_strerror(https.code);
  EXPECT_EQ(https.status, 200);
  EXPECT_NE(Https(HttpsUrl("/healthz"), dir_ + "/ca.pem").code, CURLE_OK);
  EXPECT_TRUE(GrpcEventuallyServes(gateway_->grpc_port(), "ca2"));
  EXPECT_FALSE(CheckFresh(gateway_->grpc_port(), "ca").ok());
}

TEST_F(AuthTlsTest, SighupReloadsTheCertificatesOfARunningProcess) {
  const std::string config = dir_ + "/wagate.json";
  std::ofstream(config) << absl::StrCat(
      R"({"tls": {"grpc": {"cert_file": ")", dir_, R"(/server.pem", )",
      R"("key_file": ")", dir_, R"(/server.key"}, "http": {"cert_file": ")",
      dir_, R"(/server.pem", "key_file": ")", dir_, R"(/server.key"}}})");
  testing::Subprocess wagate(
      {testing::BinaryPath("service/wagate"), "--grpc_address=127.0.0.1:0",
       "--http_address=127.0.0.1:0", "--admin_address=127.0.0.1:0",
       "--store=sqlite:" + dir_ + "/p.db", "--config=" + config,
       "--shutdown_grace=1s"});
  ASSERT_TRUE(wagate.Start().ok());
  const std::string serving =
      wagate.WaitForLine("\"msg\":\"serving\"", absl::Seconds(20));
  ASSERT_FALSE(serving.empty()) << wagate.Stderr();
  const int grpc_port =
      testing::PortOf(testing::JsonLogField(serving, "grpc_address"));
  const int http_port =
      testing::PortOf(testing::JsonLogField(serving, "http_address"));
  const std::string healthz =
      absl::StrCat("https://127.0.0.1:", http_port, "/healthz");
  ASSERT_TRUE(CheckFresh(grpc_port, "ca").ok());
  ASSERT_EQ(Https(healthz, dir_ + "/ca.pem").status, 200);

  MakeCa("ca2");
  MakeSigned("ca2", "server2", /*server=*/true);
  InstallServerCert("server2");
  wagate.Signal(SIGHUP);
  EXPECT_FALSE(
      wagate.WaitForLine("\"listener\":\"http\"", absl::Seconds(10)).empty())
      << wagate.Stderr();
  EXPECT_THAT(wagate.Stderr(), HasSubstr("TLS certificate reloaded"));
  EXPECT_THAT(wagate.Stderr(), Not(HasSubstr("reload failed")));

  EXPECT_TRUE(GrpcEventuallyServes(grpc_port, "ca2")) << wagate.Stderr();
  HttpsReply https = Https(healthz, dir_ + "/ca2.pem");
  EXPECT_EQ(https.code, CURLE_OK) << curl_easy_strerror(https.code);
  EXPECT_EQ(https.status, 200);
  // The same process all along.
  EXPECT_FALSE(wagate.Wait(absl::ZeroDuration()).has_value());

  wagate.Signal(SIGTERM);
  EXPECT_EQ(wagate.Wait(absl::Seconds(20)), absl::optional<int>(0));
}

}  // namespace
}  // namespace wagate::server
