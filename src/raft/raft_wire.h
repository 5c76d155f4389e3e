// The Raft core's messages (raft_messages.h) on Kafka's wire: Vote (52),
// BeginQuorumEpoch (53), EndQuorumEpoch (54), FetchSnapshot (59) and Fetch (1)
// on __cluster_metadata-0, encoded and decoded with the codecs generated from
// schemas/, at the versions Kafka's KRaft uses (the highest both sides know).
// Nothing here touches a socket: the quorum driver sends the bytes with
// net::KafkaClient and hands decoded messages to the core.
//
// A request decoded from the wire names its sender in its ReplicaId /
// CandidateId / LeaderId field (request_sender()); the caller assigns
// correlation ids. A response is decoded knowing the request it answers (Fetch
// and FetchSnapshot responses carry no kind of their own; a Vote response does
// not say whether it answers a pre-vote).
//
// Fetch records: the records field of a Fetch response is the LogEntries' data
// back to back, each one complete v2 batch whose base offset and partition
// leader epoch are the entry's offset and epoch (the shared contract of
// raft_messages.h). Decoding splits them with the batch headers and checks each
// batch (size, magic 2, CRC, a dense offset range, offsets contiguous from one
// batch to the next); anything else rejects the whole response.
//
// Errors: the core's errors travel in the partition's error code; a request
// for another cluster or another partition is refused with a top-level
// INCONSISTENT_CLUSTER_ID / INVALID_REQUEST (encode_raft_error_response), as
// Kafka's KafkaRaftClient answers. A decoded response carries a top-level error,
// when there is one, in place of the partition's.
//
// Threads: pure functions.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "protocol/wire.h"
#include "raft/quorum_description.h"
#include "raft/raft_messages.h"

namespace samsa::raft {

struct WireRequest {
  int16_t api_key = -1;  // -1: the request cannot be written at the version asked for
  int16_t api_version = -1;
  protocol::Bytes body;  // the request body, without the request header
};

// The cluster id and topic the quorum RPCs carry.
struct WireContext {
  std::string cluster_id;     // empty: none sent, none checked
  protocol::Uuid topic_id{};  // __cluster_metadata's topic id (Kafka: AAAAAAAAAAAAAAAAAAAAAQ)
};

// The highest version of each quorum API this codec speaks (and the lowest,
// for Fetch: v12 is the first with the last fetched epoch and tagged fields).
inline constexpr int16_t kVoteVersion = 2;
inline constexpr int16_t kBeginQuorumEpochVersion = 1;
inline constexpr int16_t kEndQuorumEpochVersion = 1;
inline constexpr int16_t kFetchVersion = 17;
inline constexpr int16_t kMinRaftFetchVersion = 12;
inline constexpr int16_t kFetchSnapshotVersion = 1;
// A quorum Fetch asks for at most this many bytes (Kafka's KRaft: 8 MiB).
inline constexpr int32_t kFetchMaxBytes = 8 * 1024 * 1024;

// The API key of a request body (VoteRequest -> 52 ...); -1 for a response.
int16_t raft_api_key(const MessageBody& request);
// The node that sent a decoded request (its ReplicaId, CandidateId or LeaderId).
NodeId request_sender(const MessageBody& request);

// A request body (VoteRequest, BeginQuorumEpochRequest, EndQuorumEpochRequest,
// FetchRequest, FetchSnapshotRequest) at `version` (-1: the highest this codec
// knows). `to` fills VoterId where the version has one. api_key -1 when the
// request cannot be expressed at that version (a pre-vote below Vote v2, a
// Fetch below v12).
WireRequest encode_raft_request(const WireContext& ctx, const MessageBody& request, int16_t version = -1,
                                NodeId to = NodeId{-1});

// Decodes a request the broker received on the CONTROLLER listener; nullopt
// (with `error` set) when malformed or not a quorum request.
std::optional<MessageBody> decode_raft_request(int16_t api_key, int16_t version, std::span<const uint8_t> body,
                                               std::string* error = nullptr);

// As above, and checks the request against this node (`ctx`): a request that
// decodes but names another cluster or another partition than
// __cluster_metadata-0 gets `refusal` (INCONSISTENT_CLUSTER_ID or
// INVALID_REQUEST), to be answered with encode_raft_error_response. A body that
// does not decode leaves both empty: close the connection, as Kafka does.
struct DecodedRaftRequest {
  std::optional<MessageBody> body;
  ErrorCode refusal = ErrorCode::NONE;
  std::string error;  // why, for the log
};
DecodedRaftRequest decode_raft_request(const WireContext& ctx, int16_t api_key, int16_t version,
                                       std::span<const uint8_t> body);

// The response to `request` (its kind picks the response kind), at the request's version.
protocol::Bytes encode_raft_response(const WireContext& ctx, int16_t api_key, int16_t version,
                                     const MessageBody& response);
// A response with only a top-level error (and no partitions).
protocol::Bytes encode_raft_error_response(int16_t api_key, int16_t version, ErrorCode error);

std::optional<MessageBody> decode_raft_response(int16_t api_key, int16_t version, std::span<const uint8_t> body,
                                                std::string* error = nullptr);
// Decodes the answer to `request` (sent at `version`): a VoteResponse echoes its pre_vote.
std::optional<MessageBody> decode_raft_response_to(const MessageBody& request, int16_t version,
                                                   std::span<const uint8_t> body, std::string* error = nullptr);

// Splits a Fetch response's records into entries (see above); nullopt with
// `error` set when they are not whole, valid, contiguous v2 batches.
std::optional<std::vector<LogEntry>> split_entries(std::span<const uint8_t> records, std::string* error = nullptr);

}  // namespace samsa::raft
