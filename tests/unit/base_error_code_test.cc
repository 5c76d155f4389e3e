// Error codes carry Kafka's numbers and names: a client maps the number, the tools print the name.
#include "base/error_code.h"

#include <gtest/gtest.h>

namespace samsa {
namespace {

TEST(ErrorCode, NumbersOfTheNewerCodesAreKafkas) {
  // librdkafka's rd_kafka_resp_err_t and Kafka's protocol guide agree on these.
  EXPECT_EQ(to_int(ErrorCode::FENCED_MEMBER_EPOCH), 110);
  EXPECT_EQ(to_int(ErrorCode::UNRELEASED_INSTANCE_ID), 111);
  EXPECT_EQ(to_int(ErrorCode::UNSUPPORTED_ASSIGNOR), 112);
  EXPECT_EQ(to_int(ErrorCode::STALE_MEMBER_EPOCH), 113);
  EXPECT_EQ(to_int(ErrorCode::MISMATCHED_ENDPOINT_TYPE), 114);
  EXPECT_EQ(to_int(ErrorCode::UNKNOWN_SUBSCRIPTION_ID), 117);
  EXPECT_EQ(to_int(ErrorCode::TELEMETRY_TOO_LARGE), 118);
  EXPECT_EQ(to_int(ErrorCode::DUPLICATE_VOTER), 126);
  EXPECT_EQ(to_int(ErrorCode::VOTER_NOT_FOUND), 127);
  EXPECT_EQ(to_int(ErrorCode::INVALID_REGULAR_EXPRESSION), 128);  // was sent as 114 before
  EXPECT_EQ(to_int(ErrorCode::REBOOTSTRAP_REQUIRED), 129);
}

TEST(ErrorCode, EveryCodeHasItsName) {
  for (int code = -1; code <= 129; ++code) {
    const auto e = static_cast<ErrorCode>(code);
    EXPECT_NE(error_name(e), "ERROR") << code;
  }
  EXPECT_EQ(error_name(ErrorCode::INVALID_REGULAR_EXPRESSION), "INVALID_REGULAR_EXPRESSION");
  EXPECT_EQ(error_name(static_cast<ErrorCode>(4242)), "ERROR");
}

}  // namespace
}  // namespace samsa
