// KIP-951 leader hints, shared by Fetch (v12+ CurrentLeader, v16+ NodeEndpoints) and Produce
// (v10+ both): a partition answered NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH names its
// current leader and epoch, and the response lists the endpoints of the leaders it named, so
// the client goes there without a Metadata round trip. The generated response types differ
// per API (FetchResponse::LeaderIdAndEpoch, ProduceResponse::LeaderIdAndEpoch, ...), hence
// the templates; they only need `leader_id`/`leader_epoch` and `node_id`/`host`/`port`/`rack`.
#pragma once
#include <cstdint>
#include <set>
#include <vector>

#include "base/error_code.h"
#include "cluster/metadata_image.h"
#include "server/cluster_routing.h"
#include "server/handlers.h"
#include "server/topic_partition.h"

namespace samsa::server {

// The errors that carry a leader hint (Kafka's: the client was sent to the wrong broker).
inline bool wants_leader_hint(ErrorCode e) {
  return e == ErrorCode::NOT_LEADER_OR_FOLLOWER || e == ErrorCode::FENCED_LEADER_EPOCH;
}

// Fills `out` (a CurrentLeader struct) for a partition answered `error`. Nothing when the
// error carries no hint or the image has no such partition; a partition without a visible
// leader is named -1. The response lists the endpoints of the leaders (>= 0) of the partitions
// it carries (an incremental Fetch leaves some out): fill_leader_endpoints.
template <typename LeaderIdAndEpoch>
void fill_current_leader(const cluster::MetadataImage& image, const TopicPartition& tp, ErrorCode error,
                         LeaderIdAndEpoch& out) {
  if (!wants_leader_hint(error)) return;
  auto leader = current_leader(image, tp);
  if (!leader) return;
  out.leader_id = leader->leader;
  out.leader_epoch = leader->epoch;
}

// The endpoints of `leaders` on this request's listener (brokers the image no longer has are
// left out), in node id order.
template <typename NodeEndpoint>
void fill_leader_endpoints(const RequestContext& ctx, const cluster::MetadataImage& image,
                           const std::set<int32_t>& leaders, std::vector<NodeEndpoint>& out) {
  for (int32_t id : leaders) {
    auto b = image.brokers.find(id);
    if (b == image.brokers.end()) continue;
    auto& ep = out.emplace_back();
    ep.node_id = id;
    broker_endpoint(ctx, b->second, ep.host, ep.port);
    ep.rack = b->second.rack;
  }
}

}  // namespace samsa::server
