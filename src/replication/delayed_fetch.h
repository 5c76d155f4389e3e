// Fetch waiting rooms (Kafka's DelayedFetch): a Fetch that found fewer than
// min_bytes waits, registered with the partitions it reads. An append credits
// its bytes only to the fetches waiting on that partition; a fetch is woken
// once the bytes credited to it (what its first read found plus what was
// appended since) reach min_bytes, or a partition it waits on changes state,
// or its deadline passes. Then it reads every partition once.
//
// The credit is an upper bound of what a read would find, never less (a
// partition counts at most its partition_max_bytes, except that the first
// batch counts whole, as a read returns at least one batch): a fetch is never
// woken later than a re-read after every append would have found min_bytes.
// It may be woken early (e.g. a compacted or deleted range); it then reads,
// finds less than min_bytes and waits again.
//
// Threads: a DelayedFetch lives on its fetch's shard (wait_until runs there);
// add_bytes / complete may be called from any shard (atomics, no locks) and
// post the wake-up to the fetch's shard. A FetchWaitingRoom belongs to one
// partition and is used only on that partition's shard (add and on_append
// assert it).
#pragma once
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/shard_affinity.h"

namespace samsa::replication {

class DelayedFetch : public std::enable_shared_from_this<DelayedFetch> {
 public:
  // `home`: the executor of the fetch's shard; `min_bytes` >= 1.
  DelayedFetch(asio::any_io_executor home, int64_t min_bytes) : home_(std::move(home)), min_bytes_(min_bytes) {}

  // Any shard: `n` more bytes are readable for this fetch.
  void add_bytes(int64_t n);
  // Any shard: a partition it waits on changed state (role, deleted, offline).
  void complete();
  bool ready() const {
    return forced_.load() || bytes_.load() >= min_bytes_;
  }
  int64_t accumulated() const { return bytes_.load(); }
  bool fired() const { return fired_.load(); }

  // Home shard, once: waits until ready or `deadline`. True if it became
  // ready (then the caller reads again), false if the deadline passed.
  asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);

 private:
  bool arm();   // true if already ready
  void fire();  // posts the wake-up home, once

  asio::any_io_executor home_;
  const int64_t min_bytes_;
  // Sequentially consistent: an append that sees armed_ false is seen by arm().
  std::atomic<int64_t> bytes_{0};
  std::atomic<bool> forced_{false};
  std::atomic<bool> armed_{false};
  std::atomic<bool> fired_{false};
  // Home shard only.
  bool woken_ = false;
  asio::steady_timer* timer_ = nullptr;
};

// What a waiting fetch read from one partition when it registered.
struct FetchWatch {
  int64_t max_bytes = 0;     // partition_max_bytes of the request
  int64_t read_bytes = 0;    // bytes the read found
  bool read_committed = false;
  int64_t last_stable_offset = -1;  // read_committed: the LSO the read stopped at
};

class FetchWaitingRoom {
 public:
  // Registers `fetch` and credits it what its read found.
  void add(const std::shared_ptr<DelayedFetch>& fetch, const FetchWatch& watch);
  // `bytes` were appended (and are below the high watermark); the partition's
  // last stable offset is now `last_stable_offset`.
  void on_append(int64_t bytes, int64_t last_stable_offset);
  // The partition changed state: every waiting fetch is woken.
  void complete_all();
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::weak_ptr<DelayedFetch> fetch;
    FetchWatch watch;
    int64_t credited = 0;  // bytes credited for this partition so far
  };
  std::vector<Entry> entries_;
  ShardAffinity owner_;  // the partition's shard: bound by the first add / on_append
};

}  // namespace samsa::replication
