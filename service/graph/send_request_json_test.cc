#include "service/graph/send_request_json.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace wagate::graph {
namespace {

namespace fs = std::filesystem;

fs::path FixtureDir() {
  const char* src = std::getenv("WAGATE_SOURCE_DIR");
  return fs::path(src ? src : WAGATE_SOURCE_DIR_DEFAULT) / "tests" /
         "fixtures" / "graph";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Structural JSON equality: objects compare as key → value maps (order
// ignored), arrays in order, numbers by value, and types strictly ("0" is
// not 0). On a difference, `where` receives its path.
bool JsonEqual(simdjson::dom::element a, simdjson::dom::element b,
               const std::string& path, std::string* where) {
  using T = simdjson::dom::element_type;
  const bool a_num = a.is_number(), b_num = b.is_number();
  if (a_num && b_num) {
    if (a.is_int64() && b.is_int64()) {
      if (int64_t(a) == int64_t(b)) return true;
    } else if (double(a) == double(b)) {
      return true;
    }
    *where = absl::StrCat(path, ": ", simdjson::minify(a), " vs ",
                          simdjson::minify(b));
    return false;
  }
  if (a.type() != b.type()) {
    *where = absl::StrCat(path, ": type ", simdjson::minify(a), " vs ",
                          simdjson::minify(b));
    return false;
  }
  switch (a.type()) {
    case T::OBJECT: {
      simdjson::dom::object oa = a, ob = b;
      std::set<std::string> keys_a, keys_b;
      for (auto f : oa) keys_a.insert(std::string(f.key));
      for (auto f : ob) keys_b.insert(std::string(f.key));
      if (keys_a != keys_b) {
        std::string extra, missing;
        for (const auto& k : keys_a) {
          if (!keys_b.count(k)) absl::StrAppend(&extra, k, " ");
        }
        for (const auto& k : keys_b) {
          if (!keys_a.count(k)) absl::StrAppend(&missing, k, " ");
        }
        *where = absl::StrCat(path, ": extra keys [", extra, "] missing keys [",
                              missing, "]");
        return false;
      }
      for (const auto& k : keys_a) {
        if (!JsonEqual(oa[k], ob[k], absl::StrCat(path, ".", k), where)) {
          return false;
        }
      }
      return true;
    }
    case T::ARRAY: {
      simdjson::dom::array aa = a, ab = b;
      if (aa.size() != ab.size()) {
        *where =
            absl::StrCat(path, ": ", aa.size(), " vs ", ab.size(), " items");
        return false;
      }
      size_t i = 0;
      auto ib = ab.begin();
      for (auto ea : aa) {
        if (!JsonEqual(ea, *ib, absl::StrCat(path, "[", i, "]"), where)) {
          return false;
        }
        ++ib;
        ++i;
      }
      return true;
    }
    default:
      if (simdjson::minify(a) == simdjson::minify(b)) return true;
      *where = absl::StrCat(path, ": ", simdjson::minify(a), " vs ",
                            simdjson::minify(b));
      return false;
  }
}

// Compares `actual` with the golden file, structurally.
void ExpectJsonMatchesGolden(const std::string& actual,
                             const fs::path& golden_path) {
  simdjson::dom::parser pa, pb;
  simdjson::dom::element a, b;
  ASSERT_EQ(pa.parse(actual).get(a), simdjson::SUCCESS)
      << "not JSON: " << actual;
  const std::string golden = ReadFile(golden_path);
  ASSERT_EQ(pb.parse(golden).get(b), simdjson::SUCCESS)
      << "golden is not JSON: " << golden_path;
  std::string where;
  EXPECT_TRUE(JsonEqual(a, b, "$", &where))
      << golden_path.filename() << " differs at " << where
      << "\nactual: " << actual;
}

std::vector<fs::path> Fixtures(absl::string_view prefix) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(FixtureDir())) {
    const std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, prefix) && absl::EndsWith(name, ".textproto")) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

template <typename Message>
Message ParseTextproto(const fs::path& path) {
  Message m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(ReadFile(path), &m))
      << path;
  return m;
}

