// Request validation for the Templates, PhoneNumbers, Media and Accounts
// services: every limit of CLOUD_API.md §1.4, §2.2 and §2.4 that wagate can
// check before calling Graph, so a bad request fails fast with
// INVALID_ARGUMENT naming the field ("components[2].buttons[0].text: ...")
// instead of spending the WABA's management budget on a Graph error.
//
//   absl::Status s = resources::ValidateCreateTemplate(request);
//   if (!s.ok()) return reactor->Finish(resources::LocalError(s));
//
//   ASSIGN_OR_RETURN(resources::MediaKind kind,
//                    resources::MediaKindFor("image/jpeg"));
//   if (size > kind.max_bytes) ...
//
// Lengths are counted in Unicode code points (UTF-8), as Meta counts
// characters. Only what the documentation states is enforced; anything else
// is left to Graph.
#ifndef WAGATE_SERVICE_RESOURCES_VALIDATION_H_
#define WAGATE_SERVICE_RESOURCES_VALIDATION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/field_mask.pb.h"
#include "wagate/v1/accounts.pb.h"
#include "wagate/v1/media.pb.h"
#include "wagate/v1/phone_numbers.pb.h"
#include "wagate/v1/templates.pb.h"

namespace wagate::resources {

// Users per BlockUsers/UnblockUsers call. Meta documents no per-call limit;
// this bound keeps one request body small (the blocklist itself holds 64k).
inline constexpr int kMaxUsersPerCall = 1000;

// Templates.
absl::Status ValidateListTemplates(const v1::ListTemplatesRequest& request);
absl::Status ValidateCreateTemplate(const v1::CreateTemplateRequest& request);
absl::Status ValidateUpdateTemplate(const v1::UpdateTemplateRequest& request);
absl::Status ValidateDeleteTemplate(const v1::DeleteTemplateRequest& request);
// `^[a-z0-9_]+$`, at most 512 characters; `field` names it in the error.
absl::Status ValidateTemplateName(absl::string_view name,
                                  absl::string_view field);
// The components of a definition; `category` may be UNSPECIFIED (updates),
// which skips the category-specific rules.
absl::Status ValidateTemplateComponents(
    const google::protobuf::RepeatedPtrField<v1::TemplateComponentDefinition>&
        components,
    v1::TemplateCategory category, absl::string_view field);

// Phone numbers.
absl::Status ValidateRegister(const v1::RegisterPhoneNumberRequest& request);
absl::Status ValidateRequestCode(
    const v1::RequestVerificationCodeRequest& request);
absl::Status ValidateVerifyCode(const v1::VerifyCodeRequest& request);
// The update per its mask rules (phone_numbers.proto): known mask paths,
// something to write, and §1.4's limits on every field written.
absl::Status ValidateUpdateBusinessProfile(
    const v1::UpdateBusinessProfileRequest& request);
// Business-profile field names an update mask may hold.
bool IsProfileField(absl::string_view name);

// Accounts.
absl::Status ValidateSubscribeApp(const v1::SubscribeAppRequest& request);
absl::Status ValidateUsers(
    const google::protobuf::RepeatedPtrField<std::string>& users);

// Media.
struct MediaKind {
  absl::string_view kind;  // "image", "video", "audio", "document", "sticker"
  int64_t max_bytes = 0;
};
// The kind and size limit of a supported MIME type (parameters such as
// "; codecs=opus" ignored); INVALID_ARGUMENT naming `mime_type` otherwise.
absl::StatusOr<MediaKind> MediaKindFor(absl::string_view mime_type);
absl::Status ValidateUploadMetadata(const v1::UploadMediaMetadata& metadata);

// Shared checks.
// A Graph object id (template, media, phone number, WABA): 1-32 digits;
// INVALID_ARGUMENT naming `field` otherwise.
absl::Status RequireId(absl::string_view value, absl::string_view field);
absl::Status ValidatePageSize(int32_t page_size);
// Code points in UTF-8 `text` (bytes that do not start one are skipped).
size_t Utf8Length(absl::string_view text);

}  // namespace wagate::resources

#endif  // WAGATE_SERVICE_RESOURCES_VALIDATION_H_
