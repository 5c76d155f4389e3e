// The voter set of a dynamic quorum (KIP-853) on disk.
//
// `samsa storage format --standalone | --initial-controllers` writes the
// bootstrap checkpoint `00000000000000000000-0000000000.checkpoint` into
// <metadata.log.dir>/__cluster_metadata-0, as Kafka 3.9 does: a snapshot file
// (FileSnapshotStore's format, FORMAT.md) ending at offset 0, epoch 0, that
// holds no metadata records, only the control batches
//
//   offset 0  SnapshotHeaderRecord
//   offset 1  KRaftVersionRecord   kraft.version = 1
//   offset 2  VotersRecord         each voter's id, directory id, CONTROLLER endpoint
//   offset 3  SnapshotFooterRecord
//
// From then on the voter set is the newest VotersRecord in that directory: a
// later snapshot or a Voters control batch in the log (the log's are newer
// than any snapshot's, uncommitted ones included, as in Kafka).
//
// Threads: free functions; they do blocking I/O through storage::Env, so they
// run at start-up or in a tool, before the quorum's loop owns the directory.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "protocol/kraft/records.h"
#include "protocol/wire.h"
#include "storage/env.h"
#include "storage/status.h"

namespace samsa::raft {

inline constexpr const char* kBootstrapCheckpointName = "00000000000000000000-0000000000.checkpoint";
// kraft.version with dynamic voters (KIP-853); 0 is the static quorum.
inline constexpr int16_t kDynamicKRaftVersion = 1;

// The bytes of the bootstrap checkpoint for `voters`.
protocol::Bytes build_bootstrap_checkpoint(const protocol::kraft::VotersRecord& voters, int64_t timestamp_ms);

// Writes the bootstrap checkpoint into `partition_dir` (created if missing),
// crash-safe (written aside, synced, renamed).
storage::Status write_bootstrap_checkpoint(storage::Env* env, const std::string& partition_dir,
                                           const protocol::kraft::VotersRecord& voters, int64_t timestamp_ms);

// The newest VotersRecord in `partition_dir` (checkpoint files, then the log
// segments' control batches), or nullopt when there is none (a static quorum,
// or a node formatted with --no-initial-controllers). Torn or corrupt batches
// end a segment's scan; every read is bounded.
storage::Result<std::optional<protocol::kraft::VotersRecord>> read_newest_voters(storage::Env* env,
                                                                                 const std::string& partition_dir);

}  // namespace samsa::raft
