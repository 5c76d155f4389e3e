#include "raft/disk_raft_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"
#include "protocol/record_batch.h"
#include "raft/metadata_batches.h"
#include "storage/log.h"

namespace samsa::raft {

namespace {

constexpr const char* kPartitionDirName = "__cluster_metadata-0";
// Bound on the bytes one read() copies out of the log (the core asks for
// fetch_max_bytes, 8 MiB by default; the first batch is read whole anyway).
constexpr size_t kMaxReadBytes = size_t{64} << 20;

// The bytes of a read, through the Env's File (so fault injection reaches it).
storage::Result<protocol::Bytes> read_chunks(const storage::ReadResult& rr) {
  protocol::Bytes buf;
  buf.reserve(rr.bytes);
  for (const auto& c : rr.chunks) {
    size_t at = buf.size();
    buf.resize(at + c.length);
    auto n = c.file->read_at(c.position, std::span<uint8_t>(buf.data() + at, c.length));
    if (!n.is_ok()) return n.status();
    if (n.value() != c.length) return storage::Status::corruption("metadata log: short read");
  }
  return buf;
}

storage::LogConfig log_config(const DiskRaftLogOptions& o) {
  storage::LogConfig c;
  c.segment_bytes = o.segment_bytes;
  c.segment_ms = o.segment_ms;
  // Only snapshots shorten the metadata log (delete_before), and at once.
  c.cleanup_delete = false;
  c.retention_ms = -1;
  c.retention_bytes = -1;
  c.file_delete_delay_ms = 0;
  c.max_message_bytes = INT32_MAX;  // the controller bounds its batches; a follower takes the leader's
  return c;
}

}  // namespace

std::string metadata_partition_dir(const std::string& log_dir) { return storage::join_path(log_dir, kPartitionDirName); }

struct DiskRaftLog::Impl {
  Clock& clock;
  std::unique_ptr<storage::Log> log;
  SnapshotId start;  // the snapshot the log continues ({0, 0}: none)

  // The batch holding `offset` (whole), read and checked; nullopt if none or unreadable.
  std::optional<LogEntry> entry_at(Offset offset) const {
    auto rr = log->read(offset.value, 1, log->log_end_offset(), true);
    if (rr.error != ErrorCode::NONE || rr.chunks.empty()) return std::nullopt;
    auto bytes = read_chunks(rr);
    if (!bytes) return std::nullopt;
    auto batches = protocol::leading_complete_batches(*bytes);
    if (batches.empty()) return std::nullopt;
    return entry_from_batch(batches.front());
  }

  // Does the log hold the snapshot's end as a batch boundary, the batch before
  // it written in the snapshot's epoch?
  bool continues(const SnapshotId& s) const {
    const int64_t first = log->log_start_offset();
    const int64_t end = log->log_end_offset();
    if (s.end_offset.value < first || s.end_offset.value > end) return false;
    if (s.end_offset.value < end) {
      auto next = entry_at(s.end_offset);
      if (!next || next->offset != s.end_offset) return false;
    }
    if (s.end_offset.value == first) return true;  // nothing of the log before it to compare
    auto last = entry_at(s.end_offset - 1);
    return last && last->end() == s.end_offset && last->epoch == s.epoch;
  }

  // The log now starts at the snapshot's end: whole segments below it go.
  storage::Status drop_prefix(const SnapshotId& s) {
    SAMSA_RETURN_IF_ERROR(log->maybe_increment_log_start_offset(s.end_offset.value, s.end_offset.value));
    auto deleted = log->delete_old_segments(clock.now_ms(), s.end_offset.value);
    if (!deleted) return deleted.status();
    start = s;
    return storage::Status::ok();
  }

