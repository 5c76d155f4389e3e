// The metadata image: an immutable snapshot of the cluster's metadata (brokers,
// topics, partitions, configs), built by replaying the metadata log
// (__cluster_metadata, KRaft style). A new image is built for every change and
// published to all shards; readers hold a shared_ptr and never see it change.
// The topic tables are SharedMaps, so a new image shares every topic it does
// not change with the previous one: building it costs what changed, not the
// number of topics.
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/acl_index.h"
#include "cluster/client_quotas.h"
#include "cluster/scram_credentials.h"
#include "cluster/shared_map.h"
#include "protocol/wire.h"

namespace samsa::cluster {

using protocol::Uuid;

struct UuidHash {
  size_t operator()(const Uuid& u) const noexcept {
    uint64_t h = 1469598103934665603ull;
    for (auto b : u) h = (h ^ b) * 1099511628211ull;
    return h;
  }
};

struct PartitionInfo {
  int32_t partition = 0;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  int8_t leader_recovery_state = 0;  // 1 while recovering from an unclean election
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> removing_replicas;  // reassignment in progress
  std::vector<int32_t> adding_replicas;

  // The image places a replica of this partition on `node` / has it in the ISR.
  bool has_replica(int32_t node) const { return std::find(replicas.begin(), replicas.end(), node) != replicas.end(); }
  bool in_isr(int32_t node) const { return std::find(isr.begin(), isr.end(), node) != isr.end(); }
};

struct TopicInfo {
  std::string name;
  Uuid id{};
  bool internal = false;
  std::vector<PartitionInfo> partitions;
  std::map<std::string, std::string> configs;  // topic-level overrides only
};

// One listener of a registered broker, as its RegisterBrokerRecord names it.
struct BrokerEndpoint {
  std::string name;  // listener name, e.g. PLAINTEXT
  std::string host;
  int32_t port = 0;
  int16_t security_protocol = 0;  // Kafka's SecurityProtocol id (0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL)
  bool operator==(const BrokerEndpoint&) const = default;
};

struct BrokerFeatureRange {
  std::string name;
  int16_t min_supported = 0;
  int16_t max_supported = 0;
  bool operator==(const BrokerFeatureRange&) const = default;
};

struct BrokerInfo {
  int32_t id = -1;
  // The first endpoint's address (where clients of a one-listener broker go).
  std::string host;
  int32_t port = 0;
  std::vector<BrokerEndpoint> endpoints;  // every listener it registered, in its order
  std::vector<BrokerFeatureRange> features;
  std::optional<std::string> rack;
  int64_t epoch = -1;  // the broker epoch of its registration
  Uuid incarnation_id{};
  bool fenced = false;
  bool in_controlled_shutdown = false;

  // The endpoint of the listener `name`, or nullptr.
  const BrokerEndpoint* endpoint(const std::string& name) const {
    for (auto& e : endpoints)
      if (e.name == name) return &e;
    return nullptr;
  }
};

struct MetadataImage {
  std::string cluster_id;  // from meta.properties (MetadataLoader::set_cluster_id), as in Kafka
  int32_t controller_id = -1;
  int64_t last_offset = -1;  // offset of the last metadata record applied
  std::map<int32_t, BrokerInfo> brokers;
  SharedMap<std::string, std::shared_ptr<const TopicInfo>, std::hash<std::string>> topics;  // by name
  SharedMap<Uuid, std::string, UuidHash> topic_names;                                      // id -> name
  // Names with '.' or '_' by their unified form (Kafka's topicsWithCollisionChars),
  // so a new name is checked for collisions without a scan of every topic.
  SharedMap<std::string, std::vector<std::string>, std::hash<std::string>> collision_names;
  int64_t partition_count = 0;  // partitions of all topics
  // Dynamic broker configs: resource name ("" = cluster default, else a node id) -> key -> value.
  std::map<std::string, std::map<std::string, std::string>> broker_configs;
  int64_t next_producer_id = 0;                                    // first id of the next block
  std::map<std::string, int16_t> features;  // finalized feature levels (FeatureLevelRecord), level > 0
  // ACL bindings (AccessControlEntryRecord); null until the first one. Shared
  // with the previous image until an ACL record changes it (acl_index.h).
  std::shared_ptr<const AclIndex> acls;
  // Client quotas (ClientQuotaRecord) by entity, client_quotas.h.
  ClientQuotaMap client_quotas;
  // SCRAM credentials (UserScramCredentialRecord); null until the first one,
  // shared with the previous image until a SCRAM record changes it.
  std::shared_ptr<const ScramCredentialMap> scram;

  const AclIndex& acl_index() const {
    static const AclIndex kEmpty;
    return acls ? *acls : kEmpty;
  }
  // A dynamic broker config as broker `node` sees it: its own layer, else the cluster
  // default; nullptr when neither sets `key` (the static config applies).
  const std::string* dynamic_broker_config(int32_t node, const std::string& key) const {
    for (const std::string& resource : {std::to_string(node), std::string()}) {
      auto layer = broker_configs.find(resource);
      if (layer == broker_configs.end()) continue;
      if (auto v = layer->second.find(key); v != layer->second.end()) return &v->second;
    }
    return nullptr;
  }
  const TopicInfo* find_topic(const std::string& name) const {
    auto* t = topics.find(name);
    return t ? t->get() : nullptr;
  }
  const TopicInfo* find_topic(const Uuid& id) const {
    auto* name = topic_names.find(id);
    return name ? find_topic(*name) : nullptr;
  }
};

using ImagePtr = std::shared_ptr<const MetadataImage>;

// What a published image changed against the previous one, so a shard only
// revisits those topics. `full`: anything may have changed (the first image,
// dynamic broker configs that every topic's log config inherits).
struct ImageDelta {
  bool full = false;
  // The image holds everything the quorum had committed when it was built: the
  // image published at the end of a catch-up, or the replay of a log with no
  // quorum behind it. (A restarted quorum node's first image is not: it
  // replays only what it knew committed.) What is absent from such an image
  // is really gone, e.g. a replica moved away while this broker was down.
  bool complete = false;
  std::vector<std::string> topics;  // created, changed or removed
  bool brokers = false;             // a broker registered, was fenced / unfenced / unregistered
};
using DeltaPtr = std::shared_ptr<const ImageDelta>;

}  // namespace samsa::cluster
