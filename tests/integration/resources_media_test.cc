// Media over gRPC: a 12 MiB upload/get/download/delete round trip through
// the emulator (digest checked, bounded buffers), and against a recording fake
// Graph a 12 MiB upload and download with bounded buffering and a checked
// digest, the multipart body, limits, DATA_LOSS on a digest mismatch and mapped
// errors.
#include <openssl/sha.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/graph/graph_error.h"
#include "tests/integration/resources_harness.h"
#include "wagate/v1/media.grpc.pb.h"

namespace wagate::resources::testing {
namespace {

using ::testing::HasSubstr;

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u + seed;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : d) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xf]);
  }
  return hex;
}

struct UploadResult {
  grpc::Status status;
  std::string media_id;
};

// Streams `data` in `chunk` pieces after the metadata.
UploadResult Upload(v1::Media::Stub* stub, const v1::UploadMediaMetadata& m,
                    const std::string& data, size_t chunk = 64 << 10) {
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::UploadMediaResponse response;
  auto writer = stub->UploadMedia(&c, &response);
  v1::UploadMediaRequest first;
  *first.mutable_metadata() = m;
  bool ok = writer->Write(first);
  for (size_t off = 0; ok && off < data.size(); off += chunk) {
    v1::UploadMediaRequest r;
    r.set_chunk(data.substr(off, chunk));
    ok = writer->Write(r);
  }
  writer->WritesDone();
  UploadResult result;
  result.status = writer->Finish();
  result.media_id = response.media_id();
  return result;
}

struct DownloadResult {
  grpc::Status status;
  v1::MediaMetadata metadata;
  std::string data;
  int chunks = 0;
  bool metadata_first = false;
};

DownloadResult Download(v1::Media::Stub* stub, const std::string& media_id,
                        absl::Duration pause_each = absl::ZeroDuration()) {
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::DownloadMediaRequest request;
  request.set_media_id(media_id);
  auto reader = stub->DownloadMedia(&c, request);
  DownloadResult result;
  v1::DownloadMediaResponse message;
  bool first = true;
  while (reader->Read(&message)) {
    if (first) result.metadata_first = message.has_metadata();
    first = false;
    if (message.has_metadata()) result.metadata = message.metadata();
    if (message.has_chunk()) {
      result.data += message.chunk();
      ++result.chunks;
      if (pause_each > absl::ZeroDuration()) absl::SleepFor(pause_each);
    }
  }
  result.status = reader->Finish();
  return result;
}

v1::UploadMediaMetadata Metadata(const std::string& mime, int64_t size = 0) {
  v1::UploadMediaMetadata m;
  m.set_phone_number_id(kPhone);
  m.set_mime_type(mime);
  m.set_file_name("clip.mp4");
  m.set_size_bytes(size);
  return m;
}

// The parts of a multipart/form-data body: name → (headers+data).
std::map<std::string, std::string> Parts(
    const http::Request& r, std::map<std::string, std::string>* part_headers) {
  std::string ct(r.Header("Content-Type"));
  std::string boundary = ct.substr(ct.find("boundary=") + 9);
  std::map<std::string, std::string> parts;
  for (absl::string_view part :
       absl::StrSplit(r.body, absl::StrCat("--", boundary))) {
    size_t end = part.find("\r\n\r\n");
    if (end == absl::string_view::npos) continue;
    absl::string_view headers = part.substr(0, end);
    absl::string_view data = part.substr(end + 4);
    if (absl::EndsWith(data, "\r\n")) data.remove_suffix(2);
    size_t name = headers.find("name=\"");
    std::string key(
        headers.substr(name + 6, headers.find('"', name + 6) - name - 6));
    parts[key] = std::string(data);
    (*part_headers)[key] = std::string(headers);
  }
  return parts;
}

