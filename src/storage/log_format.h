// Constants of the on-disk formats described in storage/FORMAT.md. Keep the two
// in step: a change here is a change of the file format.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/batch_header.h"

namespace samsa::storage::format {

// ---- segment file names: <20-digit zero-padded base offset><suffix> ----
inline constexpr size_t kOffsetDigits = 20;
inline constexpr std::string_view kLogSuffix = ".log";
inline constexpr std::string_view kIndexSuffix = ".index";
inline constexpr std::string_view kTimeIndexSuffix = ".timeindex";
inline constexpr std::string_view kTxnIndexSuffix = ".txnindex";
inline constexpr std::string_view kSnapshotSuffix = ".snapshot";
// Leftovers of interrupted operations, removed when a log is opened.
inline constexpr std::string_view kDeletedSuffix = ".deleted";
inline constexpr std::string_view kCleanedSuffix = ".cleaned";
inline constexpr std::string_view kSwapSuffix = ".swap";
inline constexpr std::string_view kTmpSuffix = ".tmp";

// ---- .log: record batches, magic 2, exactly as on the wire ----
inline constexpr int8_t kMagic = 2;
inline constexpr size_t kBatchHeaderSize = protocol::batch::kHeaderSize;  // 61
inline constexpr size_t kLogOverhead = protocol::batch::kLogOverhead;     // 12
// Smallest legal batchLength: the header after the length field.
inline constexpr int32_t kMinBatchLength = static_cast<int32_t>(kBatchHeaderSize - kLogOverhead);  // 49
// The CRC covers [kCrcStart, end of batch).
inline constexpr size_t kCrcStart = protocol::batch::kAttributes;  // 21
// Positions in .index are int32, so a segment never exceeds this.
inline constexpr uint64_t kMaxSegmentBytes = 0x7fffffff;

// ---- .index: 8-byte entries (int32 relative offset, int32 position), big-endian ----
inline constexpr size_t kOffsetIndexEntrySize = 8;
// ---- .timeindex: 12-byte entries (int64 timestamp, int32 relative offset), big-endian ----
inline constexpr size_t kTimeIndexEntrySize = 12;
inline constexpr int64_t kNoTimestamp = -1;

// ---- files in each log directory ----
inline constexpr std::string_view kRecoveryPointCheckpoint = "recovery-point-offset-checkpoint";
inline constexpr std::string_view kLogStartOffsetCheckpoint = "log-start-offset-checkpoint";
inline constexpr std::string_view kReplicationOffsetCheckpoint = "replication-offset-checkpoint";
// Where the log cleaner got to in each compacted log (first dirty offset).
inline constexpr std::string_view kCleanerOffsetCheckpoint = "cleaner-offset-checkpoint";
inline constexpr std::string_view kCleanShutdownMarker = ".kafka_cleanshutdown";
// ---- in each partition directory ----
// Kafka's leader-epoch-checkpoint: version, count, "<epoch> <start offset>" lines.
inline constexpr std::string_view kLeaderEpochCheckpoint = "leader-epoch-checkpoint";
inline constexpr int kCheckpointVersion = 0;
// Bounds applied when reading a checkpoint file (untrusted input).
inline constexpr size_t kMaxCheckpointBytes = 64 * 1024 * 1024;

// ---- partition directories: <topic>-<partition>[.<32 hex uuid>-delete] ----
inline constexpr std::string_view kDeleteDirSuffix = "-delete";
inline constexpr std::string_view kFutureDirSuffix = "-future";
inline constexpr std::string_view kStrayDirSuffix = "-stray";
inline constexpr size_t kMaxTopicLength = 249;

}  // namespace samsa::storage::format
