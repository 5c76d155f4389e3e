// The metadata log (__cluster_metadata-0): the seam between the cluster's
// metadata (controller, loader) and the consensus that orders it.
//
// A quorum appends through its leader only. append() proposes one batch and
// completes once the batch is committed (today: durable on this node, the one
// voter) with its offset and epoch, or with NOT_LEADER_OR_FOLLOWER when this
// node does not lead the quorum. Every committed batch, whoever proposed it,
// reaches the commit listener (the metadata loader) in log order, before the
// append that wrote it completes.
//
// Threads: a MetadataLog belongs to one event loop (shard 0 in the broker);
// append(), replay() and the listener run there. The storage-backed log syncs
// on a FlushThread, never on that loop.
#pragma once
#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "base/types.h"
#include "protocol/wire.h"
#include "raft/raft_messages.h"  // LeaderAndEpoch
#include "storage/status.h"

namespace samsa {
class Clock;
}
namespace samsa::storage {
class Env;
}

namespace samsa::raft {

class FlushThread;

struct AppendResult {
  // NONE; NOT_LEADER_OR_FOLLOWER (this node does not lead the quorum);
  // KAFKA_STORAGE_ERROR (the write or its sync failed: nothing is committed).
  ErrorCode error = ErrorCode::NONE;
  Offset offset{-1};  // last offset of the batch, once committed
  Epoch epoch{-1};    // the leader epoch it was committed in
  std::string message;
};

class MetadataLog {
 public:
  // One committed batch: values[i] is the record at base + i.
  using CommitListener = std::function<void(Offset base, Epoch epoch, std::span<const protocol::Bytes> values)>;

  virtual ~MetadataLog() = default;
  virtual NodeId local_id() const = 0;
  virtual LeaderAndEpoch leader() const = 0;
  bool is_leader() const { return leader().leader == local_id(); }
  virtual void set_commit_listener(CommitListener listener) = 0;
  // True while this node knows of committed records it has not handed to the
  // commit listener yet, counting the batch being handed over as handed (a
  // restarted or lagging node replaying history). The loader then builds its
  // images but publishes only the one that catches up, so brokers never act on
  // states that were already stale (Kafka's MetadataLoader catch-up).
  virtual bool catching_up() const { return false; }
  // replay() hands over every committed record there is (a log with no quorum
  // behind it); a quorum node's replay holds only what it knew committed.
  virtual bool replay_is_complete() const { return true; }
  // Called once a delivery ended a catch-up (everything known committed has
  // been handed over, trailing control records included).
  virtual void set_caught_up_listener(std::function<void()> listener) { (void)listener; }

  // Proposes `values` as one batch (all or nothing).
  virtual asio::awaitable<AppendResult> append(std::vector<protocol::Bytes> values) = 0;
  // Calls fn for every committed record from the start, in offset order. A read
  // error stops the replay and is returned.
  virtual storage::Status replay(const std::function<void(Offset offset, std::span<const uint8_t> value)>& fn) = 0;
};

// The storage-backed log in <log_dir>/__cluster_metadata-0 on one node: this
// node is the only voter, so it leads at epoch 0 and a batch commits once it is
// durable. Reads and writes go through `env`; syncs run on `flush`. `clock`
// stamps the batches. env, clock and flush must outlive the log.
struct OpenedMetadataLog {
  std::unique_ptr<MetadataLog> log;
  std::string error;
};
OpenedMetadataLog open_metadata_log(storage::Env* env, const std::string& log_dir, NodeId local_id, Clock& clock,
                                    FlushThread& flush);

}  // namespace samsa::raft
