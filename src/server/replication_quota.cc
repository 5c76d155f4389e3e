// Replication throttles (replication_quota.h).
#include "server/replication_quota.h"

#include "config/config_registry.h"

namespace samsa::server {

bool ReplicationQuota::exceeded(int64_t now_ms) {
  const int64_t bound = limit();
  if (bound == kUnlimited) return false;
  std::lock_guard lock(mu_);
  return rate_.rate(now_ms) > static_cast<double>(bound);
}

void ReplicationQuota::record(int64_t bytes, int64_t now_ms) {
  if (bytes <= 0) return;
  std::lock_guard lock(mu_);
  rate_.record(static_cast<double>(bytes), now_ms);
}

double ReplicationQuota::rate(int64_t now_ms) {
  std::lock_guard lock(mu_);
  return rate_.rate(now_ms);
}

namespace {
// The broker's own layer, else the cluster default, else unlimited.
int64_t bound_of(const cluster::MetadataImage& image, int32_t node, const std::string& key) {
  for (const std::string& resource : {std::to_string(node), std::string()}) {
    auto layer = image.broker_configs.find(resource);
    if (layer == image.broker_configs.end()) continue;
    auto v = layer->second.find(key);
    if (v == layer->second.end()) continue;
    if (auto n = config::parse_int64(v->second); n && *n >= 0) return *n;
  }
  return ReplicationQuota::kUnlimited;
}
}  // namespace

void ReplicationQuotas::apply(const cluster::MetadataImage& image, int32_t node) {
  leader.set_limit(bound_of(image, node, "leader.replication.throttled.rate"));
  follower.set_limit(bound_of(image, node, "follower.replication.throttled.rate"));
  alter_log_dirs.set_limit(bound_of(image, node, "replica.alter.log.dirs.io.max.bytes.per.second"));
}

bool replica_throttled(std::string_view list, int32_t partition, int32_t broker) {
  list = config::trim(list);
  if (list == "*") return true;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = config::trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) continue;
    auto p = config::parse_int64(config::trim(item.substr(0, colon)));
    auto b = config::parse_int64(config::trim(item.substr(colon + 1)));
    if (p && b && *p == partition && *b == broker) return true;
  }
  return false;
}

bool replica_throttled(const cluster::MetadataImage& image, const TopicPartition& tp, std::string_view key,
                       int32_t broker) {
  const auto* topic = image.find_topic(tp.topic);
  if (!topic) return false;
  auto it = topic->configs.find(std::string(key));
  return it != topic->configs.end() && replica_throttled(it->second, tp.partition, broker);
}

}  // namespace samsa::server
