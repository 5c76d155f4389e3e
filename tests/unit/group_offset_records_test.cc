// __consumer_offsets record formats (Kafka's key v1 / value v3) and the coordinator's offset map.
#include <gtest/gtest.h>

#include "coordinator/group_coordinator.h"
#include "coordinator/offset_records.h"

namespace samsa::coordinator {
namespace {

TEST(GroupOffsetRecords, KeyAndValueRoundTripInKafkasLayout) {
  auto key = encode_offset_key({"g", "t", 7});
  // version 1, "g", "t", partition 7
  EXPECT_EQ(key, (std::vector<uint8_t>{0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 7}));
  auto k = decode_key(key);
  ASSERT_TRUE(k);
  auto* ok = std::get_if<OffsetKey>(&*k);
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->group, "g");
  EXPECT_EQ(ok->topic, "t");
  EXPECT_EQ(ok->partition, 7);

  CommittedOffset v{42, 3, "meta", 1700000000000};
  auto bytes = encode_offset_value(v);
  EXPECT_EQ(bytes.size(), 2u + 8 + 4 + 2 + 4 + 8);
  auto back = decode_offset_value(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->offset, 42);
  EXPECT_EQ(back->leader_epoch, 3);
  EXPECT_EQ(back->metadata, "meta");
  EXPECT_EQ(back->commit_timestamp, 1700000000000);
}

TEST(GroupOffsetRecords, RejectsTruncatedAndUnknownVersions) {
  auto key = encode_offset_key({"group", "topic", 1});
  for (size_t n = 0; n < key.size(); ++n)
    EXPECT_FALSE(decode_key(std::span<const uint8_t>(key.data(), n))) << n;
  std::vector<uint8_t> v9{0, 9, 0, 0};
  EXPECT_FALSE(decode_key(v9));
  EXPECT_FALSE(decode_offset_value(v9));
  std::vector<uint8_t> group_key{0, 2, 0, 2, 'g', 'x'};
  auto gk = decode_key(group_key);
  ASSERT_TRUE(gk && std::holds_alternative<GroupKey>(*gk));
  // Value v1 (with an expire timestamp) still reads.
  std::vector<uint8_t> v1{0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0};
  auto r = decode_offset_value(v1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset, 5);
  EXPECT_EQ(r->leader_epoch, -1);
  EXPECT_EQ(r->commit_timestamp, 9);
}

TEST(GroupOffsetRecords, CoordinatorAppliesCommitsAndDeletes) {
  asio::io_context io;
  int64_t clock = 0;
  GroupCoordinator c(io, GroupConfig{}, [&clock] { return clock; });
  c.apply_commit("g", "t", 0, {10, -1, "", 1});
  c.apply_commit("g", "t", 0, {12, -1, "", 2});
  c.apply_commit("g", "t", 1, {5, -1, "", 2});
  ASSERT_NE(c.offsets("g"), nullptr);
  EXPECT_EQ(c.offsets("g")->at({"t", 0}).offset, 12);
  EXPECT_EQ(c.groups().size(), 1u);
  c.apply_delete("g", "t", 0);
  c.apply_delete("g", "t", 1);
  EXPECT_EQ(c.offsets("g"), nullptr);
  EXPECT_TRUE(c.groups().empty());
  c.apply_commit("h", "t", 0, {1, -1, "", 1});
  EXPECT_EQ(c.delete_group("h"), ErrorCode::NONE);
  EXPECT_EQ(c.delete_group("h"), ErrorCode::GROUP_ID_NOT_FOUND);
}

}  // namespace
}  // namespace samsa::coordinator
