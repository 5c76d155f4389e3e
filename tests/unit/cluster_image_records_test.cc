// The image as records: image -> records -> (encoded values, a snapshot file)
// -> apply_record over an empty image gives an equal image, for an image built
// from a varied history (brokers fenced and shutting down, racks, dynamic
// configs, internal topics, names with collision characters, reassignments,
// leader changes, removed topics and brokers, producer ids, features).
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "cluster/image_records.h"
#include "raft/disk_raft_log.h"
#include "raft/file_snapshot_store.h"
#include "storage/env.h"
#include "storage_test_util.h"

namespace samsa::cluster {
namespace {

Uuid uuid(uint8_t n) {
  Uuid u{};
  u[0] = 0x40;
  u[15] = n;
  return u;
}

std::string join(const std::vector<int32_t>& v) {
  std::string s;
  for (auto x : v) s += std::to_string(x) + ",";
  return s;
}

// Everything an image holds that records rebuild, as text (so a difference shows).
std::string dump(const MetadataImage& img) {
  std::ostringstream o;
  for (auto& [name, level] : img.features) o << "feature " << name << "=" << level << "\n";
  for (auto& [id, b] : img.brokers) {
    o << "broker " << id << " " << b.id << " " << b.host << ":" << b.port << " rack=" << b.rack.value_or("<none>")
      << " epoch=" << b.epoch << " inc=" << protocol::to_base64url(b.incarnation_id) << " fenced=" << b.fenced
      << " shutdown=" << b.in_controlled_shutdown;
    for (auto& e : b.endpoints)
      o << " endpoint " << e.name << "=" << e.host << ":" << e.port << "/" << e.security_protocol;
    for (auto& f : b.features) o << " feature " << f.name << "=" << f.min_supported << "-" << f.max_supported;
    o << "\n";
  }
  for (auto& [res, cfg] : img.broker_configs)
    for (auto& [k, v] : cfg) o << "broker-config [" << res << "] " << k << "=" << v << "\n";
  std::vector<std::string> names;
  img.topics.for_each([&](const std::string& n, const auto&) { names.push_back(n); });
  std::sort(names.begin(), names.end());
  for (auto& n : names) {
    const TopicInfo* t = img.find_topic(n);
    o << "topic " << t->name << " id=" << protocol::to_base64url(t->id) << " internal=" << t->internal << "\n";
    EXPECT_EQ(img.find_topic(t->id), t);
    for (auto& p : t->partitions)
      o << "  p" << p.partition << " leader=" << p.leader << " le=" << p.leader_epoch << " pe=" << p.partition_epoch
        << " lrs=" << int(p.leader_recovery_state) << " r=" << join(p.replicas) << " isr=" << join(p.isr)
        << " rm=" << join(p.removing_replicas) << " add=" << join(p.adding_replicas) << "\n";
    for (auto& [k, v] : t->configs) o << "  config " << k << "=" << v << "\n";
  }
  std::vector<std::string> collisions;
  img.collision_names.for_each([&](const std::string& k, const std::vector<std::string>& v) {
    auto sorted = v;
    std::sort(sorted.begin(), sorted.end());
    std::string line = k + ":";
    for (auto& s : sorted) line += s + ",";
    collisions.push_back(line);
  });
  std::sort(collisions.begin(), collisions.end());
  for (auto& c : collisions) o << "collision " << c << "\n";
  o << "topics=" << img.topics.size() << " names=" << img.topic_names.size() << " partitions=" << img.partition_count
    << " next_pid=" << img.next_producer_id << "\n";
  return o.str();
}

RegisterBrokerRecord broker(int32_t id, int64_t epoch, std::optional<std::string> rack, bool fenced) {
  RegisterBrokerRecord r;
  r.broker_id = id;
  r.broker_epoch = epoch;
  r.incarnation_id = uuid(static_cast<uint8_t>(100 + id));
  auto& ep = r.end_points.emplace_back();
  ep.name = "PLAINTEXT";
  ep.host = "host" + std::to_string(id);
  ep.port = static_cast<uint16_t>(9090 + id);
  r.rack = std::move(rack);
  r.fenced = fenced;
  return r;
}

MetadataImage varied_image() {
  MetadataImage img;
  std::vector<MetadataRecord> history;
  FeatureLevelRecord mv;
  mv.name = "metadata.version";
  mv.feature_level = 21;
  history.push_back(mv);
  FeatureLevelRecord tv;
  tv.name = "transaction.version";
  tv.feature_level = 2;
  history.push_back(tv);
  history.push_back(broker(1, 10, "rack-a", false));
  history.push_back(broker(2, 11, "rack-b", true));
  history.push_back(broker(3, 12, std::nullopt, false));
  history.push_back(broker(4, 13, "rack-a", false));
  history.push_back(FenceBrokerRecord{3, 12, {}});
  BrokerRegistrationChangeRecord shutdown;
  shutdown.broker_id = 1;
  shutdown.broker_epoch = 10;
  shutdown.in_controlled_shutdown = 1;
  history.push_back(shutdown);
  history.push_back(UnregisterBrokerRecord{4, 13, {}});
  history.push_back(config_record(kBrokerResource, "", "log.retention.ms", "1000"));
  history.push_back(config_record(kBrokerResource, "2", "log.cleaner.threads", "2"));
  history.push_back(config_record(kBrokerResource, "2", "gone", "x"));
  history.push_back(config_record(kBrokerResource, "2", "gone", std::nullopt));

  history.push_back(topic_record("orders", uuid(1)));
  for (int32_t p = 0; p < 3; ++p) history.push_back(partition_record(uuid(1), p, {1, 2, 3}, {1, 2}, 1 + p % 2, 0));
  history.push_back(config_record(kTopicResource, "orders", "cleanup.policy", "compact"));
  history.push_back(config_record(kTopicResource, "orders", "retention.ms", "5"));
  PartitionChangeRecord change;
  change.topic_id = uuid(1);
  change.partition_id = 1;
  change.leader = 3;
  change.isr = std::vector<int32_t>{3};
  change.leader_recovery_state = 1;
  history.push_back(change);
  PartitionChangeRecord reassign;
  reassign.topic_id = uuid(1);
  reassign.partition_id = 2;
  reassign.replicas = std::vector<int32_t>{1, 2, 3, 4};
  reassign.adding_replicas = std::vector<int32_t>{4};
  reassign.removing_replicas = std::vector<int32_t>{1};
  history.push_back(reassign);

  history.push_back(topic_record("__consumer_offsets", uuid(2)));
  for (int32_t p = 0; p < 5; ++p) history.push_back(partition_record(uuid(2), p, {p % 3 + 1}, {p % 3 + 1}, p % 3 + 1, 0));
  history.push_back(topic_record("a.b", uuid(3)));
  history.push_back(partition_record(uuid(3), 0, {2}, {2}, -1, 4));
  history.push_back(topic_record("a_c", uuid(4)));
  history.push_back(partition_record(uuid(4), 0, {2}, {2}, 2, 0));
  history.push_back(topic_record("deleted", uuid(5)));
  history.push_back(partition_record(uuid(5), 0, {1}, {1}, 1, 0));
  history.push_back(RemoveTopicRecord{uuid(5), {}});
  ProducerIdsRecord pids;
  pids.broker_id = 1;
  pids.broker_epoch = 10;
  pids.next_producer_id = 5000;
  history.push_back(pids);
  for (auto& r : history) apply_record(img, r);
  return img;
}

TEST(ClusterImageRecords, ImageToRecordsToImageIsEqual) {
  MetadataImage img = varied_image();
  // The history did what the test means (a quick look that it is varied).
  ASSERT_EQ(img.brokers.size(), 3u);
  ASSERT_TRUE(img.brokers.at(3).fenced);
  ASSERT_TRUE(img.brokers.at(1).in_controlled_shutdown);
  ASSERT_EQ(img.topics.size(), 4u);
  ASSERT_EQ(img.find_topic("orders")->partitions[1].leader_epoch, 1);

  MetadataImage rebuilt;
  for (auto& r : image_records(img)) {
    // Through the bytes, as a snapshot stores them.
    auto decoded = decode_record(encode_record(r));
    ASSERT_TRUE(decoded);
    apply_record(rebuilt, *decoded);
  }
  EXPECT_EQ(dump(rebuilt), dump(img));
  // Twice gives the same records (a deterministic snapshot).
  EXPECT_EQ(image_records(img).size(), image_records(rebuilt).size());
  std::vector<protocol::Bytes> a, b;
  for (auto& r : image_records(img)) a.push_back(encode_record(r));
  for (auto& r : image_records(rebuilt)) b.push_back(encode_record(r));
  EXPECT_EQ(a, b);
}

TEST(ClusterImageRecords, AnEmptyImageHasNoRecords) {
  MetadataImage empty;
  EXPECT_TRUE(image_records(empty).empty());
}

TEST(ClusterImageRecords, ThroughASnapshotFile) {
  MetadataImage img = varied_image();
  storage::testing::TempDir dir;
  auto store = raft::FileSnapshotStore::open(storage::posix_env(), raft::metadata_partition_dir(dir.path()));
  ASSERT_TRUE(store.is_ok());
  raft::SnapshotId id{Offset(77), Epoch(3)};
  auto w = (*store)->create(id, 1234, 5678);
  ASSERT_TRUE(w.is_ok());
  for_each_image_record(img, [&](const MetadataRecord& r) { ASSERT_TRUE((*w)->add(encode_record(r))); });
  ASSERT_TRUE((*w)->finish());

  MetadataImage loaded;
  auto info = (*store)->load(id, [&](std::span<const uint8_t> v) {
    auto r = decode_record(v);
    ASSERT_TRUE(r);
    apply_record(loaded, *r);
  });
  ASSERT_TRUE(info.is_ok()) << info.status().to_string();
  EXPECT_EQ(info->records, static_cast<int64_t>(image_records(img).size()));
  EXPECT_EQ(dump(loaded), dump(img));
}

}  // namespace
}  // namespace samsa::cluster
