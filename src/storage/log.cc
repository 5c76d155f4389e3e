#include "storage/log.h"

#include <algorithm>
#include <cassert>

#include "base/crc32c.h"
#include "storage/log_format.h"
#include "storage/segment_swap.h"

namespace samsa::storage {

namespace b = protocol::batch;
using protocol::BatchHeader;

namespace {

bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Status FlushTicket::run() const {
  for (const auto& f : files) SAMSA_RETURN_IF_ERROR(f->sync());
  if (sync_dir && env != nullptr) SAMSA_RETURN_IF_ERROR(env->sync_dir(dir));
  return Status::ok();
}

Log::Log(Env* env, std::string dir, TopicPartition tp, LogConfig config)
    : env_(env),
      dir_(std::move(dir)),
      tp_(std::move(tp)),
      config_(std::move(config)),
      epochs_(env, join_path(dir_, std::string(format::kLeaderEpochCheckpoint))) {
  static std::atomic<uint64_t> next_id{1};
  id_ = next_id.fetch_add(1, std::memory_order_relaxed);
}

Log::~Log() = default;

Result<std::unique_ptr<Log>> Log::open(Env* env, std::string dir, TopicPartition tp, LogOpenOptions opts) {
  std::unique_ptr<Log> log(new Log(env, std::move(dir), std::move(tp), opts.config));
  SAMSA_RETURN_IF_ERROR(log->load(opts));
  return log;
}

SegmentOptions Log::segment_options() const {
  SegmentOptions o;
  o.index_bytes = static_cast<uint64_t>(std::max(config_.segment_index_bytes, 64));
  o.index_interval_bytes = static_cast<uint32_t>(std::max(config_.index_interval_bytes, 0));
  return o;
}

// ---------------------------------------------------------------- open / recovery

Status Log::load(const LogOpenOptions& opts) {
  SAMSA_RETURN_IF_ERROR(create_dirs(env_, dir_));
  recovery_info_.clean_shutdown = opts.clean_shutdown;
  std::vector<int64_t> bases;
  SAMSA_RETURN_IF_ERROR(remove_leftovers(&bases));
  if (bases.empty()) {
    const int64_t start = std::max<int64_t>(opts.log_start_offset, 0);
    auto seg = Segment::create(env_, dir_, start, segment_options());
    if (!seg) return seg.status();
    segments_.push_back(std::move(*seg));
    ++dir_generation_;
  } else {
    SAMSA_RETURN_IF_ERROR(open_segments(bases, opts));
  }
  // After a crash the directory entries found (segment files created since
  // the last fsync of the directory) may exist only in the page cache: the
  // first flush must fsync the directory too, or a power cut could still take
  // files whose data that flush made durable.
  if (!opts.clean_shutdown) ++dir_generation_;
  set_next_offset(segments_.back()->next_offset());
  set_log_start_offset(std::clamp(opts.log_start_offset, segments_.front()->base_offset(), next_offset_));
  recovered_hw_ = opts.high_watermark < 0 ? -1 : std::clamp(opts.high_watermark, log_start_offset_, next_offset_);
  // A clean shutdown flushed everything; otherwise only the checkpointed
  // recovery point is known durable (what recovery re-read is in the page
  // cache, not necessarily on disk).
  set_recovery_point(opts.clean_shutdown ? next_offset_ : std::clamp<int64_t>(opts.recovery_point, 0, next_offset_));
  last_flush_ms_ = opts.now_ms;
  SAMSA_RETURN_IF_ERROR(load_leader_epochs(opts));
  return load_producer_state(opts);
}

// Sorts out the directory listing: returns the base offsets of the .log files
// and deletes what interrupted operations left behind.
Status Log::remove_leftovers(std::vector<int64_t>* bases) {
  // A committed compaction swap is finished first; the rest are leftovers.
  SAMSA_RETURN_IF_ERROR(complete_interrupted_swaps(env_, dir_, &recovery_info_.swaps_completed));
  auto names = env_->list_dir(dir_);
  if (!names) return names.status();
  std::vector<int64_t> logs;
  std::vector<std::pair<int64_t, std::string>> indexes;
  for (const auto& name : *names) {
    if (has_suffix(name, format::kDeletedSuffix) || has_suffix(name, format::kCleanedSuffix) ||
        has_suffix(name, format::kSwapSuffix) || has_suffix(name, format::kTmpSuffix)) {
      SAMSA_RETURN_IF_ERROR(env_->unlink(join_path(dir_, name)));
      ++recovery_info_.leftover_files_removed;
    } else if (auto base = Segment::parse_file_name(name, format::kLogSuffix)) {
      logs.push_back(*base);
    } else if (auto ib = Segment::parse_file_name(name, format::kIndexSuffix)) {
      indexes.emplace_back(*ib, name);
    } else if (auto tb = Segment::parse_file_name(name, format::kTimeIndexSuffix)) {
      indexes.emplace_back(*tb, name);
    }
  }
  std::sort(logs.begin(), logs.end());
  for (const auto& [base, name] : indexes) {
    if (!std::binary_search(logs.begin(), logs.end(), base)) {
      SAMSA_RETURN_IF_ERROR(env_->unlink(join_path(dir_, name)));
      ++recovery_info_.leftover_files_removed;
    }
  }
  *bases = std::move(logs);
  return Status::ok();
}

Status Log::open_segments(const std::vector<int64_t>& bases, const LogOpenOptions& opts) {
  // After an unclean shutdown, validate from the segment holding the recovery
  // point (the last one whose base is <= it) to the end.
  size_t recover_from = bases.size();
  if (!opts.clean_shutdown) {
    auto it = std::upper_bound(bases.begin(), bases.end(), opts.recovery_point);
    recover_from = it == bases.begin() ? 0 : static_cast<size_t>(it - bases.begin()) - 1;
    recovery_info_.recovered_from_offset = bases[recover_from];
  }
  const SegmentOptions so = segment_options();
  for (size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    uint64_t truncated = 0;
    Result<std::unique_ptr<Segment>> seg = Status::closed("unset");
    if (i >= recover_from) {
      seg = Segment::open_and_recover(env_, dir_, bases[i], so, last, &truncated);
      ++recovery_info_.segments_recovered;
    } else {
      bool rebuilt = false;
      seg = Segment::open(env_, dir_, bases[i], so, last, &rebuilt);
      if (rebuilt) ++recovery_info_.indexes_rebuilt;
      if (!seg && seg.status().kind() == Status::Kind::kCorruption) {
        // A segment we trusted does not parse: validate it like a torn tail.
        seg = Segment::open_and_recover(env_, dir_, bases[i], so, last, &truncated);
        ++recovery_info_.segments_recovered;
      }
    }
    if (!seg) return seg.status();
    segments_.push_back(std::move(*seg));
    // A validated segment that ends short of the next one's base lost its
    // tail in a power cut (its directory entry was durable, its data not):
    // what follows lies after a hole, so it goes like a torn tail.
    const bool hole = i >= recover_from && !last && segments_.back()->next_offset() < bases[i + 1];
    if (truncated > 0 || hole) {
      recovery_info_.bytes_truncated += truncated;
      if (!last) {
        // Everything after the first invalid byte goes, later segments too.
        for (size_t j = i + 1; j < bases.size(); ++j) {
          for (auto suffix : {format::kLogSuffix, format::kIndexSuffix, format::kTimeIndexSuffix}) {
            Status st = env_->unlink(join_path(dir_, Segment::file_name(bases[j], suffix)));
            if (!st && st.kind() != Status::Kind::kNotFound) return st;
          }
          ++recovery_info_.segments_deleted;
        }
        ++dir_generation_;
        SAMSA_RETURN_IF_ERROR(segments_.back()->unseal());
        break;
      }
    }
  }
  return Status::ok();
}

// ---------------------------------------------------------------- append

ErrorCode Log::check_usable(Status* why) const {
  if (closed_) {
    *why = Status::closed("log " + tp_.to_string() + " is closed");
    return ErrorCode::KAFKA_STORAGE_ERROR;
  }
  if (failed_) {
    *why = Status::closed("log " + tp_.to_string() + " failed after an I/O error");
    return ErrorCode::KAFKA_STORAGE_ERROR;
  }
  return ErrorCode::NONE;
}

bool Log::should_roll(size_t bytes, int64_t last_offset, int64_t now_ms) const {
  const Segment& seg = *segments_.back();
  if (seg.empty()) return false;
  const uint64_t limit = std::min<uint64_t>(static_cast<uint64_t>(std::max(config_.segment_bytes, 1)),
                                            format::kMaxSegmentBytes);
  if (seg.size() + bytes > limit) return true;
  // A compacted log also rolls by max.compaction.lag.ms (Kafka's maxSegmentMs):
  // the cleaner never touches the active segment.
  const int64_t segment_ms =
      config_.cleanup_compact ? std::min(config_.segment_ms, config_.max_compaction_lag_ms) : config_.segment_ms;
  if (seg.rolling_base_ms() >= 0 && now_ms - seg.rolling_base_ms() > segment_ms - config_.segment_jitter_ms) {
    return true;
  }
  if (seg.indexes_full()) return true;
  return last_offset - seg.base_offset() > INT32_MAX;
}

Status Log::roll(int64_t now_ms) {
  Status st = seal_and_create_segment();
  if (st) return st;
  // Nothing was added to segments_: the old active segment stays active. A
  // roll that failed for lack of space (writing the snapshot or the new files)
  // is then only a refused append, retried by the next one, once the indexes
  // are open for appends again; any other error, or a failed unseal, leaves
  // the log in an unknown state.
  if (!is_disk_full(st) || !active().unseal()) failed_ = true;
  return st;
}

Status Log::seal_and_create_segment() {
  SAMSA_RETURN_IF_ERROR(active().seal());
  // The sealed segment's aborted transactions and the state at the new base
  // are made durable, so recovery never re-reads more than the new segment.
  SAMSA_RETURN_IF_ERROR(sync_txn_index());
  SAMSA_RETURN_IF_ERROR(take_snapshot());
  auto seg = Segment::create(env_, dir_, next_offset_, segment_options());
  if (!seg) return seg.status();
  segments_.push_back(std::move(*seg));
  ++dir_generation_;
  return Status::ok();
}

AppendResult Log::append(std::span<uint8_t> data, int32_t leader_epoch, int64_t now_ms, bool log_append_time) {
  AppendResult r;
  r.log_start_offset = log_start_offset_;
  r.error = check_usable(&r.status);
  if (r.error != ErrorCode::NONE || data.empty()) return r;

  // Pass 1: framing only (the caller validated contents), so nothing is
  // patched or written unless the whole input is well formed.
  int64_t count = 0;
  for (size_t pos = 0; pos < data.size();) {
    if (data.size() - pos < format::kBatchHeaderSize) {
      r.error = ErrorCode::CORRUPT_MESSAGE;
      r.status = Status::corruption("truncated batch header in append");
      return r;
    }
    BatchHeader h = BatchHeader::parse(data.data() + pos);
    if (const char* why = check_batch_header(h, data.size() - pos); *why != '\0') {
      r.error = ErrorCode::CORRUPT_MESSAGE;
      r.status = Status::corruption(std::string(why) + " in append");
      return r;
    }
    count += int64_t{h.last_offset_delta} + 1;
    pos += h.total_size();
  }
  std::optional<ProducerBatch> duplicate;
  r.error = check_producers(data, &duplicate);
  if (r.error != ErrorCode::NONE) {
    r.status = Status::invalid_argument(std::string("producer state rejects the batch of ") + tp_.to_string());
    return r;
  }
  if (duplicate) {
    r.duplicate = true;
    r.first_offset = duplicate->first_offset;
    r.last_offset = duplicate->last_offset;
    return r;
  }
  if (should_roll(data.size(), next_offset_ + count - 1, now_ms)) {
    Status st = roll(now_ms);  // marks the log failed itself when it cannot undo
    if (!st) {
      r.error = ErrorCode::KAFKA_STORAGE_ERROR;
      r.status = st;
      return r;
    }
  }

  // Pass 2: assign offsets and patch in place. baseOffset and leader epoch lie
  // outside the CRC; LogAppendTime changes attributes and maxTimestamp, which
  // it covers, so only then is the CRC recomputed.
  int64_t offset = next_offset_;
  for (size_t pos = 0; pos < data.size();) {
    uint8_t* p = data.data() + pos;
    BatchHeader h = BatchHeader::parse(p);
    protocol::store_be64(p + b::kBaseOffset, offset);
    protocol::store_be32(p + b::kLeaderEpoch, leader_epoch);
    if (log_append_time) {
      protocol::store_be16(p + b::kAttributes, static_cast<int16_t>(h.attributes | b::kTimestampTypeBit));
      protocol::store_be64(p + b::kMaxTimestamp, now_ms);
      protocol::store_be32(p + b::kCrc,
                           static_cast<int32_t>(crc32c(p + format::kCrcStart, h.total_size() - format::kCrcStart)));
      h.max_timestamp = now_ms;
    }
    r.max_timestamp = std::max(r.max_timestamp, h.max_timestamp);
    r.records += std::max(h.record_count, 0);
    ++r.batches;
    offset += int64_t{h.last_offset_delta} + 1;
    pos += h.total_size();
  }

  if (Status st = write_active(data, now_ms); !st) {
    r.error = ErrorCode::KAFKA_STORAGE_ERROR;
    r.status = st;
    return r;
  }
  r.first_offset = next_offset_;
  r.last_offset = offset - 1;
  r.log_append_time = log_append_time ? now_ms : -1;
  set_next_offset(offset);
  note_leader_epoch(leader_epoch, r.first_offset);
  track_producers(data, now_ms);
  records_appended_ += r.records;
  return r;
}

Status Log::write_active(std::span<const uint8_t> data, int64_t now_ms) {
  Segment& seg = active();
  const uint64_t old_size = seg.size();
  Status st = seg.append(data, now_ms);
  if (st) return st;
  // A failed write (ENOSPC, EIO) may have left part of the data: cut it off.
  // If that fails too, or the indexes are half updated, give up on the log.
  // A full disk is the one error worth retrying (space may be freed); any
  // other (EIO ...) leaves the log, and its log dir, in an unknown state.
  if (!is_disk_full(st)) {
    failed_ = true;
  } else if (seg.size() != old_size) {
    // The data went in, an index write did not: cut data and index entries.
    auto cut = seg.truncate_to(next_offset_);
    if (!cut || seg.size() != old_size) failed_ = true;
  } else if (!seg.truncate_bytes(old_size)) {  // a partial write of the data
    failed_ = true;
  }
  return st;
}

// A new epoch's first offset. A failed write of the file leaves the entry in
// memory and the cache dirty: retried by its next change and by close, and
// the file is rebuilt from the batches if it is stale after a crash.
// A lower epoch than the latest is not refused here (Kafka's log layer does
// not either: fencing stale leaders is the partition's job); as Kafka does,
// the entries it contradicts are dropped so the cache still describes the log.
void Log::note_leader_epoch(int32_t epoch, int64_t offset) {
  if (epoch > epochs_.latest_epoch()) {
    (void)epochs_.assign(epoch, offset);
  } else if (epoch >= 0 && epoch < epochs_.latest_epoch()) {
    (void)epochs_.assign_superseding(epoch, offset);
  }
}

// ---------------------------------------------------------------- read

size_t Log::segment_index_for(int64_t offset) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](int64_t o, const std::unique_ptr<Segment>& s) { return o < s->base_offset(); });
  return it == segments_.begin() ? 0 : static_cast<size_t>(it - segments_.begin()) - 1;
}