  // At open: continue the snapshot, or restart empty at its end.
  storage::Status start_at(const SnapshotId& s) {
    if (continues(s)) return drop_prefix(s);
    // An empty log (a power cut took the new segment of a log just emptied
    // by a snapshot) restarts quietly; one with entries is worth a warning.
    if (log->log_end_offset() > log->log_start_offset())
      spdlog::warn("metadata log [{}, {}) does not continue snapshot {}-{}: restarting it empty at {}",
                   log->log_start_offset(), log->log_end_offset(), s.end_offset.value, s.epoch.value,
                   s.end_offset.value);
    SAMSA_RETURN_IF_ERROR(log->truncate_fully_and_start_at(s.end_offset.value));
    start = s;
    return storage::Status::ok();
  }
};

OpenedRaftLog DiskRaftLog::open(storage::Env* env, const std::string& log_dir, Clock& clock,
                                const DiskRaftLogOptions& options) {
  OpenedRaftLog out;
  const std::string dir = metadata_partition_dir(log_dir);
  if (auto st = storage::create_dirs(env, dir); !st) {
    out.error = st.to_string();
    return out;
  }
  storage::LogOpenOptions opts;
  opts.now_ms = clock.now_ms();
  opts.config = log_config(options);
  // Never trusted as cleanly shut down: every batch is validated (the log
  // is small: snapshots keep it short) and the tail cut at the first bad byte.
  opts.clean_shutdown = false;
  opts.recovery_point = 0;
  opts.log_start_offset = 0;  // the first segment's base: start_at() checks it against the snapshot
  auto log = storage::Log::open(env, dir, storage::TopicPartition{"__cluster_metadata", 0}, opts);
  if (!log.is_ok()) {
    out.error = log.status().to_string();
    return out;
  }
  auto impl = std::unique_ptr<Impl>(new Impl{clock, std::move(log).value(), SnapshotId{}});
  storage::Status st;
  if (options.snapshot) {
    st = impl->start_at(*options.snapshot);
  } else if (impl->log->log_start_offset() > 0) {
    st = storage::Status::corruption("metadata log starts at " + std::to_string(impl->log->log_start_offset()) +
                                     " but no snapshot covers what is before it");
  }
  // What recovery kept may still be only in the page cache: make it durable,
  // so that all of it counts as flushed (a voter's ack must never be lost).
  if (st) st = impl->log->flush(clock.now_ms());
  if (!st) {
    out.error = st.to_string();
    return out;
  }
  out.log = std::unique_ptr<DiskRaftLog>(new DiskRaftLog(std::move(impl)));
  return out;
}

DiskRaftLog::DiskRaftLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DiskRaftLog::~DiskRaftLog() = default;

storage::Status DiskRaftLog::close() { return impl_->log->close(); }
bool DiskRaftLog::failed() const { return impl_->log->failed(); }
const std::string& DiskRaftLog::dir() const { return impl_->log->dir(); }

Offset DiskRaftLog::start_offset() const { return impl_->start.end_offset; }
Epoch DiskRaftLog::start_epoch() const { return impl_->start.epoch; }
Offset DiskRaftLog::end_offset() const { return Offset(impl_->log->log_end_offset()); }
Offset DiskRaftLog::flushed_end_offset() const { return Offset(impl_->log->recovery_point()); }

Epoch DiskRaftLog::last_epoch() const {
  const auto& epochs = impl_->log->leader_epoch_cache().entries();
  if (epochs.empty() || end_offset() == start_offset()) return start_epoch();
  return Epoch(epochs.back().epoch);
}

bool DiskRaftLog::append(LogEntry entry) {
  auto& log = *impl_->log;
  // The core appends in place and in epoch order; anything else is a bug
  // upstream, refused rather than written.
  auto s = summarize_batch(entry.data);
  if (entry.offset != end_offset() || entry.epoch < last_epoch() || !s || s->offsets != entry.records ||
      s->control != entry.control) {
    spdlog::error("metadata log: refused append of a malformed or misplaced batch at {} (end {})", entry.offset.value,
                  end_offset().value);
    return false;
  }
  // Log::append patches baseOffset and partitionLeaderEpoch (outside the CRC).
  auto res = log.append(std::span<uint8_t>(entry.data), entry.epoch.value, impl_->clock.now_ms(), false);
  if (res.error != ErrorCode::NONE) {
    spdlog::error("metadata log append failed: {}", res.status.to_string());
    return false;
  }
  return res.first_offset == entry.offset.value;
}

bool DiskRaftLog::truncate_to(Offset end) {
  // Nothing below the start is in the log; the snapshot before it is committed.
  end = std::max(end, start_offset());
  if (end >= end_offset()) return true;
  auto st = impl_->log->truncate_to(end.value);
  if (!st) spdlog::error("metadata log truncation to {} failed: {}", end.value, st.to_string());
  return static_cast<bool>(st);
}

std::vector<LogEntry> DiskRaftLog::read(Offset from, size_t max_entries, size_t max_bytes) const {
  std::vector<LogEntry> out;
  const auto& log = *impl_->log;
  from = std::max(from, start_offset());
  if (max_entries == 0 || from >= end_offset()) return out;
  auto rr = log.read(from.value, std::min(max_bytes, kMaxReadBytes), log.log_end_offset(), true);
  if (rr.error != ErrorCode::NONE) {
    spdlog::error("metadata log read at {} failed: {}", from.value, rr.status.to_string());
    return out;
  }
  auto bytes = read_chunks(rr);
  if (!bytes) {
    spdlog::error("metadata log read at {} failed: {}", from.value, bytes.status().to_string());
    return out;
  }
  for (auto batch : protocol::leading_complete_batches(*bytes)) {
    if (out.size() >= max_entries) break;
    auto e = entry_from_batch(batch);
    if (!e || (!out.empty() && e->offset != out.back().end())) {
      // Validated at open and written by us since: the disk changed under us.
      spdlog::error("metadata log: invalid batch read after offset {}", out.empty() ? from.value : out.back().end().value);
      break;
    }
    out.push_back(std::move(*e));
  }
  return out;
}

EpochEndOffset DiskRaftLog::end_offset_for_epoch(Epoch epoch) const {
  const auto& entries = impl_->log->leader_epoch_cache().entries();
  const SnapshotId& start = impl_->start;
  // The first epoch above `epoch` starts where `epoch` (or the largest smaller one) ends.
  auto it = std::partition_point(entries.begin(), entries.end(),
                                 [&](const storage::EpochEntry& e) { return e.epoch <= epoch.value; });
  if (it == entries.begin() || end_offset() == start_offset()) {
    // Only the snapshot the log starts after can still answer.
    if (start.end_offset.value > 0 && start.epoch <= epoch) return {start.epoch, start.end_offset};
    return {};
  }
  Offset end = it == entries.end() ? end_offset() : Offset(it->start_offset);
  return {Epoch(std::prev(it)->epoch), end};
}

bool DiskRaftLog::delete_before(SnapshotId id) {
  if (id.end_offset <= start_offset() || id.end_offset > flushed_end_offset()) return false;
  if (!impl_->continues(id)) return false;  // not a batch boundary of this log: a bug upstream
  auto st = impl_->drop_prefix(id);
  if (!st) spdlog::error("metadata log: dropping the prefix below {} failed: {}", id.end_offset.value, st.to_string());
  return static_cast<bool>(st);
}

bool DiskRaftLog::reset_to(SnapshotId id) {
  auto st = impl_->log->truncate_fully_and_start_at(id.end_offset.value);
  if (!st) {
    spdlog::error("metadata log: restart at {} failed: {}", id.end_offset.value, st.to_string());
    return false;
  }
  impl_->start = id;
  return true;
}

DiskRaftLog::SyncJob DiskRaftLog::prepare_sync() {
  auto ticket = std::make_shared<storage::FlushTicket>(impl_->log->prepare_flush(impl_->clock.now_ms()));
  SyncJob job;
  job.end = Offset(ticket->offset);
  job.run = [ticket] { return ticket->run(); };
  job.ticket = ticket;
  return job;
}

void DiskRaftLog::complete_sync(const SyncJob& job, const storage::Status& status) {
  if (!status) {
    spdlog::error("metadata log sync failed: {}", status.to_string());
    impl_->log->mark_failed();
    return;
  }
  if (job.ticket) impl_->log->complete_flush(*job.ticket);
}

}  // namespace samsa::raft
