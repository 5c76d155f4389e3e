// The groups of one shard: those whose __consumer_offsets partition this shard
// owns and this broker leads (loaded when it became leader, dropped by
// unload() when it stops), with their committed offsets, plus the timer that drives their
// deadlines and offset expiry. Persistence is the server's job (it appends the
// records and calls apply_* once they are durable, or while replaying the
// partition at start-up); the coordinator tells it what to write through the
// GroupPersistence hooks.
//
// Ownership: one per shard, owned by the Broker; every method but
// set_persistence (called before the shard runs) runs on that shard's thread:
// the first to touch its groups binds it, the others assert it
// (base/shard_affinity.h).
#pragma once
#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/shard_affinity.h"
#include "coordinator/group.h"
#include "coordinator/offset_records.h"
#include "coordinator/placement.h"

namespace samsa::coordinator {

using OffsetMap = std::map<std::pair<std::string, int32_t>, CommittedOffset>;  // (topic, partition)

// Offsets of one group that are past their retention (Kafka's rules, see
// find_expired), and whether the group dies with them.
struct ExpiredOffsets {
  std::string group;
  std::vector<std::pair<std::string, int32_t>> partitions;
  bool group_dead = false;  // Empty, no members, no offsets left: tombstone its metadata too
  bool consumer_group = false;  // a KIP-848 group: its records are tombstoned when it dies
};

struct GroupPersistence {
  // A group reached a recorded state (see Group::record_seq): write group_record(group).
  std::function<void(const std::string& group)> write_group;
  // Expired offsets to tombstone; the writer calls apply_expired for each once
  // durable, then expiry_done().
  std::function<void(std::vector<ExpiredOffsets>)> expire;
  // A KIP-848 consumer group changed since its last records: write them (consumer_group_records.h).
  std::function<void(const std::string& group)> write_consumer_group;
  int64_t retention_ms = 7 * 24 * 3600 * 1000LL;  // offsets.retention.minutes
  int64_t check_interval_ms = 600000;              // offsets.retention.check.interval.ms
};

class GroupCoordinator {
 public:
  // `clock` returns wall-clock milliseconds (a fake one in tests).
  GroupCoordinator(asio::io_context& io, GroupConfig config, std::function<int64_t()> clock);
  ~GroupCoordinator();

  int64_t now() const { return clock_(); }
  // Installs the hooks and starts the timer (tick() every 100 ms).
  void set_persistence(GroupPersistence p);
  // What the timer runs: group deadlines, then the hooks for groups whose
  // record is due, then (every check interval) offset expiry.
  void tick();
  Group* find(const std::string& group_id);
  Group& get_or_create(const std::string& group_id);
  // Groups that exist (members or offsets), for ListGroups.
  std::vector<const Group*> groups() const;
  // KIP-848 consumer groups (a group id is either a classic Group or one of these).
  // The consumer group changed since its records were last written: marks it
  // written (the caller writes them now) and says so.
  bool take_consumer_change(const std::string& id);
  // Writing its records failed: the next tick writes them again.
  void consumer_write_failed(const std::string& id);
  ConsumerGroup* find_consumer(const std::string& group_id);
  ConsumerGroup& get_or_create_consumer(const std::string& group_id);
  std::vector<const ConsumerGroup*> consumer_groups() const;
  void erase_consumer(const std::string& group_id) { consumer_groups_.erase(group_id); }
  // An Empty classic group without members gives way to a consumer group (its offsets stay).
  void erase_empty_classic(const std::string& group_id);

  // Online migration (KIP-848, group.consumer.migration.policy). Upgrade: a
  // ConsumerGroupHeartbeat joining the non-empty classic group `group_id`
  // converts it (the policy allows upgrades, its protocol type is "consumer",
  // it fits group.consumer.max.size with the new member, every member's
  // metadata reads) and joins it; the classic group is replaced only if the
  // heartbeat succeeds. nullopt: no conversion (the caller answers
  // GROUP_ID_NOT_FOUND, as Kafka does).
  std::optional<ConsumerHeartbeatResult> upgrade_and_join(const std::string& group_id, const ConsumerHeartbeat& h,
                                                          const TopicCatalog& topics);
  // Downgrade: once a member speaking the consumer protocol has left a
  // consumer group whose remaining members all speak the classic protocol (the
  // policy allows downgrades, they fit group.max.size), the group becomes a
  // classic group at generation = group epoch, its members keep their current
  // assignment, and a rebalance starts. True when it converted. `rebalance`
  // false: the member was replaced by a classic static member joining now (it
  // took over its assignment): the group stays Stable, as Kafka's is.
  bool maybe_downgrade(const std::string& group_id, bool rebalance = true);
  // The group changed type and the records of the conversion (tombstones of
  // the old type, the new type's records) are not written yet.
  bool conversion_due(const std::string& group_id) const { return conversions_due_.count(group_id) != 0; }
  bool take_conversion(const std::string& group_id) { return conversions_due_.erase(group_id) != 0; }
  void conversion_write_failed(const std::string& group_id) { conversions_due_.insert(group_id); }

