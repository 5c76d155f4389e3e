// The requests a CONTROLLER listener (controller.listener.names) serves, in a
// cluster: the quorum RPCs of __cluster_metadata-0 (Vote, BeginQuorumEpoch,
// EndQuorumEpoch, Fetch, FetchSnapshot), answered by the QuorumNode on shard 0;
// DescribeQuorum from this node's quorum view; ApiVersions with the
// controller's API set; and the controller APIs (controller_handlers.h:
// BrokerRegistration, BrokerHeartbeat, UnregisterBroker, AllocateProducerIds,
// and the metadata changes brokers forward, answered NOT_CONTROLLER where this
// node does not lead).
#include <vector>

#include "protocol/api_listeners.h"
#include "protocol/api_registry.h"
#include "protocol/messages/api_versions.h"
#include "quorum/quorum_node.h"
#include "raft/raft_wire.h"
#include "server/broker.h"
#include "server/controller_handlers.h"
#include "server/handlers.h"
#include "server/raft_voter_handlers.h"

namespace samsa::server {

namespace {

// An already encoded body after the response header of `ctx`.
net::Response raw_response(const RequestContext& ctx, std::span<const uint8_t> body) {
  net::Response out;
  out.frame.i32(0);  // size, patched by the connection
  out.frame.i32(ctx.correlation_id);
  if (ctx.flexible) out.frame.uvarint(0);
  out.frame.raw(body);
  return out;
}

// A quorum request: decoded, answered by the Raft core on shard 0, encoded.
asio::awaitable<net::Response> handle_quorum_rpc(RequestContext& ctx, protocol::Reader& r) {
  auto* q = ctx.broker->quorum();
  if (q == nullptr) co_return close_connection();
  auto rest = r.raw(r.remaining());
  std::vector<uint8_t> body(rest.begin(), rest.end());
  auto op = ctx.broker->on_controller(q->handle_request(ctx.api_key, ctx.api_version, std::move(body)));
  auto answer = co_await std::move(op);
  if (!answer) co_return close_connection();  // malformed, or the core gave no answer in time
  co_return raw_response(ctx, *answer);
}

asio::awaitable<raft::QuorumDescription> describe_on_shard0(quorum::QuorumNode* q) { co_return q->describe(); }

// DescribeQuorum on the CONTROLLER listener: this node's view (a follower
// answers NOT_LEADER_OR_FOLLOWER, as Kafka's KafkaRaftClient does).
asio::awaitable<net::Response> handle_controller_describe_quorum(RequestContext& ctx, protocol::Reader& r) {
  auto* q = ctx.broker->quorum();
  auto rest = r.raw(r.remaining());
  if (q == nullptr || !r.ok()) co_return close_connection();
  raft::QuorumDescription d;
  std::string why;
  if (!raft::decode_describe_quorum_request(ctx.api_version, rest, &why)) {
    // Malformed: close, as Kafka; another partition: UNKNOWN_TOPIC_OR_PARTITION.
    if (why.find("only for __cluster_metadata-0") == std::string::npos) co_return close_connection();
    d.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    d.error_message = why;
  } else {
    auto op = ctx.broker->on_controller(describe_on_shard0(q));
    d = co_await std::move(op);
  }
  co_return raw_response(ctx, raft::encode_describe_quorum_response(d, ctx.api_version));
}

asio::awaitable<net::Response> handle_controller_api_versions(RequestContext& ctx, protocol::Reader& r);

}  // namespace

namespace {

constexpr HandlerEntry kQuorumHandlers[] = {
    {1, handle_quorum_rpc},   // Fetch of __cluster_metadata-0 (every version the schema has)
    {17, handle_sasl_handshake},     // a SASL_* CONTROLLER listener: brokers and controllers log in first
    {18, handle_controller_api_versions},
    {52, handle_quorum_rpc},  // Vote
    {53, handle_quorum_rpc},  // BeginQuorumEpoch
    {54, handle_quorum_rpc},  // EndQuorumEpoch
    {36, handle_sasl_authenticate},
    {55, handle_controller_describe_quorum},
    {59, handle_quorum_rpc},  // FetchSnapshot
    {80, handle_add_raft_voter, 0},  // v1's ack_when_committed=false is not served
    {81, handle_remove_raft_voter},
    {82, handle_update_raft_voter},
};

asio::awaitable<net::Response> handle_controller_api_versions(RequestContext& ctx, protocol::Reader& r) {
  protocol::ApiVersionsRequest req;
  req.decode(r, ctx.api_version);
  std::vector<protocol::ServedApi> served;
  for (auto& h : kQuorumHandlers) served.push_back({h.api_key, h.max_version});
  for (auto& h : controller_listener_handlers()) served.push_back({h.api_key, h.max_version});
  co_return make_response(ctx, protocol::api_versions_for(protocol::ApiListener::controller, served));
}

}  // namespace

const HandlerEntry* find_controller_handler(int16_t api_key) {
  for (auto& h : kQuorumHandlers)
    if (h.api_key == api_key) return &h;
  for (auto& h : controller_listener_handlers())
    if (h.api_key == api_key) return &h;
  return nullptr;
}

}  // namespace samsa::server