TEST(ResourcesMediaTest, RoundTripThroughTheEmulator) {
  HarnessOptions o;
  o.media.upload_buffer_bytes = 256 << 10;
  o.media.download_buffer_bytes = 256 << 10;
  o.media.download_chunk_bytes = 64 << 10;
  ResourcesHarness h(o);
  auto stub = v1::Media::NewStub(h.channel());
  const std::string data = Pattern(12 << 20, 1);
  UploadResult up =
      Upload(stub.get(), Metadata("video/mp4", data.size()), data);
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  ASSERT_FALSE(up.media_id.empty());

  grpc::ClientContext c;
  v1::GetMediaRequest get;
  get.set_media_id(up.media_id);
  get.set_phone_number_id(kPhone);
  v1::GetMediaResponse meta;
  grpc::Status s = stub->GetMedia(&c, get, &meta);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(meta.id(), up.media_id);
  EXPECT_EQ(meta.mime_type(), "video/mp4");
  EXPECT_EQ(meta.sha256(), Sha256Hex(data));
  EXPECT_EQ(meta.file_size(), static_cast<int64_t>(data.size()));
  EXPECT_THAT(meta.url(), HasSubstr("http://127.0.0.1:"));

  DownloadResult down = Download(stub.get(), up.media_id);
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_TRUE(down.metadata_first);
  EXPECT_EQ(down.metadata.id(), up.media_id);
  EXPECT_EQ(down.metadata.url(), "");
  EXPECT_EQ(down.metadata.sha256(), Sha256Hex(data));
  EXPECT_TRUE(down.data == data);

  grpc::ClientContext c2;
  v1::DeleteMediaRequest del;
  del.set_media_id(up.media_id);
  v1::DeleteMediaResponse deleted;
  ASSERT_TRUE(stub->DeleteMedia(&c2, del, &deleted).ok());
  EXPECT_TRUE(deleted.success());
  grpc::ClientContext c3;
  s = stub->GetMedia(&c3, get, &meta);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  auto e = graph::GraphErrorFromGrpcStatus(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), 100);
  EXPECT_EQ(e->error_subcode(), 33);
  EXPECT_FALSE(e->fbtrace_id().empty());

  // Every exchange, both transfers included, went through GraphClient.
  EXPECT_THAT(
      h.graph_operations(),
      ::testing::ElementsAre("upload_media", "get_media", "get_media",
                             "download_media", "delete_media", "get_media"));
  // 12 MiB each way, never more than the bound plus one message held.
  MediaStats stats = h.media().stats();
  EXPECT_GT(stats.max_upload_buffered_bytes, 0u);
  EXPECT_LE(stats.max_upload_buffered_bytes, (256u << 10) + (64u << 10));
  EXPECT_GT(stats.max_download_buffered_bytes, 0u);
  EXPECT_LE(stats.max_download_buffered_bytes, (256u << 10) + (64u << 10));
}

TEST(ResourcesMediaTest, EmulatorRefusesAForeignNumbersMedia) {
  ResourcesHarness h;
  auto stub = v1::Media::NewStub(h.channel());
  UploadResult up = Upload(stub.get(), Metadata("image/png"), Pattern(1000, 2));
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  grpc::ClientContext c;
  v1::GetMediaRequest get;
  get.set_media_id(up.media_id);
  get.set_phone_number_id("999");
  v1::GetMediaResponse meta;
  grpc::Status s = stub->GetMedia(&c, get, &meta);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(graph::GraphErrorFromGrpcStatus(s).has_value());
  EXPECT_EQ(graph::GraphErrorFromGrpcStatus(s)->code(), 100);
}