ReadResult Log::read(int64_t offset, size_t max_bytes, int64_t max_offset_exclusive, bool min_one_batch) const {
  ReadResult r;
  r.log_start_offset = log_start_offset_;
  r.log_end_offset = next_offset_;
  r.error = check_usable(&r.status);
  if (r.error != ErrorCode::NONE) return r;
  if (offset < log_start_offset_ || offset > next_offset_) {
    r.error = ErrorCode::OFFSET_OUT_OF_RANGE;
    r.status = Status::offset_out_of_range("offset " + std::to_string(offset) + " not in [" +
                                           std::to_string(log_start_offset_) + ", " + std::to_string(next_offset_) +
                                           "] of " + tp_.to_string());
    return r;
  }
  const int64_t limit = std::min(max_offset_exclusive, next_offset_);
  uint64_t remaining = max_bytes;
  auto fail = [&r](const Status& st) {
    r.error = st.error_code();
    r.status = st;
    r.chunks.clear();
    r.bytes = 0;
    r.first_offset = -1;
    return r;
  };
  int64_t cursor = offset;
  for (size_t i = segment_index_for(offset); i < segments_.size() && cursor < limit; ++i) {
    const Segment& seg = *segments_[i];
    if (seg.base_offset() >= limit) break;
    auto first = seg.find_batch(cursor);
    if (!first) return fail(first.status());
    if (!first->has_value()) continue;  // no batch at or after cursor here: next segment
    const BatchInfo start = **first;
    if (start.last_offset >= limit) break;
    // End of what the limit allows in this segment: the batch holding `limit`.
    auto stop = seg.position_of(limit);
    if (!stop) return fail(stop.status());
    uint64_t end = *stop;
    if (end - start.position > remaining) {
      auto fit = seg.fit_end(start.position, start.position + remaining);
      if (!fit) return fail(fit.status());
      end = *fit;
      if (end == start.position && min_one_batch && r.bytes == 0) end = start.end();  // Kafka's rule
    }
    if (end > start.position) {
      r.chunks.push_back(FileChunk{seg.log_file(), seg.log_file()->fd(), start.position,
                                   static_cast<uint32_t>(end - start.position)});
      r.bytes += end - start.position;
      remaining -= std::min(remaining, end - start.position);
      if (r.first_offset < 0) r.first_offset = start.base_offset;
    }
    if (end < seg.size()) break;  // stopped by a limit inside this segment
    cursor = seg.next_offset();
  }
  return r;
}

