// DescribeQuorum (55): the quorum's state as operators see it
// (kafka-metadata-quorum.sh), and its encoding. Kept apart from raft_wire.h so
// that a handler can include it next to metadata_log.h (both raft_messages.h
// and metadata_log.h define LeaderAndEpoch).
//
// Threads: plain values and pure functions.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "base/types.h"
#include "protocol/messages/describe_quorum.h"
#include "protocol/wire.h"

namespace samsa::raft {

inline constexpr const char* kMetadataTopic = "__cluster_metadata";
// Kafka's fixed topic id of __cluster_metadata: fifteen zero bytes, then 1.
inline constexpr protocol::Uuid kMetadataTopicId = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

struct QuorumListener {
  std::string name;  // e.g. CONTROLLER
  std::string host;
  uint16_t port = 0;
  bool operator==(const QuorumListener&) const = default;
};

struct QuorumReplica {
  NodeId id{-1};
  protocol::Uuid directory_id{};      // v2; zero when unknown (static quorums)
  Offset log_end_offset{-1};          // -1 when the leader has not heard from it
  int64_t last_fetch_timestamp = -1;  // wall-clock ms (v1+), -1 when unknown
  int64_t last_caught_up_timestamp = -1;
  bool operator==(const QuorumReplica&) const = default;
};

// The leader's view of the quorum, as DescribeQuorum reports it (helper quorum
// fills it from RaftCore::replica_states()).
struct QuorumDescription {
  ErrorCode error = ErrorCode::NONE;  // NOT_LEADER_OR_FOLLOWER when this node does not lead
  std::string error_message;          // v2
  NodeId leader_id{-1};
  Epoch leader_epoch{-1};
  Offset high_watermark{-1};
  std::vector<QuorumReplica> voters;
  std::vector<QuorumReplica> observers;
  struct Node {
    NodeId id{-1};
    std::vector<QuorumListener> listeners;
    bool operator==(const Node&) const = default;
  };
  std::vector<Node> nodes;  // v2: how to reach the voters
  bool operator==(const QuorumDescription&) const = default;
};

inline constexpr int16_t kDescribeQuorumVersion = 2;

// Whether a DescribeQuorum request (decoded from `body` at `version`) asks for
// __cluster_metadata-0; false with `error` when malformed or for another partition.
bool decode_describe_quorum_request(int16_t version, std::span<const uint8_t> body, std::string* error = nullptr);
protocol::Bytes encode_describe_quorum_request(int16_t version = kDescribeQuorumVersion);
// The response as the generated struct (for a handler's make_response), and encoded.
protocol::DescribeQuorumResponse describe_quorum_response(const QuorumDescription& d);
protocol::Bytes encode_describe_quorum_response(const QuorumDescription& d, int16_t version = kDescribeQuorumVersion);
std::optional<QuorumDescription> decode_describe_quorum_response(int16_t version, std::span<const uint8_t> body,
                                                                 std::string* error = nullptr);

}  // namespace samsa::raft
