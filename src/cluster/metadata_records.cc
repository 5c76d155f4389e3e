#include "cluster/metadata_records.h"

#include "cluster/acl_records.h"
#include "cluster/topic_name.h"
#include "protocol/kraft_legacy.h"

namespace samsa::cluster {

namespace k = protocol::kraft;

protocol::Bytes encode_record(const MetadataRecord& r) { return k::encode_metadata_record(r); }

DecodedValue decode_value(std::span<const uint8_t> value) {
  DecodedValue out;
  if (k::is_legacy_value(value)) {
    out.legacy = true;
    auto old = k::decode_legacy_value(value);
    if (!old) out.warning = "undecodable record in the old Samsa format";
    else out.record = std::move(old->record);  // unset for the old cluster id record
    return out;
  }
  auto d = k::decode_metadata_record(value);
  if (d.error == k::RecordError::none) out.record = std::move(d.record);
  else out.warning = d.message;
  return out;
}

std::optional<MetadataRecord> decode_record(std::span<const uint8_t> value) { return decode_value(value).record; }

TopicRecord topic_record(std::string name, const Uuid& id) {
  TopicRecord t;
  t.name = std::move(name);
  t.topic_id = id;
  return t;
}

PartitionRecord partition_record(const Uuid& topic_id, int32_t partition, std::vector<int32_t> replicas,
                                 std::vector<int32_t> isr, int32_t leader, int32_t leader_epoch) {
  PartitionRecord p;
  p.partition_id = partition;
  p.topic_id = topic_id;
  p.replicas = std::move(replicas);
  p.isr = std::move(isr);
  p.leader = leader;
  p.leader_epoch = leader_epoch;
  p.partition_epoch = 0;
  return p;
}

ConfigRecord config_record(int8_t resource_type, std::string resource_name, std::string key,
                           std::optional<std::string> value) {
  ConfigRecord c;
  c.resource_type = resource_type;
  c.resource_name = std::move(resource_name);
  c.name = std::move(key);
  c.value = std::move(value);
  return c;
}

namespace {

// Copy on write: a TopicInfo still shared with a published image is copied
// before the change; one that only this image owns (a copy made by an earlier
// record of the same batch or replay) is changed in place. Copying every time
// made a topic of N partitions cost O(N^2) to create or replay (10,000
// partitions: seconds of start-up spent copying vectors). The image being
// built is not yet published, so nothing else can gain a reference meanwhile.
TopicInfo& mutable_topic(std::shared_ptr<const TopicInfo>& slot) {
  if (slot.use_count() != 1) slot = std::make_shared<TopicInfo>(*slot);
  return const_cast<TopicInfo&>(*slot);
}

// Drops a topic and everything indexed by its name or id.
void remove_topic(MetadataImage& img, const std::string& name) {
  auto* slot = img.topics.find(name);
  if (!slot) return;
  img.partition_count -= static_cast<int64_t>((*slot)->partitions.size());
  img.topic_names.erase((*slot)->id);
  if (has_collision_chars(name)) {
    auto key = unify_collision_chars(name);
    if (auto* names = img.collision_names.find(key)) {
      std::vector<std::string> rest;
      for (auto& n : *names)
        if (n != name) rest.push_back(n);
      if (rest.empty()) img.collision_names.erase(key);
      else img.collision_names.set(key, std::move(rest));
    }
  }
  img.topics.erase(name);
}

// Each record's effect on the image; a record naming something the image
// does not hold (a topic id, a broker) changes nothing.
void apply(MetadataImage& img, const TopicRecord& r) {
  // The metadata log's own name is never a topic (data dirs written before the
  // name was refused may still hold such a record; its partition would be the
  // metadata log's directory).
  if (is_cluster_metadata_topic(r.name)) return;
  if (img.topics.contains(r.name)) remove_topic(img, r.name);
  auto t = std::make_shared<TopicInfo>();
  t->name = r.name;
  t->id = r.topic_id;
  t->internal = is_internal_topic(r.name);
  img.topics.set(r.name, t);
  img.topic_names.set(r.topic_id, r.name);
  if (has_collision_chars(r.name)) {
    auto key = unify_collision_chars(r.name);
    auto names = img.collision_names.find(key) ? *img.collision_names.find(key) : std::vector<std::string>{};
    names.push_back(r.name);
    img.collision_names.set(key, std::move(names));
  }
}

// The partition `id` of the topic `topic_id`, created (with the partitions
// before it) when `create`; nullptr when the topic is unknown.
PartitionInfo* find_partition(MetadataImage& img, const Uuid& topic_id, int32_t id, bool create) {
  auto* name = img.topic_names.find(topic_id);
  if (!name || id < 0) return nullptr;
  auto* slot = img.topics.find_mutable(*name);
  if (!slot) return nullptr;
  if (!create && static_cast<size_t>(id) >= (*slot)->partitions.size()) return nullptr;
  TopicInfo* t = &mutable_topic(*slot);
  if (static_cast<size_t>(id) >= t->partitions.size()) {
    img.partition_count += id + 1 - static_cast<int64_t>(t->partitions.size());
    t->partitions.resize(id + 1);
  }
  return &t->partitions[id];
}

void apply(MetadataImage& img, const PartitionRecord& r) {
  auto* p = find_partition(img, r.topic_id, r.partition_id, true);
  if (!p) return;
  p->partition = r.partition_id;
  p->replicas = r.replicas;
  p->isr = r.isr;
  p->removing_replicas = r.removing_replicas;
  p->adding_replicas = r.adding_replicas;
  p->leader = r.leader;
  p->leader_epoch = r.leader_epoch;
  p->partition_epoch = r.partition_epoch;
  p->leader_recovery_state = r.leader_recovery_state;
}

void apply(MetadataImage& img, const PartitionChangeRecord& r) {
  if (auto* p = find_partition(img, r.topic_id, r.partition_id, false)) merge_partition_change(*p, r);
}

void apply(MetadataImage& img, const ConfigRecord& r) {
  if (r.resource_type == kTopicResource) {
    auto* slot = img.topics.find_mutable(r.resource_name);
    if (!slot) return;
    TopicInfo& t = mutable_topic(*slot);
    if (r.value) t.configs[r.name] = *r.value; else t.configs.erase(r.name);
  } else {
    auto& m = img.broker_configs[r.resource_name];
    if (r.value) m[r.name] = *r.value; else m.erase(r.name);
  }
}

void apply(MetadataImage& img, const RemoveTopicRecord& r) {
  auto* name = img.topic_names.find(r.topic_id);
  if (!name) return;
  remove_topic(img, std::string(*name));
}

void apply(MetadataImage& img, const RegisterBrokerRecord& r) {
  BrokerInfo b;
  b.id = r.broker_id;
  b.epoch = r.broker_epoch;
  b.incarnation_id = r.incarnation_id;
  for (auto& e : r.end_points) b.endpoints.push_back({e.name, e.host, e.port, e.security_protocol});
  for (auto& f : r.features) b.features.push_back({f.name, f.min_supported_version, f.max_supported_version});
  // A broker of one listener: its first endpoint is where clients go.
  if (!b.endpoints.empty()) {
    b.host = b.endpoints.front().host;
    b.port = b.endpoints.front().port;
  }
  b.rack = r.rack;
  b.fenced = r.fenced;
  b.in_controlled_shutdown = r.in_controlled_shutdown;
  img.brokers[r.broker_id] = std::move(b);
}

// A record for another epoch of the broker (an older registration) is ignored.
BrokerInfo* find_broker(MetadataImage& img, int32_t id, int64_t epoch) {
  auto it = img.brokers.find(id);
  if (it == img.brokers.end() || it->second.epoch != epoch) return nullptr;
  return &it->second;
}

void apply(MetadataImage& img, const BrokerRegistrationChangeRecord& r) {
  auto* b = find_broker(img, r.broker_id, r.broker_epoch);
  if (!b) return;
  if (r.fenced == 1) b->fenced = true;
  if (r.fenced == -1) b->fenced = false;
  if (r.in_controlled_shutdown == 1) b->in_controlled_shutdown = true;
}

void apply(MetadataImage& img, const FenceBrokerRecord& r) {
  if (auto* b = find_broker(img, r.id, r.epoch)) b->fenced = true;
}

void apply(MetadataImage& img, const UnfenceBrokerRecord& r) {
  if (auto* b = find_broker(img, r.id, r.epoch)) b->fenced = false;
}

void apply(MetadataImage& img, const UnregisterBrokerRecord& r) {
  if (find_broker(img, r.broker_id, r.broker_epoch)) img.brokers.erase(r.broker_id);
}

void apply(MetadataImage& img, const ProducerIdsRecord& r) {
  img.next_producer_id = std::max(img.next_producer_id, r.next_producer_id);
}

// Level 0 means the feature is not in use (Kafka removes it from the image).
void apply(MetadataImage& img, const FeatureLevelRecord& r) {
  if (r.feature_level == 0) img.features.erase(r.name);
  else img.features[r.name] = r.feature_level;
}

void apply(MetadataImage&, const NoOpRecord&) {}

// ACL records: the index is copied on write (acl_records.cc).
void apply(MetadataImage& img, const AccessControlEntryRecord& r) { apply_acl_record(img.acls, r); }
void apply(MetadataImage& img, const RemoveAccessControlEntryRecord& r) { apply_acl_record(img.acls, r); }
void apply(MetadataImage& img, const ClientQuotaRecord& r) { apply_quota_record(img.client_quotas, r); }
// SCRAM records: the table is copied on write (scram_credentials.cc).
void apply(MetadataImage& img, const UserScramCredentialRecord& r) { apply_scram_record(img.scram, r); }
void apply(MetadataImage& img, const RemoveUserScramCredentialRecord& r) { apply_scram_record(img.scram, r); }

}  // namespace

// Every change bumps the partition epoch, a leader change (any leader field
// but -2, the same leader included) the leader epoch too.
void merge_partition_change(PartitionInfo& p, const PartitionChangeRecord& r) {
  if (r.isr) p.isr = *r.isr;
  if (r.replicas) p.replicas = *r.replicas;
  if (r.removing_replicas) p.removing_replicas = *r.removing_replicas;
  if (r.adding_replicas) p.adding_replicas = *r.adding_replicas;
  if (r.leader_recovery_state != -1) p.leader_recovery_state = r.leader_recovery_state;
  if (r.leader != kNoLeaderChange) {
    p.leader = r.leader;
    ++p.leader_epoch;
  }
  ++p.partition_epoch;
}

void apply_record(MetadataImage& img, const MetadataRecord& rec) {
  std::visit([&](const auto& r) { apply(img, r); }, rec);
}

}  // namespace samsa::cluster
