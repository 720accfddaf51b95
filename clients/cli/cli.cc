#include "clients/cli/cli.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "service/graph/graph_error.h"

namespace wagate::cli {
namespace {

bool IsLink(const std::string& source) {
  return absl::StartsWith(source, "https://") ||
         absl::StartsWith(source, "http://");
}

// Media messages share the id-or-link oneof.
template <typename Media>
void SetSource(const std::string& source, Media* media) {
  if (IsLink(source)) {
    media->set_link(source);
  } else {
    media->set_id(source);
  }
}

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

}  // namespace

absl::Status ReadJsonFile(const std::string& path,
                          google::protobuf::Message* message) {
  std::string json;
  if (path == "-") {
    json.assign(std::istreambuf_iterator<char>(std::cin),
                std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
    json.assign(std::istreambuf_iterator<char>(in),
                std::istreambuf_iterator<char>());
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status =
      google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) {
    return Invalid(
        absl::StrCat(path, ": not a ", message->GetTypeName(),
                     " in protobuf JSON: ", std::string(status.message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::SendRequest> BuildSendRequest(const SendOptions& o) {
  v1::SendRequest request;
  if (!o.json_file.empty()) {
    absl::Status read = ReadJsonFile(o.json_file, &request);
    if (!read.ok()) return read;
    // Flags given beside the file fill what it leaves empty.
    if (request.phone_number_id().empty()) request.set_phone_number_id(o.from);
    if (request.to().empty()) request.set_to(o.to);
    if (request.idempotency_key().empty()) {
      request.set_idempotency_key(o.idempotency_key);
    }
    return request;
  }
  if (o.from.empty()) return Invalid("--from (phone_number_id) is required");
  if (o.to.empty()) return Invalid("--to is required");
  request.set_phone_number_id(o.from);
  request.set_to(o.to);
  request.set_reply_to_message_id(o.reply_to);
  request.set_idempotency_key(o.idempotency_key);
  request.set_biz_opaque_callback_data(o.callback_data);

  int kinds = 0;
  if (!o.text.empty()) {
    ++kinds;
    request.mutable_text()->set_body(o.text);
    request.mutable_text()->set_preview_url(o.preview_url);
  }
  if (!o.image.empty()) {
    ++kinds;
    SetSource(o.image, request.mutable_image());
    request.mutable_image()->set_caption(o.caption);
  }
  if (!o.video.empty()) {
    ++kinds;
    SetSource(o.video, request.mutable_video());
    request.mutable_video()->set_caption(o.caption);
  }
  if (!o.audio.empty()) {
    ++kinds;
    SetSource(o.audio, request.mutable_audio());
    request.mutable_audio()->set_voice(o.voice);
  }
  if (!o.document.empty()) {
    ++kinds;
    SetSource(o.document, request.mutable_document());
    request.mutable_document()->set_caption(o.caption);
    request.mutable_document()->set_filename(o.filename);
  }
  if (!o.sticker.empty()) {
    ++kinds;
    SetSource(o.sticker, request.mutable_sticker());
  }
  if (o.has_location) {
    ++kinds;
    v1::Location* location = request.mutable_location();
    location->set_latitude(o.latitude);
    location->set_longitude(o.longitude);
    location->set_name(o.location_name);
    location->set_address(o.location_address);
  }
  if (o.has_reaction || !o.react_to.empty()) {
    ++kinds;
    if (o.react_to.empty()) return Invalid("--emoji needs --react_to WAMID");
    request.mutable_reaction()->set_message_id(o.react_to);
    request.mutable_reaction()->set_emoji(o.emoji);
  }
  if (!o.template_name.empty()) {
    ++kinds;
    v1::TemplateMessage* t = request.mutable_template_();
    t->set_name(o.template_name);
    t->mutable_language()->set_code(o.language);
    if (!o.body_params.empty()) {
      v1::TemplateComponent* body = t->add_components();
      body->set_type(v1::TemplateComponent::TYPE_BODY);
      for (const std::string& param : o.body_params) {
        body->add_parameters()->set_text(param);
      }
    }
  } else if (!o.body_params.empty()) {
    return Invalid("--body_param needs --template NAME");
  }
  if (!o.buttons.empty()) {
    ++kinds;
    if (o.body.empty()) return Invalid("--buttons needs --body TEXT");
    v1::Interactive* interactive = request.mutable_interactive();
    interactive->mutable_body()->set_text(o.body);
    if (!o.header.empty()) interactive->mutable_header()->set_text(o.header);
    if (!o.footer.empty()) interactive->mutable_footer()->set_text(o.footer);
    for (const std::string& button : o.buttons) {
      v1::ReplyButton* b = interactive->mutable_button()->add_buttons();
      size_t colon = button.find(':');
      if (colon == std::string::npos) {
        b->set_id(button);
        b->set_title(button);
      } else {
        b->set_id(button.substr(0, colon));
        b->set_title(button.substr(colon + 1));
      }
    }
  } else if (!o.body.empty() || !o.header.empty() || !o.footer.empty()) {
    return Invalid("--body/--header/--footer need --buttons");
  }
  if (kinds == 0) {
    return Invalid(
        "nothing to send: give one of --text, --image, --video, --audio, "
        "--document, --sticker, --latitude/--longitude, --react_to, "
        "--template, --buttons, or --json_file");
  }
  if (kinds > 1) return Invalid("give only one kind of content per message");
  return request;
}

absl::StatusOr<v1::CreateTemplateRequest> BuildCreateTemplateRequest(
    const std::string& waba_id, const std::string& name,
    const std::string& language, const std::string& category,
    const std::string& header, const std::string& body,
    const std::string& footer) {
  if (name.empty()) return Invalid("--name is required");
  if (body.empty()) return Invalid("--body is required");
  v1::CreateTemplateRequest request;
  request.set_waba_id(waba_id);
  request.set_name(name);
  request.set_language(language);
  v1::TemplateCategory parsed;
  if (!v1::TemplateCategory_Parse(
          absl::StrCat("TEMPLATE_CATEGORY_", absl::AsciiStrToUpper(category)),
          &parsed) ||
      parsed == v1::TEMPLATE_CATEGORY_UNSPECIFIED) {
    return Invalid("--category must be marketing, utility or authentication");
  }
  request.set_category(parsed);
  if (!header.empty()) {
    v1::TemplateComponentDefinition* c = request.add_components();
    c->set_type(v1::TemplateComponentDefinition::TYPE_HEADER);
    c->set_format(v1::TemplateComponentDefinition::FORMAT_TEXT);
    c->set_text(header);
  }
  v1::TemplateComponentDefinition* b = request.add_components();
  b->set_type(v1::TemplateComponentDefinition::TYPE_BODY);
  b->set_text(body);
  if (!footer.empty()) {
    v1::TemplateComponentDefinition* c = request.add_components();
    c->set_type(v1::TemplateComponentDefinition::TYPE_FOOTER);
    c->set_text(footer);
  }
  return request;
}

absl::StatusOr<v1::EventKind> ParseEventKind(absl::string_view name) {
  std::string full = absl::AsciiStrToUpper(name);
  if (!absl::StartsWith(full, "EVENT_KIND_")) {
    full = absl::StrCat("EVENT_KIND_", full);
  }
  v1::EventKind kind;
  if (!v1::EventKind_Parse(full, &kind) || kind == v1::EVENT_KIND_UNSPECIFIED) {
    return Invalid(absl::StrCat("unknown event kind: ", name));
  }
  return kind;
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return "OK";
    case grpc::CANCELLED:
      return "CANCELLED";
    case grpc::UNKNOWN:
      return "UNKNOWN";
    case grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::ABORTED:
      return "ABORTED";
    case grpc::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::INTERNAL:
      return "INTERNAL";
    case grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

std::string DescribeError(const grpc::Status& status) {
  std::string out = absl::StrCat("error: ", CodeName(status.error_code()), ": ",
                                 status.error_message(), "\n");
  absl::optional<v1::GraphError> g = graph::GraphErrorFromGrpcStatus(status);
  if (!g.has_value()) return out;
  absl::StrAppendFormat(
      &out,
      "graph_error: code=%d subcode=%d type=%s http_status=%d "
      "fbtrace_id=%s\n",
      g->code(), g->error_subcode(), g->type().empty() ? "-" : g->type(),
      g->http_status(), g->fbtrace_id().empty() ? "-" : g->fbtrace_id());
  if (!g->message().empty())
    absl::StrAppend(&out, "  message: ", g->message(), "\n");
  if (!g->details().empty())
    absl::StrAppend(&out, "  details: ", g->details(), "\n");
  if (!g->error_user_title().empty() || !g->error_user_msg().empty()) {
    absl::StrAppend(&out, "  user: ", g->error_user_title(), ": ",
                    g->error_user_msg(), "\n");
  }
  if (g->has_retry_delay()) {
    double seconds =
        g->retry_delay().seconds() + g->retry_delay().nanos() / 1e9;
    absl::StrAppendFormat(&out, "  retry_delay: %.3fs\n", seconds);
  }
  if (g->is_transient())
    absl::StrAppend(&out, "  transient: retrying may succeed\n");
  if (g->outcome_unknown()) {
    absl::StrAppend(&out,
                    "  outcome_unknown: the message may have been sent; "
                    "resend only with the same idempotency_key\n");
  }
  return out;
}

std::string EventSummary(const v1::Event& event) {
  using google::protobuf::util::TimeUtil;
  std::string line = absl::StrCat(
      event.cursor(), "  ", TimeUtil::ToString(event.received_at()), "  ");
  const google::protobuf::Reflection* reflection = event.GetReflection();
  const google::protobuf::FieldDescriptor* payload =
      reflection->GetOneofFieldDescriptor(
          event, event.GetDescriptor()->FindOneofByName("payload"));
  std::string kind = payload == nullptr ? "unknown" : payload->name();
  absl::StrAppend(&line, kind, "  ", event.phone_number_id());
  if (event.has_status()) {
    const v1::MessageStatus& s = event.status();
    std::string status = s.status_raw();
    if (status.empty()) {
      status = absl::AsciiStrToLower(absl::StripPrefix(
          v1::MessageStatus::Status_Name(s.status()), "STATUS_"));
    }
    absl::StrAppend(&line, "  ", status, " ", s.message_id(), " to ",
                    s.recipient_id());
    for (const v1::WebhookError& e : s.errors()) {
      absl::StrAppend(&line, "  error ", e.code(), ": ", e.title());
    }
  } else if (event.has_message()) {
    const v1::InboundMessage& m = event.message();
    absl::StrAppend(&line, "  ", m.type(), " from ", m.from(), " ", m.id());
    if (m.has_text()) absl::StrAppend(&line, ": ", m.text().body());
  } else if (payload != nullptr) {
    absl::StrAppend(&line, "  ",
                    ToJson(reflection->GetMessage(event, payload)));
  }
  return line;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return "{}";
  return json;
}

}  // namespace wagate::cli
