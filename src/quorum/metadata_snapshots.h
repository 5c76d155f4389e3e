// Metadata snapshots on a node of the quorum (KIP-630, as Kafka's
// SnapshotGenerator and KafkaRaftClient do them), tying the Raft driver
// (QuorumMetadataLog), the metadata loader and the snapshot files
// (raft::FileSnapshotStore in <metadata.log.dir>/__cluster_metadata-0):
//
// - taking: after the loader applied committed batches, SnapshotPolicy
//   (metadata.log.max.record.bytes.between.snapshots,
//   metadata.log.max.snapshot.interval.ms) decides; the loader's image is
//   written as image_records() on the FlushThread at (applied end offset,
//   epoch of the last applied batch), then the core drops the log prefix it
//   covers and the older snapshots are deleted. Every node does it, leader or
//   follower, on its own committed state.
// - serving: the store is the core's SnapshotReader (FetchSnapshot chunks).
// - installing: a snapshot fetched from the leader is stored durably on the
//   FlushThread, the core restarts its log at its end, and the loader
//   replaces its image with the snapshot's records (a full delta).
// - start-up (start(), before the driver and loader.load()): the newest valid
//   snapshot is loaded into the loader and the driver delivers the committed
//   log from its end.
//
// Threads: everything on the driver's executor (shard 0's loop) except the
// snapshot write and install, which run on the FlushThread with an immutable
// image / the fetched bytes.
#pragma once
#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "base/clock.h"
#include "cluster/metadata_loader.h"
#include "quorum/quorum_metadata_log.h"
#include "raft/file_snapshot_store.h"
#include "raft/flush_thread.h"
#include "raft/snapshot_policy.h"

namespace samsa::quorum {

struct SnapshotStats {
  uint64_t taken = 0;      // written and accepted by the core
  uint64_t installed = 0;  // fetched from the leader and loaded
  uint64_t failed = 0;     // writes that failed (retried when due again)
};

class MetadataSnapshots {
 public:
  // Every reference must outlive this object.
  MetadataSnapshots(asio::any_io_executor ex, raft::FileSnapshotStore& store, raft::FlushThread& flush, Clock& clock,
                    raft::SnapshotPolicyConfig policy, QuorumMetadataLog& log, cluster::MetadataLoader& loader);
  ~MetadataSnapshots();
  MetadataSnapshots(const MetadataSnapshots&) = delete;
  MetadataSnapshots& operator=(const MetadataSnapshots&) = delete;

  // Before log.start() and loader.load(): loads the newest snapshot into the
  // loader and installs the driver's hooks. An error message or "".
  std::string start();
  const SnapshotStats& stats() const { return stats_; }
  bool writing() const { return policy_.in_progress(); }

 private:
  void on_applied(raft::SnapshotId applied, int64_t bytes);
  asio::awaitable<void> write(raft::SnapshotId id, cluster::ImagePtr image, std::shared_ptr<bool> alive);
  asio::awaitable<storage::Status> store(raft::SnapshotId id, std::shared_ptr<const protocol::Bytes> bytes);
  void installed(raft::SnapshotId id, const protocol::Bytes& bytes);

  asio::any_io_executor ex_;
  raft::FileSnapshotStore& store_;
  raft::FlushThread& flush_;
  Clock& clock_;
  raft::SnapshotPolicy policy_;
  QuorumMetadataLog& log_;
  cluster::MetadataLoader& loader_;
  SnapshotStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace samsa::quorum