TEST(ResourcesMediaTest, TwelveMegabyteUploadIsStreamedWithBoundedMemory) {
  HarnessOptions o;
  o.target = Target::kFake;
  o.fake_max_body_bytes = 64 << 20;
  o.media.upload_buffer_bytes = 256 << 10;
  ResourcesHarness h(o);
  const std::string path = absl::StrCat("/v24.0/", kPhone, "/media");
  h.fake().Answer("POST", path, 200, R"({"id":"4490709327384033"})");
  auto stub = v1::Media::NewStub(h.channel());
  const std::string data = Pattern(12 << 20, 3);
  UploadResult up = Upload(stub.get(), Metadata("video/mp4"), data);
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  EXPECT_EQ(up.media_id, "4490709327384033");

  std::vector<http::Request> q = h.fake().requests();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].method, "POST");
  EXPECT_EQ(q[0].path, path);
  EXPECT_EQ(q[0].Header("Authorization"), absl::StrCat("Bearer ", kToken));
  EXPECT_THAT(std::string(q[0].Header("Content-Type")),
              HasSubstr("multipart/form-data; boundary="));
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> parts = Parts(q[0], &headers);
  EXPECT_EQ(parts["messaging_product"], "whatsapp");
  EXPECT_EQ(parts["type"], "video/mp4");
  EXPECT_THAT(headers["file"], HasSubstr("filename=\"clip.mp4\""));
  EXPECT_THAT(headers["file"], HasSubstr("Content-Type: video/mp4"));
  EXPECT_EQ(parts["file"].size(), data.size());
  EXPECT_EQ(Sha256Hex(parts["file"]), Sha256Hex(data));

  // Never more than the bound plus one gRPC message held at once.
  MediaStats stats = h.media().stats();
  EXPECT_GT(stats.max_upload_buffered_bytes, 0u);
  EXPECT_LE(stats.max_upload_buffered_bytes, (256u << 10) + (64u << 10));
}

TEST(ResourcesMediaTest, TwelveMegabyteDownloadIsStreamedWithBoundedMemory) {
  HarnessOptions o;
  o.target = Target::kFake;
  o.media.download_buffer_bytes = 256 << 10;
  o.media.download_chunk_bytes = 64 << 10;
  ResourcesHarness h(o);
  const std::string data = Pattern(12 << 20, 4);
  h.fake().Answer(
      "GET", "/v24.0/771", 200,
      absl::StrCat(R"({"messaging_product":"whatsapp","url":")",
                   h.fake().base_url(),
                   R"(/files/771?ext=1","mime_type":"video/mp4",)",
                   R"("sha256":")", Sha256Hex(data), R"(","file_size":")",
                   data.size(), R"(","id":"771"})"));
  h.fake().Answer("GET", "/files/771", 200, data, "video/mp4");
  auto stub = v1::Media::NewStub(h.channel());
  // A slow reader at first, so the gateway has to hold curl back.
  DownloadResult down = Download(stub.get(), "771", absl::Microseconds(300));
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_TRUE(down.metadata_first);
  EXPECT_EQ(down.metadata.file_size(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(down.data.size(), data.size());
  EXPECT_TRUE(down.data == data);
  EXPECT_GE(down.chunks, static_cast<int>(data.size() / (64 << 10)));

  std::vector<http::Request> q = h.fake().requests();
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[1].path, "/files/771");
  EXPECT_EQ(q[1].Header("Authorization"), absl::StrCat("Bearer ", kToken));

  MediaStats stats = h.media().stats();
  EXPECT_GT(stats.max_download_buffered_bytes, 0u);
  EXPECT_LE(stats.max_download_buffered_bytes, (256u << 10) + (64u << 10));
}

TEST(ResourcesMediaTest, DigestMismatchIsDataLoss) {
  ResourcesHarness h({.target = Target::kFake});
  const std::string data = Pattern(100000, 5);
  h.fake().Answer("GET", "/v24.0/772", 200,
                  absl::StrCat(R"({"url":")", h.fake().base_url(),
                               R"(/files/772","mime_type":"image/png",)",
                               R"("sha256":")", Sha256Hex("something else"),
                               R"(","file_size":"100000","id":"772"})"));
  h.fake().Answer("GET", "/files/772", 200, data, "image/png");
  auto stub = v1::Media::NewStub(h.channel());
  DownloadResult down = Download(stub.get(), "772");
  EXPECT_EQ(down.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(down.status.error_message(), HasSubstr("sha256"));
}

