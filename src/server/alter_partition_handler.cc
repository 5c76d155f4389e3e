#include "server/alter_partition_handler.h"

#include "server/authz.h"
#include "server/broker.h"

namespace samsa::server {

cluster::AlterPartitionRequest alter_partition_request_of(const protocol::AlterPartitionRequest& req, int16_t version) {
  cluster::AlterPartitionRequest out;
  out.broker = NodeId(req.broker_id);
  out.broker_epoch = req.broker_epoch;
  out.version = version;
  for (auto& t : req.topics) {
    auto& ot = out.topics.emplace_back();
    ot.name = t.topic_name;
    ot.id = t.topic_id;
    for (auto& p : t.partitions) {
      auto& item = ot.partitions.emplace_back();
      item.partition = p.partition_index;
      item.leader_epoch = p.leader_epoch;
      // Below v3 the ISR is ids only: no broker epoch to check (-1).
      if (version >= 3)
        for (auto& m : p.new_isr_with_epochs) item.new_isr.push_back({m.broker_id, m.broker_epoch});
      else
        for (auto id : p.new_isr) item.new_isr.push_back({id, -1});
      item.leader_recovery_state = p.leader_recovery_state;
      item.partition_epoch = p.partition_epoch;
    }
  }
  return out;
}

protocol::AlterPartitionResponse alter_partition_response_of(const cluster::AlterPartitionResponse& resp) {
  protocol::AlterPartitionResponse out;
  out.error_code = to_int(resp.error);
  for (auto& t : resp.topics) {
    auto& ot = out.topics.emplace_back();
    ot.topic_name = t.name;
    ot.topic_id = t.id;
    for (auto& p : t.partitions) {
      auto& op = ot.partitions.emplace_back();
      op.partition_index = p.partition;
      op.error_code = to_int(p.error);
      op.leader_id = p.leader;
      op.leader_epoch = p.leader_epoch;
      op.isr = p.isr;
      op.leader_recovery_state = p.leader_recovery_state;
      op.partition_epoch = p.partition_epoch;
    }
  }
  return out;
}

asio::awaitable<protocol::AlterPartitionResponse> serve_alter_partition(cluster::Controller& controller,
                                                                        protocol::AlterPartitionRequest req,
                                                                        int16_t version) {
  auto op = controller.alter_partition(alter_partition_request_of(req, version));
  auto resp = co_await std::move(op);
  co_return alter_partition_response_of(resp);
}

asio::awaitable<net::Response> handle_alter_partition(RequestContext& ctx, protocol::Reader& r) {
  protocol::AlterPartitionRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  // Brokers only (Kafka: CLUSTER_ACTION on the cluster), refused whole.
  if (!authorized_cluster(ctx, AclOperation::CLUSTER_ACTION)) {
    protocol::AlterPartitionResponse denied;
    denied.error_code = to_int(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    co_return make_response(ctx, denied);
  }
  auto& broker = *ctx.broker;
  auto op = broker.on_controller(serve_alter_partition(broker.controller(), std::move(req), ctx.api_version));
  auto resp = co_await std::move(op);
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
