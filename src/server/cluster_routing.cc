#include "server/cluster_routing.h"

#include <algorithm>

namespace samsa::server {

bool is_live_broker(const cluster::MetadataImage& image, int32_t id) {
  auto it = image.brokers.find(id);
  return it != image.brokers.end() && !it->second.fenced;
}

std::vector<const cluster::BrokerInfo*> live_brokers(const cluster::MetadataImage& image) {
  std::vector<const cluster::BrokerInfo*> out;
  for (auto& [id, b] : image.brokers)
    if (!b.fenced) out.push_back(&b);
  return out;
}

int32_t controller_id_for_clients(const cluster::MetadataImage& image, int32_t self) {
  if (is_live_broker(image, image.controller_id)) return image.controller_id;
  if (is_live_broker(image, self)) return self;
  for (auto& [id, b] : image.brokers)
    if (!b.fenced) return id;
  return -1;
}

std::vector<int32_t> offline_replicas(const cluster::MetadataImage& image, const cluster::PartitionInfo& p) {
  std::vector<int32_t> out;
  for (int32_t r : p.replicas)
    if (!is_live_broker(image, r)) out.push_back(r);
  return out;
}

int32_t visible_leader(const cluster::MetadataImage& image, const cluster::PartitionInfo& p) {
  return p.leader >= 0 && image.brokers.count(p.leader) ? p.leader : -1;
}

const cluster::PartitionInfo* find_partition(const cluster::MetadataImage& image, const TopicPartition& tp) {
  auto* t = image.find_topic(tp.topic);
  if (!t || tp.partition < 0 || static_cast<size_t>(tp.partition) >= t->partitions.size()) return nullptr;
  return &t->partitions[tp.partition];
}

std::optional<int32_t> leader_elsewhere(const cluster::MetadataImage& image, const TopicPartition& tp, int32_t self) {
  const auto* p = find_partition(image, tp);
  if (!p || p->leader < 0 || p->leader == self) return std::nullopt;
  return p->leader;
}

ErrorCode leader_error(const cluster::MetadataImage& image, int32_t node, const TopicPartition& tp) {
  auto* p = find_partition(image, tp);
  if (!p) return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  return p->leader == node ? ErrorCode::NONE : ErrorCode::NOT_LEADER_OR_FOLLOWER;
}

std::optional<LeaderAndEpoch> current_leader(const cluster::MetadataImage& image, const TopicPartition& tp) {
  auto* p = find_partition(image, tp);
  if (!p) return std::nullopt;
  return LeaderAndEpoch{visible_leader(image, *p), p->leader_epoch};
}

const cluster::BrokerInfo* coordinator_broker(const cluster::MetadataImage& image, const TopicPartition& tp) {
  auto* p = find_partition(image, tp);
  if (!p || p->leader < 0) return nullptr;
  auto it = image.brokers.find(p->leader);
  if (it == image.brokers.end() || it->second.fenced) return nullptr;
  return &it->second;
}

std::optional<int16_t> internal_topic_replication_factor(const cluster::MetadataImage& image, int16_t configured,
                                                         bool single_node) {
  size_t live = live_brokers(image).size();
  if (single_node) return static_cast<int16_t>(std::clamp<size_t>(live, 1, std::max<int16_t>(configured, 1)));
  if (configured <= 0 || live < static_cast<size_t>(configured)) return std::nullopt;
  return configured;
}

}  // namespace samsa::server
