#include "cluster/metadata_records.h"

#include "cluster/topic_name.h"

namespace samsa::cluster {

namespace {
using protocol::Reader;
using protocol::Writer;

enum RecordType : int16_t {
  kTopic = 2,
  kPartition = 3,
  kConfig = 4,
  kRemoveTopic = 9,
  kRegisterBroker = 17,
  kProducerIds = 15,
  kClusterId = 100,
};

void write_ids(Writer& w, const std::vector<int32_t>& v) {
  w.uvarint(static_cast<uint32_t>(v.size()));
  for (auto x : v) w.i32(x);
}
std::vector<int32_t> read_ids(Reader& r) {
  uint32_t n = r.uvarint();
  std::vector<int32_t> v;
  if (n > r.remaining() / 4) { r.fail(); return v; }
  for (uint32_t i = 0; i < n; ++i) v.push_back(r.i32());
  return v;
}
}  // namespace

protocol::Bytes encode_record(const MetadataRecord& rec) {
  Writer w;
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, TopicRecord>) {
          w.i16(kTopic), w.i16(0), w.string(true, r.name), w.uuid(r.id);
        } else if constexpr (std::is_same_v<T, PartitionRecord>) {
          w.i16(kPartition), w.i16(0), w.uuid(r.topic_id), w.i32(r.partition);
          write_ids(w, r.replicas), write_ids(w, r.isr), w.i32(r.leader), w.i32(r.leader_epoch);
        } else if constexpr (std::is_same_v<T, ConfigRecord>) {
          w.i16(kConfig), w.i16(0), w.i8(r.resource_type), w.string(true, r.resource_name);
          w.string(true, r.key), w.nstring(true, r.value);
        } else if constexpr (std::is_same_v<T, RemoveTopicRecord>) {
          w.i16(kRemoveTopic), w.i16(0), w.uuid(r.topic_id);
        } else if constexpr (std::is_same_v<T, RegisterBrokerRecord>) {
          w.i16(kRegisterBroker), w.i16(0), w.i32(r.broker_id), w.string(true, r.host), w.i32(r.port);
          w.nstring(true, r.rack);
        } else if constexpr (std::is_same_v<T, ProducerIdsRecord>) {
          w.i16(kProducerIds), w.i16(0), w.i32(r.broker_id), w.i64(r.next_producer_id);
        } else if constexpr (std::is_same_v<T, ClusterIdRecord>) {
          w.i16(kClusterId), w.i16(0), w.string(true, r.cluster_id);
        }
      },
      rec);
  return std::move(w.buffer());
}

std::optional<MetadataRecord> decode_record(std::span<const uint8_t> value) {
  Reader r(value);
  int16_t type = r.i16();
  int16_t version = r.i16();
  if (!r.ok() || version != 0) return std::nullopt;
  MetadataRecord out;
  switch (type) {
    case kTopic: {
      TopicRecord t;
      t.name = r.string(true);
      t.id = r.uuid();
      out = t;
      break;
    }
    case kPartition: {
      PartitionRecord p;
      p.topic_id = r.uuid();
      p.partition = r.i32();
      p.replicas = read_ids(r);
      p.isr = read_ids(r);
      p.leader = r.i32();
      p.leader_epoch = r.i32();
      out = p;
      break;
    }
    case kConfig: {
      ConfigRecord c;
      c.resource_type = r.i8();
      c.resource_name = r.string(true);
      c.key = r.string(true);
      c.value = r.nstring(true);
      out = c;
      break;
    }
    case kRemoveTopic: {
      RemoveTopicRecord t;
      t.topic_id = r.uuid();
      out = t;
      break;
    }
    case kRegisterBroker: {
      RegisterBrokerRecord b;
      b.broker_id = r.i32();
      b.host = r.string(true);
      b.port = r.i32();
      b.rack = r.nstring(true);
      out = b;
      break;
    }
    case kProducerIds: {
      ProducerIdsRecord p;
      p.broker_id = r.i32();
      p.next_producer_id = r.i64();
      out = p;
      break;
    }
    case kClusterId: {
      ClusterIdRecord c;
      c.cluster_id = r.string(true);
      out = c;
      break;
    }
    default:
      return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return out;
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

}  // namespace

void apply_record(MetadataImage& img, const MetadataRecord& rec) {
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, TopicRecord>) {
          // The metadata log's own name is never a topic (data dirs written
          // before the name was refused may still hold such a record; its
          // partition would be the metadata log's directory).
          if (is_cluster_metadata_topic(r.name)) return;
          if (img.topics.contains(r.name)) remove_topic(img, r.name);
          auto t = std::make_shared<TopicInfo>();
          t->name = r.name;
          t->id = r.id;
          t->internal = is_internal_topic(r.name);
          img.topics.set(r.name, t);
          img.topic_names.set(r.id, r.name);
          if (has_collision_chars(r.name)) {
            auto key = unify_collision_chars(r.name);
            auto names = img.collision_names.find(key) ? *img.collision_names.find(key) : std::vector<std::string>{};
            names.push_back(r.name);
            img.collision_names.set(key, std::move(names));
          }
        } else if constexpr (std::is_same_v<T, PartitionRecord>) {
          auto* name = img.topic_names.find(r.topic_id);
          if (!name) return;
          auto* slot = img.topics.find_mutable(*name);
          if (!slot || r.partition < 0) return;
          TopicInfo* t = &mutable_topic(*slot);
          if (static_cast<size_t>(r.partition) >= t->partitions.size()) {
            img.partition_count += r.partition + 1 - static_cast<int64_t>(t->partitions.size());
            t->partitions.resize(r.partition + 1);
          }
          auto& p = t->partitions[r.partition];
          p.partition = r.partition;
          p.replicas = r.replicas;
          p.isr = r.isr;
          p.leader = r.leader;
          p.leader_epoch = r.leader_epoch;
        } else if constexpr (std::is_same_v<T, ConfigRecord>) {
          if (r.resource_type == 2) {
            auto* slot = img.topics.find_mutable(r.resource_name);
            if (!slot) return;
            TopicInfo& t = mutable_topic(*slot);
            if (r.value) t.configs[r.key] = *r.value; else t.configs.erase(r.key);
          } else {
            auto& m = img.broker_configs[r.resource_name];
            if (r.value) m[r.key] = *r.value; else m.erase(r.key);
          }
        } else if constexpr (std::is_same_v<T, RemoveTopicRecord>) {
          auto* name = img.topic_names.find(r.topic_id);
          if (!name) return;
          remove_topic(img, std::string(*name));
        } else if constexpr (std::is_same_v<T, RegisterBrokerRecord>) {
          img.brokers[r.broker_id] = BrokerInfo{r.broker_id, r.host, r.port, r.rack};
        } else if constexpr (std::is_same_v<T, ProducerIdsRecord>) {
          img.next_producer_id = std::max(img.next_producer_id, r.next_producer_id);
        } else if constexpr (std::is_same_v<T, ClusterIdRecord>) {
          img.cluster_id = r.cluster_id;
        }
      },
      rec);
}

}  // namespace samsa::cluster
