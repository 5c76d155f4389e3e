#include <gtest/gtest.h>

#include "protocol/wire.h"

namespace samsa::protocol {

TEST(Wire, VarintsRoundTrip) {
  for (int64_t v : {0LL, 1LL, -1LL, 63LL, -64LL, 64LL, 300LL, -300LL, INT32_MAX * 1LL, INT32_MIN * 1LL}) {
    Writer w;
    w.varint(static_cast<int32_t>(v));
    w.varlong(v * 1000003);
    Reader r(w.buffer().data(), w.buffer().size());
    EXPECT_EQ(r.varint(), static_cast<int32_t>(v));
    EXPECT_EQ(r.varlong(), v * 1000003);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(Wire, ZigZagMatchesProtobuf) {
  Writer w;
  w.varint(-1);
  w.varint(1);
  ASSERT_EQ(w.buffer(), (Bytes{0x01, 0x02}));
}

TEST(Wire, LengthBeyondInputFailsWithoutAllocating) {
  const uint8_t evil[] = {0x7f, 0xff, 0xff, 0xff, 'a'};
  Reader r(evil, sizeof evil);
  auto b = r.bytes(false);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(b.empty());
  Reader r2(evil, sizeof evil);
  EXPECT_EQ(r2.array_count(false, 4), -1);
  EXPECT_FALSE(r2.ok());
}

TEST(Wire, OverlongVarintFails) {
  const uint8_t evil[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  Reader r(evil, sizeof evil);
  r.uvarint();
  EXPECT_FALSE(r.ok());
}

TEST(Wire, CompactNullString) {
  Writer w;
  w.nstring(true, std::nullopt);
  w.nstring(true, std::string("ab"));
  Reader r(w.buffer().data(), w.buffer().size());
  EXPECT_FALSE(r.nstring(true).has_value());
  EXPECT_EQ(r.nstring(true).value(), "ab");
}

}  // namespace samsa::protocol
