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

  CommittedOffset v{42, 3, "meta", 1700000000000, {}};
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
  c.apply_commit("g", "t", 0, {10, -1, "", 1, {}});
  c.apply_commit("g", "t", 0, {12, -1, "", 2, {}});
  c.apply_commit("g", "t", 1, {5, -1, "", 2, {}});
  ASSERT_NE(c.offsets("g"), nullptr);
  EXPECT_EQ(c.offsets("g")->at({"t", 0}).offset, 12);
  EXPECT_EQ(c.groups().size(), 1u);
  c.apply_delete("g", "t", 0);
  c.apply_delete("g", "t", 1);
  EXPECT_EQ(c.offsets("g"), nullptr);
  EXPECT_TRUE(c.groups().empty());
  c.apply_commit("h", "t", 0, {1, -1, "", 1, {}});
  EXPECT_EQ(c.delete_group("h"), ErrorCode::NONE);
  EXPECT_EQ(c.delete_group("h"), ErrorCode::GROUP_ID_NOT_FOUND);
}

}  // namespace
}  // namespace samsa::coordinator

namespace samsa::coordinator {
namespace {

GroupMetadataValue sample_group() {
  GroupMetadataValue v;
  v.protocol_type = "consumer";
  v.generation = 7;
  v.protocol = "range";
  v.leader = "m1";
  v.current_state_timestamp = 1700000000123;
  v.members.push_back({"m1", std::nullopt, "c1", "/10.0.0.1", 30000, 10000, {1, 2, 3}, {4, 5}});
  v.members.push_back({"m2", "static-2", "c2", "/10.0.0.2", 45000, 6000, {}, {9}});
  return v;
}

TEST(GroupOffsetRecords, GroupMetadataRoundTripsInKafkasLayout) {
  auto key = encode_group_key({"grp"});
  EXPECT_EQ(key, (std::vector<uint8_t>{0, 2, 0, 3, 'g', 'r', 'p'}));
  auto k = decode_key(key);
  ASSERT_TRUE(k && std::holds_alternative<GroupKey>(*k));
  EXPECT_EQ(std::get<GroupKey>(*k).group, "grp");

  auto v = sample_group();
  auto bytes = encode_group_value(v);
  // version 3; "consumer"; generation 7; then "range", "m1", timestamp, 2 members
  ASSERT_GE(bytes.size(), 16u);
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[1], 3);
  auto back = decode_group_value(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->protocol_type, "consumer");
  EXPECT_EQ(back->generation, 7);
  EXPECT_EQ(back->protocol, "range");
  EXPECT_EQ(back->leader, "m1");
  EXPECT_EQ(back->current_state_timestamp, 1700000000123);
  ASSERT_EQ(back->members.size(), 2u);
  EXPECT_EQ(back->members[0].member_id, "m1");
  EXPECT_FALSE(back->members[0].group_instance_id);
  EXPECT_EQ(back->members[0].client_host, "/10.0.0.1");
  EXPECT_EQ(back->members[0].rebalance_timeout_ms, 30000);
  EXPECT_EQ(back->members[0].session_timeout_ms, 10000);
  EXPECT_EQ(back->members[0].subscription, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(back->members[0].assignment, (std::vector<uint8_t>{4, 5}));
  EXPECT_EQ(back->members[1].group_instance_id, "static-2");
  EXPECT_EQ(back->members[1].client_id, "c2");
  EXPECT_EQ(back->members[1].assignment, (std::vector<uint8_t>{9}));

  // An Empty group's record: null protocol and leader, no members.
  GroupMetadataValue empty;
  empty.protocol_type = "consumer";
  empty.generation = 8;
  auto e = decode_group_value(encode_group_value(empty));
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->protocol);
  EXPECT_FALSE(e->leader);
  EXPECT_TRUE(e->members.empty());
  EXPECT_EQ(e->current_state_timestamp, -1);
}

TEST(GroupOffsetRecords, GroupMetadataRejectsEveryTruncationAndHugeCounts) {
  auto bytes = encode_group_value(sample_group());
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_group_value(std::span<const uint8_t>(bytes.data(), n))) << n;
  auto gk = encode_group_key({"grp"});
  for (size_t n = 0; n < gk.size(); ++n) EXPECT_FALSE(decode_key(std::span<const uint8_t>(gk.data(), n))) << n;
  // A member count far beyond the bytes left is refused before anything is allocated.
  GroupMetadataValue none;
  none.protocol_type = "consumer";
  auto b = encode_group_value(none);
  ASSERT_GE(b.size(), 4u);
  for (size_t i = b.size() - 4; i < b.size(); ++i) b[i] = 0x7f;
  EXPECT_FALSE(decode_group_value(b));
  for (size_t i = b.size() - 4; i < b.size(); ++i) b[i] = 0xff;  // -1
  EXPECT_FALSE(decode_group_value(b));
  // A negative subscription length.
  auto one = sample_group();
  one.members.resize(1);
  one.members[0].subscription.clear();
  auto ob = encode_group_value(one);
  std::vector<uint8_t> neg = ob;
  // The subscription length sits after the member's fixed fields: find it as
  // the 4 zero bytes followed by the assignment length (00 00 00 02).
  bool patched = false;
  for (size_t i = 0; i + 8 <= neg.size(); ++i) {
    if (neg[i] == 0 && neg[i + 1] == 0 && neg[i + 2] == 0 && neg[i + 3] == 0 && neg[i + 4] == 0 && neg[i + 5] == 0 &&
        neg[i + 6] == 0 && neg[i + 7] == 2 && i + 8 + 2 == neg.size()) {
      neg[i] = neg[i + 1] = neg[i + 2] = neg[i + 3] = 0xff;
      patched = true;
    }
  }
  ASSERT_TRUE(patched);
  EXPECT_FALSE(decode_group_value(neg));
  std::vector<uint8_t> v9{0, 9, 0, 0};
  EXPECT_FALSE(decode_group_value(v9));
}

