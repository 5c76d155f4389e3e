// The per-shard driver of log compaction (storage/log_cleaner.h). Every
// log.cleaner.backoff.ms (and at once after a cleaning finished) the shard
// picks its dirtiest compacted log that is due, snapshots it
// (plan_cleaning) and hands the task to this service's cleaner thread, which
// does all reading, map building, rewriting and fsyncing (run_cleaning). The
// result is posted back to the shard, which swaps the cleaned segments in
// (apply_cleaning: renames only) and asks the cleaner thread to write
// cleaner-offset-checkpoint. At most one cleaning per shard is in flight.
//
// Ownership: one per shard, owned by that shard's LogMaintenance. start(),
// stop(), the timer and the completions run on the shard's thread; the cleaner
// thread touches only the task it was handed and the (thread-safe) LogManager.
#pragma once
#include <asio.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "server/topic_partition.h"
#include "storage/log_cleaner.h"

namespace samsa::server {

class Broker;
struct Shard;

class LogCleanerService {
 public:
  LogCleanerService(Broker& broker, Shard& shard);
  ~LogCleanerService();
  LogCleanerService(const LogCleanerService&) = delete;
  LogCleanerService& operator=(const LogCleanerService&) = delete;

  void start();
  // Cancels a running cleaning and joins the cleaner thread (briefly blocks
  // the shard: cancellation is checked per batch).
  void stop();
  // `tp` is being deleted: cancels its running cleaning and waits (briefly:
  // cancellation is checked per batch) until the cleaner thread has let go of
  // it, so nothing more is written into its directory by path (a topic
  // re-created under the same name must never see a stale ".swap").
  void abort(const TopicPartition& tp);

 private:
  struct Job {
    storage::CleanTask task;
    std::weak_ptr<bool> alive;  // the partition's token: gone = partition removed
    storage::Log* log = nullptr;
    storage::Result<storage::CleanResult> result = storage::Status::closed("not run");
    bool done = false;  // run_cleaning returned (guarded by mu_)
  };
  void schedule(int64_t delay_ms);
  // Plans and hands over the most urgent cleaning; false when none is due.
  bool start_one(int64_t now);
  void finish(const std::shared_ptr<Job>& job);
  void enqueue(std::function<void()> fn);
  void thread_main();

  Broker& broker_;
  Shard& shard_;
  asio::steady_timer timer_;
  bool stopped_ = true;
  std::shared_ptr<Job> running_;
  // Earliest delete horizon of a kept tombstone per log: a pass is forced once
  // it has passed (the dirty ratio alone would never remove tombstones).
  std::unordered_map<TopicPartition, int64_t, TopicPartitionHash> horizons_;

  // Hand-off to the cleaner thread.
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;  // a job's `done` became true
  std::deque<std::function<void()>> jobs_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace samsa::server
