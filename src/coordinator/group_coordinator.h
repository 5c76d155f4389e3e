// The groups of one shard: those whose __consumer_offsets partition this shard
// owns, with their committed offsets, plus the timer that drives their
// deadlines. Persistence is the server's job (it appends the records and calls
// apply_* once they are durable, or while replaying the partition at start-up).
//
// Ownership: one per shard, owned by the Broker; every method runs on that
// shard's thread.
#pragma once
#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "coordinator/group.h"
#include "coordinator/offset_records.h"
#include "coordinator/placement.h"

namespace samsa::coordinator {

using OffsetMap = std::map<std::pair<std::string, int32_t>, CommittedOffset>;  // (topic, partition)

class GroupCoordinator {
 public:
  // `clock` returns wall-clock milliseconds (a fake one in tests).
  GroupCoordinator(asio::io_context& io, GroupConfig config, std::function<int64_t()> clock);
  ~GroupCoordinator();

  int64_t now() const { return clock_(); }
  Group* find(const std::string& group_id);
  Group& get_or_create(const std::string& group_id);
  // Groups that exist (members or offsets), for ListGroups.
  std::vector<const Group*> groups() const;

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

 private:
  struct PendingOffset {
    std::string group, topic;
    int32_t partition;
    CommittedOffset value;
  };
  void schedule_tick();

  asio::io_context& io_;
  GroupConfig config_;
  std::function<int64_t()> clock_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  std::map<std::string, OffsetMap> offsets_;
  std::map<std::pair<int64_t, int32_t>, std::vector<PendingOffset>> pending_;  // (producer id, offsets partition)
  asio::steady_timer timer_;
  bool ticking_ = false;
};

}  // namespace samsa::coordinator
