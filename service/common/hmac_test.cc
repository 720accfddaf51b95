#include "service/common/hmac.h"

#include <string>

#include "gtest/gtest.h"

namespace wagate::common {
namespace {

// RFC 4231 test cases 1-4, 6 and 7 (case 5 tests truncation, not used here).
struct Vector {
  std::string key;
  std::string data;
  const char* hex;
};

std::string Bytes(int from, int to) {  // from..to inclusive
  std::string s;
  for (int i = from; i <= to; ++i) s.push_back(static_cast<char>(i));
  return s;
}

TEST(HmacTest, Rfc4231Vectors) {
  const Vector vectors[] = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {Bytes(1, 25), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(131, '\xaa'),
       "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than "
       "block-size data. The key needs to be hashed before being used by the "
       "HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(HmacSha256Hex(v.key, v.data), v.hex) << v.data;
  }
}

TEST(HmacTest, RawDigestMatchesHex) {
  std::array<uint8_t, 32> d =
      HmacSha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(d[0], 0x5b);
  EXPECT_EQ(d[31], 0x43);
}

TEST(HmacTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("xbc", "abc"));
}

TEST(HmacTest, SignatureHeaderAndVerify) {
  const std::string body = R"({"object":"whatsapp_business_account"})";
  std::string header = SignatureHeader("secret", body);
  EXPECT_EQ(header, "sha256=" + HmacSha256Hex("secret", body));
  EXPECT_TRUE(VerifySignatureHeader("secret", body, header));
  // Meta sends lowercase hex; uppercase from other signers is accepted.
  std::string upper = "sha256=" + HmacSha256Hex("secret", body);
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = toupper(upper[i]);
  EXPECT_TRUE(VerifySignatureHeader("secret", body, upper));

  EXPECT_FALSE(VerifySignatureHeader("other", body, header));
  EXPECT_FALSE(VerifySignatureHeader("secret", body + " ", header));
  EXPECT_FALSE(VerifySignatureHeader("secret", body, header.substr(7)));
  EXPECT_FALSE(
      VerifySignatureHeader("secret", body, "sha1=" + header.substr(7)));
  EXPECT_FALSE(VerifySignatureHeader("secret", body, "sha256="));
  EXPECT_FALSE(VerifySignatureHeader("secret", body, ""));
}

}  // namespace
}  // namespace wagate::common
