// Copying one log into another on the same broker: a replica moving between
// log dirs (AlterReplicaLogDirs) is copied into a "future" log batch by batch,
// as a follower appends what its leader sends (offsets, leader epochs,
// producer state and the transaction index as written), then swapped in
// (LogManager::promote_future).
//
// Threads: the owner of both logs (the partition's shard).
#pragma once
#include <cstddef>
#include <cstdint>

#include "storage/log.h"

namespace samsa::storage {

struct CopyStep {
  uint64_t bytes = 0;      // appended to `to` by this step
  bool caught_up = false;  // `to` ends where `from` ends
};

// One step: up to `max_bytes` of whole batches of `from`, read from `to`'s log
// end, appended to `to`. A `to` below `from`'s log start (retention ran) or
// past `from`'s end (`from` was truncated) starts over at `from`'s log start.
Result<CopyStep> copy_log_step(const Log& from, Log& to, size_t max_bytes, int64_t now_ms);

// Both logs end at the same offset: `to` takes what no batch carries — a log
// start moved by retention or DeleteRecords, a leader epoch begun at the log
// end with no batch yet, the high watermark snapshot.
Status finish_log_copy(const Log& from, Log& to);

}  // namespace samsa::storage
