#include "server/log_cleaner_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/broker.h"
#include "replication/partition.h"
#include "server/request_context.h"
#include "server/shard.h"
#include "storage/log_manager.h"

namespace samsa::server {

LogCleanerService::LogCleanerService(Broker& broker, Shard& shard)
    : broker_(broker), shard_(shard), timer_(shard.io) {}

LogCleanerService::~LogCleanerService() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogCleanerService::start() {
  if (!broker_.settings().cleaner_enable) return;
  stopped_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { thread_main(); });
  schedule(broker_.settings().cleaner_backoff_ms);
}

void LogCleanerService::stop() {
  stopped_ = true;
  timer_.cancel();
  if (running_) running_->task.cancelled->store(true);
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogCleanerService::abort(const TopicPartition& tp) {
  horizons_.erase(tp);
  if (!running_ || running_->task.tp != tp) return;
  auto job = running_;
  job->task.cancelled->store(true);
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&job] { return job->done; });
}

void LogCleanerService::schedule(int64_t delay_ms) {
  if (stopped_) return;
  timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(delay_ms, 10)));
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_ || running_) return;
    if (!start_one(broker_.clock().now_ms())) schedule(broker_.settings().cleaner_backoff_ms);
  });
}

bool LogCleanerService::start_one(int64_t now) {
  storage::CleanerOptions options;
  options.max_map_bytes = static_cast<size_t>(std::max<int64_t>(broker_.settings().cleaner_dedupe_buffer_bytes, 1 << 20));
  options.max_io_bytes_per_second = broker_.settings().cleaner_io_max_bytes_per_second;
  auto& manager = broker_.log_manager();
  std::shared_ptr<Job> best;
  bool best_forced = false;
  for (auto& [tp, part] : shard_.partitions()) {
    auto& log = part->log();
    if (!log.config().cleanup_compact || part->offline() || log.closed()) continue;
    auto h = horizons_.find(tp);
    const bool forced = h != horizons_.end() && now >= h->second;
    if (best_forced && !forced) continue;
    auto task = storage::plan_cleaning(log, manager.cleaner_checkpoint(tp), part->high_watermark().value, now, options, forced);
    if (!task) continue;
    if (best && forced == best_forced && task->dirty_ratio <= best->task.dirty_ratio) continue;
    best = std::make_shared<Job>();
    best->task = std::move(*task);
    best->alive = part->alive_token();
    best->log = &log;
    best_forced = forced;
  }
  if (!best) return false;
  horizons_.erase(best->task.tp);
  running_ = best;
  enqueue([this, job = best] {
    job->result = storage::run_cleaning(job->task);
    {
      std::lock_guard lock(mu_);
      job->done = true;
    }
    done_cv_.notify_all();
    asio::post(shard_.io, [this, job] { finish(job); });
  });
  return true;
}

void LogCleanerService::finish(const std::shared_ptr<Job>& job) {
  running_.reset();
  auto& r = job->result;
  const auto& tp = job->task.tp;
  if (!r) {
    if (r.status().kind() != storage::Status::Kind::kClosed)
      spdlog::error("cleaning {} failed: {}", tp.to_string(), r.status().to_string());
    schedule(broker_.settings().cleaner_backoff_ms);
    return;
  }
  Partition* part = shard_.find(tp);
  if (stopped_ || job->alive.expired() || part == nullptr || &part->log() != job->log) {
    storage::discard_cleaning(*r);
    schedule(broker_.settings().cleaner_backoff_ms);
    return;
  }
  const size_t groups = r->groups.size();
  auto swapped = storage::apply_cleaning(part->log(), *r, job->task.generation, broker_.clock().now_ms());
  if (!swapped) {
    spdlog::error("swapping cleaned segments of {} failed: {}", tp.to_string(), swapped.status().to_string());
  } else if (static_cast<size_t>(*swapped) == groups) {
    spdlog::info("cleaned {}: offsets [{}, {}), {} -> {} bytes in {} segment(s), {} record(s) removed", tp.to_string(),
                 job->task.segments.front().base_offset, r->cleaned_up_to, r->bytes_before, r->bytes_after, groups,
                 r->records_removed);
    if (r->earliest_delete_horizon >= 0) horizons_[tp] = r->earliest_delete_horizon;
    auto* manager = &broker_.log_manager();
    const int64_t offset = r->cleaned_up_to;
    enqueue([manager, tp, offset] {
      if (auto st = manager->update_cleaner_checkpoint(tp, offset); !st)
        spdlog::error("writing the cleaner checkpoint failed: {}", st.to_string());
    });
  }
  schedule(0);  // more work may be due at once
}

void LogCleanerService::enqueue(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void LogCleanerService::thread_main() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return quit_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // quit_ and drained
      fn = std::move(jobs_.front());
      jobs_.pop_front();
    }
    fn();
  }
}

}  // namespace samsa::server
