#include "service/resources/template_owners.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wagate::resources {
namespace {

TEST(TemplateOwnersTest, LearnsForgetsAndForgetsTheOldestWhenFull) {
  auto owners = std::make_shared<TemplateOwners>(3);
  owners->Learn("1", "100");
  owners->Learn("2", "100");
  owners->Learn("3", "200");
  EXPECT_EQ(owners->WabaOf("3"), "200");
  owners->Learn("4", "200");  // "1" goes
  EXPECT_FALSE(owners->WabaOf("1").has_value());
  EXPECT_EQ(owners->WabaOf("2"), "100");
  EXPECT_EQ(owners->size(), 3u);
  owners->Forget("2");
  EXPECT_FALSE(owners->WabaOf("2").has_value());
  // Empty ids teach nothing.
  owners->Learn("", "100");
  owners->Learn("5", "");
  EXPECT_FALSE(owners->WabaOf("5").has_value());
  // Many learn/forget rounds keep the bookkeeping bounded.
  for (int i = 0; i < 1000; ++i) {
    owners->Learn(absl::StrCat(1000 + i), "300");
    owners->Forget(absl::StrCat(1000 + i));
  }
  EXPECT_LE(owners->size(), 3u);
}

TEST(TemplateOwnersTest, LearnsFromTemplateWebhooks) {
  auto owners = std::make_shared<TemplateOwners>();
  v1::Event status;
  status.set_waba_id("102290129340398");
  status.mutable_template_status()->set_message_template_id("11");
  owners->LearnFromEvent(status);
  v1::Event quality;
  quality.set_waba_id("102290129340398");
  quality.mutable_template_quality()->set_message_template_id("12");
  owners->LearnFromEvent(quality);
  v1::Event category;
  category.set_waba_id("7");
  category.mutable_template_category()->set_message_template_id("13");
  owners->LearnFromEvent(category);
  v1::Event components;
  components.set_waba_id("7");
  components.mutable_template_components()->set_message_template_id("14");
  owners->LearnFromEvent(components);
  v1::Event message;  // not about a template
  message.set_waba_id("7");
  message.mutable_message()->set_id("15");
  owners->LearnFromEvent(message);
  EXPECT_EQ(owners->WabaOf("11"), "102290129340398");
  EXPECT_EQ(owners->WabaOf("12"), "102290129340398");
  EXPECT_EQ(owners->WabaOf("13"), "7");
  EXPECT_EQ(owners->WabaOf("14"), "7");
  EXPECT_FALSE(owners->WabaOf("15").has_value());
  EXPECT_EQ(owners->size(), 4u);
}

}  // namespace
}  // namespace wagate::resources
