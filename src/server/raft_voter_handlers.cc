// AddRaftVoter (80) and RemoveRaftVoter (81) on the CONTROLLER listener
// (KIP-853; kafka-metadata-quorum.sh add-controller / remove-controller):
// checked here (cluster id, the replica key, the endpoint of the controller
// listener), then answered by the quorum on shard 0 — the leader changes the
// voter set and answers once it is committed; other nodes answer
// NOT_LEADER_OR_FOLLOWER, a static quorum UNSUPPORTED_VERSION (Kafka's
// answers; the responses have no leader hint). On a broker listener
// (`metadata-quorum --bootstrap-server`), a node that is not the active
// controller passes the request on to it and relays its answer, as Kafka's
// brokers forward these requests.
//
// UpdateRaftVoter (82) is what a voter sends the leader when its endpoints
// changed (quorum/quorum_node.h keep_own_entry): CONTROLLER listener only,
// CLUSTER_ACTION on the cluster; the answer carries the leader as this node
// knows it (CurrentLeader), as Kafka's.
#include "server/raft_voter_handlers.h"

#include <algorithm>
#include <optional>

#include "protocol/messages/add_raft_voter.h"
#include "protocol/messages/remove_raft_voter.h"
#include "protocol/messages/update_raft_voter.h"
#include "quorum/quorum_node.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/handlers.h"
#include "server/relay_to_controller.h"

