// Metadata log records: every record type survives encode -> decode, a value
// cut short anywhere or of an unknown type is refused (never read past its
// end), and applying records builds the image the controller relies on.
// Golden bytes check Kafka's layout (frame version, uvarint type and version,
// compact strings and arrays, tagged fields), hand-derived from the record
// descriptions; old-format values (int16 type, int16 version) are still read.
#include <gtest/gtest.h>

#include <functional>

#include "cluster/metadata_records.h"
#include "protocol/kraft_legacy.h"

namespace samsa::cluster {
namespace {

namespace k = protocol::kraft;

Uuid id_of(uint8_t b) {
  Uuid u{};
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(b + i);
  return u;
}

RegisterBrokerRecord broker(int32_t id, std::string host, uint16_t port, std::optional<std::string> rack,
                            int64_t epoch = 10) {
  RegisterBrokerRecord b;
  b.broker_id = id;
  b.broker_epoch = epoch;
  b.incarnation_id = id_of(static_cast<uint8_t>(id));
  auto& ep = b.end_points.emplace_back();
  ep.name = "PLAINTEXT";
  ep.host = std::move(host);
  ep.port = port;
  b.rack = std::move(rack);
  b.fenced = false;
  return b;
}

std::vector<MetadataRecord> one_of_each() {
  PartitionChangeRecord change;
  change.topic_id = id_of(1);
  change.partition_id = 3;
  change.isr = std::vector<int32_t>{1};
  change.leader = 1;
  FeatureLevelRecord feature;
  feature.name = "metadata.version";
  feature.feature_level = 21;
  BrokerRegistrationChangeRecord brc;
  brc.broker_id = 5;
  brc.broker_epoch = 10;
  brc.fenced = 1;
  return {
      topic_record("orders", id_of(1)),
      partition_record(id_of(1), 3, {1, 2, 3}, {1, 3}, 3, 7),
      config_record(kTopicResource, "orders", "retention.ms", std::string("1000")),
      config_record(kBrokerResource, "", "log.retention.hours", std::nullopt),
      RemoveTopicRecord{id_of(9), {}},
      broker(5, "127.0.0.5", 9095, std::string("rack-a")),
      broker(6, "localhost", 9096, std::nullopt),
      ProducerIdsRecord{1, 10, 4000, {}},
      change,
      feature,
      brc,
      FenceBrokerRecord{5, 10, {}},
      UnfenceBrokerRecord{5, 10, {}},
      UnregisterBrokerRecord{6, 10, {}},
      NoOpRecord{},
  };
}

TEST(MetadataRecords, EveryTypeRoundTrips) {
  for (auto& rec : one_of_each()) {
    auto bytes = encode_record(rec);
    ASSERT_EQ(bytes[0], k::kFrameVersion);
    auto back = decode_record(bytes);
    ASSERT_TRUE(back.has_value()) << "record type index " << rec.index();
    ASSERT_EQ(back->index(), rec.index());
    EXPECT_TRUE(*back == rec) << "record type index " << rec.index();
    // Re-encoding the decoded record gives the same bytes: no field lost or changed.
    EXPECT_EQ(encode_record(*back), bytes) << "record type index " << rec.index();
  }
  auto p = decode_record(encode_record(partition_record(id_of(1), 3, {1, 2, 3}, {1, 3}, 3, 7)));
  auto& pr = std::get<PartitionRecord>(*p);
  EXPECT_EQ(pr.topic_id, id_of(1));
  EXPECT_EQ(pr.partition_id, 3);
  EXPECT_EQ(pr.replicas, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(pr.isr, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(pr.leader, 3);
  EXPECT_EQ(pr.leader_epoch, 7);
  auto c = decode_record(encode_record(config_record(kBrokerResource, "", "log.retention.hours", std::nullopt)));
  EXPECT_FALSE(std::get<ConfigRecord>(*c).value.has_value());
}

TEST(MetadataRecords, TruncatedValuesAreRefused) {
  for (auto& rec : one_of_each()) {
    auto bytes = encode_record(rec);
    for (size_t n = 0; n < bytes.size(); ++n) {
      // A copy of exactly n bytes, so reading past it would be caught by the sanitizers.
      std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
      auto d = decode_value(cut);
      EXPECT_FALSE(d.record.has_value()) << "type index " << rec.index() << " cut at " << n;
      if (n > 0) EXPECT_FALSE(d.warning.empty());
    }
  }
}

TEST(MetadataRecords, TrailingBytesAreRefused) {
  auto bytes = encode_record(topic_record("t", id_of(1)));
  bytes.push_back(0);
  auto d = k::decode_metadata_record(bytes);
  EXPECT_EQ(d.error, k::RecordError::malformed);
  EXPECT_FALSE(decode_record(bytes).has_value());
}

TEST(MetadataRecords, UnknownTypeOrNewerVersionIsSkippedWithAWarning) {
  // Type 99 (unknown here), version 0, no fields.
  std::vector<uint8_t> unknown{0x01, 0x63, 0x00, 0x00};
  auto d = decode_value(unknown);
  EXPECT_FALSE(d.record.has_value());
  EXPECT_NE(d.warning.find("unknown metadata record type 99"), std::string::npos) << d.warning;
  EXPECT_EQ(k::decode_metadata_record(unknown).error, k::RecordError::unknown_type);
  // A TopicRecord of version 1, which this build does not know.
  auto newer = encode_record(topic_record("t", id_of(1)));
  newer[2] = 0x01;
  EXPECT_EQ(k::decode_metadata_record(newer).error, k::RecordError::unsupported_version);
  EXPECT_FALSE(decode_value(newer).warning.empty());
  // Frame version 2; a type that does not fit an int16.
  EXPECT_EQ(k::decode_metadata_record(std::vector<uint8_t>{0x02, 0x02, 0x00}).error, k::RecordError::bad_frame_version);
  EXPECT_EQ(k::decode_metadata_record(std::vector<uint8_t>{0x01, 0xff, 0xff, 0x03, 0x00}).error,
            k::RecordError::malformed);
}

TEST(MetadataRecords, GarbageNeverCrashes) {
  // Every byte string of a seeded stream, each starting with the new frame
  // version or the old format's 0x00: decoded without crash, lengths and counts
  // bounded by the bytes present (a huge count is refused, not allocated).
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> v(1 + i % 40);
    for (auto& b : v) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      b = static_cast<uint8_t>(x);
    }
    v[0] = i % 2 ? 0x01 : 0x00;
    if (v.size() > 1 && i % 3 == 0) v[1] = static_cast<uint8_t>(i % 18);  // a known type
    (void)decode_value(v);
  }
  std::vector<uint8_t> huge{0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};  // PartitionRecord ...
  huge.resize(7 + 16, 0);
  for (uint8_t b : {0xff, 0xff, 0xff, 0xff, 0x0f}) huge.push_back(b);  // replicas: 4 billion entries
  EXPECT_FALSE(decode_record(huge).has_value());
}

// Golden bytes: Kafka's framing and field layout, derived by hand from the
// record descriptions (frame version 1, uvarint type, uvarint version, fields
// with compact strings and arrays, then the tagged-field section).
TEST(MetadataRecords, GoldenBytesFollowKafkasLayout) {
  std::vector<uint8_t> topic{0x01, 0x02, 0x00, 0x04, 'f', 'o', 'o'};
  for (int i = 1; i <= 16; ++i) topic.push_back(static_cast<uint8_t>(i));
  topic.push_back(0x00);  // no tagged fields
  EXPECT_EQ(encode_record(topic_record("foo", id_of(1))), topic);

  // ConfigRecord v0: int8 resource type, compact strings, null value (length 0).
  std::vector<uint8_t> config{0x01, 0x04, 0x00, 0x02, 0x02, 't', 0x02, 'k', 0x00, 0x00};
  EXPECT_EQ(encode_record(config_record(kTopicResource, "t", "k", std::nullopt)), config);

  // ProducerIdsRecord v0: int32 broker id, int64 broker epoch, int64 next producer id.
  std::vector<uint8_t> pids{0x01, 0x0f, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0x00};
  EXPECT_EQ(encode_record(ProducerIdsRecord{1, 9, 1000, {}}), pids);

  // PartitionChangeRecord v0: only the ids are fields; the ISR (tag 0) and the
  // leader (tag 1) go into the tagged section, the unchanged rest is left out.
  PartitionChangeRecord change;
  change.partition_id = 2;
  change.topic_id = id_of(1);
  change.isr = std::vector<int32_t>{1};
  change.leader = 1;
  std::vector<uint8_t> pc{0x01, 0x05, 0x00, 0, 0, 0, 2};
  for (int i = 1; i <= 16; ++i) pc.push_back(static_cast<uint8_t>(i));
  for (uint8_t b : {0x02, /*tag*/ 0x00, /*size*/ 0x05, 0x02, 0, 0, 0, 1, /*tag*/ 0x01, /*size*/ 0x04, 0, 0, 0, 1})
    pc.push_back(b);
  EXPECT_EQ(k::encode_metadata_record(change, 0), pc);
  auto back = k::decode_metadata_record(pc);
  ASSERT_EQ(back.error, k::RecordError::none);
  auto& decoded = std::get<PartitionChangeRecord>(*back.record);
  EXPECT_EQ(decoded.isr, (std::vector<int32_t>{1}));
  EXPECT_EQ(decoded.leader, 1);
  EXPECT_FALSE(decoded.replicas.has_value());
  EXPECT_EQ(decoded.leader_recovery_state, -1);

  // PartitionRecord at its newest version (2): removing/adding replicas empty,
  // the tagged leader recovery state left out at its default, empty directories.
  std::vector<uint8_t> part{0x01, 0x03, 0x02, 0, 0, 0, 3};
  for (int i = 1; i <= 16; ++i) part.push_back(static_cast<uint8_t>(i));
  for (uint8_t b : {0x02, 0, 0, 0, 1, /*isr*/ 0x02, 0, 0, 0, 1, /*removing*/ 0x01, /*adding*/ 0x01,
                    /*leader*/ 0, 0, 0, 1, /*leader epoch*/ 0, 0, 0, 5, /*partition epoch*/ 0, 0, 0, 0,
                    /*directories*/ 0x01, /*tags*/ 0x00})
    part.push_back(b);
  EXPECT_EQ(encode_record(partition_record(id_of(1), 3, {1}, {1}, 1, 5)), part);
}

TEST(MetadataRecords, JsonIsKafkasDumpPayload) {
  EXPECT_EQ(k::metadata_record_json(topic_record("foo", id_of(1)), 0),
            R"({"type":"TOPIC_RECORD","version":0,"data":{"name":"foo","topicId":"AQIDBAUGBwgJCgsMDQ4PEA"}})");
  EXPECT_EQ(k::metadata_record_json(config_record(kTopicResource, "t", "k\"", std::nullopt), 0),
            R"({"type":"CONFIG_RECORD","version":0,"data":{"resourceType":2,"resourceName":"t","name":"k\"","value":null}})");
  PartitionChangeRecord change;
  change.partition_id = 2;
  change.topic_id = id_of(1);
  change.leader = 1;
  // Tagged fields appear only when they differ from their default.
  EXPECT_EQ(k::metadata_record_json(change, 0),
            R"({"type":"PARTITION_CHANGE_RECORD","version":0,"data":{"partitionId":2,"topicId":"AQIDBAUGBwgJCgsMDQ4PEA","leader":1}})");
  EXPECT_EQ(k::metadata_record_json(broker(1, "h", 9092, std::nullopt), 3),
            R"({"type":"REGISTER_BROKER_RECORD","version":3,"data":{"brokerId":1,"isMigratingZkBroker":false,)"
            R"("incarnationId":"AQIDBAUGBwgJCgsMDQ4PEA","brokerEpoch":10,"endPoints":[{"name":"PLAINTEXT","host":"h",)"
            R"("port":9092,"securityProtocol":0}],"features":[],"rack":null,"fenced":false,"inControlledShutdown":false}})");
}

