// wagate-cli: the operator's terminal client for wagate. See
// clients/README.md; `wagate-cli --help` lists every flag.
//
//   wagate-cli send --from PNID --to 16505551234 --text "Hello"
//   wagate-cli subscribe --from_oldest --kind status --limit 3 [--json]
//   wagate-cli templates list --waba_id WABA
//   wagate-cli numbers get PNID
//   wagate-cli media upload photo.jpg --from PNID --mime_type image/jpeg
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/cli/cli.h"
#include "grpcpp/grpcpp.h"
#include "wagate/v1/events.grpc.pb.h"
#include "wagate/v1/media.grpc.pb.h"
#include "wagate/v1/messaging.grpc.pb.h"
#include "wagate/v1/phone_numbers.grpc.pb.h"
#include "wagate/v1/templates.grpc.pb.h"

// Connection and output.
ABSL_FLAG(std::string, address, "127.0.0.1:50051", "wagate gRPC address.");
ABSL_FLAG(std::string, api_key, "",
          "API key, sent as `authorization: Bearer <key>` (default: "
          "$WAGATE_API_KEY).");
ABSL_FLAG(absl::Duration, timeout, absl::ZeroDuration(),
          "Call deadline; 0: 30s for single calls, none for subscribe "
          "(which, given one, watches that long and exits 0).");
ABSL_FLAG(bool, json, false, "Print responses and events as JSON lines.");
// send
ABSL_FLAG(std::string, json_file, "",
          "send: a SendRequest in protobuf JSON ('-': stdin) instead of the "
          "content flags.");
ABSL_FLAG(std::string, from, "", "Sender phone_number_id (send, media).");
ABSL_FLAG(std::string, to, "", "send: recipient phone number or wa_id.");
ABSL_FLAG(std::string, text, "", "send: a text message.");
ABSL_FLAG(bool, preview_url, false, "send: preview the text's first URL.");
ABSL_FLAG(std::string, image, "", "send: image media id or https link.");
ABSL_FLAG(std::string, video, "", "send: video media id or https link.");
ABSL_FLAG(std::string, audio, "", "send: audio media id or https link.");
ABSL_FLAG(std::string, document, "", "send: document media id or https link.");
ABSL_FLAG(std::string, sticker, "", "send: sticker media id or https link.");
ABSL_FLAG(std::string, caption, "", "send: image/video/document caption.");
ABSL_FLAG(std::string, filename, "", "send: document file name.");
ABSL_FLAG(bool, voice, false, "send: audio as a voice message.");
ABSL_FLAG(std::string, latitude, "", "send: location latitude.");
ABSL_FLAG(std::string, longitude, "", "send: location longitude.");
ABSL_FLAG(std::string, location_name, "", "send: location name.");
ABSL_FLAG(std::string, location_address, "", "send: location address.");
ABSL_FLAG(std::string, react_to, "", "send: react to this message (wamid).");
ABSL_FLAG(std::string, emoji, "", "send: the reaction emoji (empty removes).");
ABSL_FLAG(std::string, template_name, "", "send: template name.");
ABSL_FLAG(std::string, language, "en_US", "send/templates: language code.");
ABSL_FLAG(std::vector<std::string>, body_param, {},
          "send: template body parameters, comma-separated, in order.");
ABSL_FLAG(std::vector<std::string>, buttons, {},
          "send: interactive reply buttons, comma-separated id:title.");
ABSL_FLAG(std::string, body, "",
          "send: interactive body text; templates create: BODY text.");
ABSL_FLAG(std::string, header, "", "send/templates create: header text.");
ABSL_FLAG(std::string, footer, "", "send/templates create: footer text.");
ABSL_FLAG(std::string, reply_to, "", "send: quote this message (wamid).");
ABSL_FLAG(std::string, idempotency_key, "", "send: idempotency key (24 h).");
ABSL_FLAG(std::string, callback_data, "",
          "send: biz_opaque_callback_data echoed in status events.");
// subscribe
ABSL_FLAG(std::string, after, "", "subscribe: resume after this cursor.");
ABSL_FLAG(bool, from_oldest, false, "subscribe: start at the oldest event.");
ABSL_FLAG(int, limit, 0, "subscribe: exit after N events (0: never).");
ABSL_FLAG(std::vector<std::string>, kind, {},
          "subscribe: only these kinds (status,message,...).");
