// What the group coordinator keeps in __consumer_offsets besides offset
// commits: group metadata records (written when a rebalance completes and
// when a group becomes Empty, tombstoned when it dies), offset expiry
// (offsets.retention.minutes, checked every offsets.retention.check.interval.ms)
// and the replay of both at start.
//
// Everything here runs on the shard that owns the group's __consumer_offsets
// partition, i.e. on the thread of the GroupCoordinator it serves.
#pragma once
#include <functional>
#include <string>

#include "coordinator/group.h"

namespace samsa::server {

class Broker;
struct Shard;

// Hooks the coordinator of `shard` up to its partitions (record writes,
// expiry) with the broker's offsets.retention.* settings; starts its timer.
void install_group_persistence(Broker& broker, Shard& shard);

// SyncGroup of the leader: once the rebalance is complete, its group metadata
// record is made durable before the leader is answered (`done`), as in Kafka.
// A failed write answers with the error.
void reply_after_group_record(Broker& broker, int shard, const std::string& group, coordinator::SyncResult r,
                              std::function<void(coordinator::SyncResult)> done);

}  // namespace samsa::server