// The old format, written by Samsa before it used Kafka's records.
protocol::Bytes old_value(int16_t type, const std::function<void(protocol::Writer&)>& fields) {
  protocol::Writer w;
  w.i16(type);
  w.i16(0);
  fields(w);
  return std::move(w.buffer());
}

TEST(MetadataRecords, OldFormatIsStillRead) {
  auto topic = old_value(2, [](auto& w) { w.string(true, "legacy"), w.uuid(id_of(1)); });
  auto part = old_value(3, [](auto& w) {
    w.uuid(id_of(1)), w.i32(1);
    w.uvarint(2), w.i32(1), w.i32(2);  // replicas
    w.uvarint(1), w.i32(1);            // isr
    w.i32(1), w.i32(4);                // leader, leader epoch
  });
  auto config = old_value(4, [](auto& w) { w.i8(2), w.string(true, "legacy"), w.string(true, "retention.ms"), w.nstring(true, std::string("5")); });
  auto broker_rec = old_value(17, [](auto& w) { w.i32(1), w.string(true, "localhost"), w.i32(9092), w.nstring(true, std::nullopt); });
  auto pids = old_value(15, [](auto& w) { w.i32(1), w.i64(3000); });
  auto cluster = old_value(100, [](auto& w) { w.string(true, "MkU3OEVBNTcwNTJENDM2Qk"); });
  auto remove = old_value(9, [](auto& w) { w.uuid(id_of(1)); });

  MetadataImage image;
  for (auto* v : {&broker_rec, &topic, &part, &config, &pids, &cluster}) {
    auto d = decode_value(*v);
    EXPECT_TRUE(d.legacy);
    EXPECT_TRUE(d.warning.empty()) << d.warning;
    if (d.record) apply_record(image, *d.record);
  }
  EXPECT_FALSE(decode_value(cluster).record.has_value());  // the cluster id lives in meta.properties
  ASSERT_EQ(image.brokers.count(1), 1u);
  EXPECT_EQ(image.brokers.at(1).host, "localhost");
  EXPECT_EQ(image.brokers.at(1).port, 9092);
  EXPECT_FALSE(image.brokers.at(1).fenced);
  auto* t = image.find_topic("legacy");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->partitions.size(), 2u);
  EXPECT_EQ(t->partitions[1].replicas, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(t->partitions[1].leader_epoch, 4);
  EXPECT_EQ(t->configs.at("retention.ms"), "5");
  EXPECT_EQ(image.next_producer_id, 3000);
  apply_record(image, *decode_record(remove));
  EXPECT_EQ(image.find_topic("legacy"), nullptr);

  // Old values cut short, of an unknown old type or version are skipped with a warning.
  for (size_t n = 1; n < part.size(); ++n) {
    std::vector<uint8_t> cut(part.begin(), part.begin() + static_cast<long>(n));
    auto d = decode_value(cut);
    EXPECT_FALSE(d.record.has_value());
    EXPECT_FALSE(d.warning.empty());
  }
  EXPECT_FALSE(decode_value(old_value(55, [](auto&) {})).warning.empty());
  auto v1 = topic;
  v1[3] = 1;
  EXPECT_FALSE(decode_value(v1).warning.empty());
  // The dump tool's view of an old value.
  EXPECT_EQ(*k::legacy_value_json(cluster),
            R"({"type":"SAMSA_OLD_CLUSTER_ID_RECORD","version":0,"data":{"clusterId":"MkU3OEVBNTcwNTJENDM2Qk"},"samsaOldFormat":true})");
  EXPECT_EQ(*k::legacy_value_json(topic),
            R"({"type":"TOPIC_RECORD","version":0,"data":{"name":"legacy","topicId":"AQIDBAUGBwgJCgsMDQ4PEA"},"samsaOldFormat":true})");
}

