#include "cluster/image_records.h"

#include "cluster/acl_records.h"

#include <algorithm>
#include <string>

namespace samsa::cluster {

namespace {

RegisterBrokerRecord broker_record(const BrokerInfo& b) {
  RegisterBrokerRecord r;
  r.broker_id = b.id;
  r.broker_epoch = b.epoch;
  r.incarnation_id = b.incarnation_id;
  for (const auto& e : b.endpoints) {
    auto& ep = r.end_points.emplace_back();
    ep.name = e.name;
    ep.host = e.host;
    ep.port = static_cast<uint16_t>(e.port);
    ep.security_protocol = e.security_protocol;
  }
  // An image built by hand (tests) may name only the address clients use.
  if (b.endpoints.empty() && (!b.host.empty() || b.port != 0)) {
    auto& ep = r.end_points.emplace_back();
    ep.name = "PLAINTEXT";
    ep.host = b.host;
    ep.port = static_cast<uint16_t>(b.port);
    ep.security_protocol = 0;
  }
  for (const auto& f : b.features) {
    auto& bf = r.features.emplace_back();
    bf.name = f.name;
    bf.min_supported_version = f.min_supported;
    bf.max_supported_version = f.max_supported;
  }
  r.rack = b.rack;
  r.fenced = b.fenced;
  r.in_controlled_shutdown = b.in_controlled_shutdown;
  return r;
}

PartitionRecord partition_record_of(const Uuid& topic_id, int32_t index, const PartitionInfo& p) {
  PartitionRecord r;
  r.partition_id = index;
  r.topic_id = topic_id;
  r.replicas = p.replicas;
  r.isr = p.isr;
  r.removing_replicas = p.removing_replicas;
  r.adding_replicas = p.adding_replicas;
  r.leader = p.leader;
  r.leader_recovery_state = p.leader_recovery_state;
  r.leader_epoch = p.leader_epoch;
  r.partition_epoch = p.partition_epoch;
  return r;
}

void topic_records(const TopicInfo& t, const std::function<void(const MetadataRecord&)>& fn) {
  fn(topic_record(t.name, t.id));
  for (size_t i = 0; i < t.partitions.size(); ++i)
    fn(partition_record_of(t.id, static_cast<int32_t>(i), t.partitions[i]));
  for (const auto& [key, value] : t.configs) fn(config_record(kTopicResource, t.name, key, value));
}

}  // namespace

void for_each_image_record(const MetadataImage& image, const std::function<void(const MetadataRecord&)>& fn) {
  for (const auto& [name, level] : image.features) {
    FeatureLevelRecord r;
    r.name = name;
    r.feature_level = level;
    fn(r);
  }
  for (const auto& [id, broker] : image.brokers) fn(broker_record(broker));
  for (const auto& [resource, configs] : image.broker_configs)
    for (const auto& [key, value] : configs) fn(config_record(kBrokerResource, resource, key, value));
  // Topics by name, so two nodes write the same snapshot of the same image.
  std::vector<const TopicInfo*> topics;
  topics.reserve(image.topics.size());
  image.topics.for_each([&](const std::string&, const std::shared_ptr<const TopicInfo>& t) { topics.push_back(t.get()); });
  std::sort(topics.begin(), topics.end(), [](const TopicInfo* a, const TopicInfo* b) { return a->name < b->name; });
  for (const TopicInfo* t : topics) topic_records(*t, fn);
  if (image.next_producer_id > 0) {
    ProducerIdsRecord r;
    r.broker_id = -1;  // no broker asked for this block: it only carries the next id
    r.broker_epoch = -1;
    r.next_producer_id = image.next_producer_id;
    fn(r);
  }
  for (auto& r : acl_records(image.acl_index())) fn(r);
  for (auto& r : quota_records(image.client_quotas)) fn(r);
  if (image.scram)
    for (auto& r : scram_records(*image.scram)) fn(r);
}

std::vector<MetadataRecord> image_records(const MetadataImage& image) {
  std::vector<MetadataRecord> out;
  for_each_image_record(image, [&](const MetadataRecord& r) { out.push_back(r); });
  return out;
}

}  // namespace samsa::cluster