ABSL_FLAG(std::vector<std::string>, phone_number_ids, {},
          "subscribe: only events of these phone numbers.");
ABSL_FLAG(std::string, group, "", "subscribe: consumer group name.");
ABSL_FLAG(bool, ack, false,
          "subscribe: acknowledge each event after printing (with --group).");
ABSL_FLAG(absl::Duration, ack_timeout, absl::ZeroDuration(),
          "subscribe: redeliver unacked events after this (0: server's).");
// templates, numbers, media
ABSL_FLAG(std::string, waba_id, "", "templates/numbers: WABA id.");
ABSL_FLAG(std::string, name, "", "templates: template name.");
ABSL_FLAG(std::string, template_id, "", "templates delete: template id.");
ABSL_FLAG(std::string, status, "", "templates list: only this status.");
ABSL_FLAG(std::string, category, "utility",
          "templates create: marketing, utility or authentication.");
ABSL_FLAG(int, page_size, 0, "list: page size (0: server's default).");
ABSL_FLAG(std::string, page_token, "", "list: next_page_token to continue.");
ABSL_FLAG(std::string, mime_type, "", "media upload: MIME type.");
ABSL_FLAG(std::string, out, "-", "media download: output file ('-': stdout).");

namespace {

using wagate::cli::DescribeError;
using wagate::cli::ToJson;
namespace v1 = wagate::v1;

constexpr char kUsage[] =
    "the wagate terminal client.\n\n"
    "  wagate-cli send --from PNID --to NUMBER (--text T | --image ID|URL | "
    "--video .. | --audio .. | --document .. | --sticker .. |\n"
    "      --latitude X --longitude Y | --react_to WAMID --emoji E |\n"
    "      --template_name N [--language L] [--body_param a,b] |\n"
    "      --buttons id:Title,... --body T | --json_file FILE)\n"
    "  wagate-cli subscribe [--from_oldest | --after CURSOR] [--kind status] "
    "[--limit N] [--group G --ack] [--json]\n"
    "  wagate-cli templates list|create|delete [--waba_id W] [--name N] ...\n"
    "  wagate-cli numbers list [--waba_id W] | numbers get PNID\n"
    "  wagate-cli media upload FILE --from PNID --mime_type T | "
    "media download MEDIA_ID [--out FILE]\n\n"
    "Global: --address, --api_key (or $WAGATE_API_KEY), --timeout, --json. "
    "Errors print the gRPC code and the decoded GraphError, exit 1.";

int Usage(const std::string& message) {
  std::cerr << "wagate-cli: " << message << "\n(see wagate-cli --help)\n";
  return 2;
}

int Fail(const grpc::Status& status) {
  std::cerr << DescribeError(status);
  return 1;
}

int FailLocal(const absl::Status& status) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

class Client {
 public:
  Client()
      : channel_(grpc::CreateChannel(absl::GetFlag(FLAGS_address),
                                     grpc::InsecureChannelCredentials())) {
    api_key_ = absl::GetFlag(FLAGS_api_key);
    if (api_key_.empty()) {
      const char* env = std::getenv("WAGATE_API_KEY");
      if (env != nullptr) api_key_ = env;
    }
  }

  // A context with the API key and the deadline (`streaming`: none unless
  // --timeout is given).
  std::unique_ptr<grpc::ClientContext> Context(bool streaming = false) const {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!api_key_.empty()) {
      context->AddMetadata("authorization", "Bearer " + api_key_);
    }
    absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
    if (timeout == absl::ZeroDuration() && !streaming) {
      timeout = absl::Seconds(30);
    }
    if (timeout > absl::ZeroDuration()) {
      context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    }
    return context;
  }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string api_key_;
};

