// Graph JSON for the resource services: typed protos written as the request
// bodies Graph expects (template definitions, business profiles, block
// lists) and Graph's answers read back into every field the protos model
// (templates, phone numbers, profiles, media, subscribed apps, blocked
// users), plus Graph paging.
//
//   common::JsonWriter w;
//   resources::WriteCreateTemplate(request, &w);      // POST body
//
//   graph::JsonDocument doc;
//   RETURN_IF_ERROR(doc.Parse(body));
//   v1::Template t = resources::ParseTemplate(doc.root());
//   std::string next = resources::NextPageToken(doc.root());
//   std::string previous = resources::PreviousPageToken(doc.root());
//
// Readers are lenient (a missing member stays empty), like graph_response.h:
// Meta adds fields over time and omits the ones not asked for.
#ifndef WAGATE_SERVICE_RESOURCES_GRAPH_JSON_H_
#define WAGATE_SERVICE_RESOURCES_GRAPH_JSON_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "service/common/json_writer.h"
#include "service/graph/graph_response.h"
#include "wagate/v1/accounts.pb.h"
#include "wagate/v1/common.pb.h"
#include "wagate/v1/media.pb.h"
#include "wagate/v1/phone_numbers.pb.h"
#include "wagate/v1/templates.pb.h"

namespace wagate::resources {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Enum ↔ Graph text ("MARKETING", "POSITIONAL", "HEADER", "QUICK_REPLY"...).
absl::string_view CategoryName(v1::TemplateCategory category);
absl::string_view ParameterFormatName(v1::ParameterFormat format);
v1::ParameterFormat ParseParameterFormat(absl::string_view text);
absl::string_view CodeMethodName(v1::CodeMethod method);

// Templates.
void WriteComponents(const google::protobuf::RepeatedPtrField<
                         v1::TemplateComponentDefinition>& components,
                     common::JsonWriter* w);
std::string CreateTemplateJson(const v1::CreateTemplateRequest& request);
std::string UpdateTemplateJson(const v1::UpdateTemplateRequest& request);
v1::Template ParseTemplate(graph::JsonObject object);
// The `fields` Graph is asked for so that every Template field is filled.
extern const char kTemplateFields[];

// Phone numbers and profiles.
v1::PhoneNumber ParsePhoneNumber(graph::JsonObject object);
v1::BusinessProfile ParseBusinessProfile(graph::JsonObject object);
// The update body per the mask rules of UpdateBusinessProfileRequest.
std::string UpdateBusinessProfileJson(
    const v1::UpdateBusinessProfileRequest& request);
extern const char kPhoneNumberFields[];
extern const char kBusinessProfileFields[];

// Media: `GET /{media_id}`.
v1::MediaMetadata ParseMediaMetadata(graph::JsonObject object);

// Accounts.
v1::SubscribedApp ParseSubscribedApp(graph::JsonObject object);
// {"messaging_product":"whatsapp","block_users":[{"user":...}]}.
std::string BlockUsersJson(
    const google::protobuf::RepeatedPtrField<std::string>& users);
v1::BlockedUser ParseBlockedUser(graph::JsonObject object);
v1::FailedUser ParseFailedUser(graph::JsonObject object);

// Paging: page_size → `limit`; a page_token made by PreviousPageToken →
// `before`, any other → `after` (a raw Graph cursor still pages forward).
void AddPaging(int32_t page_size, const std::string& page_token,
               QueryParams* query);
// paging.cursors.after when paging.next exists (more pages), else "".
std::string NextPageToken(graph::JsonObject root);
// kBeforeTokenPrefix + paging.cursors.before when paging.previous exists
// (an earlier page), else "".
std::string PreviousPageToken(graph::JsonObject root);
// Marks a page token as a `before` cursor. Graph cursors are base64, which
// has no ':', so a raw cursor never starts with it.
inline constexpr absl::string_view kBeforeTokenPrefix = "before:";

}  // namespace wagate::resources

#endif  // WAGATE_SERVICE_RESOURCES_GRAPH_JSON_H_
