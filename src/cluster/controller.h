// The controller: the only writer of the metadata log. Every change to the
// cluster's metadata (topics, partitions, configs, brokers, producer id blocks)
// is validated here, appended to __cluster_metadata as one batch of records
// (so a change is all-or-nothing), applied to a copy of the image and published.
//
// On a single node the quorum has one voter, and this is the same code path a
// multi-node quorum uses once Raft replicates the log.
//
// Ownership: lives on shard 0; every method is called from that thread only.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "cluster/metadata_image.h"
#include "cluster/metadata_records.h"
#include "raft/metadata_log.h"

namespace samsa::cluster {

using raft::MetadataLog;

struct TopicSpec {
  std::string name;
  int32_t num_partitions = -1;      // -1: num.partitions
  int16_t replication_factor = -1;  // -1: default.replication.factor
  std::map<int32_t, std::vector<int32_t>> assignments;  // explicit replica assignment
  std::map<std::string, std::string> configs;
};

struct OpResult {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  Uuid topic_id{};
};

// Kafka's KRaft controller refuses a CreateTopics request that would create
// more than this many partitions (ReplicationControlManager's
// MAX_PARTITIONS_PER_BATCH) with POLICY_VIOLATION, before allocating anything.
inline constexpr int64_t kMaxPartitionsPerRequest = 10000;
inline constexpr const char* kExcessivePartitionsMessage = "Excessively large number of partitions per request.";
// Any other operation is bounded by the records it would write
// (QuorumController's MAX_RECORDS_PER_USER_OP), also with POLICY_VIOLATION.
inline constexpr int64_t kMaxRecordsPerOp = 10000;
inline constexpr const char* kExcessiveBatchMessage = "Unable to perform excessively large batch operation.";

struct ControllerSettings {
  int32_t node_id = 1;
  // Partitions this broker can keep open (descriptors, memory maps); creating
  // beyond it is refused with POLICY_VIOLATION. 0: no limit.
  int64_t max_partitions = 0;
  std::string max_partitions_reason;  // what bounds it, for the error message
  int32_t default_partitions = 1;
  int16_t default_replication_factor = 1;
  // Validates topic configs; returns {error, message} when invalid.
  std::function<std::optional<std::pair<ErrorCode, std::string>>(const std::map<std::string, std::string>&)>
      validate_topic_configs;
};

class Controller {
 public:
  // `publish` gets every new image with what it changed against the previous one.
  Controller(ControllerSettings settings, MetadataLog& log, std::function<void(ImagePtr, DeltaPtr)> publish);

  // Replays the metadata log into the image; call once at start.
  void load();
  ImagePtr image() const { return image_; }

  // The topics of one request are validated one by one and the valid ones
  // written as one batch (one append, one new image); results in spec order.
  // The caller refuses duplicate names first.
  std::vector<OpResult> create_topics(const std::vector<TopicSpec>& specs, bool validate_only);
  OpResult create_topic(const TopicSpec& spec, bool validate_only) { return create_topics({spec}, validate_only)[0]; }
  OpResult delete_topic(const std::string& name);
  OpResult create_partitions(const std::string& name, int32_t total, const std::vector<std::vector<int32_t>>& assignments,
                             bool validate_only);
  // Sets (value) or removes (nullopt) config overrides of a topic or the broker.
  OpResult alter_configs(int8_t resource_type, const std::string& resource_name,
                         const std::vector<std::pair<std::string, std::optional<std::string>>>& changes,
                         bool validate_only);
  OpResult register_broker(int32_t id, const std::string& host, int32_t port, std::optional<std::string> rack);
  OpResult ensure_cluster_id(const std::string& cluster_id);
  // Reserves a block of producer ids; returns the first id, or -1 on failure.
  int64_t allocate_producer_ids(int32_t broker_id, int64_t block_size);

 private:
  bool commit(const std::vector<MetadataRecord>& records);
  static Uuid random_uuid();
  // Validates one topic against the image and the topics before it in the same
  // request (`pending_*`), and appends its records.
  OpResult plan_topic(const TopicSpec& spec, int64_t& pending_partitions, std::map<std::string, std::string>& pending,
                      std::vector<MetadataRecord>& recs);
  std::optional<OpResult> replica_error(const std::vector<int32_t>& replicas) const;
  std::optional<OpResult> budget_error(int64_t adding) const;

  ControllerSettings settings_;
  MetadataLog& log_;
  std::function<void(ImagePtr, DeltaPtr)> publish_;
  ImagePtr image_;
};

}  // namespace samsa::cluster
