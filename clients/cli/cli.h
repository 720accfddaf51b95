// The pure parts of wagate-cli (the operator's terminal client): building a
// SendRequest from command-line values or a protobuf-JSON file, describing a
// failed call with its decoded wagate.v1.GraphError, and printing events and
// responses as one-line summaries or JSON. main.cc wires them to the stubs.
//
//   cli::SendOptions send;
//   send.from = "106540352242922";
//   send.to = "16505551234";
//   send.text = "Hello";
//   ASSIGN_OR_RETURN(v1::SendRequest request, cli::BuildSendRequest(send));
//   ...
//   if (!status.ok()) std::cerr << cli::DescribeError(status);
#ifndef WAGATE_CLIENTS_CLI_CLI_H_
#define WAGATE_CLIENTS_CLI_CLI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"
#include "wagate/v1/events.pb.h"
#include "wagate/v1/messaging.pb.h"
#include "wagate/v1/templates.pb.h"

namespace wagate::cli {

// What `wagate-cli send` was given. Exactly one content kind must be set
// (or json_file, which replaces all of them).
struct SendOptions {
  std::string json_file;  // a SendRequest in protobuf JSON ("-": stdin)
  std::string from;       // phone_number_id
  std::string to;
  std::string reply_to;
  std::string idempotency_key;
  std::string callback_data;  // biz_opaque_callback_data

  std::string text;
  bool preview_url = false;
  // Media: an id from UploadMedia, or an http(s):// link.
  std::string image, video, audio, document, sticker;
  std::string caption;
  std::string filename;  // document
  bool voice = false;    // audio
  // Location: set when has_location.
  bool has_location = false;
  double latitude = 0, longitude = 0;
  std::string location_name, location_address;
  // Reaction to react_to (wamid); an empty emoji removes it.
  std::string react_to;
  std::string emoji;
  bool has_reaction = false;
  // Template by name + language, body parameters in order.
  std::string template_name;
  std::string language = "en_US";
  std::vector<std::string> body_params;
  // Interactive reply buttons ("id:title" or "title"), with body text and
  // optional header/footer.
  std::vector<std::string> buttons;
  std::string body;
  std::string header;
  std::string footer;
};

// The SendRequest for `options`; INVALID_ARGUMENT naming the flag when they
// are incomplete or contradictory. Limits are the gateway's to check.
absl::StatusOr<v1::SendRequest> BuildSendRequest(const SendOptions& options);

// Parses protobuf JSON (proto or JSON field names) from a file ("-": stdin).
absl::Status ReadJsonFile(const std::string& path,
                          google::protobuf::Message* message);

// CreateTemplateRequest from simple flags: BODY text, optional HEADER
// (text) and FOOTER; `category` is marketing, utility or authentication.
absl::StatusOr<v1::CreateTemplateRequest> BuildCreateTemplateRequest(
    const std::string& waba_id, const std::string& name,
    const std::string& language, const std::string& category,
    const std::string& header, const std::string& body,
    const std::string& footer);

// "status" or "EVENT_KIND_STATUS" → EVENT_KIND_STATUS.
absl::StatusOr<v1::EventKind> ParseEventKind(absl::string_view name);

// "OK", "INVALID_ARGUMENT", ...
std::string CodeName(grpc::StatusCode code);

// Lines for a person: "error: CODE: message", then the decoded GraphError
// (code, subcode, type, http_status, fbtrace_id, details, retry delay...).
std::string DescribeError(const grpc::Status& status);

// One line: cursor, time, kind and the essentials of the payload.
std::string EventSummary(const v1::Event& event);

// One-line protobuf JSON with the proto field names (snake_case).
std::string ToJson(const google::protobuf::Message& message);

}  // namespace wagate::cli

#endif  // WAGATE_CLIENTS_CLI_CLI_H_
