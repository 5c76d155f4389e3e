// Which coordinator partitions (__consumer_offsets or __transaction_state) a
// shard's coordinator serves, following the partition leadership the
// replication layer reports (Kafka's ownedPartitions / loadingPartitions):
// becoming leader at a leader epoch starts a load (requests for its keys answer
// COORDINATOR_LOAD_IN_PROGRESS), the replay completes it (the coordinator
// serves them at that epoch), losing leadership or the partition ends it
// (NOT_COORDINATOR). The serving epoch is the coordinator epoch: writes are
// made at it and fail once the partition is led at another one.
//
// Ownership: one per coordinator service, on that service's shard; not
// synchronised. Pure data: no I/O, no clock.
#pragma once
#include <map>
#include <optional>

#include "base/error_code.h"
#include "base/types.h"
#include "storage/topic_partition.h"

namespace samsa::coordinator {

class CoordinatorPartitions {
 public:
  using TopicPartition = storage::TopicPartition;

  // This broker became leader of `tp` at `epoch`: a load starts. False (and
  // nothing changes) when `epoch` is not newer than the one loading or served.
  bool begin_load(const TopicPartition& tp, Epoch epoch);
  // The replay for `epoch` finished: served from now on. False when the load
  // was superseded meanwhile (a newer epoch, or leadership lost).
  bool complete_load(const TopicPartition& tp, Epoch epoch);
  // Leadership lost or the partition removed. False when it was not there.
  bool remove(const TopicPartition& tp);

  // NONE when served; COORDINATOR_LOAD_IN_PROGRESS while loading;
  // NOT_COORDINATOR otherwise.
  ErrorCode check(const TopicPartition& tp) const;
  // The epoch `tp` is served at (nullopt while loading or not led).
  std::optional<Epoch> serving_epoch(const TopicPartition& tp) const;
  // Whether `tp` is loading at exactly `epoch`.
  bool loading(const TopicPartition& tp, Epoch epoch) const;
  bool any_loading() const;

 private:
  struct Entry {
    Epoch epoch{-1};
    bool loaded = false;
  };
  std::map<TopicPartition, Entry> entries_;
};

}  // namespace samsa::coordinator