// Every content type and variant has a golden pair; a missing file fails.
TEST(SendRequestJsonTest, EveryKindHasAGoldenFile) {
  const std::vector<std::string> kinds = {"text",
                                          "text_reply",
                                          "text_group",
                                          "image_id",
                                          "image_link",
                                          "video",
                                          "document",
                                          "audio_voice",
                                          "audio_link",
                                          "sticker",
                                          "location",
                                          "contacts",
                                          "reaction",
                                          "reaction_remove",
                                          "interactive_button",
                                          "interactive_list",
                                          "interactive_cta_url",
                                          "interactive_flow",
                                          "interactive_flow_data_exchange",
                                          "interactive_product",
                                          "interactive_product_list",
                                          "interactive_catalog_message",
                                          "interactive_location_request",
                                          "interactive_address_message",
                                          "interactive_carousel_cta_url",
                                          "interactive_carousel_quick_reply",
                                          "interactive_call_permission_request",
                                          "template_order_confirmation",
                                          "template_no_params",
                                          "template_positional",
                                          "template_document_header",
                                          "template_video_header",
                                          "template_location_header",
                                          "template_auth_otp",
                                          "template_catalog",
                                          "template_mpm",
                                          "template_carousel",
                                          "template_product_carousel"};
  for (const auto& kind : kinds) {
    EXPECT_TRUE(fs::exists(FixtureDir() / ("send_" + kind + ".textproto")))
        << kind;
    EXPECT_TRUE(fs::exists(FixtureDir() / ("send_" + kind + ".json"))) << kind;
  }
  EXPECT_EQ(Fixtures("send_").size(), kinds.size());
}

TEST(SendRequestJsonTest, GoldenFiles) {
  for (const fs::path& path : Fixtures("send_")) {
    SCOPED_TRACE(path.filename().string());
    auto request = ParseTextproto<v1::SendRequest>(path);
    absl::StatusOr<std::string> json = BuildSendJson(request);
    ASSERT_TRUE(json.ok()) << json.status();
    fs::path golden = path;
    golden.replace_extension(".json");
    ExpectJsonMatchesGolden(*json, golden);
  }
}

TEST(SendRequestJsonTest, MarkReadGoldenFiles) {
  const auto files = Fixtures("mark_read");
  ASSERT_EQ(files.size(), 2u);
  for (const fs::path& path : files) {
    SCOPED_TRACE(path.filename().string());
    auto request = ParseTextproto<v1::MarkReadRequest>(path);
    fs::path golden = path;
    golden.replace_extension(".json");
    ExpectJsonMatchesGolden(BuildMarkReadJson(request), golden);
  }
}

TEST(SendRequestJsonTest, BuiltFromCpp) {
  v1::SendRequest r;
  r.set_phone_number_id("1");
  r.set_to("+16505551234");
  r.mutable_text()->set_body("a \"quoted\" line\nand a tab\t");
  auto json = BuildSendJson(r);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json,
            R"({"messaging_product":"whatsapp","recipient_type":"individual",)"
            R"("to":"+16505551234","type":"text","text":{"body":"a \"quoted\")"
            R"( line\nand a tab\t"}})");
}

TEST(SendRequestJsonTest, StructKeysAreSortedSoBytesAreStable) {
  v1::SendRequest r;
  r.set_to("1");
  auto* flow = r.mutable_interactive()->mutable_flow();
  flow->set_flow_id("9");
  auto* data = flow->mutable_flow_action_payload()->mutable_data();
  for (const char* k : {"zeta", "alpha", "mid"}) {
    (*data->mutable_fields())[k].set_number_value(1.25);
  }
  auto json = BuildSendJson(r);
  ASSERT_TRUE(json.ok());
  EXPECT_TRUE(absl::StrContains(
      *json, R"("data":{"alpha":1.25,"mid":1.25,"zeta":1.25})"))
      << *json;
}

TEST(SendRequestJsonTest, UnexpressibleRequestsFailNamingTheField) {
  v1::SendRequest no_content;
  EXPECT_EQ(BuildSendJson(no_content).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::SendRequest no_source;
  no_source.mutable_image()->set_caption("x");
  auto s = BuildSendJson(no_source).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "image")) << s;

  v1::SendRequest no_kind;
  no_kind.mutable_interactive()->mutable_body()->set_text("x");
  s = BuildSendJson(no_kind).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "interactive")) << s;

  v1::SendRequest bad_param;
  auto* c = bad_param.mutable_template_()->add_components();
  c->set_type(v1::TemplateComponent::TYPE_BODY);
  c->add_parameters();
  s = BuildSendJson(bad_param).status();
  EXPECT_TRUE(
      absl::StrContains(s.message(), "template.components[0].parameters[0]"))
      << s;

  v1::SendRequest no_sub_type;
  no_sub_type.mutable_template_()->add_components()->set_type(
      v1::TemplateComponent::TYPE_BUTTON);
  s = BuildSendJson(no_sub_type).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "sub_type")) << s;
}

TEST(SendRequestJsonTest, WriterIsReusable) {
  v1::SendRequest r;
  r.set_to("1");
  r.mutable_reaction()->set_message_id("wamid.x");
  common::JsonWriter w;
  ASSERT_TRUE(WriteSendJson(r, &w).ok());
  const std::string first = w.str();
  w.Clear();
  ASSERT_TRUE(WriteSendJson(r, &w).ok());
  EXPECT_EQ(w.str(), first);
}

}  // namespace
}  // namespace wagate::graph
