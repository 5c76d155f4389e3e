// A partition leader's ISR changes reaching the controller (Kafka's
// AlterPartitionManager, one request per proposal): the proposal becomes an
// AlterPartition v3 (topic id, each member with the broker epoch the leader saw
// it fetch with) carrying this broker's registration epoch; on the node that
// is the active controller it runs on its Controller directly, elsewhere it
// goes over the controller channel. The answer for the partition goes back to
// the partition on its shard; a lost answer is left to the partition's timer,
// which sends the same proposal again.
//
// Threads: send_isr_proposal on the partition's shard; alter_isr on shard 0
// (the controller and its channel live there); the replication timer on each
// shard.
#include <spdlog/spdlog.h>

#include "protocol/api_registry.h"
#include "server/broker.h"
#include "server/controller_forwarding.h"

namespace samsa::server {

namespace {

cluster::AlterPartitionRequest request_of(NodeId broker, int64_t broker_epoch, const TopicPartition& tp,
                                          const protocol::Uuid& topic_id, const replication::IsrProposal& p) {
  cluster::AlterPartitionRequest req;
  req.broker = broker;
  req.broker_epoch = broker_epoch;
  req.version = kAlterPartitionVersion;
  auto& t = req.topics.emplace_back();
  t.name = tp.topic;
  t.id = topic_id;
  auto& item = t.partitions.emplace_back();
  item.partition = tp.partition;
  item.leader_epoch = p.leader_epoch.value;
  item.partition_epoch = p.partition_epoch.value;
  for (auto& m : p.new_isr) item.new_isr.push_back({m.id.value, m.broker_epoch});
  return req;
}

// The answer for proposal `id` of `tp`: the partition's result, or the
// request's error when the whole request failed (or the partition is missing).
replication::IsrAnswer answer_of(const cluster::AlterPartitionResponse& resp, const TopicPartition& tp,
                                 const protocol::Uuid& topic_id, uint64_t id) {
  replication::IsrAnswer a;
  a.id = id;
  a.error = resp.error != ErrorCode::NONE ? resp.error : ErrorCode::UNKNOWN_SERVER_ERROR;
  if (resp.error != ErrorCode::NONE) return a;
  for (auto& t : resp.topics) {
    if (t.id != topic_id && t.name != tp.topic) continue;
    for (auto& p : t.partitions) {
      if (p.partition != tp.partition) continue;
      a.error = p.error;
      a.leader_epoch = Epoch(p.leader_epoch);
      a.partition_epoch = replication::PartitionEpoch(p.partition_epoch);
      for (int32_t id32 : p.isr) a.isr.push_back(NodeId(id32));
      return a;
    }
  }
  return a;
}

}  // namespace

void Broker::send_isr_proposal(Shard& s, Partition& p, const replication::IsrProposal& proposal) {
  if (stopping_) return;
  asio::co_spawn(shards_[0]->io, alter_isr(s.id, p.tp(), p.topic_id(), proposal), asio::detached);
}

asio::awaitable<void> Broker::alter_isr(int shard, TopicPartition tp, protocol::Uuid topic_id,
                                        replication::IsrProposal proposal) {
  auto req = request_of(NodeId(settings_.node_id), broker_epoch(), tp, topic_id, proposal);
  cluster::AlterPartitionResponse resp;
  if (controller_here()) {
    auto op = controller_->alter_partition(req);
    resp = co_await std::move(op);
  } else {
    auto call = call_controller(protocol::api_key::AlterPartition, kAlterPartitionVersion, encode_alter_partition(req));
    auto body = co_await std::move(call);
    if (!body) co_return;  // no controller answered: the partition's timer sends it again
    resp = decode_alter_partition(*body, kAlterPartitionVersion);
  }
  auto answer = answer_of(resp, tp, topic_id, proposal.id);
  Shard* target = shards_[shard].get();
  asio::post(target->io, [target, tp, answer] {
    if (auto* part = target->find(tp)) part->on_isr_answer(answer);
  });
}

// Every replica.lag.time.max.ms / 2 (Kafka's isr-expiration task): leaders
// drop followers that stopped catching up and resend lost proposals.
void Broker::schedule_replication_tick(Shard& s) {
  if (stopping_) return;
  auto& timer = *replication_timers_[s.id];
  const int64_t every = std::clamp<int64_t>(settings_.replica_lag_time_max_ms / 2, 50, 15000);
  timer.expires_after(std::chrono::milliseconds(every));
  Shard* sp = &s;
  timer.async_wait([this, sp](const asio::error_code& ec) {
    if (ec || stopping_) return;
    sp->replicas->tick();
    schedule_replication_tick(*sp);
  });
}

}  // namespace samsa::server