int Send(const Client& client) {
  wagate::cli::SendOptions o;
  o.json_file = absl::GetFlag(FLAGS_json_file);
  o.from = absl::GetFlag(FLAGS_from);
  o.to = absl::GetFlag(FLAGS_to);
  o.reply_to = absl::GetFlag(FLAGS_reply_to);
  o.idempotency_key = absl::GetFlag(FLAGS_idempotency_key);
  o.callback_data = absl::GetFlag(FLAGS_callback_data);
  o.text = absl::GetFlag(FLAGS_text);
  o.preview_url = absl::GetFlag(FLAGS_preview_url);
  o.image = absl::GetFlag(FLAGS_image);
  o.video = absl::GetFlag(FLAGS_video);
  o.audio = absl::GetFlag(FLAGS_audio);
  o.document = absl::GetFlag(FLAGS_document);
  o.sticker = absl::GetFlag(FLAGS_sticker);
  o.caption = absl::GetFlag(FLAGS_caption);
  o.filename = absl::GetFlag(FLAGS_filename);
  o.voice = absl::GetFlag(FLAGS_voice);
  const std::string latitude = absl::GetFlag(FLAGS_latitude);
  const std::string longitude = absl::GetFlag(FLAGS_longitude);
  if (!latitude.empty() || !longitude.empty()) {
    if (!absl::SimpleAtod(latitude, &o.latitude) ||
        !absl::SimpleAtod(longitude, &o.longitude)) {
      return Usage("--latitude and --longitude must both be numbers");
    }
    o.has_location = true;
    o.location_name = absl::GetFlag(FLAGS_location_name);
    o.location_address = absl::GetFlag(FLAGS_location_address);
  }
  o.react_to = absl::GetFlag(FLAGS_react_to);
  o.emoji = absl::GetFlag(FLAGS_emoji);
  o.has_reaction = !o.react_to.empty();
  o.template_name = absl::GetFlag(FLAGS_template_name);
  o.language = absl::GetFlag(FLAGS_language);
  o.body_params = absl::GetFlag(FLAGS_body_param);
  o.buttons = absl::GetFlag(FLAGS_buttons);
  o.body = absl::GetFlag(FLAGS_body);
  o.header = absl::GetFlag(FLAGS_header);
  o.footer = absl::GetFlag(FLAGS_footer);
  absl::StatusOr<v1::SendRequest> request = wagate::cli::BuildSendRequest(o);
  if (!request.ok()) return FailLocal(request.status());

  auto stub = v1::Messaging::NewStub(client.channel());
  v1::SendResponse response;
  grpc::Status status = stub->Send(client.Context().get(), *request, &response);
  if (!status.ok()) return Fail(status);
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(response) << std::endl;
  } else {
    std::cout << response.message_id() << std::endl;
  }
  return 0;
}

int Subscribe(const Client& client) {
  v1::SubscribeRequest request;
  request.set_after_cursor(absl::GetFlag(FLAGS_after));
  request.set_from_oldest(absl::GetFlag(FLAGS_from_oldest));
  request.set_group(absl::GetFlag(FLAGS_group));
  for (const std::string& id : absl::GetFlag(FLAGS_phone_number_ids)) {
    request.add_phone_number_ids(id);
  }
  for (const std::string& name : absl::GetFlag(FLAGS_kind)) {
    absl::StatusOr<v1::EventKind> kind = wagate::cli::ParseEventKind(name);
    if (!kind.ok()) return Usage(std::string(kind.status().message()));
    request.add_kinds(*kind);
  }
  const absl::Duration ack_timeout = absl::GetFlag(FLAGS_ack_timeout);
  if (ack_timeout > absl::ZeroDuration()) {
    request.mutable_ack_timeout()->set_seconds(
        absl::ToInt64Seconds(ack_timeout));
    request.mutable_ack_timeout()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(ack_timeout % absl::Seconds(1))));
  }
  const bool ack = absl::GetFlag(FLAGS_ack);
  if (ack && request.group().empty()) return Usage("--ack needs --group");
  const int limit = absl::GetFlag(FLAGS_limit);
  const bool json = absl::GetFlag(FLAGS_json);

  auto events = v1::Events::NewStub(client.channel());
  std::unique_ptr<grpc::ClientContext> context = client.Context(true);
  auto stream = events->Subscribe(context.get(), request);
  v1::Event event;
  int seen = 0;
  while (stream->Read(&event)) {
    std::cout << (json ? ToJson(event) : wagate::cli::EventSummary(event))
              << std::endl;
    if (ack) {
      v1::AckRequest ack_request;
      ack_request.set_group(request.group());
      ack_request.add_cursors(event.cursor());
      v1::AckResponse ack_response;
      grpc::Status acked =
          events->Ack(client.Context().get(), ack_request, &ack_response);
      if (!acked.ok()) return Fail(acked);
    }
    if (limit > 0 && ++seen >= limit) {
      context->TryCancel();
      stream->Finish();
      return 0;
    }
  }
  grpc::Status status = stream->Finish();
  // With --timeout, subscribe watches for that long: the deadline is the end.
  if (status.error_code() == grpc::DEADLINE_EXCEEDED &&
      absl::GetFlag(FLAGS_timeout) > absl::ZeroDuration()) {
    return 0;
  }
  if (!status.ok()) return Fail(status);
  return 0;
}