TEST(ResourcesMediaTest, ExpiredDownloadUrlIsNotFound) {
  ResourcesHarness h({.target = Target::kFake});
  h.fake().Answer("GET", "/v24.0/773", 200,
                  absl::StrCat(R"({"url":")", h.fake().base_url(),
                               R"(/files/gone","mime_type":"image/png",)",
                               R"("sha256":"00","file_size":"1","id":"773"})"));
  h.fake().Answer("GET", "/files/gone", 404, "Not Found", "text/plain");
  auto stub = v1::Media::NewStub(h.channel());
  DownloadResult down = Download(stub.get(), "773");
  EXPECT_EQ(down.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(graph::GraphErrorFromGrpcStatus(down.status).has_value());
}

// The bearer token goes only to https on Meta's media hosts (or the Graph
// base URL's origin): a download URL elsewhere in Graph's answer is not
// fetched at all (issue 14).
TEST(ResourcesMediaTest, DownloadUrlOffMetasHostsIsNotFetched) {
  ResourcesHarness h({.target = Target::kFake});
  for (const char* url : {"https://evil.example/files/774",
                          "http://lookaside.fbsbx.com/whatsapp_business/x"}) {
    SCOPED_TRACE(url);
    h.fake().Answer("GET", "/v24.0/774", 200,
                    absl::StrCat(R"({"url":")", url,
                                 R"(","mime_type":"image/png",)",
                                 R"("sha256":"00","file_size":"1",)",
                                 R"("id":"774"})"));
    auto stub = v1::Media::NewStub(h.channel());
    const size_t before = h.fake().requests().size();
    DownloadResult down = Download(stub.get(), "774");
    EXPECT_EQ(down.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << down.status.error_message();
    EXPECT_THAT(down.status.error_message(), HasSubstr("access token"));
    EXPECT_TRUE(down.data.empty());
    // Only the metadata lookup reached anything.
    EXPECT_EQ(h.fake().requests().size(), before + 1);
    EXPECT_TRUE(graph::GraphErrorFromGrpcStatus(down.status).has_value());
  }
}

// Graph refusing an upload while the client still streams: the call ends
// once with Graph's error, and no read is started after Finish (a read
// decided under the lock and started after it used to race the finish).
TEST(ResourcesMediaTest, UploadRefusedMidStreamFinishesOnceWithTheError) {
  ResourcesHarness h({.target = Target::kFake,
                      .media = {.upload_buffer_bytes = 32 << 10}});
  h.fake().Answer("POST", absl::StrCat("/v24.0/", kPhone, "/media"), 400,
                  R"({"error":{"message":"Unsupported","code":131053,
                      "fbtrace_id":"M"}})");
  auto stub = v1::Media::NewStub(h.channel());
  const std::string data = Pattern(1 << 20, 11);
  for (int i = 0; i < 20; ++i) {
    UploadResult r =
        Upload(stub.get(), Metadata("video/mp4"), data, /*chunk=*/8 << 10);
    ASSERT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << i << ": " << r.status.error_message();
  }
  // Every reactor is released (OnDone and the HTTP request both ended).
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (h.media().stats().transfers_running > 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(h.media().stats().transfers_running, 0u);
}

TEST(ResourcesMediaTest, UploadLimitsAreCheckedBeforeAndWhileStreaming) {
  HarnessOptions o;
  o.target = Target::kFake;
  o.fake_max_body_bytes = 64 << 20;
  ResourcesHarness h(o);
  h.fake().Answer("POST", absl::StrCat("/v24.0/", kPhone, "/media"), 200,
                  R"({"id":"1"})");
  auto stub = v1::Media::NewStub(h.channel());

  UploadResult r = Upload(stub.get(), Metadata("image/gif"), "x");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("metadata.mime_type"));

  r = Upload(stub.get(), Metadata("image/jpeg", 6 << 20), "x");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("metadata.size_bytes"));

  // No declared size: the stream itself passes the 5 MiB image limit.
  r = Upload(stub.get(), Metadata("image/jpeg"), Pattern(6 << 20, 6));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("5242880-byte limit"));

  // Declared 1000 bytes, sent 500.
  r = Upload(stub.get(), Metadata("image/jpeg", 1000), Pattern(500, 7));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("500 of the 1000"));

  // A chunk first.
  {
    grpc::ClientContext c;
    v1::UploadMediaResponse response;
    auto writer = stub->UploadMedia(&c, &response);
    v1::UploadMediaRequest chunk;
    chunk.set_chunk("abc");
    writer->Write(chunk);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("first message"));
  }
  // Graph never saw a complete upload.
  EXPECT_TRUE(h.fake().requests().empty());

  // A valid one still goes through afterwards.
  r = Upload(stub.get(), Metadata("image/jpeg", 1000), Pattern(1000, 8));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(h.fake().requests().size(), 1u);
}

