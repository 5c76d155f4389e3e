// DescribeQuorum (key 55) on the broker listener, for `samsa metadata-quorum`
// and kafka-metadata-quorum.sh. With a quorum, a node that does not lead it
// relays a request that came in on a broker listener to the active controller
// (as Kafka's brokers forward it); on its CONTROLLER listener it answers
// NOT_LEADER_OR_FOLLOWER with its view. Until the quorum driver answers it from the
// Raft core, this node describes the one-voter quorum it runs: itself the
// leader at the metadata log's epoch, the high watermark and its own log end
// offset one past the last metadata record applied, no observers.
#include "protocol/messages/describe_quorum.h"
#include "raft/quorum_description.h"
#include "quorum/quorum_node.h"
#include "server/broker.h"
#include "server/handlers.h"
#include "server/relay_to_controller.h"

namespace samsa::server {

namespace {

// The metadata log's leader and epoch, read on shard 0, which owns the log.
asio::awaitable<raft::LeaderAndEpoch> metadata_leader(Broker& broker) { co_return broker.metadata_log().leader(); }

asio::awaitable<raft::QuorumDescription> quorum_view(quorum::QuorumNode* q) { co_return q->describe(); }

}  // namespace

asio::awaitable<net::Response> handle_describe_quorum(RequestContext& ctx, protocol::Reader& r) {
  auto body = r.raw(r.remaining());
  if (!r.ok()) co_return net::Response{{}, false, true};
  std::string why;
  raft::QuorumDescription d;
  if (!raft::decode_describe_quorum_request(ctx.api_version, body, &why)) {
    protocol::DescribeQuorumRequest req;
    protocol::Reader again(body.data(), body.size());
    req.decode(again, ctx.api_version);
    if (!again.ok()) co_return net::Response{{}, false, true};  // malformed: close, as Kafka
    d.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;            // another partition than __cluster_metadata-0
    d.error_message = why;
    co_return make_response(ctx, raft::describe_quorum_response(d));
  }
  if (auto* q = ctx.broker->quorum()) {
    if (!(ctx.conn && ctx.broker->on_controller_listener(*ctx.conn))) {
      protocol::DescribeQuorumRequest req;
      protocol::Reader again(body.data(), body.size());
      req.decode(again, ctx.api_version);
      using Resp = protocol::DescribeQuorumResponse;
      auto relay = ctx.broker->on_controller(
          relay_unless_controller<protocol::DescribeQuorumRequest, Resp>(ctx.broker, false, req, ctx.api_version));
      auto relayed = co_await std::move(relay);
      if (relayed) co_return make_response(ctx, *relayed);
    }
    // This node's view (a follower answers NOT_LEADER_OR_FOLLOWER).
    auto viewing = ctx.broker->on_controller(quorum_view(q));
    d = co_await std::move(viewing);
    co_return make_response(ctx, raft::describe_quorum_response(d));
  }
  auto reading = ctx.broker->on_controller(metadata_leader(*ctx.broker));
  raft::LeaderAndEpoch leader = co_await std::move(reading);
  NodeId self{ctx.broker->node_id()};
  if (leader.leader != self) {
    d.error = ErrorCode::NOT_LEADER_OR_FOLLOWER;
    co_return make_response(ctx, raft::describe_quorum_response(d));
  }
  Offset end{ctx.shard->image->last_offset + 1};
  int64_t now = ctx.broker->clock().now_ms();
  d.leader_id = self;
  d.leader_epoch = leader.epoch;
  d.high_watermark = end;
  // As Kafka reports the leader: its own log end, fetched and caught up now.
  d.voters.push_back(raft::QuorumReplica{self, {}, end, now, now});
  co_return make_response(ctx, raft::describe_quorum_response(d));
}

}  // namespace samsa::server
