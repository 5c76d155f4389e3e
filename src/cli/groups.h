#pragma once
// `samsa consumer-groups` (kafka-consumer-groups.sh): the group data the views
// print, fetched synchronously through librdkafka 2.0.2's Admin API
// (ListConsumerGroups, DescribeConsumerGroups — which decodes each member's
// ConsumerProtocolAssignment —, ListConsumerGroupOffsets, AlterConsumerGroupOffsets,
// DeleteGroups, DeleteConsumerGroupOffsets) and ListOffsets (rd_kafka_offsets_for_times).
// Everything here runs on the tool's one thread.
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace samsa::cli {

using TopicPartitionKey = std::pair<std::string, int32_t>;
using OffsetMap = std::map<TopicPartitionKey, int64_t>;

struct GroupsArgs {
  std::string bootstrap, command_config, output = "text", state_filter;
  std::vector<std::string> groups, topics;
  bool list = false, describe = false, del = false, reset = false, delete_offsets = false;
  bool all_groups = false, members = false, offsets = false, state = false, verbose = false;
  bool all_topics = false, to_earliest = false, to_latest = false, to_current = false;
  bool dry_run = false, execute = false;
  int64_t to_offset = 0, shift_by = 0;
  bool has_to_offset = false, has_shift_by = false;
  std::string to_datetime, by_duration, from_file;
  bool export_csv = false;
  int timeout_ms = 5000;
};

struct GroupListing {
  std::string group, state;
};

struct MemberInfo {
  std::string consumer_id, group_instance_id, host, client_id;
  std::vector<TopicPartitionKey> assignment;  // sorted
};

struct GroupInfo {
  std::string group, state, assignor;
  int32_t coordinator_id = -1;
  std::string coordinator_host;
  int coordinator_port = 0;
  std::vector<MemberInfo> members;
};

// A state as Kafka's tools print it ("Stable", "Empty", "Dead", "PreparingRebalance", ...).
std::string group_state_name(rd_kafka_consumer_group_state_t s);

bool list_groups(rd_kafka_t* rk, int timeout_ms, const std::vector<std::string>& states,
                 std::vector<GroupListing>& out, std::string& err);
bool describe_groups(rd_kafka_t* rk, const std::vector<std::string>& groups, int timeout_ms,
                     std::vector<GroupInfo>& out, std::string& err);
// The group's committed offsets (OffsetFetch for all partitions).
bool committed_offsets(rd_kafka_t* rk, const std::string& group, int timeout_ms, OffsetMap& out,
                       std::string& err);
// ListOffsets for each partition: `when` is -1 (latest), -2 (earliest) or a
// timestamp in ms (offset of the first record at or after it, -1 if none).
bool list_offsets(rd_kafka_t* rk, const std::vector<TopicPartitionKey>& tps, int64_t when,
                  int timeout_ms, OffsetMap& out, std::string& err);
// Partition ids of `topic` from Metadata; empty + err when it does not exist.
bool topic_partitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms,
                      std::vector<int32_t>& out, std::string& err);
// Commits `offsets` for `group` (OffsetCommit without a member: Kafka refuses
// it while the group has members). Per-partition failures go to `failed`.
bool alter_offsets(rd_kafka_t* rk, const std::string& group, const OffsetMap& offsets,
                   int timeout_ms, std::map<TopicPartitionKey, std::string>& failed,
                   std::string& err);

// The groups --group or --all-groups (ListGroups) name.
bool selected_groups(rd_kafka_t* rk, const GroupsArgs& a, std::vector<std::string>& out, std::string& err);

// The views and actions of the tool; each returns the exit code.
int groups_list(rd_kafka_t* rk, const GroupsArgs& a);
int groups_describe(rd_kafka_t* rk, const GroupsArgs& a);
int groups_reset(rd_kafka_t* rk, const GroupsArgs& a);
int groups_delete(rd_kafka_t* rk, const GroupsArgs& a);
int groups_delete_offsets(rd_kafka_t* rk, const GroupsArgs& a);

}  // namespace samsa::cli
