// wagate.v1.Media over the gRPC callback API, streaming both ways without
// holding a file in memory:
//
//  - UploadMedia (client stream): the first message's metadata is checked
//    (MIME type allowed, declared size within the type's limit, token of the
//    number), then the chunks flow through a bounded buffer into a
//    multipart/form-data POST /{phone_number_id}/media whose body curl pulls
//    as it sends. Reading from the client pauses while the buffer is full
//    (HTTP/2 flow control holds the client back) and resumes as curl drains
//    it. Bytes past the type's limit (or past the declared size) fail the
//    call with INVALID_ARGUMENT and abort the upload.
//  - DownloadMedia (server stream): GET /{media_id} for the URL, metadata
//    as the first message, then GET <url> with the bearer token streamed as
//    chunks with one write in flight; curl is paused while the bytes not yet
//    written reach the bound. The SHA-256 (and size) Meta reported is
//    checked at the end: a mismatch finishes with DATA_LOSS (discard what
//    was received). The token goes only to https on Meta's media hosts or
//    to the Graph base URL's origin (media_url.h): another URL in Graph's
//    answer finishes with FAILED_PRECONDITION, nothing fetched.
//  - GetMedia, DeleteMedia: one Graph call each.
//
// Every exchange, transfers included, goes through GraphClient: one error
// mapping (GraphError details) and per-operation metrics (upload_media,
// get_media, download_media, delete_media).
//
// Media calls take the token of `phone_number_id` when given; without it
// the gateway must serve a single account (INVALID_ARGUMENT otherwise).
//
//   resources::MediaService media(graph_client, accounts, {});
//   builder.RegisterService(&media);
#ifndef WAGATE_SERVICE_RESOURCES_MEDIA_SERVICE_H_
#define WAGATE_SERVICE_RESOURCES_MEDIA_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/config/accounts.h"
#include "service/graph/graph_client.h"
#include "service/http/client.h"
#include "wagate/v1/media.grpc.pb.h"

namespace wagate::resources {

struct MediaStats {
  uint64_t uploads = 0;            // calls started
  uint64_t downloads = 0;          // calls started
  uint64_t transfers_running = 0;  // uploads + downloads not finished
  // High-water marks of the bytes held per call between gRPC and curl.
  uint64_t max_upload_buffered_bytes = 0;
  uint64_t max_download_buffered_bytes = 0;
};

class MediaService final : public wagate::v1::Media::CallbackService {
 public:
  struct Options {
    // Upload bytes read from the client and not yet taken by curl; reading
    // pauses at this bound (one gRPC message may overshoot it).
    size_t upload_buffer_bytes = 1 << 20;
    // Download bytes fetched and not yet written to the client; curl pauses
    // at this bound.
    size_t download_buffer_bytes = 1 << 20;
    // Largest chunk message of a download.
    size_t download_chunk_bytes = 256 << 10;
    // Upper bound on one upload or download exchange (the call's deadline,
    // if earlier, wins).
    absl::Duration transfer_timeout = absl::Minutes(10);
    // Checks UploadMedia's phone_number_id (the first message) against the
    // caller's scope (see service/auth) before anything is sent: a non-OK
    // status ends the upload with it. Null: no check.
    std::function<absl::Status(grpc::CallbackServerContext*,
                               const std::string& phone_number_id)>
        upload_check;
    // The Graph base URL ("--graph_base_url"): besides https on Meta's
    // media hosts, the only origin a download URL may name (media_url.h).
    std::string graph_base_url = "https://graph.facebook.com";
  };

  // `graph` and `accounts` must outlive the service.
  MediaService(graph::GraphClient& graph, const config::Accounts& accounts,
               Options options);

  grpc::ServerReadReactor<v1::UploadMediaRequest>* UploadMedia(
      grpc::CallbackServerContext* context,
      v1::UploadMediaResponse* response) override;
  grpc::ServerUnaryReactor* GetMedia(grpc::CallbackServerContext* context,
                                     const v1::GetMediaRequest* request,
                                     v1::GetMediaResponse* response) override;
  grpc::ServerWriteReactor<v1::DownloadMediaResponse>* DownloadMedia(
      grpc::CallbackServerContext* context,
      const v1::DownloadMediaRequest* request) override;
  grpc::ServerUnaryReactor* DeleteMedia(
      grpc::CallbackServerContext* context,
      const v1::DeleteMediaRequest* request,
      v1::DeleteMediaResponse* response) override;

  MediaStats stats() const;

 private:
  class UploadReactor;
  class DownloadReactor;

  void NoteUploadBuffered(uint64_t bytes);
  void NoteDownloadBuffered(uint64_t bytes);

  graph::GraphClient& graph_;
  const config::Accounts& accounts_;
  const Options options_;
  std::atomic<uint64_t> uploads_{0};
  std::atomic<uint64_t> downloads_{0};
  std::atomic<uint64_t> running_{0};
  std::atomic<uint64_t> max_upload_buffered_{0};
  std::atomic<uint64_t> max_download_buffered_{0};
};

}  // namespace wagate::resources

#endif  // WAGATE_SERVICE_RESOURCES_MEDIA_SERVICE_H_
