// Metadata log records: every record type survives encode -> decode, a value
// cut short anywhere or of an unknown type is refused (never read past its
// end), and applying records builds the image the controller relies on.
#include <gtest/gtest.h>

#include "cluster/metadata_records.h"

namespace samsa::cluster {
namespace {

Uuid id_of(uint8_t b) {
  Uuid u{};
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(b + i);
  return u;
}

std::vector<MetadataRecord> one_of_each() {
  return {
      TopicRecord{"orders", id_of(1)},
      PartitionRecord{id_of(1), 3, {1, 2, 3}, {1, 3}, 3, 7},
      ConfigRecord{2, "orders", "retention.ms", std::string("1000")},
      ConfigRecord{4, "", "log.retention.hours", std::nullopt},
      RemoveTopicRecord{id_of(9)},
      RegisterBrokerRecord{5, "127.0.0.5", 9095, std::string("rack-a")},
      RegisterBrokerRecord{6, "localhost", 9096, std::nullopt},
      ProducerIdsRecord{1, 4000},
      ClusterIdRecord{"MkU3OEVBNTcwNTJENDM2Qk"},
  };
}

TEST(MetadataRecords, EveryTypeRoundTrips) {
  for (auto& rec : one_of_each()) {
    auto bytes = encode_record(rec);
    auto back = decode_record(bytes);
    ASSERT_TRUE(back.has_value()) << "record type index " << rec.index();
    ASSERT_EQ(back->index(), rec.index());
    // Re-encoding the decoded record gives the same bytes: no field lost or changed.
    EXPECT_EQ(encode_record(*back), bytes) << "record type index " << rec.index();
  }
  auto p = decode_record(encode_record(PartitionRecord{id_of(1), 3, {1, 2, 3}, {1, 3}, 3, 7}));
  auto& pr = std::get<PartitionRecord>(*p);
  EXPECT_EQ(pr.topic_id, id_of(1));
  EXPECT_EQ(pr.partition, 3);
  EXPECT_EQ(pr.replicas, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(pr.isr, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(pr.leader, 3);
  EXPECT_EQ(pr.leader_epoch, 7);
  auto c = decode_record(encode_record(ConfigRecord{4, "", "log.retention.hours", std::nullopt}));
  EXPECT_FALSE(std::get<ConfigRecord>(*c).value.has_value());
}

TEST(MetadataRecords, TruncatedValuesAreRefused) {
  for (auto& rec : one_of_each()) {
    auto bytes = encode_record(rec);
    for (size_t n = 0; n < bytes.size(); ++n) {
      // A copy of exactly n bytes, so reading past it would be caught by the sanitizers.
      std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
      EXPECT_FALSE(decode_record(cut).has_value()) << "type index " << rec.index() << " cut at " << n;
    }
  }
}

TEST(MetadataRecords, UnknownTypeIsRefused) {
  auto bytes = encode_record(ClusterIdRecord{"x"});
  bytes[0] = 0x7f;  // int16 type, big-endian
  bytes[1] = 0x7f;
  EXPECT_FALSE(decode_record(bytes).has_value());
}

TEST(MetadataRecords, ApplyBuildsTheImage) {
  MetadataImage image;
  apply_record(image, ClusterIdRecord{"cid"});
  apply_record(image, RegisterBrokerRecord{1, "h", 9092, std::nullopt});
  apply_record(image, TopicRecord{"t", id_of(1)});
  apply_record(image, PartitionRecord{id_of(1), 0, {1}, {1}, 1, 0});
  apply_record(image, PartitionRecord{id_of(1), 1, {1}, {1}, 1, 0});
  apply_record(image, ConfigRecord{2, "t", "cleanup.policy", std::string("compact")});
  apply_record(image, ProducerIdsRecord{1, 2000});
  EXPECT_EQ(image.cluster_id, "cid");
  ASSERT_EQ(image.brokers.count(1), 1u);
  EXPECT_EQ(image.brokers.at(1).port, 9092);
  auto* t = image.find_topic("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(image.find_topic(id_of(1)), t);
  EXPECT_EQ(t->partitions.size(), 2u);
  EXPECT_EQ(image.partition_count, 2);
  EXPECT_EQ(t->configs.at("cleanup.policy"), "compact");
  EXPECT_EQ(image.next_producer_id, 2000);
  // A config removal takes the override away; removing the topic removes it by id and name.
  apply_record(image, ConfigRecord{2, "t", "cleanup.policy", std::nullopt});
  EXPECT_EQ(image.find_topic("t")->configs.count("cleanup.policy"), 0u);
  apply_record(image, RemoveTopicRecord{id_of(1)});
  EXPECT_EQ(image.find_topic("t"), nullptr);
  EXPECT_EQ(image.find_topic(id_of(1)), nullptr);
  EXPECT_EQ(image.partition_count, 0);
}

}  // namespace
}  // namespace samsa::cluster
