// Moving replicas between this broker's log dirs (AlterReplicaLogDirs,
// KIP-113). A move copies the partition's log into a "future" log in the
// destination dir (storage/log_copy.h), a step of whole batches per turn of
// the shard, while the partition keeps serving from its current log; when the
// copy has caught up, in that same turn, the future log is completed and
// closed (fsync), swapped in by LogManager::promote_future and opened again,
// and the Partition takes it (Partition::replace_log). The old directory is
// renamed "-delete" and removed after file.delete.delay.ms. A truncation of
// the current log during the copy starts the copy over; the partition's
// deletion or a failure gives it up (the future directory is removed).
//
// Kafka resumes an unfinished copy after a restart; here it is removed at
// start (LogManager) and the operator asks again.
//
// Threads: one per shard, owned by its ReplicaManager; everything on the
// shard's thread. The copy waits while the broker's copying rate is above
// replica.alter.log.dirs.io.max.bytes.per.second (checked before each step).
#pragma once
#include <asio.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "base/error_code.h"
#include "base/shard_affinity.h"
#include "replication/partition.h"

namespace samsa::storage {
class LogManager;
}

namespace samsa::replication {

// The broker's bound on the copying rate (replica.alter.log.dirs.io.max.bytes.per.second),
// shared by every shard's moves; empty: unbounded.
struct CopyQuota {
  std::function<bool(int64_t now_ms)> exceeded;
  std::function<void(int64_t bytes, int64_t now_ms)> record;
};

class LogDirMoves {
 public:
  using Find = std::function<Partition*(const TopicPartition&)>;
  LogDirMoves(int shard, storage::LogManager& logs, const Clock& clock, Find find, CopyQuota quota = {});
  ~LogDirMoves();
  LogDirMoves(const LogDirMoves&) = delete;
  LogDirMoves& operator=(const LogDirMoves&) = delete;

  // Move `p` to log dir `dir` (an index of the LogManager's dirs). NONE when
  // the move starts (then `*started`: the caller spawns run() on the shard),
  // is already under way to that dir, or `p` is there already (a move
  // elsewhere is then given up); KAFKA_STORAGE_ERROR when the dir is offline
  // or the copy cannot be created there.
  ErrorCode request(Partition& p, size_t dir, bool* started);
  // The copy of tp's move until it is swapped in, given up, or replaced by
  // another request.
  asio::awaitable<void> run(TopicPartition tp);
  // The partition goes: its copy is given up.
  void cancel(const TopicPartition& tp);
  void clear();

  struct Progress {
    std::string dir;         // the future log's log dir
    int64_t size_bytes = 0;  // copied so far
    int64_t lag = 0;         // current log end - future log end
  };
  std::optional<Progress> progress(const TopicPartition& tp) const;

 private:
  struct Move {
    size_t dir = 0;
    std::unique_ptr<storage::Log> future;
    uint64_t generation = 0;  // the current log's truncation generation the copy follows
    uint64_t id = 0;
    uint64_t unflushed = 0;
  };
  void drop(const TopicPartition& tp, const std::string& why);
  // The copy caught up: swap it in (same turn).
  void complete(Partition& p, Move& m);

  ShardAffinity owner_;
  storage::LogManager& logs_;
  const Clock& clock_;
  Find find_;
  CopyQuota quota_;
  uint64_t next_id_ = 1;
  std::unordered_map<TopicPartition, std::unique_ptr<Move>, TopicPartitionHash> moves_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace samsa::replication