// ---------------------------------------------------------------- timestamps

Result<std::optional<TimestampLookup>> Log::offset_for_timestamp(int64_t ts) const {
  for (const auto& seg : segments_) {
    if (seg->max_timestamp() < ts) continue;
    auto found = seg->find_timestamp(ts);
    if (!found) return found.status();
    if (!found->has_value()) continue;
    const BatchInfo& bi = **found;
    if (bi.last_offset < log_start_offset_) continue;
    TimestampLookup out;
    out.timestamp = bi.max_timestamp;
    out.offset = std::max(bi.base_offset, log_start_offset_);
    out.batch_last_offset = bi.last_offset;
    out.batch = FileChunk{seg->log_file(), seg->log_file()->fd(), bi.position, bi.size};
    return std::optional<TimestampLookup>(out);
  }
  return std::optional<TimestampLookup>();
}

TimestampOffset Log::max_timestamp_and_offset() const {
  TimestampOffset best{-1, -1};
  for (const auto& seg : segments_) {
    if (seg->max_timestamp() > best.timestamp) best = {seg->max_timestamp(), seg->offset_of_max_timestamp()};
  }
  return best;
}

// ---------------------------------------------------------------- flush

FlushTicket Log::prepare_flush(int64_t now_ms) const {
  FlushTicket t;
  t.offset = next_offset_;
  t.generation = generation_;
  t.log_id = id_;
  t.records = records_appended_;
  t.prepared_ms = now_ms;
  t.env = env_;
  t.dir = dir_;
  t.dir_generation = dir_generation_;
  t.sync_dir = dir_generation_ != synced_dir_generation_;
  for (const auto& seg : segments_) {
    if (!seg->dirty()) continue;
    seg->files_to_sync(&t.files);
    t.segments.emplace_back(seg->base_offset(), seg->mod_count());
  }
  // Aborted transactions below the new recovery point must survive a power
  // cut: recovery replays only from the newest snapshot.
  t.txn_index_writes = txn_index_writes_;
  if (txn_index_ && txn_index_writes_ != txn_index_synced_writes_) t.files.push_back(txn_index_);
  return t;
}