TEST(ResourcesMediaTest, GraphUploadErrorsAreMapped) {
  ResourcesHarness h({.target = Target::kFake});
  h.fake().Answer("POST", absl::StrCat("/v24.0/", kPhone, "/media"), 400,
                  R"({"error":{"message":"Unsupported","code":131053,
                      "fbtrace_id":"M","error_data":{"details":"bad file"}}})");
  auto stub = v1::Media::NewStub(h.channel());
  UploadResult r = Upload(stub.get(), Metadata("image/png"), Pattern(5000, 9));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto e = graph::GraphErrorFromGrpcStatus(r.status);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), 131053);
  EXPECT_EQ(e->fbtrace_id(), "M");
}

TEST(ResourcesMediaTest, GetAndDeleteReachGraphExactly) {
  ResourcesHarness h({.target = Target::kFake, .multi_account = true});
  h.fake().Answer("GET", "/v24.0/55", 200,
                  R"({"url":"https://u","mime_type":"audio/ogg",)"
                  R"("sha256":"ab","file_size":"321","id":"55"})");
  h.fake().Answer("DELETE", "/v24.0/55", 200, R"({"success":true})");
  auto stub = v1::Media::NewStub(h.channel());
  {
    grpc::ClientContext c;
    v1::GetMediaRequest r;
    r.set_media_id("55");
    r.set_phone_number_id(kPhone);
    v1::GetMediaResponse out;
    ASSERT_TRUE(stub->GetMedia(&c, r, &out).ok());
    EXPECT_EQ(out.url(), "https://u");
    EXPECT_EQ(out.file_size(), 321);
    EXPECT_EQ(out.sha256(), "ab");
  }
  {
    grpc::ClientContext c;
    v1::DeleteMediaRequest r;
    r.set_media_id("55");
    r.set_phone_number_id(kPhone);
    v1::DeleteMediaResponse out;
    ASSERT_TRUE(stub->DeleteMedia(&c, r, &out).ok());
    EXPECT_TRUE(out.success());
  }
  {
    // Several accounts: which token? phone_number_id is required.
    grpc::ClientContext c;
    v1::GetMediaRequest r;
    r.set_media_id("55");
    v1::GetMediaResponse out;
    grpc::Status s = stub->GetMedia(&c, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("phone_number_id"));
  }
  std::vector<http::Request> q = h.fake().requests();
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].method, "GET");
  EXPECT_EQ(q[0].query.size(), 1u);
  EXPECT_EQ(q[0].query[0].first, "phone_number_id");
  EXPECT_EQ(q[0].query[0].second, kPhone);
  EXPECT_EQ(q[1].method, "DELETE");
  EXPECT_EQ(q[1].path, "/v24.0/55");
}

// Polls until no upload or download is running (each call's reactor is gone
// and its HTTP transfer finished).
bool AllTransfersEnded(MediaService& media) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    if (media.stats().transfers_running == 0) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

TEST(ResourcesMediaTest, CancelledDownloadStopsTheTransfer) {
  HarnessOptions o;
  o.target = Target::kFake;
  o.media.download_buffer_bytes = 128 << 10;
  ResourcesHarness h(o);
  const std::string data = Pattern(12 << 20, 10);
  h.fake().Answer(
      "GET", "/v24.0/774", 200,
      absl::StrCat(R"({"url":")", h.fake().base_url(),
                   R"(/files/774","mime_type":"video/mp4",)", R"("sha256":")",
                   Sha256Hex(data), R"(","file_size":"12582912","id":"774"})"));
  h.fake().Answer("GET", "/files/774", 200, data, "video/mp4");
  auto stub = v1::Media::NewStub(h.channel());
  grpc::ClientContext c;
  v1::DownloadMediaRequest request;
  request.set_media_id("774");
  auto reader = stub->DownloadMedia(&c, request);
  v1::DownloadMediaResponse message;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader->Read(&message));
  c.TryCancel();
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(AllTransfersEnded(h.media()));
  EXPECT_LE(h.media().stats().max_download_buffered_bytes,
            (128u << 10) + (64u << 10));
}

