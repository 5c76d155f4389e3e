#include "server/replica_fetcher_logic.h"

#include <algorithm>

#include "protocol/batch_header.h"
#include "server/cluster_routing.h"

namespace samsa::server {

std::optional<FollowTarget> follow_target(const cluster::MetadataImage& image, NodeId self,
                                          const TopicPartition& tp, const protocol::Uuid& topic_id) {
  const cluster::TopicInfo* topic = image.find_topic(tp.topic);
  if (!topic || topic->id != topic_id) return std::nullopt;
  if (tp.partition < 0 || static_cast<size_t>(tp.partition) >= topic->partitions.size()) return std::nullopt;
  const cluster::PartitionInfo& p = topic->partitions[tp.partition];
  if (p.leader < 0 || p.leader == self.value) return std::nullopt;
  if (!p.has_replica(self.value)) return std::nullopt;
  if (!is_live_broker(image, p.leader)) return std::nullopt;
  return FollowTarget{NodeId(p.leader), Epoch(p.leader_epoch)};
}

std::optional<BrokerAddress> inter_broker_address(const cluster::BrokerInfo& broker, const std::string& listener,
                                                  const std::vector<std::string>& controller_listeners) {
  auto usable = [](const cluster::BrokerEndpoint& e) { return e.port > 0 && e.port <= 65535 && !e.host.empty(); };
  if (const auto* e = broker.endpoint(listener); e && usable(*e))
    return BrokerAddress{e->host, static_cast<uint16_t>(e->port)};
  for (const auto& e : broker.endpoints) {
    const bool controller =
        std::find(controller_listeners.begin(), controller_listeners.end(), e.name) != controller_listeners.end();
    if (!controller && usable(e)) return BrokerAddress{e.host, static_cast<uint16_t>(e.port)};
  }
  return std::nullopt;
}

size_t whole_batches_prefix(std::span<const uint8_t> records) {
  size_t pos = 0;
  // Each step consumes at least one batch header, so at most size / 61 steps.
  while (records.size() - pos >= protocol::batch::kHeaderSize) {
    const int32_t length = protocol::load_be32(records.data() + pos + protocol::batch::kLength);
    // A batchLength that cannot hold a header is not a batch: stop, the log's
    // own check refuses what follows if it was sent as whole.
    if (length < static_cast<int32_t>(protocol::batch::kHeaderSize - protocol::batch::kLogOverhead)) break;
    const size_t total = static_cast<size_t>(length) + protocol::batch::kLogOverhead;
    if (total > records.size() - pos) break;
    pos += total;
  }
  return pos;
}

FetchAction decide(const FetchedPartition& resp) {
  switch (resp.error) {
    case ErrorCode::NONE:
      break;
    case ErrorCode::OFFSET_OUT_OF_RANGE:
      return FetchAction::kOutOfRange;
    case ErrorCode::FENCED_LEADER_EPOCH:
      return FetchAction::kFenced;
    default:  // NOT_LEADER_OR_FOLLOWER, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION, storage errors...
      return FetchAction::kBackoff;
  }
  // KIP-320: a DivergingEpoch comes without records; the follower truncates first.
  if (resp.diverging.epoch.value >= 0 && resp.diverging.end_offset.value >= 0) return FetchAction::kTruncateDiverging;
  if (resp.record_bytes > 0) return FetchAction::kAppend;
  // Bytes but not one whole batch: the leader cut its first batch short
  // (our partition max bytes is below one of its batches). Kafka's leader
  // always sends the first batch whole; retrying at once would spin.
  if (resp.raw_record_bytes > 0) return FetchAction::kBackoff;
  return FetchAction::kHighWatermark;
}

OutOfRangeAction out_of_range_action(Offset fetch_offset, Offset local_log_end, Offset local_high_watermark,
                                     Offset leader_log_start, Offset leader_high_watermark) {
  if (leader_log_start.value >= 0 && fetch_offset < leader_log_start)
    return {OutOfRangeAction::kStartAt, leader_log_start};
  Offset to = std::min(local_high_watermark, local_log_end);
  if (leader_high_watermark.value >= 0) to = std::min(to, leader_high_watermark);
  return {OutOfRangeAction::kTruncateTo, std::max(to, Offset(0))};
}

}  // namespace samsa::server