void Log::complete_flush(const FlushTicket& t) {
  // A ticket of the log this one replaced (a replica moved to another log
  // dir while its flush ran): its segments and mod counts are not ours.
  if (t.log_id != id_) return;
  for (const auto& [base, mod] : t.segments) {
    size_t i = segment_index_for(base);
    if (segments_[i]->base_offset() == base) segments_[i]->mark_synced(mod);
  }
  if (t.sync_dir) synced_dir_generation_ = std::max(synced_dir_generation_, t.dir_generation);
  txn_index_synced_writes_ = std::max(txn_index_synced_writes_, t.txn_index_writes);
  // A truncation since prepare may have replaced offsets below t.offset with
  // data this flush did not cover; truncation already lowered the point.
  if (t.generation == generation_) set_recovery_point(std::max(recovery_point_, std::min(t.offset, next_offset_)));
  records_flushed_ = std::max(records_flushed_, t.records);
  last_flush_ms_ = std::max(last_flush_ms_, t.prepared_ms);
}

Status Log::flush(int64_t now_ms) {
  Status why;
  if (check_usable(&why) != ErrorCode::NONE) return why;
  FlushTicket t = prepare_flush(now_ms);
  Status st = t.run();
  if (!st) {
    // After a failed fdatasync the page cache state is unknown (the kernel may
    // have dropped the dirty pages): never trust this log again.
    failed_ = true;
    return st;
  }
  complete_flush(t);
  return Status::ok();
}

