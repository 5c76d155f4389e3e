#include "storage/log_manager.h"

#include <algorithm>
#include <cassert>

#include <spdlog/spdlog.h>

#include "storage/log_format.h"

namespace samsa::storage {

namespace {

// When a directory renamed "-delete" at now_ms may be removed.
int64_t due_after(int64_t now_ms, int64_t delay_ms) {
  return delay_ms <= 0 ? now_ms : (now_ms > kNoLimit - delay_ms ? kNoLimit : now_ms + delay_ms);
}

}  // namespace

Result<std::unique_ptr<LogManager>> LogManager::open(Env* env, LogManagerOptions options) {
  if (options.log_dirs.empty()) return Status::invalid_argument("no log dirs");
  std::unique_ptr<LogManager> m(new LogManager(env, std::move(options)));
  std::vector<FoundFuture> futures;
  for (size_t i = 0; i < m->options_.log_dirs.size(); ++i) {
    LogDirState d;
    d.path = m->options_.log_dirs[i];
    m->dirs_.push_back(std::move(d));
    Status st = m->load_dir(i, &futures);
    if (!st) {
      // Kafka keeps going with the other dirs; the broker decides whether an
      // offline dir is fatal.
      m->dirs_[i].online = false;
      m->dirs_[i].error = st;
    }
  }
  if (Status st = m->settle_futures(futures); !st) return st;
  for (const auto& d : m->dirs_) m->online_flags_.push_back(std::make_shared<std::atomic<bool>>(d.online));
  bool any_online = std::any_of(m->dirs_.begin(), m->dirs_.end(), [](const LogDirState& d) { return d.online; });
  if (!any_online) return m->dirs_[0].error;
  return m;
}

bool LogManager::ignored(const std::string& name) const {
  return std::find(options_.ignored_dir_names.begin(), options_.ignored_dir_names.end(), name) !=
         options_.ignored_dir_names.end();
}

Status LogManager::load_dir(size_t index, std::vector<FoundFuture>* futures) {
  LogDirState& d = dirs_[index];
  SAMSA_RETURN_IF_ERROR(create_dirs(env_, d.path));
  const std::string marker = join_path(d.path, std::string(format::kCleanShutdownMarker));
  d.clean_shutdown = env_->exists(marker);
  auto rp = read_offset_checkpoint(env_, join_path(d.path, std::string(format::kRecoveryPointCheckpoint)));
  if (!rp) return rp.status();
  d.recovery_points = std::move(*rp);
  auto ls = read_offset_checkpoint(env_, join_path(d.path, std::string(format::kLogStartOffsetCheckpoint)));
  if (!ls) return ls.status();
  d.log_start_offsets = std::move(*ls);
  auto hw = read_offset_checkpoint(env_, join_path(d.path, std::string(format::kReplicationOffsetCheckpoint)));
  if (!hw) return hw.status();
  d.high_watermarks = std::move(*hw);
  auto co = read_offset_checkpoint(env_, join_path(d.path, std::string(format::kCleanerOffsetCheckpoint)));
  if (!co) return co.status();
  d.cleaner_offsets = std::move(*co);

  auto names = env_->list_dir(d.path);
  if (!names) return names.status();
  for (const auto& name : *names) {
    const std::string path = join_path(d.path, name);
    if (ignored(name) || !env_->is_dir(path)) continue;
    auto parsed = parse_partition_dir(name);
    if (!parsed) continue;
    if (parsed->kind == PartitionDirKind::kDelete) {
      SAMSA_RETURN_IF_ERROR(remove_dir_recursive(env_, path));
      ++d.pending_deletions_removed;
      continue;
    }
    if (parsed->kind == PartitionDirKind::kFuture) {
      futures->push_back(FoundFuture{index, parsed->tp, path});
      continue;
    }
    if (parsed->kind != PartitionDirKind::kLive) continue;  // -stray: not ours to touch
    std::lock_guard lock(mu_);
    if (entries_.count(parsed->tp) != 0) {
      return Status::corruption("partition " + parsed->tp.to_string() + " exists in two log dirs: " +
                                entries_[parsed->tp].path + " and " + path);
    }
    Entry e;
    e.dir_index = index;
    e.path = path;
    auto r = d.recovery_points.find(parsed->tp);
    e.recovery_point = r == d.recovery_points.end() ? 0 : r->second;
    auto s = d.log_start_offsets.find(parsed->tp);
    e.log_start_offset = s == d.log_start_offsets.end() ? 0 : s->second;
    auto h = d.high_watermarks.find(parsed->tp);
    e.high_watermark = h == d.high_watermarks.end() ? -1 : h->second;
    auto c = d.cleaner_offsets.find(parsed->tp);
    e.cleaner_offset = c == d.cleaner_offsets.end() ? -1 : c->second;
    entries_[parsed->tp] = e;
  }
  if (d.pending_deletions_removed > 0) SAMSA_RETURN_IF_ERROR(env_->sync_dir(d.path));
  // From here on a crash is an unclean shutdown.
  if (d.clean_shutdown) {
    SAMSA_RETURN_IF_ERROR(env_->unlink(marker));
    SAMSA_RETURN_IF_ERROR(env_->sync_dir(d.path));
  }
  return Status::ok();
}

Status LogManager::settle_futures(const std::vector<FoundFuture>& futures) {
  for (const auto& f : futures) {
    if (!dirs_[f.dir_index].online) continue;
    if (entries_.count(f.tp) != 0) {  // the live copy is still there: the copy never finished
      spdlog::info("removing the unfinished copy of {} in {}", f.tp.to_string(), f.path);
      SAMSA_RETURN_IF_ERROR(remove_dir_recursive(env_, f.path));
      SAMSA_RETURN_IF_ERROR(env_->sync_dir(dirs_[f.dir_index].path));
      continue;
    }
    // The old copy was already renamed away: this one was complete and closed.
    const std::string live = join_path(dirs_[f.dir_index].path, partition_dir_name(f.tp));
    spdlog::info("{}: finishing its move to {}", f.tp.to_string(), dirs_[f.dir_index].path);
    SAMSA_RETURN_IF_ERROR(env_->rename(f.path, live));
    SAMSA_RETURN_IF_ERROR(env_->sync_dir(dirs_[f.dir_index].path));
    Entry e;
    e.dir_index = f.dir_index;
    e.path = live;
    entries_[f.tp] = e;  // no checkpointed offsets here: recovered from its start
  }
  return Status::ok();
}

std::optional<size_t> LogManager::dir_index(const std::string& path) const {
  for (size_t i = 0; i < options_.log_dirs.size(); ++i) {
    if (options_.log_dirs[i] == path) return i;
  }
  return std::nullopt;
}

std::optional<size_t> LogManager::dir_of(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(tp);
  if (it == entries_.end()) return std::nullopt;
  return it->second.dir_index;
}

Result<std::unique_ptr<Log>> LogManager::open_future_log(const TopicPartition& tp, size_t dir, const LogConfig& config,
                                                         int64_t now_ms) {
  std::string path;
  {
    std::lock_guard lock(mu_);
    if (dir >= dirs_.size() || !dirs_[dir].online) return Status::io_error("log dir offline", 0);
    auto it = entries_.find(tp);
    if (it == entries_.end()) return Status::not_found(tp.to_string() + " is not on this broker");
    if (it->second.dir_index == dir) return Status::invalid_argument(tp.to_string() + " is already in " + dirs_[dir].path);
    if (futures_.count(tp) != 0) return Status::invalid_argument(tp.to_string() + " is already being moved");
    path = join_path(dirs_[dir].path, future_dir_name(tp));
    futures_[tp] = {dir, path};
  }
  LogOpenOptions opts;
  opts.config = config;
  opts.now_ms = now_ms;
  opts.clean_shutdown = true;  // new: nothing to recover
  auto log = Log::open(env_, path, tp, opts);
  Status st = log ? env_->sync_dir(dirs_[dir].path) : log.status();
  if (!st) {
    (void)remove_dir_recursive(env_, path);
    std::lock_guard lock(mu_);
    futures_.erase(tp);
    return st;
  }
  return std::move(*log);
}

void LogManager::drop_future_log(const TopicPartition& tp, std::unique_ptr<Log> future) {
  std::string path;
  size_t dir = 0;
  {
    std::lock_guard lock(mu_);
    auto it = futures_.find(tp);
    if (it == futures_.end()) return;
    dir = it->second.first;
    path = it->second.second;
    futures_.erase(it);
  }
  future.reset();  // closes its files
  Status st = remove_dir_recursive(env_, path);
  if (st) st = env_->sync_dir(dirs_[dir].path);
  if (!st) spdlog::warn("removing the abandoned copy {}: {}", path, st.to_string());
}

Status LogManager::promote_future(const TopicPartition& tp, Log* current, Log* future, int64_t now_ms,
                                  int64_t delay_ms) {
  size_t dir = 0;
  std::string future_path;
  {
    std::lock_guard lock(mu_);
    auto f = futures_.find(tp);
    auto it = entries_.find(tp);
    if (f == futures_.end() || it == entries_.end() || it->second.log != current) {
      return Status::invalid_argument("no move of " + tp.to_string() + " in progress");
    }
    if (!future->closed()) return Status::invalid_argument("the copy of " + tp.to_string() + " is still open");
    dir = f->second.first;
    future_path = f->second.second;
  }
  // First the old copy goes (a crash after this leaves the future one alone:
  // open() promotes it), then the future takes the partition's name.
  auto old_path = current->remove();
  if (!old_path) return old_path.status();
  const std::string live = join_path(dirs_[dir].path, partition_dir_name(tp));
  SAMSA_RETURN_IF_ERROR(env_->rename(future_path, live));
  SAMSA_RETURN_IF_ERROR(env_->sync_dir(dirs_[dir].path));
  std::lock_guard lock(mu_);
  futures_.erase(tp);
  Entry& e = entries_[tp];
  e.dir_index = dir;
  e.path = live;
  e.log = nullptr;
  e.opening = false;
  e.recovery_point = future->recovery_point();
  e.log_start_offset = future->log_start_offset();
  e.high_watermark = current->high_watermark_snapshot();
  e.closed_cleanly = true;
  const int64_t due = due_after(now_ms, delay_ms);
  pending_deletes_.push_back(PendingDelete{due, *old_path});
  return Status::ok();
}

std::map<TopicPartition, std::string> LogManager::future_dirs() const {
  std::lock_guard lock(mu_);
  std::map<TopicPartition, std::string> out;
  for (const auto& [tp, f] : futures_) out[tp] = f.second;
  return out;
}

std::map<TopicPartition, std::string> LogManager::partitions() const {
  std::lock_guard lock(mu_);
  std::map<TopicPartition, std::string> out;
  for (const auto& [tp, e] : entries_) out[tp] = e.path;
  return out;
}

std::vector<LogDirState> LogManager::log_dirs() const {
  std::lock_guard lock(mu_);
  return dirs_;
}

void LogManager::mark_offline(const TopicPartition& tp, const Status& why) {
  size_t dir = 0;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(tp);
    if (it == entries_.end()) return;
    dir = it->second.dir_index;
  }
  mark_dir_offline(dir, why);
}

