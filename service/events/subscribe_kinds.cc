#include "service/events/subscribe_kinds.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace wagate::events {
namespace {

using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::OneofDescriptor;

constexpr absl::string_view kPrefix = "EVENT_KIND_";

const OneofDescriptor* PayloadOneof() {
  static const OneofDescriptor* oneof =
      wagate::v1::Event::descriptor()->FindOneofByName("payload");
  return oneof;
}

}  // namespace

absl::StatusOr<std::string> KindName(int kind) {
  const EnumValueDescriptor* value =
      wagate::v1::EventKind_descriptor()->FindValueByNumber(kind);
  if (value == nullptr || kind == wagate::v1::EVENT_KIND_UNSPECIFIED ||
      !absl::StartsWith(value->name(), kPrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("kinds: unknown EventKind value ", kind));
  }
  std::string name = absl::AsciiStrToLower(
      absl::string_view(value->name()).substr(kPrefix.size()));
  const FieldDescriptor* field =
      wagate::v1::Event::descriptor()->FindFieldByName(name);
  if (field == nullptr || field->containing_oneof() != PayloadOneof()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kinds: ", value->name(), " has no Event.payload field ", name));
  }
  return name;
}

wagate::v1::EventKind KindFromName(absl::string_view name) {
  const FieldDescriptor* field =
      wagate::v1::Event::descriptor()->FindFieldByName(std::string(name));
  if (field == nullptr || field->containing_oneof() != PayloadOneof()) {
    return wagate::v1::EVENT_KIND_UNSPECIFIED;
  }
  const EnumValueDescriptor* value =
      wagate::v1::EventKind_descriptor()->FindValueByName(
          absl::StrCat(kPrefix, absl::AsciiStrToUpper(name)));
  if (value == nullptr) return wagate::v1::EVENT_KIND_UNSPECIFIED;
  return static_cast<wagate::v1::EventKind>(value->number());
}

std::string KindOfEvent(const wagate::v1::Event& event) {
  const FieldDescriptor* field =
      event.GetReflection()->GetOneofFieldDescriptor(event, PayloadOneof());
  return field == nullptr ? std::string() : field->name();
}

}  // namespace wagate::events
