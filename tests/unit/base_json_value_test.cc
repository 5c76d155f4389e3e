#include "base/json_value.h"

#include <gtest/gtest.h>

namespace samsa {
namespace {

TEST(JsonValue, DeleteRecordsOffsetFile) {
  JsonValue v;
  std::string err;
  ASSERT_TRUE(parse_json(R"({"partitions":[{"topic":"t\u0041","partition":0,"offset":-1}],"version":1})", v, err))
      << err;
  const JsonValue* parts = v.get("partitions");
  ASSERT_TRUE(parts && parts->kind == JsonValue::Kind::Array && parts->array.size() == 1);
  const JsonValue& p = parts->array[0];
  EXPECT_EQ(p.get("topic")->string, "tA");
  EXPECT_TRUE(p.get("partition")->integral);
  EXPECT_EQ(p.get("offset")->integer, -1);
  EXPECT_EQ(v.get("version")->integer, 1);
  EXPECT_EQ(v.get("missing"), nullptr);
}

TEST(JsonValue, Literals) {
  JsonValue v;
  std::string err;
  ASSERT_TRUE(parse_json(" [true, false, null, 1.5, \"a\\\"b\", {}] ", v, err)) << err;
  ASSERT_EQ(v.array.size(), 6u);
  EXPECT_TRUE(v.array[0].boolean);
  EXPECT_EQ(v.array[2].kind, JsonValue::Kind::Null);
  EXPECT_FALSE(v.array[3].integral);
  EXPECT_DOUBLE_EQ(v.array[3].number, 1.5);
  EXPECT_EQ(v.array[4].string, "a\"b");
  EXPECT_EQ(v.array[5].kind, JsonValue::Kind::Object);
}

TEST(JsonValue, MalformedInputIsAnError) {
  JsonValue v;
  std::string err;
  for (const char* bad : {"", "{", "{\"a\" 1}", "[1,]x", "\"open", "tru", "{\"a\":1,}", "-", "1 2"}) {
    err.clear();
    EXPECT_FALSE(parse_json(bad, v, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(JsonValue, NestingIsBounded) {
  JsonValue v;
  std::string err;
  EXPECT_TRUE(parse_json(std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']'), v, err)) << err;
  EXPECT_FALSE(parse_json(std::string(100000, '['), v, err));
  EXPECT_NE(err.find("nesting"), std::string::npos);
}

TEST(JsonValue, IntegerOverflowIsNotIntegral) {
  JsonValue v;
  std::string err;
  ASSERT_TRUE(parse_json("99999999999999999999", v, err));
  EXPECT_FALSE(v.integral);
}

}  // namespace
}  // namespace samsa