int Templates(const Client& client, const std::vector<char*>& args) {
  if (args.size() < 3) return Usage("templates list|create|delete");
  const std::string verb = args[2];
  auto stub = v1::Templates::NewStub(client.channel());
  const bool json = absl::GetFlag(FLAGS_json);
  if (verb == "list") {
    v1::ListTemplatesRequest request;
    request.set_waba_id(absl::GetFlag(FLAGS_waba_id));
    request.set_name(absl::GetFlag(FLAGS_name));
    request.set_status(absl::GetFlag(FLAGS_status));
    request.set_page_size(absl::GetFlag(FLAGS_page_size));
    request.set_page_token(absl::GetFlag(FLAGS_page_token));
    v1::ListTemplatesResponse response;
    grpc::Status status =
        stub->ListTemplates(client.Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    if (json) {
      std::cout << ToJson(response) << std::endl;
      return 0;
    }
    for (const v1::Template& t : response.templates()) {
      std::cout << t.id() << "  " << t.name() << "  " << t.language() << "  "
                << t.status() << "  " << t.category() << "\n";
    }
    if (!response.next_page_token().empty()) {
      std::cout << "next page: --page_token " << response.next_page_token()
                << "\n";
    }
    return 0;
  }
  if (verb == "create") {
    v1::CreateTemplateRequest request;
    const std::string file = absl::GetFlag(FLAGS_json_file);
    if (!file.empty()) {
      absl::Status read = wagate::cli::ReadJsonFile(file, &request);
      if (!read.ok()) return FailLocal(read);
    } else {
      absl::StatusOr<v1::CreateTemplateRequest> built =
          wagate::cli::BuildCreateTemplateRequest(
              absl::GetFlag(FLAGS_waba_id), absl::GetFlag(FLAGS_name),
              absl::GetFlag(FLAGS_language), absl::GetFlag(FLAGS_category),
              absl::GetFlag(FLAGS_header), absl::GetFlag(FLAGS_body),
              absl::GetFlag(FLAGS_footer));
      if (!built.ok()) return FailLocal(built.status());
      request = *std::move(built);
    }
    v1::CreateTemplateResponse response;
    grpc::Status status =
        stub->CreateTemplate(client.Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    if (json) {
      std::cout << ToJson(response) << std::endl;
    } else {
      std::cout << response.id() << "  " << response.status() << "  "
                << response.category() << std::endl;
    }
    return 0;
  }
  if (verb == "delete") {
    v1::DeleteTemplateRequest request;
    request.set_waba_id(absl::GetFlag(FLAGS_waba_id));
    request.set_name(absl::GetFlag(FLAGS_name));
    request.set_template_id(absl::GetFlag(FLAGS_template_id));
    if (request.name().empty()) return Usage("templates delete needs --name");
    v1::DeleteTemplateResponse response;
    grpc::Status status =
        stub->DeleteTemplate(client.Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    std::cout << (json ? ToJson(response) : "deleted") << std::endl;
    return 0;
  }
  return Usage("templates list|create|delete");
}

int Numbers(const Client& client, const std::vector<char*>& args) {
  if (args.size() < 3) return Usage("numbers list|get");
  const std::string verb = args[2];
  auto stub = v1::PhoneNumbers::NewStub(client.channel());
  const bool json = absl::GetFlag(FLAGS_json);
  if (verb == "list") {
    v1::ListPhoneNumbersRequest request;
    request.set_waba_id(absl::GetFlag(FLAGS_waba_id));
    request.set_page_size(absl::GetFlag(FLAGS_page_size));
    request.set_page_token(absl::GetFlag(FLAGS_page_token));
    v1::ListPhoneNumbersResponse response;
    grpc::Status status =
        stub->ListPhoneNumbers(client.Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    if (json) {
      std::cout << ToJson(response) << std::endl;
      return 0;
    }
    for (const v1::PhoneNumber& n : response.phone_numbers()) {
      std::cout << n.id() << "  " << n.display_phone_number() << "  "
                << n.verified_name() << "  " << n.quality_rating() << "\n";
    }
    return 0;
  }
  if (verb == "get") {
    v1::GetPhoneNumberRequest request;
    request.set_phone_number_id(args.size() > 3 ? args[3]
                                                : absl::GetFlag(FLAGS_from));
    if (request.phone_number_id().empty()) {
      return Usage("numbers get PHONE_NUMBER_ID");
    }
    v1::GetPhoneNumberResponse response;
    grpc::Status status =
        stub->GetPhoneNumber(client.Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    std::cout << ToJson(json ? static_cast<const google::protobuf::Message&>(
                                   response)
                             : response.phone_number())
              << std::endl;
    return 0;
  }
  return Usage("numbers list|get");
}

int Media(const Client& client, const std::vector<char*>& args) {
  if (args.size() < 4) return Usage("media upload FILE | media download ID");
  const std::string verb = args[2];
  const std::string target = args[3];
  auto stub = v1::Media::NewStub(client.channel());
  if (verb == "upload") {
    std::ifstream in(target, std::ios::binary);
    if (!in) return FailLocal(absl::NotFoundError("cannot read " + target));
    in.seekg(0, std::ios::end);
    const int64_t size = in.tellg();
    in.seekg(0);
    std::unique_ptr<grpc::ClientContext> context = client.Context(true);
    v1::UploadMediaResponse response;
    auto writer = stub->UploadMedia(context.get(), &response);
    v1::UploadMediaRequest first;
    v1::UploadMediaMetadata* metadata = first.mutable_metadata();
    metadata->set_phone_number_id(absl::GetFlag(FLAGS_from));
    metadata->set_mime_type(absl::GetFlag(FLAGS_mime_type));
    metadata->set_file_name(target.substr(target.rfind('/') + 1));
    metadata->set_size_bytes(size);
    bool open = writer->Write(first);
    std::string buffer(64 * 1024, '\0');
    while (open && in) {
      in.read(buffer.data(), buffer.size());
      if (in.gcount() <= 0) break;
      v1::UploadMediaRequest chunk;
      chunk.set_chunk(buffer.substr(0, in.gcount()));
      open = writer->Write(chunk);
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!status.ok()) return Fail(status);
    std::cout << (absl::GetFlag(FLAGS_json) ? ToJson(response)
                                            : response.media_id())
              << std::endl;
    return 0;
  }
  if (verb == "download") {
    v1::DownloadMediaRequest request;
    request.set_media_id(target);
    request.set_phone_number_id(absl::GetFlag(FLAGS_from));
    const std::string out_path = absl::GetFlag(FLAGS_out);
    std::ofstream file;
    if (out_path != "-") {
      file.open(out_path, std::ios::binary | std::ios::trunc);
      if (!file)
        return FailLocal(
            absl::PermissionDeniedError("cannot write " + out_path));
    }
    std::ostream& out = out_path == "-" ? std::cout : file;
    std::unique_ptr<grpc::ClientContext> context = client.Context(true);
    auto reader = stub->DownloadMedia(context.get(), request);
    v1::DownloadMediaResponse part;
    while (reader->Read(&part)) {
      if (part.has_metadata()) {
        std::cerr << "media " << part.metadata().id() << "  "
                  << part.metadata().mime_type() << "  "
                  << part.metadata().file_size() << " bytes\n";
      } else {
        out << part.chunk();
      }
    }
    grpc::Status status = reader->Finish();
    if (!status.ok()) return Fail(status);
    out.flush();
    return 0;
  }
  return Usage("media upload|download");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return Usage("no command");
  const std::string command = args[1];
  Client client;
  if (command == "send") return Send(client);
  if (command == "subscribe") return Subscribe(client);
  if (command == "templates") return Templates(client, args);
  if (command == "numbers") return Numbers(client, args);
  if (command == "media") return Media(client, args);
  return Usage("unknown command: " + command);
}
