// Opening the log of a partition this broker hosts, in the log dirs.
#pragma once
#include <memory>
#include <string>

#include "base/clock.h"
#include "replication/partition.h"

namespace samsa::storage {
class LogManager;
}

namespace samsa::replication {

// Opens (or creates) the log of a partition this shard owns; runs on the
// owning shard. On failure returns null and, if `error` is given, says why.
std::unique_ptr<Partition> open_partition(storage::LogManager& manager, const Clock& clock, const TopicPartition& tp,
                                          const protocol::Uuid& topic_id, const storage::LogConfig& cfg,
                                          std::string* error = nullptr);

}  // namespace samsa::replication
