#include "replication/log_dir_moves.h"

#include <spdlog/spdlog.h>

#include "storage/log_copy.h"
#include "storage/log_manager.h"

namespace samsa::replication {

namespace {

// Copied per turn of the shard (then other work runs), and fdatasync'ed on the
// way in bounded slices, so the final close before the swap syncs little.
constexpr size_t kStepBytes = 1 << 20;
constexpr uint64_t kFlushEvery = 8 << 20;
constexpr int kThrottleCheckMs = 50;

}  // namespace

LogDirMoves::LogDirMoves(int shard, storage::LogManager& logs, const Clock& clock, Find find, CopyQuota quota)
    : owner_(shard), logs_(logs), clock_(clock), find_(std::move(find)), quota_(std::move(quota)) {}

LogDirMoves::~LogDirMoves() { *alive_ = false; }

ErrorCode LogDirMoves::request(Partition& p, size_t dir, bool* started) {
  owner_.check("LogDirMoves");
  *started = false;
  const auto& tp = p.tp();
  auto it = moves_.find(tp);
  if (it != moves_.end()) {
    if (it->second->dir == dir) return ErrorCode::NONE;  // under way already
    drop(tp, "redirected to " + logs_.dir_path(dir));
  }
  if (logs_.dir_of(tp) == dir) return ErrorCode::NONE;  // there already (a move elsewhere was given up)
  if (p.offline()) return ErrorCode::KAFKA_STORAGE_ERROR;
  auto future = logs_.open_future_log(tp, dir, p.config(), clock_.now_ms());
  if (!future) {
    spdlog::warn("cannot move {} to {}: {}", tp.to_string(), logs_.dir_path(dir), future.status().to_string());
    return ErrorCode::KAFKA_STORAGE_ERROR;
  }
  auto m = std::make_unique<Move>();
  m->dir = dir;
  m->future = std::move(*future);
  m->generation = p.log().truncation_generation();
  m->id = next_id_++;
  moves_[tp] = std::move(m);
  spdlog::info("{}: moving from {} to {}", tp.to_string(), p.log().dir(), logs_.dir_path(dir));
  *started = true;
  return ErrorCode::NONE;
}

asio::awaitable<void> LogDirMoves::run(TopicPartition tp) {
  std::weak_ptr<bool> alive = alive_;
  uint64_t id = 0;
  if (auto it = moves_.find(tp); it != moves_.end()) id = it->second->id;
  while (id != 0) {
    auto ex = co_await asio::this_coro::executor;
    const bool throttled = quota_.exceeded && quota_.exceeded(clock_.now_ms());
    if (throttled) {  // look again soon
      asio::steady_timer wait(ex, std::chrono::milliseconds(kThrottleCheckMs));
      co_await wait.async_wait(asio::use_awaitable);
    } else {
      co_await asio::post(ex, asio::use_awaitable);  // one step per turn
    }
    if (alive.expired()) co_return;
    auto it = moves_.find(tp);
    if (it == moves_.end() || it->second->id != id) co_return;  // cancelled or replaced
    if (throttled) continue;
    Move& m = *it->second;
    Partition* p = find_(tp);
    if (p == nullptr) {
      drop(tp, "the partition is gone");
      co_return;
    }
    if (p->offline() || m.future->failed()) {
      drop(tp, "a log failed");
      co_return;
    }
    const storage::Log& from = p->log();
    if (from.truncation_generation() != m.generation) {  // offsets below our end may have new data
      m.generation = from.truncation_generation();
      if (auto st = m.future->truncate_fully_and_start_at(from.log_start_offset()); !st) {
        drop(tp, st.to_string());
        co_return;
      }
    }
    auto step = storage::copy_log_step(from, *m.future, kStepBytes, clock_.now_ms());
    if (!step) {
      drop(tp, step.status().to_string());
      co_return;
    }
    if (quota_.record) quota_.record(static_cast<int64_t>(step->bytes), clock_.now_ms());
    m.unflushed += step->bytes;
    if (m.unflushed >= kFlushEvery) {
      m.unflushed = 0;
      if (auto st = m.future->flush(clock_.now_ms()); !st) {
        drop(tp, st.to_string());
        co_return;
      }
    }
    if (step->caught_up) {
      complete(*p, m);
      co_return;
    }
  }
}

void LogDirMoves::complete(Partition& p, Move& m) {
  const TopicPartition tp = p.tp();
  storage::Log& from = p.log();
  storage::Status st = storage::finish_log_copy(from, *m.future);
  if (st) st = m.future->close();
  if (!st) return drop(tp, st.to_string());
  const std::string dir = logs_.dir_path(m.dir);
  const int64_t now = clock_.now_ms();
  st = logs_.promote_future(tp, &from, m.future.get(), now, from.config().file_delete_delay_ms);
  if (!st) {
    // A rename failed (the old log is closed by then, maybe renamed away):
    // the partition stops here; if the old copy is gone, the next start
    // finishes the swap (LogManager::open).
    spdlog::error("{}: the swap into {} failed: {}", tp.to_string(), dir, st.to_string());
    from.mark_failed();
    logs_.mark_offline(tp, st);
    p.check_io_error(st);
    moves_.erase(tp);
    return;
  }
  moves_.erase(tp);  // the future Log object (closed) goes; its files are the partition's now
  auto reopened = logs_.open_log(tp, p.config(), now);
  if (!reopened) {
    spdlog::error("{}: reopening it in {} failed: {}", tp.to_string(), dir, reopened.status().to_string());
    from.mark_failed();
    p.check_io_error(reopened.status());
    return;
  }
  const int64_t end = (*reopened)->log_end_offset();
  p.replace_log(std::move(*reopened), logs_.online_flag(tp));
  spdlog::info("{}: moved to {} (log end {})", tp.to_string(), dir, end);
}

void LogDirMoves::drop(const TopicPartition& tp, const std::string& why) {
  auto it = moves_.find(tp);
  if (it == moves_.end()) return;
  spdlog::warn("{}: the move to {} is given up: {}", tp.to_string(), logs_.dir_path(it->second->dir), why);
  auto future = std::move(it->second->future);
  moves_.erase(it);
  logs_.drop_future_log(tp, std::move(future));
}

void LogDirMoves::cancel(const TopicPartition& tp) {
  owner_.check("LogDirMoves");
  if (moves_.count(tp) != 0) drop(tp, "the partition is removed from this broker");
}

void LogDirMoves::clear() {
  owner_.check("LogDirMoves");
  // Shutdown: the copies stay on disk unfinished and are removed at the next start.
  moves_.clear();
}

std::optional<LogDirMoves::Progress> LogDirMoves::progress(const TopicPartition& tp) const {
  owner_.check("LogDirMoves");
  auto it = moves_.find(tp);
  if (it == moves_.end()) return std::nullopt;
  Progress out;
  out.dir = logs_.dir_path(it->second->dir);
  out.size_bytes = static_cast<int64_t>(it->second->future->size_bytes());
  const Partition* p = find_(tp);
  out.lag = p == nullptr ? -1 : std::max<int64_t>(p->log_end_offset().value - it->second->future->log_end_offset(), 0);
  return out;
}

}  // namespace samsa::replication
