#include "server/worker_pool.h"

#include <algorithm>
#include <thread>

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
  static WorkerPool* pool = new WorkerPool(std::thread::hardware_concurrency() > 1 ? 2 : 1, 256);
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