TEST(MetadataRecords, ApplyBuildsTheImage) {
  MetadataImage image;
  apply_record(image, broker(1, "h", 9092, std::nullopt));
  apply_record(image, topic_record("t", id_of(1)));
  apply_record(image, partition_record(id_of(1), 0, {1}, {1}, 1, 0));
  apply_record(image, partition_record(id_of(1), 1, {1}, {1}, 1, 0));
  apply_record(image, config_record(kTopicResource, "t", "cleanup.policy", std::string("compact")));
  apply_record(image, ProducerIdsRecord{1, 10, 2000, {}});
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
  apply_record(image, config_record(kTopicResource, "t", "cleanup.policy", std::nullopt));
  EXPECT_EQ(image.find_topic("t")->configs.count("cleanup.policy"), 0u);
  apply_record(image, RemoveTopicRecord{id_of(1), {}});
  EXPECT_EQ(image.find_topic("t"), nullptr);
  EXPECT_EQ(image.find_topic(id_of(1)), nullptr);
  EXPECT_EQ(image.partition_count, 0);
}

TEST(MetadataRecords, PartitionChangeBumpsEpochsAsKafkaDoes) {
  MetadataImage image;
  apply_record(image, topic_record("t", id_of(1)));
  apply_record(image, partition_record(id_of(1), 0, {1, 2}, {1, 2}, 1, 0));
  PartitionChangeRecord shrink;
  shrink.topic_id = id_of(1);
  shrink.partition_id = 0;
  shrink.isr = std::vector<int32_t>{1};
  apply_record(image, shrink);
  auto p = image.find_topic("t")->partitions[0];
  EXPECT_EQ(p.isr, (std::vector<int32_t>{1}));
  EXPECT_EQ(p.leader, 1);
  EXPECT_EQ(p.leader_epoch, 0);  // the leader did not change
  EXPECT_EQ(p.partition_epoch, 1);
  PartitionChangeRecord elect = shrink;
  elect.isr.reset();
  elect.leader = 2;
  apply_record(image, elect);
  p = image.find_topic("t")->partitions[0];
  EXPECT_EQ(p.leader, 2);
  EXPECT_EQ(p.leader_epoch, 1);
  EXPECT_EQ(p.partition_epoch, 2);
  EXPECT_EQ(p.replicas, (std::vector<int32_t>{1, 2}));
  // A change to a partition the topic does not have creates nothing.
  elect.partition_id = 5;
  apply_record(image, elect);
  EXPECT_EQ(image.find_topic("t")->partitions.size(), 1u);
}

