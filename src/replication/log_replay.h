// Reading a partition's log from its start, batch by batch, for
// the replay that rebuilds a coordinator's state. Reads go through the log's
// storage::Env (File::read_at), so fault injection reaches replay.
//
// Threads: the thread that owns the log (its shard).
#pragma once
#include "base/error_code.h"
#include "replication/partition_writer.h"

namespace samsa::storage {
class Log;
}

namespace samsa::replication {

// Calls fn with every complete batch of `log`, from its log start to its end,
// in order. A read error stops the replay and is returned
// (KAFKA_STORAGE_ERROR for a failed or short read).
ErrorCode for_each_batch(const storage::Log& log, const BatchFn& fn);

}  // namespace samsa::replication
