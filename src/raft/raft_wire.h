// The Raft core's messages (raft_messages.h) on Kafka's wire: Vote (52),
// BeginQuorumEpoch (53), EndQuorumEpoch (54), FetchSnapshot (59) and Fetch (1)
// on __cluster_metadata-0, encoded and decoded with the codecs generated from
// schemas/, at the versions Kafka's KRaft uses (the highest both sides know).
// Nothing here touches a socket: the quorum driver sends the bytes with
// net::KafkaClient and hands decoded messages to the core.
//
// A request decoded from the wire gets `from` from its ReplicaId/CandidateId
// field; the caller assigns correlation ids. A response is decoded knowing the
// request it answers (Fetch and FetchSnapshot responses carry no kind of their own).
//
// Threads: pure functions.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "protocol/wire.h"
#include "raft/raft_messages.h"

namespace samsa::raft {

struct WireRequest {
  int16_t api_key = -1;
  int16_t api_version = -1;
  protocol::Bytes body;  // the request body, without the request header
};

// The cluster id and topic the quorum RPCs carry.
struct WireContext {
  std::string cluster_id;
  protocol::Uuid topic_id{};  // __cluster_metadata's topic id (Kafka: AAAAAAAAAAAAAAAAAAAAAQ)
};

// A request body (VoteRequest, BeginQuorumEpochRequest, EndQuorumEpochRequest,
// FetchRequest, FetchSnapshotRequest) at `version` (-1: the highest this codec knows).
WireRequest encode_raft_request(const WireContext& ctx, const MessageBody& request, int16_t version = -1);
// Decodes a request the broker received on the CONTROLLER listener; nullopt
// (with `error` set) when malformed or not a quorum request.
std::optional<MessageBody> decode_raft_request(int16_t api_key, int16_t version, std::span<const uint8_t> body,
                                               std::string* error = nullptr);
// The response to `request` (its kind picks the response kind), at the request's version.
protocol::Bytes encode_raft_response(const WireContext& ctx, int16_t api_key, int16_t version,
                                     const MessageBody& response);
std::optional<MessageBody> decode_raft_response(int16_t api_key, int16_t version, std::span<const uint8_t> body,
                                                std::string* error = nullptr);

}  // namespace samsa::raft
