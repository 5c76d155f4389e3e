// Vote, BeginQuorumEpoch, EndQuorumEpoch and FetchSnapshot on the wire, and
// the dispatch by API key (Fetch is in raft_wire_fetch.cc).
#include "raft/raft_wire.h"

#include "protocol/api_registry.h"
#include "protocol/messages/begin_quorum_epoch.h"
#include "protocol/messages/end_quorum_epoch.h"
#include "protocol/messages/fetch.h"
#include "protocol/messages/fetch_snapshot.h"
#include "protocol/messages/vote.h"
#include "raft/raft_wire_internal.h"

namespace samsa::raft {

namespace wire {

bool set_error(std::string* out, std::string text) {
  if (out) *out = std::move(text);
  return false;
}

std::optional<std::string> cluster_id_of(const WireContext& ctx) {
  if (ctx.cluster_id.empty()) return std::nullopt;
  return ctx.cluster_id;
}

bool cluster_matches(const WireContext& ctx, const std::optional<std::string>& sent) {
  // Kafka's rule: a request without a cluster id is accepted (older senders).
  return ctx.cluster_id.empty() || !sent.has_value() || *sent == ctx.cluster_id;
}

std::optional<NodeId> leader_of(int32_t id) {
  if (id < 0) return std::nullopt;
  return NodeId{id};
}

ErrorCode error_of(int16_t code) { return static_cast<ErrorCode>(code); }

bool is_top_level(ErrorCode e) {
  return e == ErrorCode::INCONSISTENT_CLUSTER_ID || e == ErrorCode::INVALID_REQUEST ||
         e == ErrorCode::CLUSTER_AUTHORIZATION_FAILED || e == ErrorCode::UNSUPPORTED_VERSION;
}

}  // namespace wire

namespace {

using namespace wire;

// ---- Vote ----

void to_wire(const WireContext& ctx, const VoteRequest& m, NodeId to, protocol::VoteRequest& out) {
  out.cluster_id = cluster_id_of(ctx);
  out.voter_id = to.value;
  auto& t = out.topics.emplace_back();
  t.topic_name = kMetadataTopic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.replica_epoch = m.replica_epoch.value;
  p.replica_id = m.replica_id.value;
  p.last_offset_epoch = m.last_offset_epoch.value;
  p.last_offset = m.last_offset.value;
  p.pre_vote = m.pre_vote;
}

VoteRequest from_wire(const protocol::VoteRequest::PartitionData& p) {
  VoteRequest m;
  m.replica_epoch = Epoch{p.replica_epoch};
  m.replica_id = NodeId{p.replica_id};
  m.last_offset_epoch = Epoch{p.last_offset_epoch};
  m.last_offset = Offset{p.last_offset};
  m.pre_vote = p.pre_vote;
  return m;
}

template <typename Resp>
void fill_epoch_partition(Resp& out, ErrorCode error, const std::optional<NodeId>& leader, Epoch epoch) {
  auto& t = out.topics.emplace_back();
  t.topic_name = kMetadataTopic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.error_code = to_int(error);
  p.leader_id = leader ? leader->value : -1;
  p.leader_epoch = epoch.value;
}

int16_t pick(int16_t version, int16_t highest) { return version < 0 ? highest : version; }

// ---- requests ----

WireRequest encode_request(const WireContext& ctx, const VoteRequest& m, int16_t version, NodeId to) {
  int16_t v = pick(version, kVoteVersion);
  if (m.pre_vote && v < 2) return {};  // a pre-vote read as a vote would bump nothing but still be wrong
  protocol::VoteRequest out;
  to_wire(ctx, m, to, out);
  return {protocol::api_key::Vote, v, encode_body(out, v)};
}

WireRequest encode_request(const WireContext& ctx, const BeginQuorumEpochRequest& m, int16_t version, NodeId to) {
  int16_t v = pick(version, kBeginQuorumEpochVersion);
  protocol::BeginQuorumEpochRequest out;
  out.cluster_id = cluster_id_of(ctx);
  out.voter_id = to.value;
  auto& t = out.topics.emplace_back();
  t.topic_name = kMetadataTopic;
  auto& p = t.partitions.emplace_back();
  p.leader_id = m.leader_id.value;
  p.leader_epoch = m.leader_epoch.value;
  return {protocol::api_key::BeginQuorumEpoch, v, encode_body(out, v)};
}

WireRequest encode_request(const WireContext& ctx, const EndQuorumEpochRequest& m, int16_t version, NodeId) {
  int16_t v = pick(version, kEndQuorumEpochVersion);
  protocol::EndQuorumEpochRequest out;
  out.cluster_id = cluster_id_of(ctx);
  auto& t = out.topics.emplace_back();
  t.topic_name = kMetadataTopic;
  auto& p = t.partitions.emplace_back();
  p.leader_id = m.leader_id.value;
  p.leader_epoch = m.leader_epoch.value;
  for (NodeId id : m.preferred_successors) {
    p.preferred_successors.push_back(id.value);
    p.preferred_candidates.emplace_back().candidate_id = id.value;
  }
  return {protocol::api_key::EndQuorumEpoch, v, encode_body(out, v)};
}

WireRequest encode_request(const WireContext& ctx, const FetchSnapshotRequest& m, int16_t version, NodeId) {
  int16_t v = pick(version, kFetchSnapshotVersion);
  protocol::FetchSnapshotRequest out;
  out.cluster_id = cluster_id_of(ctx);
  out.replica_id = m.replica_id.value;
  out.max_bytes = m.max_bytes;
  auto& t = out.topics.emplace_back();
  t.name = kMetadataTopic;
  auto& p = t.partitions.emplace_back();
  p.partition = 0;
  p.current_leader_epoch = m.current_leader_epoch.value;
  p.snapshot_id.end_offset = m.snapshot_id.end_offset.value;
  p.snapshot_id.epoch = m.snapshot_id.epoch.value;
  p.position = m.position;
  return {protocol::api_key::FetchSnapshot, v, encode_body(out, v)};
}

WireRequest encode_request(const WireContext& ctx, const FetchRequest& m, int16_t version, NodeId) {
  return encode_fetch_request(ctx, m, version);
}

template <typename T>
WireRequest encode_request(const WireContext&, const T&, int16_t, NodeId) {
  return {};  // a response kind: not a request
}

// Decodes a quorum request and finds its one partition. Null when the body is
// malformed (out.error set) or names anything but __cluster_metadata-0, or
// another cluster (out.refusal set).
template <typename Req>
const auto* the_partition(Req& req, const WireContext* ctx, int16_t v, std::span<const uint8_t> body,
                          DecodedRaftRequest& out) {
  using Partition = typename decltype(req.topics[0].partitions)::value_type;
  const Partition* none = nullptr;
  if (!decode_body(req, v, body, &out.error)) return none;
  if (ctx && !cluster_matches(*ctx, req.cluster_id)) out.refusal = ErrorCode::INCONSISTENT_CLUSTER_ID;
  if (req.topics.size() != 1 || req.topics[0].partitions.size() != 1) return refuse(out), none;
  const auto& t = req.topics[0];
  const Partition& p = t.partitions[0];
  bool ours;
  if constexpr (requires { t.topic_name; }) {
    ours = t.topic_name == kMetadataTopic && p.partition_index == 0;
  } else {  // FetchSnapshot's names
    ours = t.name == kMetadataTopic && p.partition == 0;
  }
  if (!ours) return refuse(out), none;
  return &p;
}

std::optional<MessageBody> decode_vote(const WireContext* ctx, int16_t v, std::span<const uint8_t> body,
                                       DecodedRaftRequest& out) {
  protocol::VoteRequest req;
  auto* p = the_partition(req, ctx, v, body, out);
  if (!p) return std::nullopt;
  return MessageBody{from_wire(*p)};
}

std::optional<MessageBody> decode_begin(const WireContext* ctx, int16_t v, std::span<const uint8_t> body,
                                        DecodedRaftRequest& out) {
  protocol::BeginQuorumEpochRequest req;
  auto* p = the_partition(req, ctx, v, body, out);
  if (!p) return std::nullopt;
  return MessageBody{BeginQuorumEpochRequest{NodeId{p->leader_id}, Epoch{p->leader_epoch}}};
}

std::optional<MessageBody> decode_end(const WireContext* ctx, int16_t v, std::span<const uint8_t> body,
                                      DecodedRaftRequest& out) {
  protocol::EndQuorumEpochRequest req;
  auto* p = the_partition(req, ctx, v, body, out);
  if (!p) return std::nullopt;
  EndQuorumEpochRequest m{NodeId{p->leader_id}, Epoch{p->leader_epoch}, {}};
  if (v == 0) {
    for (int32_t id : p->preferred_successors) m.preferred_successors.push_back(NodeId{id});
  } else {
    for (auto& c : p->preferred_candidates) m.preferred_successors.push_back(NodeId{c.candidate_id});
  }
  return MessageBody{std::move(m)};
}

std::optional<MessageBody> decode_fetch_snapshot(const WireContext* ctx, int16_t v, std::span<const uint8_t> body,
                                                 DecodedRaftRequest& out) {
  protocol::FetchSnapshotRequest req;
  auto* p = the_partition(req, ctx, v, body, out);
  if (!p) return std::nullopt;
  FetchSnapshotRequest m;
  m.replica_id = NodeId{req.replica_id};
  m.current_leader_epoch = Epoch{p->current_leader_epoch};
  m.snapshot_id = SnapshotId{Offset{p->snapshot_id.end_offset}, Epoch{p->snapshot_id.epoch}};
  m.position = p->position;
  m.max_bytes = req.max_bytes;
  return MessageBody{m};
}

// ---- responses ----

protocol::Bytes encode_response(int16_t v, const VoteResponse& m) {
  if (is_top_level(m.error)) return error_only<protocol::VoteResponse>(v, m.error);
  protocol::VoteResponse out;
  fill_epoch_partition(out, m.error, m.leader_id, m.leader_epoch);
  out.topics[0].partitions[0].vote_granted = m.vote_granted;
  return encode_body(out, v);
}

template <typename Resp>
protocol::Bytes encode_epoch_response(int16_t v, const QuorumEpochResponse& m) {
  if (is_top_level(m.error)) return error_only<Resp>(v, m.error);
  Resp out;
  fill_epoch_partition(out, m.error, m.leader_id, m.leader_epoch);
  return encode_body(out, v);
}

protocol::Bytes encode_response(int16_t v, const FetchSnapshotResponse& m) {
  if (is_top_level(m.error)) return error_only<protocol::FetchSnapshotResponse>(v, m.error);
  protocol::FetchSnapshotResponse out;
  auto& t = out.topics.emplace_back();
  t.name = kMetadataTopic;
  auto& p = t.partitions.emplace_back();
  p.index = 0;
  p.error_code = to_int(m.error);
  p.snapshot_id.end_offset = m.snapshot_id.end_offset.value;
  p.snapshot_id.epoch = m.snapshot_id.epoch.value;
  p.current_leader.leader_id = m.leader_id ? m.leader_id->value : -1;
  p.current_leader.leader_epoch = m.leader_epoch.value;
  p.size = m.size;
  p.position = m.position;
  p.unaligned_records.owned = m.bytes;
  return encode_body(out, v);
}

// The answer's error: a top-level one first (it comes with no partitions).
template <typename Resp>
bool answer_partition(const Resp& resp, int16_t& error, std::string* why) {
  error = resp.error_code;
  if (resp.error_code != 0 && resp.topics.empty()) return true;
  if (resp.topics.size() != 1 || resp.topics[0].partitions.size() != 1)
    return set_error(why, "the answer must name exactly one partition");
  return true;
}

// Vote / BeginQuorumEpoch / EndQuorumEpoch answers: error, leader and epoch,
// plus what `extra` reads from the partition.
template <typename Resp, typename Msg, typename Extra>
std::optional<MessageBody> decode_epoch_answer(int16_t v, std::span<const uint8_t> body, std::string* why,
                                               Extra extra) {
  Resp resp;
  int16_t top = 0;
  if (!decode_body(resp, v, body, why) || !answer_partition(resp, top, why)) return std::nullopt;
  Msg m;
  if (top != 0) {
    m.error = error_of(top);
    return MessageBody{m};
  }
  auto& p = resp.topics[0].partitions[0];
  m.error = error_of(p.error_code);
  m.leader_id = leader_of(p.leader_id);
  m.leader_epoch = Epoch{p.leader_epoch};
  extra(p, m);
  return MessageBody{m};
}

std::optional<MessageBody> decode_vote_response(int16_t v, std::span<const uint8_t> body, std::string* why) {
  return decode_epoch_answer<protocol::VoteResponse, VoteResponse>(
      v, body, why, [](const auto& p, VoteResponse& m) { m.vote_granted = p.vote_granted; });
}

template <typename Resp>
std::optional<MessageBody> decode_epoch_response(int16_t v, std::span<const uint8_t> body, std::string* why) {
  return decode_epoch_answer<Resp, QuorumEpochResponse>(v, body, why, [](const auto&, QuorumEpochResponse&) {});
}

std::optional<MessageBody> decode_fetch_snapshot_response(int16_t v, std::span<const uint8_t> body,
                                                          std::string* why) {
  protocol::FetchSnapshotResponse resp;
  int16_t top = 0;
  if (!decode_body(resp, v, body, why) || !answer_partition(resp, top, why)) return std::nullopt;
  FetchSnapshotResponse m;
  if (top != 0) {
    m.error = error_of(top);
    return MessageBody{m};
  }
  auto& p = resp.topics[0].partitions[0];
  m.error = error_of(p.error_code);
  m.leader_id = leader_of(p.current_leader.leader_id);
  m.leader_epoch = Epoch{p.current_leader.leader_epoch};
  m.snapshot_id = SnapshotId{Offset{p.snapshot_id.end_offset}, Epoch{p.snapshot_id.epoch}};
  m.size = p.size;
  m.position = p.position;
  auto bytes = p.unaligned_records.memory();
  m.bytes.assign(bytes.begin(), bytes.end());
  return MessageBody{std::move(m)};
}

struct ApiKeyOf {
  int16_t operator()(const VoteRequest&) const { return protocol::api_key::Vote; }
  int16_t operator()(const BeginQuorumEpochRequest&) const { return protocol::api_key::BeginQuorumEpoch; }
  int16_t operator()(const EndQuorumEpochRequest&) const { return protocol::api_key::EndQuorumEpoch; }
  int16_t operator()(const FetchRequest&) const { return protocol::api_key::Fetch; }
  int16_t operator()(const FetchSnapshotRequest&) const { return protocol::api_key::FetchSnapshot; }
  int16_t operator()(const auto&) const { return -1; }  // a response
};

struct SenderOf {
  NodeId operator()(const VoteRequest& m) const { return m.replica_id; }
  NodeId operator()(const BeginQuorumEpochRequest& m) const { return m.leader_id; }
  NodeId operator()(const EndQuorumEpochRequest& m) const { return m.leader_id; }
  NodeId operator()(const FetchRequest& m) const { return m.replica_id; }
  NodeId operator()(const FetchSnapshotRequest& m) const { return m.replica_id; }
  NodeId operator()(const auto&) const { return NodeId{-1}; }
};

}  // namespace

// ---- the public entry points ----

int16_t raft_api_key(const MessageBody& request) { return std::visit(ApiKeyOf{}, request); }

NodeId request_sender(const MessageBody& request) { return std::visit(SenderOf{}, request); }

WireRequest encode_raft_request(const WireContext& ctx, const MessageBody& request, int16_t version, NodeId to) {
  return std::visit([&](const auto& m) { return encode_request(ctx, m, version, to); }, request);
}

DecodedRaftRequest decode_raft_request(const WireContext& ctx, int16_t api_key, int16_t version,
                                       std::span<const uint8_t> body) {
  return decode_request(&ctx, api_key, version, body);
}

std::optional<MessageBody> decode_raft_request(int16_t api_key, int16_t version, std::span<const uint8_t> body,
                                               std::string* error) {
  auto d = decode_request(nullptr, api_key, version, body);
  if (!d.body && error) *error = d.error.empty() ? std::string("not a quorum request") : d.error;
  return d.body;
}

namespace wire {

std::optional<MessageBody> refuse(DecodedRaftRequest& out) {
  if (out.refusal == ErrorCode::NONE) out.refusal = ErrorCode::INVALID_REQUEST;
  if (out.error.empty()) out.error = "not a request for __cluster_metadata-0";
  return std::nullopt;
}

DecodedRaftRequest decode_request(const WireContext* ctx, int16_t api_key, int16_t version,
                                  std::span<const uint8_t> body) {
  DecodedRaftRequest out;
  std::optional<MessageBody> m;
  switch (api_key) {
    case protocol::api_key::Vote: m = decode_vote(ctx, version, body, out); break;
    case protocol::api_key::BeginQuorumEpoch: m = decode_begin(ctx, version, body, out); break;
    case protocol::api_key::EndQuorumEpoch: m = decode_end(ctx, version, body, out); break;
    case protocol::api_key::Fetch: m = decode_fetch_request(ctx, version, body, out); break;
    case protocol::api_key::FetchSnapshot: m = decode_fetch_snapshot(ctx, version, body, out); break;
    default: out.error = "api key " + std::to_string(api_key) + " is not a quorum request"; return out;
  }
  // A request for another cluster is refused even when it decodes.
  if (m && out.refusal == ErrorCode::NONE) out.body = std::move(m);
  return out;
}

}  // namespace wire

protocol::Bytes encode_raft_response(const WireContext& ctx, int16_t api_key, int16_t version,
                                     const MessageBody& response) {
  switch (api_key) {
    case protocol::api_key::Vote:
      if (auto* m = std::get_if<VoteResponse>(&response)) return encode_response(version, *m);
      break;
    case protocol::api_key::BeginQuorumEpoch:
      if (auto* m = std::get_if<QuorumEpochResponse>(&response))
        return encode_epoch_response<protocol::BeginQuorumEpochResponse>(version, *m);
      break;
    case protocol::api_key::EndQuorumEpoch:
      if (auto* m = std::get_if<QuorumEpochResponse>(&response))
        return encode_epoch_response<protocol::EndQuorumEpochResponse>(version, *m);
      break;
    case protocol::api_key::Fetch:
      if (auto* m = std::get_if<FetchResponse>(&response)) return encode_fetch_response(ctx, version, *m);
      break;
    case protocol::api_key::FetchSnapshot:
      if (auto* m = std::get_if<FetchSnapshotResponse>(&response)) return encode_response(version, *m);
      break;
    default: break;
  }
  return {};
}

protocol::Bytes encode_raft_error_response(int16_t api_key, int16_t version, ErrorCode error) {
  switch (api_key) {
    case protocol::api_key::Vote: return error_only<protocol::VoteResponse>(version, error);
    case protocol::api_key::BeginQuorumEpoch: return error_only<protocol::BeginQuorumEpochResponse>(version, error);
    case protocol::api_key::EndQuorumEpoch: return error_only<protocol::EndQuorumEpochResponse>(version, error);
    case protocol::api_key::Fetch: return error_only<protocol::FetchResponse>(version, error);
    case protocol::api_key::FetchSnapshot: return error_only<protocol::FetchSnapshotResponse>(version, error);
    default: return {};
  }
}

std::optional<MessageBody> decode_raft_response(int16_t api_key, int16_t version, std::span<const uint8_t> body,
                                                std::string* error) {
  switch (api_key) {
    case protocol::api_key::Vote: return decode_vote_response(version, body, error);
    case protocol::api_key::BeginQuorumEpoch:
      return decode_epoch_response<protocol::BeginQuorumEpochResponse>(version, body, error);
    case protocol::api_key::EndQuorumEpoch:
      return decode_epoch_response<protocol::EndQuorumEpochResponse>(version, body, error);
    case protocol::api_key::Fetch: return decode_fetch_response(version, body, error);
    case protocol::api_key::FetchSnapshot: return decode_fetch_snapshot_response(version, body, error);
    default:
      set_error(error, "api key " + std::to_string(api_key) + " is not a quorum response");
      return std::nullopt;
  }
}

std::optional<MessageBody> decode_raft_response_to(const MessageBody& request, int16_t version,
                                                   std::span<const uint8_t> body, std::string* error) {
  auto m = decode_raft_response(raft_api_key(request), version, body, error);
  if (!m) return m;
  if (auto* vote = std::get_if<VoteResponse>(&*m)) {
    if (auto* req = std::get_if<VoteRequest>(&request)) vote->pre_vote = req->pre_vote;
  }
  return m;
}

}  // namespace samsa::raft
