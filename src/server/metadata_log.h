// Storage glue of the broker: the metadata log (__cluster_metadata-0) backed by
// a storage::Log, and opening/closing partition logs in the log dirs.
#pragma once
#include <memory>
#include <string>

#include "cluster/controller.h"
#include "server/partition.h"
#include "server/shard.h"

namespace samsa::server {

class Broker;

struct OpenedMetadataLog {
  std::unique_ptr<cluster::MetadataLog> log;
  std::string error;
};
OpenedMetadataLog open_metadata_log(const std::string& log_dir);

// Opens (or creates) the log of a partition this shard owns. Runs on `shard`.
// On failure returns null and, if `error` is given, says why.
std::unique_ptr<Partition> open_partition(Broker& broker, Shard& shard, const TopicPartition& tp,
                                          const protocol::Uuid& topic_id, const storage::LogConfig& cfg,
                                          std::string* error = nullptr);

}  // namespace samsa::server
