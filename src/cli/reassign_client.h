#pragma once
// The network half of partition reassignments (reassign_client.cc), shared by
// `samsa reassign-partitions` and `samsa cluster`. Blocking calls through one
// RawClient; every failure is false + err. One thread (the tool's).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/common.h"
#include "cli/reassign.h"
#include "protocol/messages/list_partition_reassignments.h"

namespace samsa::cli {

// What the cluster looks like: every partition's replicas, the live brokers.
struct ClusterView {
  Assignment replicas;
  std::set<int32_t> brokers;
};
bool describe(RawClient& client, ClusterView& view, std::string& err);

// The reassignments in progress (all of them).
using Ongoing = std::map<PartitionKey, protocol::ListPartitionReassignmentsResponse::OngoingPartitionReassignment>;
bool list_ongoing(RawClient& client, int timeout_ms, Ongoing& out, std::string& err);

// Sends the reassignments (nullopt replicas: cancel); per-partition errors in `errors`.
// `allow_rf_change` false: KIP-860's refusal of a replica count change (sent as v1).
bool alter(RawClient& client, int timeout_ms, const std::map<PartitionKey, std::optional<std::vector<int32_t>>>& parts,
           std::map<PartitionKey, std::string>& errors, std::string& err, bool allow_rf_change = true);
// "title\n" then one "partition: error" line each.
std::string errors_text(const std::string& title, const std::map<PartitionKey, std::string>& errors);

// Kafka's throttles for a move from `current` to `target` at `rate` bytes/s
// (reassign-partitions --throttle).
bool set_throttles(RawClient& client, const Properties& props, int timeout_ms, const Assignment& current,
                   const Assignment& target, int64_t rate, std::string& err);
// Clears them after the move of `target` (reassign-partitions --verify).
bool clear_throttles(RawClient& client, const Properties& props, int timeout_ms, const Assignment& target,
                     std::string& err);

// ---- replicas between the log dirs of their broker ----
using ReplicaKey = std::pair<PartitionKey, int32_t>;  // partition, broker
// Where each replica of `dirs` is (DescribeLogDirs of its broker): its dir and,
// while it moves, the dir its copy goes to; found false when no live log dir
// of the broker holds it.
struct ReplicaDirState {
  bool found = false;
  std::string current;
  std::string future;
};
bool describe_replica_dirs(const Properties& props, int timeout_ms, const ReplicaDirs& dirs,
                           std::map<ReplicaKey, ReplicaDirState>& out, std::string& err);
// Asks each broker to move its replicas of `dirs` (AlterReplicaLogDirs); a
// replica the broker does not host yet (REPLICA_NOT_AVAILABLE: a reassignment
// is still creating it) is asked again until timeout_ms. Errors per replica.
bool alter_replica_dirs(const Properties& props, int timeout_ms, const ReplicaDirs& dirs,
                        std::map<ReplicaKey, std::string>& errors, std::string& err);
// replica.alter.log.dirs.io.max.bytes.per.second on the brokers of `dirs`
// (nullopt: removed) — --replica-alter-log-dirs-throttle.
bool set_log_dir_throttle(RawClient& client, const Properties& props, int timeout_ms, const ReplicaDirs& dirs,
                          std::optional<int64_t> rate, std::string& err);

}  // namespace samsa::cli
