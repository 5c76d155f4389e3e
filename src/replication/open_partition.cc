#include "replication/open_partition.h"

#include <spdlog/spdlog.h>

#include "replication/partition.h"
#include "storage/log.h"
#include "storage/log_manager.h"

namespace samsa::replication {

std::unique_ptr<Partition> open_partition(storage::LogManager& manager, const Clock& clock, const TopicPartition& tp,
                                          const protocol::Uuid& topic_id, const storage::LogConfig& cfg,
                                          std::string* error) {
  auto log = manager.open_log(tp, cfg, clock.now_ms());
  if (!log) {
    spdlog::error("cannot open log of {}: {}", tp.to_string(), log.status().to_string());
    if (error) *error = log.status().to_string();
    return nullptr;
  }
  auto& info = log.value()->recovery_info();
  if (info.bytes_truncated > 0)
    spdlog::warn("{}: recovery truncated {} bytes of invalid data", tp.to_string(), info.bytes_truncated);
  if (info.swaps_completed > 0)
    spdlog::info("{}: finished {} interrupted compaction swap(s)", tp.to_string(), info.swaps_completed);
  auto* m = &manager;
  return std::make_unique<Partition>(tp, topic_id, std::move(log).value(), m->online_flag(tp),
                                     [m, tp](const storage::Status& st) { m->mark_offline(tp, st); });
}

}  // namespace samsa::replication