void LogManager::mark_dir_offline(size_t dir_index, const Status& why) {
  std::lock_guard lock(mu_);
  assert(dir_index < dirs_.size());
  LogDirState& d = dirs_[dir_index];
  if (!d.online) return;
  d.online = false;
  d.error = why;
  online_flags_[dir_index]->store(false, std::memory_order_release);
  size_t partitions = 0;
  for (const auto& [tp, e] : entries_) partitions += e.dir_index == dir_index;
  spdlog::error("log dir {} is offline after an I/O error ({}); its {} partition(s) answer KAFKA_STORAGE_ERROR "
                "until the broker is restarted",
                d.path, why.to_string(), partitions);
}

std::shared_ptr<const std::atomic<bool>> LogManager::online_flag(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(tp);
  if (it == entries_.end()) return nullptr;
  return online_flags_[it->second.dir_index];
}

bool LogManager::offline(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(tp);
  return it != entries_.end() && !dirs_[it->second.dir_index].online;
}

size_t LogManager::choose_dir() const {
  // One dir (the common case): no need to count the partitions of every dir,
  // which made creating N partitions O(N^2).
  if (dirs_.size() == 1) return dirs_[0].online ? 0 : dirs_.size();
  std::vector<size_t> load(dirs_.size(), 0);
  for (const auto& [tp, e] : entries_) ++load[e.dir_index];
  size_t best = dirs_.size();
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (dirs_[i].online && (best == dirs_.size() || load[i] < load[best])) best = i;
  }
  return best;
}

