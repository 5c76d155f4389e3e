// The producer-state side of Log: idempotence checks on append, transaction
// markers, producer snapshots (<offset>.snapshot) and aborted-transaction
// indexes (<base>.txnindex), and rebuilding all of it on open. Kept apart from
// log.cc, which is about segments. Same ownership rules as Log.
#include <algorithm>

#include "protocol/record_batch.h"
#include "storage/batch_scanner.h"
#include "storage/log.h"
#include "storage/log_format.h"

namespace samsa::storage {

namespace {

constexpr size_t kMaxSnapshotBytes = 64 << 20;
constexpr size_t kMaxTxnIndexBytes = 64 << 20;
constexpr size_t kSnapshotsKept = 2;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

TxnMarker marker_of(std::span<const uint8_t> batch) {
  protocol::RecordIterator it;
  if (it.open(batch) != ErrorCode::NONE || !it.header().is_control()) return TxnMarker::none;
  protocol::RecordView rv;
  if (!it.next(rv)) return TxnMarker::none;
  auto type = protocol::control_record_type(rv.key);
  if (!type) return TxnMarker::none;
  if (*type == 0) return TxnMarker::abort;
  if (*type == 1) return TxnMarker::commit;
  return TxnMarker::none;
}

// Pass 1 of append for batches with a producer id: validates each against the
// producer state. A single batch that repeats a cached one is a duplicate.
ErrorCode Log::check_producers(std::span<const uint8_t> data, std::optional<ProducerBatch>* duplicate) const {
  for (size_t pos = 0; pos + format::kBatchHeaderSize <= data.size();) {
    auto h = protocol::BatchHeader::parse(data.data() + pos);
    if (h.producer_id >= 0) {
      if (h.is_control()) {
        if (auto err = producers_.check_marker(h.producer_id, h.producer_epoch); err != ErrorCode::NONE) return err;
      } else {
        auto c = producers_.check(h);
        if (c.error != ErrorCode::NONE) return c.error;
        if (c.duplicate) {
          if (pos != 0 || h.total_size() != data.size()) return ErrorCode::DUPLICATE_SEQUENCE_NUMBER;
          *duplicate = c.duplicate;
          return ErrorCode::NONE;
        }
      }
    }
    pos += h.total_size();
  }
  return ErrorCode::NONE;
}

// After the bytes are written (offsets assigned): update the state and index
// the aborted transactions that markers completed.
void Log::track_producers(std::span<const uint8_t> data, int64_t now_ms) {
  for (size_t pos = 0; pos + format::kBatchHeaderSize <= data.size();) {
    auto h = protocol::BatchHeader::parse(data.data() + pos);
    if (h.producer_id >= 0) {
      TxnMarker m = h.is_control() ? marker_of(data.subspan(pos, h.total_size())) : TxnMarker::none;
      if (auto aborted = producers_.on_append(h, m, now_ms)) append_txn_index(*aborted);
    }
    pos += h.total_size();
  }
}

int64_t Log::last_stable_offset(int64_t high_watermark) const {
  auto fuo = producers_.first_unstable_offset();
  // Retention may delete the start of an open transaction; the LSO never
  // falls below the log start (Kafka clamps it the same way), or a
  // read_committed consumer would be sent to an offset that no longer exists.
  return fuo ? std::min(std::max(*fuo, log_start_offset_), high_watermark) : high_watermark;
}

std::string Log::snapshot_path(int64_t offset) const {
  return join_path(dir_, Segment::file_name(offset, format::kSnapshotSuffix));
}

// Kafka writes a snapshot at every roll, so recovery re-reads at most the
// active segment; the state in it is the state after every offset below.
Status Log::take_snapshot() {
  auto bytes = producers_.encode_snapshot();
  SAMSA_RETURN_IF_ERROR(write_file_atomically(
      env_, snapshot_path(next_offset_), std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
  // Keep the newest few.
  auto names = env_->list_dir(dir_);
  if (!names) return names.status();
  std::vector<int64_t> offsets;
  for (const auto& n : *names) {
    if (auto o = Segment::parse_file_name(n, format::kSnapshotSuffix)) offsets.push_back(*o);
  }
  std::sort(offsets.begin(), offsets.end());
  for (size_t i = 0; i + kSnapshotsKept < offsets.size(); ++i) {
    Status st = env_->unlink(snapshot_path(offsets[i]));
    if (!st && st.kind() != Status::Kind::kNotFound) return st;
  }
  return Status::ok();
}

Status Log::sync_txn_index() {
  if (txn_index_) return txn_index_->sync();
  return Status::ok();
}

// Appends an aborted transaction to the .txnindex of the active segment. Not
// synced here: the next flush syncs it with the segment's files.
void Log::append_txn_index(const AbortedTxn& a) {
  const int64_t base = segments_.back()->base_offset();
  if (!txn_index_ || txn_index_base_ != base) {
    auto f = env_->open_file(join_path(dir_, Segment::file_name(base, format::kTxnIndexSuffix)),
                             OpenMode::kCreate);
    if (!f) {
      failed_ = true;  // an I/O error, as for a segment: the log stops taking writes
      return;
    }
    txn_index_ = *f;
    txn_index_base_ = base;
    ++dir_generation_;  // the next flush fsyncs the directory: the new file's entry is durable
  }
  auto size = txn_index_->size();
  auto bytes = ProducerState::encode_aborted(a);
  if (!size || !txn_index_->write_at(*size, bytes)) {
    failed_ = true;  // an I/O error, as for a segment: the log stops taking writes
    return;
  }
  ++txn_index_writes_;  // synced by the next flush, like the segment's files (Kafka too)
}

// Rewrites the .txnindex of segments from index `from` on with the in-memory entries.
Status Log::rewrite_txn_indexes(size_t from) {
  txn_index_.reset();
  for (size_t i = from; i < segments_.size(); ++i) {
    const int64_t base = segments_[i]->base_offset();
    const int64_t end = i + 1 < segments_.size() ? segments_[i + 1]->base_offset() : INT64_MAX;
    std::string content;
    for (const auto& a : producers_.aborted()) {
      if (a.last_offset < base || a.last_offset >= end) continue;
      auto e = ProducerState::encode_aborted(a);
      content.append(reinterpret_cast<const char*>(e.data()), e.size());
    }
    const std::string path = join_path(dir_, Segment::file_name(base, format::kTxnIndexSuffix));
    if (content.empty()) {
      Status st = env_->unlink(path);
      if (!st && st.kind() != Status::Kind::kNotFound) return st;
    } else {
      SAMSA_RETURN_IF_ERROR(write_file_atomically(env_, path, content));
    }
  }
  return Status::ok();
}

// Re-reads the batch headers in [from, log end) into the producer state.
Status Log::replay_producers(int64_t from, int64_t now_ms) {
  protocol::Bytes batch;
  return for_each_batch_header(
      from, [&](const Segment& seg, const BatchInfo& info, const protocol::BatchHeader& h) -> Status {
        if (h.producer_id < 0) return Status::ok();
        TxnMarker m = TxnMarker::none;
        if (h.is_control()) {
          batch.resize(info.size);
          auto n = seg.log_file()->read_at(info.position, batch);
          if (!n) return n.status();
          if (*n == info.size) m = marker_of(batch);
        }
        producers_.on_append(h, m, now_ms);
        return Status::ok();
      });
}

// Loads the aborted-transaction indexes and the newest usable snapshot, then
// replays the log after it. After a clean shutdown a snapshot at the log end
// means no replay; no snapshot there means no producer state.
Status Log::load_producer_state(const LogOpenOptions& opts) {
  auto names = env_->list_dir(dir_);
  if (!names) return names.status();
  std::vector<int64_t> snapshots;
  std::vector<std::string> orphans;
  for (const auto& n : *names) {
    if (auto o = Segment::parse_file_name(n, format::kSnapshotSuffix)) {
      snapshots.push_back(*o);
    } else if (auto b = Segment::parse_file_name(n, format::kTxnIndexSuffix)) {
      // A file whose segment is gone (merged by the cleaner, cut by recovery):
      // its entries move to the segments that now hold their offsets.
      if (std::none_of(segments_.begin(), segments_.end(), [&](const auto& seg) { return seg->base_offset() == *b; }))
        orphans.push_back(n);
      auto content = read_file_to_string(env_, join_path(dir_, n), kMaxTxnIndexBytes);
      if (!content) return content.status();
      auto span = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content->data()), content->size());
      for (const auto& a : ProducerState::decode_aborted(span)) producers_.add_aborted(a);
    } else if (ends_with(n, format::kSnapshotSuffix)) {
      (void)env_->unlink(join_path(dir_, n));
    }
  }
  std::sort(snapshots.begin(), snapshots.end());
  const size_t loaded = producers_.aborted().size();
  producers_.drop_aborted_from(next_offset_);
  producers_.drop_aborted_below(log_start_offset_);
  if (!orphans.empty() || producers_.aborted().size() != loaded) {
    for (const auto& n : orphans) SAMSA_RETURN_IF_ERROR(env_->unlink(join_path(dir_, n)));
    SAMSA_RETURN_IF_ERROR(rewrite_txn_indexes(0));
  }
  // The newest snapshot within the log that decodes.
  int64_t from = log_start_offset_;
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    if (*it > next_offset_) {
      (void)env_->unlink(snapshot_path(*it));  // beyond a truncated tail
      continue;
    }
    auto content = read_file_to_string(env_, snapshot_path(*it), kMaxSnapshotBytes);
    if (!content) continue;
    auto state = ProducerState::decode_snapshot(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content->data()), content->size()));
    if (!state) continue;
    producers_.restore(std::move(*state));
    from = std::max(*it, log_start_offset_);
    break;
  }
  if (opts.clean_shutdown && (snapshots.empty() || snapshots.back() != next_offset_)) {
    producers_.clear();  // a clean close writes a snapshot whenever there is state
    return Status::ok();
  }
  if (opts.clean_shutdown) return Status::ok();
  // Entries at or after `from` are rebuilt by the replay. One the replay cannot
  // rebuild is kept from the .txnindex: a transaction whose start lies below
  // the replay's start while no snapshot knew it open (retention deleted it),
  // so its abort marker alone no longer says where it began. (Torn entries
  // past the log end were dropped above.)
  std::vector<AbortedTxn> indexed;
  for (const auto& a : producers_.aborted())
    if (a.last_offset >= from) indexed.push_back(a);
  producers_.drop_aborted_from(from);
  SAMSA_RETURN_IF_ERROR(replay_producers(from, opts.now_ms));
  for (const auto& a : indexed) producers_.add_aborted(a);  // no-op where the replay found it
  return rewrite_txn_indexes(segment_index_for(from));
}

// After a truncation: the state as of the new log end, from the newest
// snapshot below it plus a replay (as after an unclean shutdown).
Status Log::reload_producer_state() {
  producers_ = ProducerState{};
  txn_index_.reset();
  LogOpenOptions opts;
  opts.clean_shutdown = false;
  return load_producer_state(opts);
}

Status Log::remove_txn_index(int64_t base) {
  if (txn_index_base_ == base) txn_index_.reset();
  Status st = env_->unlink(join_path(dir_, Segment::file_name(base, format::kTxnIndexSuffix)));
  if (!st && st.kind() != Status::Kind::kNotFound) return st;
  return Status::ok();
}

}  // namespace samsa::storage
