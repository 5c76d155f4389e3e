// DescribeQuorum (55): the quorum's state for operators (kafka-metadata-quorum.sh); see quorum_description.h.
#include "protocol/messages/describe_quorum.h"
#include "raft/quorum_description.h"
#include "raft/raft_wire_internal.h"

namespace samsa::raft {

namespace {

using protocol::DescribeQuorumResponse;
using WireReplica = DescribeQuorumResponse::ReplicaState;

WireReplica to_wire(const QuorumReplica& r) {
  WireReplica out;
  out.replica_id = r.id.value;
  out.replica_directory_id = r.directory_id;
  out.log_end_offset = r.log_end_offset.value;
  out.last_fetch_timestamp = r.last_fetch_timestamp;
  out.last_caught_up_timestamp = r.last_caught_up_timestamp;
  return out;
}

QuorumReplica from_wire(const WireReplica& r) {
  return QuorumReplica{NodeId{r.replica_id}, r.replica_directory_id, Offset{r.log_end_offset},
                       r.last_fetch_timestamp, r.last_caught_up_timestamp};
}

}  // namespace

bool decode_describe_quorum_request(int16_t version, std::span<const uint8_t> body, std::string* error) {
  protocol::DescribeQuorumRequest req;
  if (!wire::decode_body(req, version, body, error)) return false;
  if (req.topics.size() != 1 || req.topics[0].partitions.size() != 1 || req.topics[0].topic_name != kMetadataTopic ||
      req.topics[0].partitions[0].partition_index != 0)
    return wire::set_error(error, "DescribeQuorum is only for __cluster_metadata-0");
  return true;
}

protocol::Bytes encode_describe_quorum_request(int16_t version) {
  protocol::DescribeQuorumRequest req;
  auto& t = req.topics.emplace_back();
  t.topic_name = kMetadataTopic;
  t.partitions.emplace_back().partition_index = 0;
  return wire::encode_body(req, version);
}

protocol::Bytes encode_describe_quorum_response(const QuorumDescription& d, int16_t version) {
  return wire::encode_body(describe_quorum_response(d), version);
}

DescribeQuorumResponse describe_quorum_response(const QuorumDescription& d) {
  DescribeQuorumResponse out;
  auto& t = out.topics.emplace_back();
  t.topic_name = kMetadataTopic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  // As Kafka: the errors (NOT_LEADER_OR_FOLLOWER ...) are the partition's.
  p.error_code = to_int(d.error);
  if (!d.error_message.empty()) p.error_message = d.error_message;
  p.leader_id = d.leader_id.value;
  p.leader_epoch = d.leader_epoch.value;
  p.high_watermark = d.high_watermark.value;
  for (auto& r : d.voters) p.current_voters.push_back(to_wire(r));
  for (auto& r : d.observers) p.observers.push_back(to_wire(r));
  for (auto& n : d.nodes) {
    auto& wn = out.nodes.emplace_back();
    wn.node_id = n.id.value;
    for (auto& l : n.listeners) wn.listeners.push_back({l.name, l.host, l.port, {}});
  }
  return out;
}

std::optional<QuorumDescription> decode_describe_quorum_response(int16_t version, std::span<const uint8_t> body,
                                                                 std::string* error) {
  DescribeQuorumResponse resp;
  if (!wire::decode_body(resp, version, body, error)) return std::nullopt;
  QuorumDescription d;
  d.error = wire::error_of(resp.error_code);
  if (resp.error_message) d.error_message = *resp.error_message;
  if (resp.error_code != 0 && resp.topics.empty()) return d;
  if (resp.topics.size() != 1 || resp.topics[0].partitions.size() != 1) {
    wire::set_error(error, "the answer must name exactly one partition");
    return std::nullopt;
  }
  auto& p = resp.topics[0].partitions[0];
  if (d.error == ErrorCode::NONE) d.error = wire::error_of(p.error_code);
  if (p.error_message && d.error_message.empty()) d.error_message = *p.error_message;
  d.leader_id = NodeId{p.leader_id};
  d.leader_epoch = Epoch{p.leader_epoch};
  d.high_watermark = Offset{p.high_watermark};
  for (auto& r : p.current_voters) d.voters.push_back(from_wire(r));
  for (auto& r : p.observers) d.observers.push_back(from_wire(r));
  for (auto& n : resp.nodes) {
    auto& dn = d.nodes.emplace_back();
    dn.id = NodeId{n.node_id};
    for (auto& l : n.listeners) dn.listeners.push_back({l.name, l.host, l.port});
  }
  return d;
}

}  // namespace samsa::raft