Result<std::unique_ptr<Log>> LogManager::open_log(const TopicPartition& tp, const LogConfig& config, int64_t now_ms) {
  if (!is_valid_topic_name(tp.topic) || tp.partition < 0) {
    return Status::invalid_argument("bad topic partition " + tp.to_string());
  }
  // Never a partition in a directory that belongs to someone else (the
  // metadata log's __cluster_metadata-0).
  if (ignored(partition_dir_name(tp))) {
    return Status::invalid_argument("the directory of " + tp.to_string() + " is reserved");
  }
  LogOpenOptions opts;
  opts.config = config;
  opts.now_ms = now_ms;
  std::string path;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(tp);
    if (it == entries_.end()) {
      size_t dir = choose_dir();
      if (dir == dirs_.size()) return Status::io_error("no online log dir", 0);
      Entry e;
      e.dir_index = dir;
      e.path = join_path(dirs_[dir].path, partition_dir_name(tp));
      it = entries_.emplace(tp, e).first;
      opts.clean_shutdown = true;  // a new log has nothing to recover
    } else {
      if (it->second.log != nullptr || it->second.opening) return Status::invalid_argument("log " + tp.to_string() + " is already open");
      if (!dirs_[it->second.dir_index].online) return Status::io_error("log dir offline for " + tp.to_string(), 0);
      opts.clean_shutdown = dirs_[it->second.dir_index].clean_shutdown;
    }
    opts.recovery_point = it->second.recovery_point;
    opts.log_start_offset = it->second.log_start_offset;
    opts.high_watermark = it->second.high_watermark;
    it->second.opening = true;  // no second open_log while we work unlocked
    path = it->second.path;
  }
  bool existed = env_->is_dir(path);
  auto log = Log::open(env_, path, tp, opts);
  std::lock_guard lock(mu_);
  Entry& e = entries_[tp];
  e.opening = false;
  if (!log) {
    if (!existed) entries_.erase(tp);
    return log.status();
  }
  if (!existed) {
    Status st = env_->sync_dir(dirs_[e.dir_index].path);  // the new partition dir survives a crash
    if (!st) return st;
  }
  e.log = log->get();
  e.closed_cleanly = false;
  return std::move(*log);
}

