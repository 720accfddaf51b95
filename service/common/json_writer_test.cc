#include "service/common/json_writer.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace wagate::common {
namespace {

TEST(JsonWriterTest, EmptyContainers) {
  JsonWriter w;
  w.BeginArray().BeginObject().EndObject().BeginArray().EndArray().EndArray();
  EXPECT_EQ(w.str(), "[{},[]]");
}

TEST(JsonWriterTest, NestedObjectsAndArraysGetCommas) {
  JsonWriter w;
  w.BeginObject();
  w.Field("messaging_product", "whatsapp");
  w.Key("contacts").BeginArray();
  w.BeginObject().Field("input", "+1 650").Field("wa_id", "1650").EndObject();
  w.BeginObject().Field("input", "x").EndObject();
  w.EndArray();
  w.Key("n").BeginArray().Int(1).Int(-2).Uint(3).EndArray();
  w.Field("ok", true).Field("no", false);
  w.Key("nothing").Null();
  w.EndObject();
  EXPECT_EQ(w.str(),
            R"({"messaging_product":"whatsapp","contacts":[{"input":"+1 650",)"
            R"("wa_id":"1650"},{"input":"x"}],"n":[1,-2,3],"ok":true,)"
            R"("no":false,"nothing":null})");
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
  JsonWriter w;
  w.String(std::string("a\"b\\c\n\r\t\b\f\x01\x1f\x7f", 13) +
           std::string(1, '\0'));
  EXPECT_EQ(w.str(), R"("a\"b\\c\n\r\t\b\f\u0001\u001f\u007f\u0000")");
}

TEST(JsonWriterTest, Utf8PassesThrough) {
  JsonWriter w;
  w.String("caf\xc3\xa9 \xf0\x9f\x98\x80 / </script>");
  EXPECT_EQ(w.str(), "\"caf\xc3\xa9 \xf0\x9f\x98\x80 / </script>\"");
}

TEST(JsonWriterTest, KeysAreEscaped) {
  JsonWriter w;
  w.BeginObject().Field("a\"b", 1).EndObject();
  EXPECT_EQ(w.str(), R"({"a\"b":1})");
}

TEST(JsonWriterTest, IntegerExtremes) {
  JsonWriter w;
  w.BeginArray()
      .Int(std::numeric_limits<int64_t>::min())
      .Int(std::numeric_limits<int64_t>::max())
      .Uint(std::numeric_limits<uint64_t>::max())
      .Int(0)
      .EndArray();
  EXPECT_EQ(
      w.str(),
      "[-9223372036854775808,9223372036854775807,18446744073709551615,0]");
}

TEST(JsonWriterTest, DoublesRoundTripAndNonFiniteIsNull) {
  JsonWriter w;
  w.BeginArray()
      .Double(37.44)
      .Double(-122.16)
      .Double(0.1)
      .Double(1e300)
      .Double(7.99)
      .Double(std::numeric_limits<double>::quiet_NaN())
      .Double(std::numeric_limits<double>::infinity())
      .EndArray();
  EXPECT_EQ(w.str(), "[37.44,-122.16,0.1,1e+300,7.99,null,null]");
}

TEST(JsonWriterTest, RawIsInsertedVerbatimAsAValue) {
  JsonWriter w;
  w.BeginObject()
      .Key("a")
      .Raw(R"({"x":[1,2]})")
      .Key("b")
      .BeginArray()
      .Raw("1")
      .Raw("\"s\"")
      .EndArray()
      .EndObject();
  EXPECT_EQ(w.str(), R"({"a":{"x":[1,2]},"b":[1,"s"]})");
}

TEST(JsonWriterTest, ReleaseAndClear) {
  JsonWriter w(64);
  w.BeginArray().Int(1).EndArray();
  w.Clear();
  w.BeginArray().Int(2).EndArray();
  std::string s = std::move(w).Release();
  EXPECT_EQ(s, "[2]");
}

TEST(JsonWriterTest, EscapeNonAscii) {
  EXPECT_EQ(EscapeNonAscii(R"({"a":"plain"})"), R"({"a":"plain"})");
  // é (2 bytes), € (3 bytes), 😀 (4 bytes: a surrogate pair).
  EXPECT_EQ(
      EscapeNonAscii("{\"e\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}"),
      R"({"e":"caf\u00e9 \u20ac \ud83d\ude00"})");
  // Invalid UTF-8: a lone continuation byte and a truncated sequence.
  EXPECT_EQ(EscapeNonAscii("\"\x80x\xe2\x82\""), R"("\ufffdx\ufffd\ufffd")");
}

TEST(JsonWriterTest, AppendJsonString) {
  std::string out = "x=";
  AppendJsonString("he said \"hi\"", &out);
  EXPECT_EQ(out, R"(x="he said \"hi\"")");
}

}  // namespace
}  // namespace wagate::common
