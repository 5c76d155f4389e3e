#include "raft/flush_thread.h"

namespace samsa::raft {

FlushThread::FlushThread() : thread_([this] { main(); }) {}

FlushThread::~FlushThread() { stop(); }

void FlushThread::post(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    if (!stopped_) {
      jobs_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  job();  // after stop(): on the caller's thread
}

void FlushThread::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FlushThread::main() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopped_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopped and drained
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace samsa::raft