void LogManager::release(const TopicPartition& tp) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(tp);
  if (it == entries_.end() || it->second.log == nullptr) return;
  Log* log = it->second.log;
  it->second.recovery_point = log->recovery_point_snapshot();
  it->second.log_start_offset = log->log_start_offset_snapshot();
  it->second.high_watermark = log->high_watermark_snapshot();
  it->second.closed_cleanly = log->closed() && !log->failed();
  it->second.log = nullptr;
}

Status LogManager::delete_log(const TopicPartition& tp, Log* log, int64_t now_ms, int64_t delay_ms) {
  auto moved = log->remove();
  if (!moved) return moved.status();
  std::lock_guard lock(mu_);
  entries_.erase(tp);
  const int64_t due = due_after(now_ms, delay_ms);
  pending_deletes_.push_back(PendingDelete{due, *moved});
  return Status::ok();
}

Status LogManager::delete_unopened(const TopicPartition& tp, int64_t now_ms, int64_t delay_ms) {
  std::string dir;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(tp);
    if (it == entries_.end()) return Status::not_found(tp.to_string() + " is not on this broker");
    if (it->second.log != nullptr || it->second.opening)
      return Status::invalid_argument(tp.to_string() + " is open");
    dir = it->second.path;
  }
  const std::string parent = parent_dir(dir);
  const std::string target = join_path(parent, deleted_dir_name(tp));
  SAMSA_RETURN_IF_ERROR(env_->rename(dir, target));
  SAMSA_RETURN_IF_ERROR(env_->sync_dir(parent));
  std::lock_guard lock(mu_);
  entries_.erase(tp);
  const int64_t due = due_after(now_ms, delay_ms);
  pending_deletes_.push_back(PendingDelete{due, target});
  return Status::ok();
}

Result<int> LogManager::remove_deleted_dirs(int64_t now_ms) {
  std::vector<PendingDelete> due;
  {
    std::lock_guard lock(mu_);
    auto it = std::partition(pending_deletes_.begin(), pending_deletes_.end(),
                             [now_ms](const PendingDelete& p) { return p.due_ms > now_ms; });
    due.assign(std::make_move_iterator(it), std::make_move_iterator(pending_deletes_.end()));
    pending_deletes_.erase(it, pending_deletes_.end());
  }
  int removed = 0;
  Status first_error;
  for (auto& p : due) {
    // Readers hold their own descriptors; the names can go now.
    Status st = remove_dir_recursive(env_, p.path);
    if (st || st.kind() == Status::Kind::kNotFound) {
      ++removed;
      continue;
    }
    if (first_error) first_error = st;
    std::lock_guard lock(mu_);
    pending_deletes_.push_back(std::move(p));  // retried next time
  }
  if (!first_error) return first_error;
  return removed;
}

