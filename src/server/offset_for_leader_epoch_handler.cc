// OffsetForLeaderEpoch (key 23): where a leader epoch ended in this leader's
// log, from the partition's leader-epoch cache. A follower (or a returning old
// leader) asks it with its latest epoch and truncates to the answer; a consumer
// (KIP-320) uses it to detect that its position was truncated away.
//
// As Kafka answers it (ReplicaManager.lastOffsetForLeaderEpoch): CLUSTER_ACTION
// on the cluster covers every topic, otherwise DESCRIBE on each topic
// (TOPIC_AUTHORIZATION_FAILED); an offline log dir KAFKA_STORAGE_ERROR;
// current_leader_epoch (v2+) is checked first (FENCED_LEADER_EPOCH /
// UNKNOWN_LEADER_EPOCH), then leadership (NOT_LEADER_OR_FOLLOWER; unknown
// partitions UNKNOWN_TOPIC_OR_PARTITION). The answer is the largest epoch <=
// the requested one and its end offset — the start offset of the next larger
// epoch, or the log end for the latest — or UNDEFINED (-1, -1) with no error
// when the epoch is above the latest or the log has no epochs. The replica_id
// (v3+) changes nothing: only the leader answers, for consumers and followers.
#include "protocol/messages/offset_for_leader_epoch.h"
#include "replication/partition.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/broker_metrics.h"
#include "server/cluster_routing.h"
#include "server/fan_out.h"
#include "server/handlers.h"

namespace samsa::server {

namespace {

struct EpochQuery {
  TopicPartition tp;
  int32_t current_leader_epoch = -1;
  int32_t leader_epoch = -1;
  ErrorCode error = ErrorCode::NONE;  // before the shard: routing
  storage::EpochEndOffset answer;
  size_t ti = 0, pi = 0;
};

void answer(Partition* part, EpochQuery& q) {
  if (!part) {
    if (q.error == ErrorCode::NONE) q.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    return;
  }
  if (part->offline()) {
    q.error = ErrorCode::KAFKA_STORAGE_ERROR;
    return;
  }
  if (ErrorCode fenced = part->check_leader_epoch(Epoch(q.current_leader_epoch)); fenced != ErrorCode::NONE) {
    q.error = fenced;
    return;
  }
  if (q.error != ErrorCode::NONE) return;  // a follower here: not the leader
  q.answer = part->end_offset_for_epoch(Epoch(q.leader_epoch));
}

}  // namespace

asio::awaitable<net::Response> handle_offset_for_leader_epoch(RequestContext& ctx, protocol::Reader& r) {
  protocol::OffsetForLeaderEpochRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  const bool cluster_action = authorized_cluster(ctx, AclOperation::CLUSTER_ACTION);
  protocol::OffsetForLeaderEpochResponse resp;
  std::vector<EpochQuery> work;
  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    const auto& t = req.topics[ti];
    auto& tr = resp.topics.emplace_back();
    tr.topic = t.topic;
    tr.partitions.resize(t.partitions.size());
    const bool allowed = cluster_action || authorized_topic(ctx, AclOperation::DESCRIBE, t.topic);
    for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
      const auto& p = t.partitions[pi];
      auto& pr = tr.partitions[pi];
      pr.partition = p.partition;
      if (!allowed) {
        pr.error_code = to_int(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
        record_response_error(ctx.api_key, ErrorCode::TOPIC_AUTHORIZATION_FAILED);
        continue;
      }
      EpochQuery q;
      q.tp = TopicPartition{t.topic, p.partition};
      q.current_leader_epoch = p.current_leader_epoch;
      q.leader_epoch = p.leader_epoch;
      q.error = leader_error(*ctx.shard->image, ctx.broker->node_id(), q.tp);
      q.ti = ti;
      q.pi = pi;
      work.push_back(std::move(q));
    }
  }
  auto op = for_each_partition(*ctx.broker, work, answer);
  co_await std::move(op);
  for (const auto& q : work) {
    auto& pr = resp.topics[q.ti].partitions[q.pi];
    pr.error_code = to_int(q.error);
    record_response_error(ctx.api_key, q.error);
    if (q.error != ErrorCode::NONE) continue;
    pr.leader_epoch = q.answer.epoch;
    pr.end_offset = q.answer.end_offset;
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
