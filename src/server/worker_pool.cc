#include "server/worker_pool.h"

#include <algorithm>

namespace samsa::server {

WorkerPool::WorkerPool(size_t threads, size_t max_queued)
    : max_queued_(std::max<size_t>(max_queued, 1)), pool_(std::max<size_t>(threads, 1)) {}

WorkerPool::~WorkerPool() {
  pool_.stop();
  pool_.join();
}

WorkerPool& WorkerPool::shared() {
  // Never destroyed: at exit its idle threads simply end with the process, and
  // no task can outlive the shards whose executors it would post to.
  // One thread: tasks finish in the order they were posted, so the compressed
  // batches (and legacy sets) of one connection are appended in the order sent.
  static WorkerPool* pool = new WorkerPool(1, 256);
  return *pool;
}

bool WorkerPool::try_reserve_slot() {
  size_t n = queued_.load(std::memory_order_relaxed);
  while (n < max_queued_) {
    if (queued_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

}  // namespace samsa::server
