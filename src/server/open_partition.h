// Opening the log of a partition this broker hosts, in the log dirs.
#pragma once
#include <memory>
#include <string>

#include "server/partition.h"
#include "server/shard.h"

namespace samsa::server {

class Broker;

// Opens (or creates) the log of a partition this shard owns. Runs on `shard`.
// On failure returns null and, if `error` is given, says why.
std::unique_ptr<Partition> open_partition(Broker& broker, Shard& shard, const TopicPartition& tp,
                                          const protocol::Uuid& topic_id, const storage::LogConfig& cfg,
                                          std::string* error = nullptr);

}  // namespace samsa::server
