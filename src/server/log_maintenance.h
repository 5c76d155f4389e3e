// Per-shard background upkeep of the partition logs a shard owns:
//  - retention: every log.retention.check.interval.ms, delete_old_segments()
//    (retention.ms / retention.bytes / below the log start offset) and the
//    removal of "*.deleted" files whose file.delete.delay.ms has passed; on
//    the same timer, idle producer ids (producer.id.expiration.ms) are forgotten;
//  - the flush scheduler: every log.flush.scheduler.interval.ms, partitions
//    whose flush.messages / flush.ms is due are handed to the shard's Flusher
//    (a background fdatasync; nobody waits for it);
//  - compaction: the shard's LogCleanerService (started and stopped with it).
//
// Ownership: one LogMaintenance per shard, owned by the Broker. start() and
// stop() and the timer callbacks all run on that shard's thread; stop() must
// run there before the shard's partitions are closed.
#pragma once
#include <asio.hpp>
#include <memory>

#include "server/topic_partition.h"

namespace samsa::server {

class Broker;
class LogCleanerService;
struct Shard;

class LogMaintenance {
 public:
  LogMaintenance(Broker& broker, Shard& shard);
  ~LogMaintenance();
  LogMaintenance(const LogMaintenance&) = delete;
  LogMaintenance& operator=(const LogMaintenance&) = delete;

  void start();
  void stop();
  // The partition is being deleted: a cleaning of it is cancelled (waits for
  // the cleaner thread to let go of it, see LogCleanerService::abort).
  void forget(const TopicPartition& tp);

  // One pass, also used by tests: returns how many segments were deleted.
  int run_retention(int64_t now_ms);
  // Returns how many partitions were handed to the flusher.
  int run_flush_scheduler(int64_t now_ms);

 private:
  void schedule_retention();
  void schedule_flush();

  Broker& broker_;
  Shard& shard_;
  asio::steady_timer retention_timer_;
  asio::steady_timer flush_timer_;
  std::unique_ptr<LogCleanerService> cleaner_;
  bool stopped_ = true;
};

}  // namespace samsa::server
