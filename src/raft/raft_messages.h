// The values the Raft core (raft_core.h) exchanges with the world: log
// entries, the quorum RPCs as typed structs, and the core's configuration.
//
// The RPC structs mirror the fields of Kafka's KRaft RPCs (KIP-595, pre-vote
// from KIP-996) that the core needs: Vote, BeginQuorumEpoch, EndQuorumEpoch and
// Fetch on __cluster_metadata-0. They carry no wire encoding; whoever moves them
// between nodes (the simulator in tests, later net::Transport with the
// generated codecs) converts them. Responses echo the request's correlation id,
// which is how the core drops duplicated and stale answers.
//
// Threads: plain values, no owner.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/error_code.h"
#include "base/types.h"
#include "protocol/kraft/records.h"
#include "protocol/wire.h"

namespace samsa::raft {

// One record batch of the metadata log: it covers the offsets
// [offset, offset + records) and was appended by the leader of `epoch`.
// Control batches (the LeaderChange record a leader writes first in its epoch)
// are replicated and committed like the others but not handed to the state
// machine.
struct LogEntry {
  Offset offset{0};
  Epoch epoch{0};
  int32_t records = 1;
  bool control = false;
  protocol::Bytes data;
  Offset end() const { return offset + records; }
  bool operator==(const LogEntry&) const = default;
};

// The end of an epoch in a log: the first offset after its last entry, i.e.
// the start offset of the next epoch, or the log end offset for the last one.
struct EpochEndOffset {
  Epoch epoch{-1};
  Offset end_offset{-1};
  bool operator==(const EpochEndOffset&) const = default;
};

// A snapshot of the state machine covering every offset below end_offset;
// epoch is that of the last batch it covers (Kafka's OffsetAndEpoch; the file
// is <end_offset>-<epoch>.checkpoint).
struct SnapshotId {
  Offset end_offset{0};
  Epoch epoch{0};
  bool operator==(const SnapshotId&) const = default;
};

struct LeaderAndEpoch {
  std::optional<NodeId> leader;  // nullopt: no known leader in this epoch
  Epoch epoch{0};
  bool operator==(const LeaderAndEpoch&) const = default;
};

// ---- the RPCs ----

// Vote (api key 52). With pre_vote (v2, KIP-996) the sender is a prospective
// candidate asking whether it could win; it sends its current epoch unchanged
// and a grant changes nothing on the receiver.
struct VoteRequest {
  Epoch replica_epoch{0};  // CandidateEpoch / ReplicaEpoch
  NodeId replica_id{-1};   // CandidateId / ReplicaId
  Epoch last_offset_epoch{0};
  Offset last_offset{0};   // the candidate's log end offset
  bool pre_vote = false;
};
struct VoteResponse {
  ErrorCode error = ErrorCode::NONE;
  std::optional<NodeId> leader_id;
  Epoch leader_epoch{0};
  bool vote_granted = false;
  bool pre_vote = false;  // echoes the request (so a late answer cannot count in the wrong phase)
};

// BeginQuorumEpoch (53): the newly elected leader announces itself.
struct BeginQuorumEpochRequest {
  NodeId leader_id{-1};
  Epoch leader_epoch{0};
};
// EndQuorumEpoch (54): a resigning leader asks the voters to elect another,
// the most caught-up (preferred_successors, best first) sooner.
struct EndQuorumEpochRequest {
  NodeId leader_id{-1};
  Epoch leader_epoch{0};
  std::vector<NodeId> preferred_successors;
};
// The answer to both: the receiver's view of the quorum.
struct QuorumEpochResponse {
  ErrorCode error = ErrorCode::NONE;
  std::optional<NodeId> leader_id;
  Epoch leader_epoch{0};
};

// Fetch (1) for __cluster_metadata-0 as a replica sends it: fetch_offset is
// its log end offset (everything below it is durable on the replica, which
// is what the leader counts towards the high watermark) and
// last_fetched_epoch the epoch of the entry before it.
struct FetchRequest {
  NodeId replica_id{-1};
  Epoch current_leader_epoch{0};
  Offset fetch_offset{0};
  Epoch last_fetched_epoch{0};
  int64_t max_wait_ms = 0;
  protocol::Uuid replica_directory_id{};  // v17 (KIP-853): which disk of the replica fetches
};
struct FetchResponse {
  ErrorCode error = ErrorCode::NONE;
  std::optional<NodeId> leader_id;  // CurrentLeader
  Epoch leader_epoch{0};
  Offset high_watermark{-1};
  // Set when the replica's log diverges from the leader's: truncate to at
  // most end_offset, then fetch again.
  std::optional<EpochEndOffset> diverging_epoch;
  // Set when the replica needs entries the leader only has in a snapshot:
  // fetch it with FetchSnapshot, then fetch from its end.
  std::optional<SnapshotId> snapshot_id;
  std::vector<LogEntry> records;
  // The leader's CONTROLLER endpoint (NodeEndpoints, v16+): how an observer
  // that found the leader through a bootstrap server reaches it.
  struct Endpoint {
    std::string host;
    uint16_t port = 0;
    bool operator==(const Endpoint&) const = default;
  };
  std::optional<Endpoint> leader_endpoint;
};

// FetchSnapshot (59, KIP-630): one chunk of the leader's snapshot.
struct FetchSnapshotRequest {
  NodeId replica_id{-1};
  Epoch current_leader_epoch{0};
  SnapshotId snapshot_id;
  int64_t position = 0;
  int32_t max_bytes = 0;
};
struct FetchSnapshotResponse {
  ErrorCode error = ErrorCode::NONE;  // SNAPSHOT_NOT_FOUND, POSITION_OUT_OF_RANGE, the Fetch errors
  std::optional<NodeId> leader_id;
  Epoch leader_epoch{0};
  SnapshotId snapshot_id;
  int64_t size = 0;  // of the whole snapshot
  int64_t position = 0;
  protocol::Bytes bytes;
};

using MessageBody = std::variant<VoteRequest, VoteResponse, BeginQuorumEpochRequest, EndQuorumEpochRequest,
                                 QuorumEpochResponse, FetchRequest, FetchResponse, FetchSnapshotRequest,
                                 FetchSnapshotResponse>;

struct Message {
  NodeId from{-1};
  NodeId to{-1};
  uint64_t correlation_id = 0;  // a response carries its request's id
  MessageBody body;
};

// ---- configuration (Kafka's names and defaults) ----
struct RaftConfig {
  NodeId local_id{-1};
  std::vector<NodeId> voters;                // controller.quorum.voters (ids); a node not in it is an observer
  // A dynamic quorum (KIP-853, kraft.version 1): the voter set comes from this
  // VotersRecord (the bootstrap checkpoint or the snapshot the log continues;
  // then `voters` is ignored) and changes with the VotersRecords of the log.
  // nullopt with `dynamic`: a node formatted with --no-initial-controllers.
  bool dynamic = false;
  std::optional<protocol::kraft::VotersRecord> voters_record;
  protocol::Uuid directory_id{};  // this node's meta.properties directory.id
  std::string listener_name = "CONTROLLER";  // the endpoint of a VotersRecord peers use
  // controller.quorum.bootstrap.servers, as negative ids (-2, -3, ...) the
  // driver maps to addresses: an observer without voters fetches from them.
  std::vector<NodeId> bootstrap;
  int64_t election_timeout_ms = 1000;        // controller.quorum.election.timeout.ms
  int64_t fetch_timeout_ms = 2000;           // controller.quorum.fetch.timeout.ms
  int64_t election_backoff_max_ms = 1000;    // controller.quorum.election.backoff.max.ms
  int64_t request_timeout_ms = 2000;         // controller.quorum.request.timeout.ms
  int64_t retry_backoff_ms = 20;             // controller.quorum.retry.backoff.ms
  int64_t fetch_max_wait_ms = 500;           // how long the leader parks a Fetch with nothing new
  size_t fetch_max_entries = 64;             // bound on the batches in one Fetch response
  size_t fetch_max_bytes = 8 * 1024 * 1024;  // and on their bytes (at least one batch is sent)
  int32_t fetch_snapshot_max_bytes = 1 << 20;  // one FetchSnapshot chunk
  int64_t max_snapshot_bytes = int64_t{1} << 30;  // a larger snapshot offered by a leader is refused
};

}  // namespace samsa::raft