size_t LogManager::pending_dir_deletions() const {
  std::lock_guard lock(mu_);
  return pending_deletes_.size();
}

int64_t LogManager::cleaner_checkpoint(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(tp);
  return it == entries_.end() ? -1 : it->second.cleaner_offset;
}

Status LogManager::update_cleaner_checkpoint(const TopicPartition& tp, int64_t offset) {
  // One writer at a time, snapshot taken under it: the newest state is written last.
  static std::mutex write_mu;
  std::lock_guard wlock(write_mu);
  OffsetMap offsets;
  size_t dir = 0;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(tp);
    if (it == entries_.end()) return Status::invalid_argument("unknown log " + tp.to_string());
    it->second.cleaner_offset = offset;
    dir = it->second.dir_index;
    for (const auto& [other, e] : entries_) {
      if (e.dir_index == dir && e.cleaner_offset >= 0) offsets[other] = e.cleaner_offset;
    }
  }
  std::string path;
  {
    std::lock_guard lock(mu_);
    if (!dirs_[dir].online) return Status::closed("log dir " + dirs_[dir].path + " is offline");
    path = join_path(dirs_[dir].path, std::string(format::kCleanerOffsetCheckpoint));
  }
  Status st = write_offset_checkpoint(env_, path, offsets);
  if (!st && st.kind() == Status::Kind::kIoError) mark_dir_offline(dir, st);
  return st;
}

Status LogManager::write_checkpoints() {
  std::vector<OffsetMap> rps(dirs_.size()), starts(dirs_.size()), hws(dirs_.size());
  std::vector<bool> online(dirs_.size());
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < dirs_.size(); ++i) online[i] = dirs_[i].online;
    for (const auto& [tp, e] : entries_) {
      int64_t rp = e.recovery_point, start = e.log_start_offset, hw = e.high_watermark;
      if (e.log != nullptr) {
        rp = e.log->recovery_point_snapshot();
        start = e.log->log_start_offset_snapshot();
        hw = e.log->high_watermark_snapshot();
      }
      rps[e.dir_index][tp] = rp;
      starts[e.dir_index][tp] = start;
      if (hw >= 0) hws[e.dir_index][tp] = hw;
    }
  }
  static std::mutex write_mu;  // one writer of the checkpoint files at a time
  std::lock_guard wlock(write_mu);
  Status first_error;
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (!online[i]) continue;
    Status st = write_offset_checkpoint(env_, join_path(dirs_[i].path, std::string(format::kRecoveryPointCheckpoint)),
                                        rps[i]);
    if (st) {
      st = write_offset_checkpoint(env_, join_path(dirs_[i].path, std::string(format::kLogStartOffsetCheckpoint)),
                                   starts[i]);
    }
    if (st) {
      st = write_offset_checkpoint(env_, join_path(dirs_[i].path, std::string(format::kReplicationOffsetCheckpoint)),
                                   hws[i]);
    }
    if (!st && st.kind() == Status::Kind::kIoError) mark_dir_offline(i, st);
    if (!st && first_error.is_ok()) first_error = st;
  }
  return first_error;
}

Status LogManager::write_clean_shutdown() {
  {
    std::lock_guard lock(mu_);
    for (const auto& [tp, e] : entries_) {
      if (e.log != nullptr || e.opening) return Status::invalid_argument("log " + tp.to_string() + " is still open");
      if (!dirs_[e.dir_index].online) continue;  // no marker goes there: recovered at the next start
      if (!e.closed_cleanly) return Status::invalid_argument("log " + tp.to_string() + " was not closed cleanly");
    }
  }
  SAMSA_RETURN_IF_ERROR(write_checkpoints());
  for (const auto& d : log_dirs()) {
    if (!d.online) continue;
    auto f = env_->open_file(join_path(d.path, std::string(format::kCleanShutdownMarker)), OpenMode::kTruncate);
    if (!f) return f.status();
    SAMSA_RETURN_IF_ERROR((*f)->sync());
    SAMSA_RETURN_IF_ERROR(env_->sync_dir(d.path));
  }
  return Status::ok();
}

}  // namespace samsa::storage