namespace samsa::server {

namespace {

constexpr size_t kMaxVoterListeners = 64;
// A single node without a metadata quorum has no voters to change: a static quorum's answer.
constexpr const char* kNoQuorumMessage =
    "Cluster doesn't support changing voters: this node runs without a KRaft quorum (kraft.version 0)";
constexpr int32_t kDefaultVoterTimeoutMs = 30000;  // a request without a positive timeout
constexpr int32_t kMaxVoterTimeoutMs = 600000;

template <typename Resp>
net::Response answer(RequestContext& ctx, ErrorCode error, std::string message) {
  Resp resp;
  resp.error_code = to_int(error);
  if (!message.empty()) resp.error_message = std::move(message);
  return make_response(ctx, resp);
}

using VoterAnswer = quorum::QuorumMetadataLog::VoterChangeAnswer;

asio::awaitable<VoterAnswer> add_on_shard0(quorum::QuorumNode* q, protocol::kraft::VotersRecord::Voter v,
                                           std::chrono::milliseconds timeout) {
  co_return co_await q->add_voter(std::move(v), timeout);
}

asio::awaitable<quorum::QuorumNode::UpdateVoterAnswer> update_on_shard0(quorum::QuorumNode* q,
                                                                         protocol::kraft::VotersRecord::Voter v,
                                                                         int32_t epoch) {
  co_return co_await q->update_voter(std::move(v), epoch, std::chrono::milliseconds(kDefaultVoterTimeoutMs));
}

asio::awaitable<VoterAnswer> remove_on_shard0(quorum::QuorumNode* q, NodeId id, protocol::Uuid dir,
                                              std::chrono::milliseconds timeout) {
  co_return co_await q->remove_voter(id, dir, timeout);
}

// The relayed answer of a request that came in on a broker listener of a node that is not the active
// controller; nullopt: answered here.
template <typename Req, typename Resp>
asio::awaitable<std::optional<Resp>> relayed_from_broker_listener(RequestContext& ctx, const Req& req) {
  if (ctx.conn && ctx.broker->on_controller_listener(*ctx.conn)) co_return std::nullopt;
  auto op = ctx.broker->on_controller(relay_unless_controller<Req, Resp>(ctx.broker, false, req, ctx.api_version));
  co_return co_await std::move(op);
}

}  // namespace

asio::awaitable<net::Response> handle_add_raft_voter(RequestContext& ctx, protocol::Reader& r) {
  using Resp = protocol::AddRaftVoterResponse;
  protocol::AddRaftVoterRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  if (!authorized_cluster(ctx, AclOperation::ALTER)) co_return answer<Resp>(ctx, ErrorCode::CLUSTER_AUTHORIZATION_FAILED, "");
  auto relay = relayed_from_broker_listener<protocol::AddRaftVoterRequest, Resp>(ctx, req);
  if (auto relayed = co_await std::move(relay)) co_return make_response(ctx, *relayed);
  auto* q = ctx.broker->quorum();
  if (q == nullptr) co_return answer<Resp>(ctx, ErrorCode::UNSUPPORTED_VERSION, kNoQuorumMessage);
  if (req.cluster_id && *req.cluster_id != ctx.broker->cluster_id())
    co_return answer<Resp>(ctx, ErrorCode::INCONSISTENT_CLUSTER_ID, "the cluster id does not match");
  if (req.voter_id < 0 || req.voter_directory_id == protocol::Uuid{})
    co_return answer<Resp>(ctx, ErrorCode::INVALID_REQUEST, "Add voter request didn't include a valid voter");
  if (req.listeners.empty() || req.listeners.size() > kMaxVoterListeners)
    co_return answer<Resp>(ctx, ErrorCode::INVALID_REQUEST, "Add voter request needs 1 to 64 listeners");
  bool has_default = std::any_of(req.listeners.begin(), req.listeners.end(),
                                 [&](const auto& l) { return l.name == q->controller_listener(); });
  if (!has_default)
    co_return answer<Resp>(ctx, ErrorCode::INVALID_REQUEST,
                           "Add voter request didn't include the endpoint for the default listener " +
                               q->controller_listener());
  protocol::kraft::VotersRecord::Voter v;
  v.voter_id = req.voter_id;
  v.voter_directory_id = req.voter_directory_id;
  for (auto& l : req.listeners) v.endpoints.push_back({l.name, l.host, l.port, {}});
  v.k_raft_version_feature.min_supported_version = 0;
  v.k_raft_version_feature.max_supported_version = 1;
  int32_t timeout = req.timeout_ms > 0 ? std::min(req.timeout_ms, kMaxVoterTimeoutMs) : kDefaultVoterTimeoutMs;
  auto op = ctx.broker->on_controller(add_on_shard0(q, std::move(v), std::chrono::milliseconds(timeout)));
  VoterAnswer a = co_await std::move(op);
  co_return answer<Resp>(ctx, a.error, a.error == ErrorCode::NONE ? std::string() : a.message);
}

asio::awaitable<net::Response> handle_remove_raft_voter(RequestContext& ctx, protocol::Reader& r) {
  using Resp = protocol::RemoveRaftVoterResponse;
  protocol::RemoveRaftVoterRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  if (!authorized_cluster(ctx, AclOperation::ALTER)) co_return answer<Resp>(ctx, ErrorCode::CLUSTER_AUTHORIZATION_FAILED, "");
  auto relay = relayed_from_broker_listener<protocol::RemoveRaftVoterRequest, Resp>(ctx, req);
  if (auto relayed = co_await std::move(relay)) co_return make_response(ctx, *relayed);
  auto* q = ctx.broker->quorum();
  if (q == nullptr) co_return answer<Resp>(ctx, ErrorCode::UNSUPPORTED_VERSION, kNoQuorumMessage);
  if (req.cluster_id && *req.cluster_id != ctx.broker->cluster_id())
    co_return answer<Resp>(ctx, ErrorCode::INCONSISTENT_CLUSTER_ID, "the cluster id does not match");
  if (req.voter_id < 0)
    co_return answer<Resp>(ctx, ErrorCode::INVALID_REQUEST, "Remove voter request didn't include a valid voter");
  auto op = ctx.broker->on_controller(remove_on_shard0(q, NodeId(req.voter_id), req.voter_directory_id,
                                                       std::chrono::milliseconds(kDefaultVoterTimeoutMs)));
  VoterAnswer a = co_await std::move(op);
  co_return answer<Resp>(ctx, a.error, a.error == ErrorCode::NONE ? std::string() : a.message);
}

asio::awaitable<net::Response> handle_update_raft_voter(RequestContext& ctx, protocol::Reader& r) {
  using Resp = protocol::UpdateRaftVoterResponse;
  protocol::UpdateRaftVoterRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  auto refuse = [&](ErrorCode e) {
    Resp resp;
    resp.error_code = to_int(e);
    return make_response(ctx, resp);
  };
  if (!authorized_cluster(ctx, AclOperation::CLUSTER_ACTION)) co_return refuse(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  auto* q = ctx.broker->quorum();
  if (q == nullptr) co_return refuse(ErrorCode::UNSUPPORTED_VERSION);
  if (req.cluster_id && *req.cluster_id != ctx.broker->cluster_id()) co_return refuse(ErrorCode::INCONSISTENT_CLUSTER_ID);
  bool has_default = std::any_of(req.listeners.begin(), req.listeners.end(),
                                 [&](const auto& l) { return l.name == q->controller_listener(); });
  if (req.voter_id < 0 || req.voter_directory_id == protocol::Uuid{} || req.listeners.size() > kMaxVoterListeners ||
      !has_default)
    co_return refuse(ErrorCode::INVALID_REQUEST);
  protocol::kraft::VotersRecord::Voter v;
  v.voter_id = req.voter_id;
  v.voter_directory_id = req.voter_directory_id;
  for (auto& l : req.listeners) v.endpoints.push_back({l.name, l.host, l.port, {}});
  v.k_raft_version_feature.min_supported_version = req.k_raft_version_feature.min_supported_version;
  v.k_raft_version_feature.max_supported_version = req.k_raft_version_feature.max_supported_version;
  auto op = ctx.broker->on_controller(update_on_shard0(q, std::move(v), req.current_leader_epoch));
  quorum::QuorumNode::UpdateVoterAnswer a = co_await std::move(op);
  Resp resp;
  resp.error_code = to_int(a.answer.error);
  resp.current_leader.leader_id = a.leader.leader ? a.leader.leader->value : -1;
  resp.current_leader.leader_epoch = a.leader.epoch.value;
  if (a.leader_address) {
    resp.current_leader.host = a.leader_address->host;
    resp.current_leader.port = a.leader_address->port;
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