TEST(ResourcesMediaTest, CancelledUploadNeverReachesGraphComplete) {
  HarnessOptions o;
  o.target = Target::kFake;
  o.fake_max_body_bytes = 64 << 20;
  ResourcesHarness h(o);
  h.fake().Answer("POST", absl::StrCat("/v24.0/", kPhone, "/media"), 200,
                  R"({"id":"1"})");
  auto stub = v1::Media::NewStub(h.channel());
  grpc::ClientContext c;
  v1::UploadMediaResponse response;
  auto writer = stub->UploadMedia(&c, &response);
  v1::UploadMediaRequest first;
  *first.mutable_metadata() = Metadata("video/mp4", 8 << 20);
  ASSERT_TRUE(writer->Write(first));
  for (int i = 0; i < 8; ++i) {
    v1::UploadMediaRequest r;
    r.set_chunk(Pattern(64 << 10, i));
    ASSERT_TRUE(writer->Write(r));
  }
  c.TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(AllTransfersEnded(h.media()));
  EXPECT_TRUE(h.fake().requests().empty());
}

TEST(ResourcesMediaTest, UploadOutOfScopeIsRefusedWithDetails) {
  HarnessOptions o;
  o.target = Target::kFake;
  o.media.upload_check = [](grpc::CallbackServerContext*,
                            const std::string& phone_number_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("phone_number_id ", phone_number_id, ": out of scope"));
  };
  ResourcesHarness h(o);
  auto stub = v1::Media::NewStub(h.channel());
  UploadResult r = Upload(stub.get(), Metadata("image/png"), Pattern(100, 14));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  auto e = graph::GraphErrorFromGrpcStatus(r.status);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), 0);
  EXPECT_THAT(e->details(), HasSubstr("out of scope"));
  EXPECT_TRUE(h.fake().requests().empty());
}

TEST(ResourcesMediaTest, EveryRpcFailureCarriesGraphsErrorDetails) {
  ResourcesHarness h;
  auto stub = v1::Media::NewStub(h.channel());
  UploadResult stored =
      Upload(stub.get(), Metadata("image/png"), Pattern(1000, 11));
  ASSERT_TRUE(stored.status.ok()) << stored.status.error_message();
  h.FailEveryGraphCall();
  UploadResult up =
      Upload(stub.get(), Metadata("image/png", 300000), Pattern(300000, 12));
  ExpectInjected503(up.status, "UploadMedia");
  {
    grpc::ClientContext c;
    v1::GetMediaRequest r;
    r.set_media_id(stored.media_id);
    v1::GetMediaResponse out;
    ExpectInjected503(stub->GetMedia(&c, r, &out), "GetMedia");
  }
  ExpectInjected503(Download(stub.get(), stored.media_id).status,
                    "DownloadMedia");
  {
    grpc::ClientContext c;
    v1::DeleteMediaRequest r;
    r.set_media_id(stored.media_id);
    v1::DeleteMediaResponse out;
    ExpectInjected503(stub->DeleteMedia(&c, r, &out), "DeleteMedia");
  }
  // Transfers are measured under their own operations too.
  EXPECT_THAT(h.graph_operations(),
              ::testing::ElementsAre("upload_media", "upload_media",
                                     "get_media", "get_media", "delete_media"));

  h.FailEveryGraphCall(/*drop=*/true);
  up = Upload(stub.get(), Metadata("image/png", 300000), Pattern(300000, 13));
  ExpectDroppedConnection(up.status, "UploadMedia");
}

}  // namespace
}  // namespace wagate::resources::testing