  // Committed offsets (in memory; durable once the server has written them).
  void apply_commit(const std::string& group, const std::string& topic, int32_t partition, CommittedOffset v);
  void apply_delete(const std::string& group, const std::string& topic, int32_t partition);
  const OffsetMap* offsets(const std::string& group) const;
  // DeleteGroups: the group must be empty; its offsets go too. Returns NONE,
  // NON_EMPTY_GROUP or GROUP_ID_NOT_FOUND.
  ErrorCode delete_group(const std::string& group_id);

  // Transactional offset commits (TxnOffsetCommit): held per producer and
  // __consumer_offsets partition until the transaction's marker lands there;
  // a commit marker applies them, an abort marker drops them.
  void add_pending(int64_t producer_id, int32_t offsets_partition, const std::string& group, const std::string& topic,
                   int32_t partition, CommittedOffset v);
  void complete_txn(int64_t producer_id, int32_t offsets_partition, bool commit);
  // The partitions of this group whose offsets wait for a transaction (OffsetFetch require_stable).
  std::set<std::pair<std::string, int32_t>> pending_partitions(const std::string& group) const;

  // Group metadata records. take_changed: whether the group reached a
  // recorded state since its last record (and marks it recorded).
  bool take_changed(const std::string& group);
  // The record to write now; nullopt when the group is gone (a tombstone).
  std::optional<GroupMetadataValue> group_record(const std::string& group) const;
  // Replay of a group metadata record (nullopt: a tombstone).
  void apply_group_record(const std::string& group, const std::optional<GroupMetadataValue>& v);

  // The coordinator no longer serves the groups `in_partition` selects (their
  // __consumer_offsets partition is `offsets_partition`): each is unloaded
  // (Group::unload) and forgotten with its offsets, and the partition's
  // pending transactional offsets go too. The new leader replays them.
  void unload(const std::function<bool(const std::string& group)>& in_partition, int32_t offsets_partition);

  // Offset expiry (Kafka's rules): in an Empty group every offset expires
  // `retention_ms` after the group became empty (after its commit when the
  // group never changed state: a simple consumer's); in a Stable consumer
  // group, offsets of topics no member subscribes to expire `retention_ms`
  // after their commit; an offset with an expire timestamp (OffsetCommit
  // v2-v4 retention time) expires at that time instead. Offsets a
  // transaction holds do not expire. An Empty group without members or
  // offsets dies.
  std::vector<ExpiredOffsets> find_expired(int64_t now, int64_t retention_ms) const;
  void apply_expired(const ExpiredOffsets& e);
  void expiry_done() { expiring_ = false; }

 private:
  void on_owner() const { owner_.check("GroupCoordinator"); }
  struct PendingOffset {
    std::string group, topic;
    int32_t partition;
    CommittedOffset value;
  };
  void schedule_tick();

  asio::io_context& io_;
  GroupConfig config_;
  std::function<int64_t()> clock_;
  ShardAffinity owner_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  std::map<std::string, std::unique_ptr<ConsumerGroup>> consumer_groups_;
  std::map<std::string, OffsetMap> offsets_;
  std::map<std::pair<int64_t, int32_t>, std::vector<PendingOffset>> pending_;  // (producer id, offsets partition)
  std::map<std::string, uint64_t> recorded_seq_;  // group -> Group::record_seq() of its last record
  std::map<std::string, uint64_t> consumer_recorded_seq_;  // consumer group -> change_seq() last written
  std::set<std::string> conversions_due_;  // converted groups whose conversion records wait to be written
  GroupPersistence persistence_;
  int64_t next_expiry_check_ = 0;
  bool expiring_ = false;  // an expiry's tombstones are being written
  asio::steady_timer timer_;
  bool ticking_ = false;
};

}  // namespace samsa::coordinator
