#include "server/log_maintenance.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "server/broker.h"
#include "replication/flusher.h"
#include "server/log_cleaner_service.h"
#include "replication/partition.h"
#include "server/request_context.h"
#include "server/shard.h"
#include "storage/log_manager.h"

namespace samsa::server {

namespace {
// Timers below 10 ms would only burn CPU; a zero or negative setting is a
// configuration error that must not spin the shard.
std::chrono::milliseconds interval(int64_t ms) { return std::chrono::milliseconds(std::max<int64_t>(ms, 10)); }
}  // namespace

LogMaintenance::LogMaintenance(Broker& broker, Shard& shard)
    : broker_(broker), shard_(shard), retention_timer_(shard.io), flush_timer_(shard.io),
      cleaner_(std::make_unique<LogCleanerService>(broker, shard)) {}

LogMaintenance::~LogMaintenance() = default;

void LogMaintenance::start() {
  stopped_ = false;
  schedule_retention();
  schedule_flush();
  cleaner_->start();
}

void LogMaintenance::stop() {
  stopped_ = true;
  cleaner_->stop();
  retention_timer_.cancel();
  flush_timer_.cancel();
}

void LogMaintenance::forget(const TopicPartition& tp) { cleaner_->abort(tp); }

void LogMaintenance::schedule_retention() {
  if (stopped_) return;
  retention_timer_.expires_after(interval(broker_.settings().retention_check_interval_ms));
  retention_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    run_retention(broker_.clock().now_ms());
    schedule_retention();
  });
}

void LogMaintenance::schedule_flush() {
  if (stopped_) return;
  flush_timer_.expires_after(interval(broker_.settings().flush_scheduler_interval_ms));
  flush_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    run_flush_scheduler(broker_.clock().now_ms());
    schedule_flush();
  });
}

int LogMaintenance::run_retention(int64_t now) {
  int total = 0;
  auto cfg = broker_.settings().config;
  const int64_t producer_expiry = cfg ? cfg->producer_id_expiration_ms() : 86400000;
  for (auto& [tp, part] : shard_.partitions()) {
    auto& log = part->log();
    if (log.closed() || part->offline()) continue;
    log.expire_producers(now, producer_expiry);
    const int64_t before = log.log_start_offset();
    auto deleted = log.delete_old_segments(now, part->high_watermark().value);
    if (!deleted) {
      spdlog::error("retention of {} failed: {}", tp.to_string(), deleted.status().to_string());
      part->check_io_error(deleted.status());
      continue;
    }
    if (*deleted > 0) {
      spdlog::info("retention: deleted {} segment(s) of {}, log start offset {} -> {}", *deleted, tp.to_string(), before,
                   log.log_start_offset());
      total += *deleted;
    }
    if (auto removed = log.remove_deleted_files(now); !removed)
      spdlog::warn("removing deleted segment files of {} failed: {}", tp.to_string(), removed.status().to_string());
  }
  // Directories of deleted partitions (any shard may take them; the manager hands each out once).
  if (auto removed = broker_.log_manager().remove_deleted_dirs(now); !removed)
    spdlog::warn("removing the directories of deleted partitions failed: {}", removed.status().to_string());
  return total;
}

int LogMaintenance::run_flush_scheduler(int64_t now) {
  int n = 0;
  auto& flusher = broker_.flusher(shard_.id);
  for (auto& [tp, part] : shard_.partitions()) {
    auto& log = part->log();
    if (log.closed() || part->offline() || !log.flush_due(now)) continue;
    flusher.request_flush(*part);
    ++n;
  }
  return n;
}

}  // namespace samsa::server
