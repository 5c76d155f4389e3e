// Group commit for acks=-1 (and flush.messages / flush.ms): produce requests on
// a shard that need durability wait for the next flush round; one round
// fdatasyncs every dirty partition once, on a dedicated thread so the shard's
// event loop never blocks on the disk. While a round is in progress, new
// waiters accumulate for the next one: many requests, one sync per file.
//
// Ownership: one Flusher per shard. wait_durable() and everything but the sync
// thread run on the shard's thread.
#pragma once
#include <asio.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "base/error_code.h"

namespace samsa::replication {

class Partition;

// Requests of `operation` ("Produce", "Fetch") waiting on this shard, up or
// down: Kafka's purgatory size gauge. Shard thread only.
void note_waiting(std::string_view operation, int delta);

class Flusher {
 public:
  explicit Flusher(asio::io_context& io);
  ~Flusher();
  void stop();

  // Resumes once everything up to and including `offset` of `p` is durable;
  // NOT_LEADER_OR_FOLLOWER when `p` was deleted meanwhile (it is not touched then).
  asio::awaitable<ErrorCode> wait_durable(Partition& p, int64_t offset);
  // Schedules a background flush of `p` without waiting (flush.messages/ms).
  void request_flush(Partition& p);
  // The partition is going away: forget it.
  void forget(Partition& p);

 private:
  struct Round {
    explicit Round(asio::any_io_executor ex) : done(ex) {}
    asio::steady_timer done;
    bool finished = false;
    int64_t waiters = 0;  // produce waits this round completes (metrics)
  };
  void maybe_start_round();
  void sync_thread_main();

  asio::io_context& io_;
  std::set<Partition*> dirty_;
  std::shared_ptr<Round> next_;     // the round new waiters join
  bool in_progress_ = false;

  // Hand-off to the sync thread.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace samsa::replication
