// The decisions of a follower's replica fetcher as pure functions (no I/O, no
// state; any thread), so they are unit-tested without brokers: which hosted
// partitions follow which leader in a metadata image, where that leader is
// reached, and what to do with one partition of a Fetch response. Kafka's
// ReplicaFetcherThread / AbstractFetcherThread are the reference; the I/O is
// in replica_fetcher.{h,cc}.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "base/types.h"
#include "cluster/metadata_image.h"
#include "protocol/wire.h"
#include "replication/replica_state_epochs.h"
#include "server/topic_partition.h"

namespace samsa::server {

// A hosted replica that must follow: its leader (another live broker) and the
// leader epoch the image names.
struct FollowTarget {
  NodeId leader{-1};
  Epoch leader_epoch{-1};
};

// Kafka's follower rule over the image: the partition exists with `topic_id`,
// this node is one of its replicas but not its leader, and the leader is a
// registered, unfenced broker. nullopt otherwise (led here, no leader, leader
// fenced or gone, replica removed, topic deleted or recreated).
std::optional<FollowTarget> follow_target(const cluster::MetadataImage& image, NodeId self,
                                          const TopicPartition& tp, const protocol::Uuid& topic_id);

// Where a follower connects to `broker`: its endpoint on the inter-broker
// listener (inter.broker.listener.name, else the name of
// security.inter.broker.protocol), else its first endpoint that is not a
// CONTROLLER listener. nullopt when it registered neither.
struct BrokerAddress {
  std::string host;
  uint16_t port = 0;
  bool operator==(const BrokerAddress&) const = default;
};
std::optional<BrokerAddress> inter_broker_address(const cluster::BrokerInfo& broker, const std::string& listener,
                                                  const std::vector<std::string>& controller_listeners);

// Length of the longest prefix of `records` made of whole v2 batches (a
// leader may end a response with a partial batch when max_bytes cut it).
// Every length is read from the bytes and bounded by what is there.
size_t whole_batches_prefix(std::span<const uint8_t> records);

// One partition as it was fetched.
struct SentFetch {
  Epoch current_leader_epoch{-1};
  Offset fetch_offset{0};
  Epoch last_fetched_epoch{-1};  // -1: the leader skipped the divergence check
};

// One partition of the response, as decoded.
struct FetchedPartition {
  ErrorCode error = ErrorCode::NONE;
  Offset high_watermark{-1};
  Offset log_start_offset{-1};
  replication::EpochEnd diverging;  // undefined epoch (-1) when absent
  size_t record_bytes = 0;          // whole batches (whole_batches_prefix)
  size_t raw_record_bytes = 0;      // as received
};

enum class FetchAction : uint8_t {
  kAppend,      // append the batches as follower, then take the leader's HW
  kHighWatermark,  // nothing to append: take the leader's HW
  kTruncateDiverging,  // truncate to replication::truncation_point(.., diverging)
  kOutOfRange,  // see out_of_range_action
  kBackoff,     // retry after replica.fetch.backoff.ms (leader moving, unknown epoch, storage error)
  kFenced,      // our leader epoch is stale: wait for a newer image (Kafka removes the partition)
};
// Kafka's processFetchRequest per partition. A partial batch alone (the
// leader sent less than one batch) is a backoff, not an append of nothing.
FetchAction decide(const FetchedPartition& resp);

// OFFSET_OUT_OF_RANGE (Kafka's fetchOffsetAndTruncate): below the leader's
// log start the whole log restarts there; otherwise the follower's log is
// past the leader's end (an unclean election) or the leader knows none of
// its epochs, and it truncates to what both sides had committed —
// min(its HW, the leader's HW, its log end) — and fetches once without the
// divergence check. Kafka asks the leader for its log end with ListOffsets
// and truncates there; the HW from the response is at most that end, so this
// re-fetches a few records instead of one more round trip.
struct OutOfRangeAction {
  enum Kind : uint8_t { kStartAt, kTruncateTo } kind = kTruncateTo;
  Offset offset{0};
  bool operator==(const OutOfRangeAction&) const = default;
};
OutOfRangeAction out_of_range_action(Offset fetch_offset, Offset local_log_end, Offset local_high_watermark,
                                     Offset leader_log_start, Offset leader_high_watermark);

}  // namespace samsa::server