TEST(GroupOffsetRecords, OldGroupMetadataVersionsRead) {
  // Version 0: no state timestamp, no rebalance timeout, no instance id.
  std::vector<uint8_t> v0{0, 0, 0, 1, 'c', 0, 0, 0, 2, 0, 1, 'r', 0, 1, 'm', 0, 0, 0, 1,
                          0, 1, 'm', 0, 1, 'x', 0, 1, 'h', 0, 0, 0x27, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 5};
  auto v = decode_group_value(v0);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->generation, 2);
  EXPECT_EQ(v->current_state_timestamp, -1);
  ASSERT_EQ(v->members.size(), 1u);
  EXPECT_EQ(v->members[0].session_timeout_ms, 10000);
  EXPECT_EQ(v->members[0].rebalance_timeout_ms, 10000);
  EXPECT_EQ(v->members[0].assignment, (std::vector<uint8_t>{5}));
}

TEST(GroupOffsetRecords, RetentionTimeIsWrittenAsAnExpireTimestamp) {
  CommittedOffset v{42, 3, "m", 1000, 61000};
  auto bytes = encode_offset_value(v);
  EXPECT_EQ(bytes[1], 1);  // version 1: the one with an expire timestamp (no leader epoch)
  auto back = decode_offset_value(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->offset, 42);
  EXPECT_EQ(back->leader_epoch, -1);
  EXPECT_EQ(back->commit_timestamp, 1000);
  EXPECT_EQ(back->expire_timestamp, 61000);
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_offset_value(std::span<const uint8_t>(bytes.data(), n))) << n;
  auto plain = decode_offset_value(encode_offset_value({1, -1, "", 5, {}}));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->expire_timestamp);
}

}  // namespace
}  // namespace samsa::coordinator