TEST(MetadataRecords, BrokerFencingFollowsTheBrokerEpoch) {
  MetadataImage image;
  apply_record(image, broker(1, "h", 9092, std::nullopt, 10));
  apply_record(image, FenceBrokerRecord{1, 9, {}});  // an older registration: ignored
  EXPECT_FALSE(image.brokers.at(1).fenced);
  apply_record(image, FenceBrokerRecord{1, 10, {}});
  EXPECT_TRUE(image.brokers.at(1).fenced);
  apply_record(image, UnfenceBrokerRecord{1, 10, {}});
  EXPECT_FALSE(image.brokers.at(1).fenced);
  BrokerRegistrationChangeRecord change;
  change.broker_id = 1;
  change.broker_epoch = 10;
  change.fenced = 1;
  change.in_controlled_shutdown = 1;
  apply_record(image, change);
  EXPECT_TRUE(image.brokers.at(1).fenced);
  EXPECT_TRUE(image.brokers.at(1).in_controlled_shutdown);
  change.fenced = -1;
  apply_record(image, change);
  EXPECT_FALSE(image.brokers.at(1).fenced);
  FeatureLevelRecord mv;
  mv.name = "metadata.version";
  mv.feature_level = 21;
  apply_record(image, mv);
  EXPECT_EQ(image.features.at("metadata.version"), 21);
  mv.feature_level = 0;
  apply_record(image, mv);
  EXPECT_EQ(image.features.count("metadata.version"), 0u);
  apply_record(image, UnregisterBrokerRecord{1, 10, {}});
  EXPECT_EQ(image.brokers.count(1), 0u);
}

}  // namespace
}  // namespace samsa::cluster
