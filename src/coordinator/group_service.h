// The group coordinator's persistence: what it writes to __consumer_offsets
// (offset commits and deletions, group metadata records when a rebalance
// completes or a group empties, tombstones for expired offsets and dead
// groups, transactional offset commits) and the replay of a partition at
// start. Writes go through a PartitionWriter and are applied to the
// GroupCoordinator only once durable, as Kafka does.
//
// Ownership: one per shard, next to that shard's GroupCoordinator; every
// method runs on that shard's thread (the one owning the group's partition).
#pragma once
#include <asio.hpp>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/clock.h"
#include "coordinator/group_coordinator.h"
#include "coordinator/partition_writer.h"

namespace samsa::coordinator {

// The partition count of an internal topic in this shard's metadata image; 0
// while the topic does not exist.
using PartitionCount = std::function<int32_t(const char* topic)>;

struct OffsetCommitItem {
  std::string topic;
  int32_t partition = 0;
  CommittedOffset value;
  ErrorCode error = ErrorCode::NONE;  // set before: the item is skipped; after: its outcome
};

// OffsetCommit of one group (its __consumer_offsets partition is `tp`).
struct OffsetCommitWork {
  std::string group;
  std::string member_id;
  std::optional<std::string> instance_id;
  int32_t generation = -1;
  TopicPartition tp;
  std::vector<OffsetCommitItem> items;
};

// TxnOffsetCommit: held until the transaction's marker lands in `tp`.
struct TxnOffsetCommitWork {
  std::string group;
  TxnProducer producer;
  int32_t generation = -1;  // -1: not checked (before v3)
  std::string member_id;
  std::optional<std::string> instance_id;
  TopicPartition tp;
  std::vector<OffsetCommitItem> items;
};

// OffsetDelete: (topic, partition, outcome) per item.
struct OffsetDeleteWork {
  std::string group;
  TopicPartition tp;
  ErrorCode error = ErrorCode::NONE;
  std::vector<std::tuple<std::string, int32_t, ErrorCode>> items;
};

class GroupService {
 public:
  GroupService(asio::io_context& io, GroupCoordinator& groups, PartitionWriter& writer, const Clock& clock,
               PartitionCount partitions);

  GroupCoordinator& groups() { return groups_; }

  // Hooks the coordinator up to this service (group records, offset expiry
  // with offsets.retention.*) and starts its timer.
  void start(int64_t retention_ms, int64_t check_interval_ms);

  // SyncGroup of the leader: once the rebalance is complete, its group
  // metadata record is made durable before the leader is answered (`done`),
  // as in Kafka. A failed write answers with COORDINATOR_LOAD_IN_PROGRESS or
  // COORDINATOR_NOT_AVAILABLE.
  void reply_after_group_record(const std::string& group, SyncResult r, std::function<void(SyncResult)> done);

  // Checks the member, appends the records, waits until they are durable, then
  // applies them; every item gets its outcome.
  asio::awaitable<void> commit_offsets(OffsetCommitWork& w);
  // The same for a transaction's commits, applied when its marker lands.
  asio::awaitable<ErrorCode> commit_txn_offsets(const TxnOffsetCommitWork& w);
  // DeleteGroups: only an empty group; its offsets and metadata get durable
  // tombstones before it is forgotten.
  asio::awaitable<ErrorCode> delete_group(const TopicPartition& tp, const std::string& group);
  asio::awaitable<void> delete_offsets(OffsetDeleteWork& w);

  // Leadership of __consumer_offsets partitions (coordinator_partitions.h).
  // begin_load: this broker leads `tp` at `epoch` now; the state of its groups
  // (from an older epoch) is dropped and requests for them answer
  // COORDINATOR_LOAD_IN_PROGRESS. False when `epoch` is not newer than known.
  bool begin_load(const TopicPartition& tp, Epoch epoch);
  // Rebuilds the committed offsets and groups of `tp` from its log (from the
  // start, later records win), then serves them at `epoch`. Starts the load
  // itself if begin_load was not called; does nothing once superseded (a newer
  // epoch, or leadership lost meanwhile).
  ErrorCode load_partition(const TopicPartition& tp, Epoch epoch);
  // Leadership of `tp` lost (or the partition removed): its groups are
  // dropped, their members waiting in JoinGroup / SyncGroup are answered
  // NOT_COORDINATOR, and writes still in flight fail with NOT_COORDINATOR.
  void unload_partition(const TopicPartition& tp);
  // NONE when this shard serves `tp`'s groups, else NOT_COORDINATOR or
  // COORDINATOR_LOAD_IN_PROGRESS.
  ErrorCode check(const TopicPartition& tp) const { return served_.check(tp); }
  const CoordinatorPartitions& served() const { return served_; }

  // A KIP-848 heartbeat changed the group: its records, durable (acks=all on
  // __consumer_offsets) before the member is answered, as Kafka does. NONE,
  // or the write's error (NOT_COORDINATOR when leadership moved meanwhile).
  asio::awaitable<ErrorCode> persist_consumer_group(std::string group);
  // LeaveGroup: each member leaves its classic group, or the consumer group it
  // is a classic member of (that group's records are then durable before the
  // answer, as Kafka does). The request's error (NONE, NOT_COORDINATOR, ...)
  // and each member's outcome.
  asio::awaitable<std::pair<ErrorCode, std::vector<LeaveOutcome>>> leave_group(TopicPartition tp, std::string group,
                                                                              std::vector<LeaveOutcome> leaving);
  // The same for a change made by a classic request (JoinGroup of a classic
  // member in a consumer group): `done` gets the write's outcome, on this shard.
  void after_consumer_records(const std::string& group, std::function<void(ErrorCode)> done);

  // The group's __consumer_offsets partition; nullopt before the topic exists.
  std::optional<TopicPartition> offsets_partition(const std::string& group) const;

 private:
  asio::awaitable<ErrorCode> write_group_record(std::string group);
  asio::awaitable<ErrorCode> write_consumer_group(std::string group);
  asio::awaitable<void> expire_offsets(std::vector<ExpiredOffsets> expired);
  void drop_groups_of(const TopicPartition& tp);

  asio::io_context& io_;
  GroupCoordinator& groups_;
  PartitionWriter& writer_;
  const Clock& clock_;
  PartitionCount partitions_;
  CoordinatorPartitions served_;
  std::map<std::string, std::set<std::string>> consumer_members_written_;  // KIP-848 group -> members in its records
};

}  // namespace samsa::coordinator
