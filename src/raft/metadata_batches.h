// The record batches of the metadata log (__cluster_metadata-0) and of its
// snapshot files, in Kafka's KRaft layout (format in FORMAT.md):
//
//   * a data batch: one v2 batch (magic 2, no compression, no producer) whose
//     records carry the controller's encoded metadata records as values, no
//     key, no headers;
//   * control batches (attribute bit 5, not transactional, producer id -1),
//     one control record each: key = version int16 (0) + type int16, value =
//     the generated codec of schemas/kraft/ at version 0 — LeaderChangeMessage
//     (type 2, the first batch of every leader's epoch), SnapshotHeaderRecord
//     (3) and SnapshotFooterRecord (4) framing a snapshot, KRaftVersionRecord
//     (5) and VotersRecord (6).
//
// Building takes trusted input (this node's own records); everything that
// reads a batch treats it as untrusted: CRC and framing are checked first and
// decompression and value counts are bounded before anything is allocated.
//
// Threads: pure functions, any thread.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "base/error_code.h"
#include "base/types.h"
#include "protocol/kraft/records.h"
#include "protocol/record_batch.h"
#include "protocol/wire.h"
#include "raft/raft_messages.h"

namespace samsa::raft {

// Bound on the decompressed size of one metadata batch when it is read (a
// controller never writes one near it; Kafka caps metadata batches at 8 MiB).
inline constexpr size_t kMaxMetadataBatchBytes = size_t{8} << 20;

// Where a built batch sits: the appender (the disk log, or the leader before
// replicating it) overwrites both fields, which lie outside the CRC.
struct BatchPlacement {
  Offset base_offset{0};
  Epoch epoch{-1};  // partitionLeaderEpoch; -1 = none yet
  int64_t timestamp_ms = protocol::kNoTimestamp;
};

// ---- building ----

// One data batch holding `values` (at least one) in order.
protocol::Bytes build_data_batch(std::span<const protocol::Bytes> values, const BatchPlacement& at);

// Kafka's LeaderChangeMessage as the Raft core fills it.
struct LeaderChange {
  NodeId leader{-1};
  std::vector<NodeId> voters;           // the voter set of the epoch
  std::vector<NodeId> granting_voters;  // who voted for the leader (itself included)
};
protocol::Bytes build_leader_change_batch(const LeaderChange& change, const BatchPlacement& at);
// The first batch of a snapshot file: SnapshotHeaderRecord (version 0) with the
// timestamp of the last batch the snapshot covers.
protocol::Bytes build_snapshot_header_batch(int64_t last_contained_log_timestamp, const BatchPlacement& at);
// The last batch of a snapshot file: SnapshotFooterRecord (version 0).
protocol::Bytes build_snapshot_footer_batch(const BatchPlacement& at);
// KIP-853's control records, for the bootstrap checkpoint of a dynamic quorum.
protocol::Bytes build_kraft_version_batch(int16_t kraft_version, const BatchPlacement& at);
protocol::Bytes build_voters_batch(const protocol::kraft::VotersRecord& voters, const BatchPlacement& at);

// ---- reading ----

// What the header of a batch says, after its framing and CRC were checked.
struct BatchSummary {
  Offset base_offset{0};
  Epoch epoch{-1};
  int32_t offsets = 0;       // lastOffsetDelta + 1: the batch covers [base, base + offsets)
  int32_t record_count = 0;  // recordCount (equal to offsets: the metadata log is never compacted)
  bool control = false;
  int64_t max_timestamp = protocol::kNoTimestamp;
  size_t size = 0;           // bytes of the whole batch
};
// nullopt unless `batch` is exactly one valid v2 batch (size, magic, CRC, codec,
// counts as a log batch).
std::optional<BatchSummary> summarize_batch(std::span<const uint8_t> batch);

// The batch as a Raft LogEntry (offset, epoch, records = offsets, control,
// bytes); nullopt if it is not one valid batch.
std::optional<LogEntry> entry_from_batch(std::span<const uint8_t> batch);
// (raft_wire.h: split_entries splits a Fetch response's records into entries.)

// The control record type of a control batch (its first record's key), or
// nullopt for a data batch or a malformed one.
std::optional<int16_t> control_type_of(std::span<const uint8_t> batch);

// Calls fn(offset, value) for every record of a valid data batch, in order.
// Errors: CORRUPT_MESSAGE (framing, CRC, codec, a control batch passed as data,
// a record without a value), or the record reader's error.
ErrorCode for_each_value(std::span<const uint8_t> batch,
                         const std::function<void(Offset, std::span<const uint8_t>)>& fn);
// The same, collected.
std::optional<std::vector<protocol::Bytes>> batch_values(std::span<const uint8_t> batch);

// The value of the single control record of a control batch of `type`
// decoded with its generated codec; nullopt if the batch is not that.
std::optional<protocol::kraft::LeaderChangeMessage> parse_leader_change(std::span<const uint8_t> batch);
std::optional<protocol::kraft::SnapshotHeaderRecord> parse_snapshot_header(std::span<const uint8_t> batch);
std::optional<protocol::kraft::SnapshotFooterRecord> parse_snapshot_footer(std::span<const uint8_t> batch);
std::optional<protocol::kraft::KRaftVersionRecord> parse_kraft_version(std::span<const uint8_t> batch);
std::optional<protocol::kraft::VotersRecord> parse_voters(std::span<const uint8_t> batch);

}  // namespace samsa::raft