bool Log::flush_due(int64_t now_ms) const {
  const int64_t unflushed = records_appended_ - records_flushed_;
  if (unflushed <= 0 && recovery_point_ == next_offset_) return false;
  if (unflushed >= config_.flush_messages) return true;
  return config_.flush_ms != kNoLimit && now_ms - last_flush_ms_ >= config_.flush_ms;
}

void Log::set_recovery_point(int64_t rp) {
  recovery_point_ = rp;
  recovery_point_snapshot_.store(rp, std::memory_order_relaxed);
}

void Log::set_log_start_offset(int64_t offset) {
  log_start_offset_ = offset;
  log_start_snapshot_.store(offset, std::memory_order_relaxed);
  producers_.drop_aborted_below(offset);
}

// ---------------------------------------------------------------- close / remove

Status Log::close() {
  auto t = begin_close();
  if (!t) return t.status();
  return end_close(*t, t->run());
}

Result<FlushTicket> Log::begin_close() {
  if (closed_) return FlushTicket{};  // nothing to sync; end_close is a no-op
  Status why;
  if (check_usable(&why) != ErrorCode::NONE) return why;
  SAMSA_RETURN_IF_ERROR(active().seal());
  SAMSA_RETURN_IF_ERROR(sync_txn_index());
  if (!producers_.producers().empty()) SAMSA_RETURN_IF_ERROR(take_snapshot());
  SAMSA_RETURN_IF_ERROR(epochs_.persist_if_dirty());
  return prepare_flush(0);
}

Status Log::end_close(const FlushTicket& t, const Status& synced) {
  if (closed_) return Status::ok();
  if (!synced) {
    // As in flush(): after a failed fdatasync the page cache state is unknown.
    failed_ = true;
    return synced;
  }
  complete_flush(t);
  closed_ = true;
  return Status::ok();
}

Result<std::string> Log::remove() {
  const std::string parent = parent_dir(dir_);
  const std::string target = join_path(parent, deleted_dir_name(tp_));
  closed_ = true;
  SAMSA_RETURN_IF_ERROR(env_->rename(dir_, target));
  SAMSA_RETURN_IF_ERROR(env_->sync_dir(parent));
  dir_ = target;
  epochs_.set_path(join_path(dir_, std::string(format::kLeaderEpochCheckpoint)));
  return target;
}

uint64_t Log::size_bytes() const {
  uint64_t n = 0;
  for (const auto& seg : segments_) n += seg->size();
  return n;
}

}  // namespace samsa::storage
