#include "storage/segment.h"

#include <algorithm>
#include <cstdio>

#include "base/crc32c.h"
#include "storage/log_format.h"

namespace samsa::storage {
namespace {

// Scan buffer for header walks on the read path: a page holds ~60 small headers.
constexpr size_t kScanBufferBytes = 4096;
// Recovery reads whole batches to check their CRC.
constexpr size_t kRecoveryBufferBytes = 1 << 20;

bool is_io(const Status& st) { return st.kind() == Status::Kind::kIoError; }

}  // namespace

std::string Segment::file_name(int64_t base_offset, std::string_view suffix) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(base_offset));
  return std::string(digits) + std::string(suffix);
}

std::optional<int64_t> Segment::parse_file_name(std::string_view name, std::string_view suffix) {
  if (name.size() != format::kOffsetDigits + suffix.size()) return std::nullopt;
  if (name.substr(format::kOffsetDigits) != suffix) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < format::kOffsetDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Segment::Segment(Env* env, std::string dir, int64_t base, SegmentOptions opts)
    : env_(env), dir_(std::move(dir)), base_offset_(base), opts_(opts), next_offset_(base),
      offset_of_max_timestamp_(base) {}

Segment::~Segment() = default;

std::string Segment::path(std::string_view suffix) const {
  return join_path(dir_, file_name(base_offset_, suffix) + file_suffix_);
}
std::string Segment::log_path() const { return path(format::kLogSuffix); }

Result<std::unique_ptr<Segment>> Segment::create(Env* env, const std::string& dir, int64_t base_offset,
                                                 const SegmentOptions& opts, std::string_view file_suffix) {
  std::unique_ptr<Segment> seg(new Segment(env, dir, base_offset, opts));
  seg->file_suffix_ = std::string(file_suffix);
  auto log = env->open_file(seg->path(format::kLogSuffix), OpenMode::kTruncate);
  if (!log) return log.status();
  seg->log_ = std::move(*log);
  // Stale index files of an earlier segment with this base would be wrong now.
  for (auto suffix : {format::kIndexSuffix, format::kTimeIndexSuffix}) {
    Status st = env->unlink(seg->path(suffix));
    if (!st && st.kind() != Status::Kind::kNotFound) return st;
  }
  SAMSA_RETURN_IF_ERROR(seg->open_indexes(true));
  return seg;
}

Result<std::unique_ptr<Segment>> Segment::open(Env* env, const std::string& dir, int64_t base_offset,
                                               const SegmentOptions& opts, bool active, bool* rebuilt) {
  *rebuilt = false;
  std::unique_ptr<Segment> seg(new Segment(env, dir, base_offset, opts));
  auto log = env->open_file(seg->path(format::kLogSuffix), OpenMode::kExisting);
  if (!log) return log.status();
  seg->log_ = std::move(*log);
  auto size = seg->log_->size();
  if (!size) return size.status();
  seg->size_ = *size;
  if (seg->size_ > format::kMaxSegmentBytes) return Status::corruption("segment too large: " + seg->log_path());

  bool missing = !env->exists(seg->path(format::kIndexSuffix)) || !env->exists(seg->path(format::kTimeIndexSuffix));
  SAMSA_RETURN_IF_ERROR(seg->open_indexes(active));
  bool need_rebuild = (missing && seg->size_ > 0) ||
                      !seg->offset_index_->sanity_check(INT64_MAX, seg->size_).is_ok();
  if (!need_rebuild) {
    Status st = seg->load_tail_state();
    if (is_io(st)) return st;
    // A tail scan that does not land on batch boundaries means the index lies.
    need_rebuild = !st.is_ok() || !seg->time_index_->sanity_check(seg->next_offset_).is_ok();
  }
  if (need_rebuild) {
    *rebuilt = true;
    SAMSA_RETURN_IF_ERROR(seg->rebuild_indexes());
  }
  if (!active) SAMSA_RETURN_IF_ERROR(seg->seal());
  // Loaded as found on disk: durable unless we had to rewrite its indexes.
  if (!*rebuilt) seg->mark_synced(seg->mod_count_);
  return seg;
}

Result<std::unique_ptr<Segment>> Segment::open_and_recover(Env* env, const std::string& dir, int64_t base_offset,
                                                           const SegmentOptions& opts, bool active,
                                                           uint64_t* truncated) {
  *truncated = 0;
  std::unique_ptr<Segment> seg(new Segment(env, dir, base_offset, opts));
  auto log = env->open_file(seg->path(format::kLogSuffix), OpenMode::kExisting);
  if (!log) return log.status();
  seg->log_ = std::move(*log);
  SAMSA_RETURN_IF_ERROR(seg->open_indexes(active));
  auto cut = seg->recover();
  if (!cut) return cut.status();
  *truncated = *cut;
  if (!active) SAMSA_RETURN_IF_ERROR(seg->seal());
  return seg;
}

Status Segment::open_indexes(bool active) {
  uint64_t prealloc = active ? opts_.index_bytes : 0;
  auto oi = OffsetIndex::open(env_, path(format::kIndexSuffix), base_offset_, prealloc);
  if (!oi) return oi.status();
  offset_index_ = std::move(*oi);
  auto ti = TimeIndex::open(env_, path(format::kTimeIndexSuffix), base_offset_, prealloc);
  if (!ti) return ti.status();
  time_index_ = std::move(*ti);
  sealed_ = !active;
  return Status::ok();
}

Status Segment::clear_indexes_for_rebuild() {
  // Room for every entry (a sealed index was trimmed, a missing one is empty);
  // seal() trims again afterwards.
  SAMSA_RETURN_IF_ERROR(offset_index_->clear());
  SAMSA_RETURN_IF_ERROR(time_index_->clear());
  SAMSA_RETURN_IF_ERROR(offset_index_->preallocate(opts_.index_bytes));
  return time_index_->preallocate(opts_.index_bytes);
}

void Segment::reset_tail_state() {
  next_offset_ = base_offset_;
  max_timestamp_ = format::kNoTimestamp;
  offset_of_max_timestamp_ = base_offset_;
  bytes_since_index_entry_ = 0;
  rolling_base_ms_ = -1;
}

Status Segment::index_batch(const BatchInfo& b) {
  // Kafka's order: the max timestamp includes this batch before an index entry
  // is considered; the first batch (position 0) is never indexed.
  if (b.max_timestamp > max_timestamp_) {
    max_timestamp_ = b.max_timestamp;
    offset_of_max_timestamp_ = b.last_offset;
  }
  if (bytes_since_index_entry_ > opts_.index_interval_bytes) {
    // A full index only makes lookups scan further; the log rolls before
    // appending to a segment whose index is full.
    if (!offset_index_->is_full()) {
      SAMSA_RETURN_IF_ERROR(offset_index_->append(b.last_offset, static_cast<uint32_t>(b.position)));
    }
    if (!time_index_->is_full()) {
      SAMSA_RETURN_IF_ERROR(time_index_->maybe_append(max_timestamp_, offset_of_max_timestamp_));
    }
    bytes_since_index_entry_ = 0;
  }
  bytes_since_index_entry_ += b.size;
  next_offset_ = b.last_offset + 1;
  return Status::ok();
}

Status Segment::rebuild_indexes() {
  ++mod_count_;
  SAMSA_RETURN_IF_ERROR(clear_indexes_for_rebuild());
  reset_tail_state();
  uint8_t buf[kScanBufferBytes];
  BatchScanner scan(*log_, 0, size_, buf);
  BatchInfo b;
  for (;;) {
    auto more = scan.next(&b);
    if (!more) return more.status();
    if (!*more) break;
    if (rolling_base_ms_ < 0) rolling_base_ms_ = std::max<int64_t>(b.max_timestamp, 0);
    SAMSA_RETURN_IF_ERROR(index_batch(b));
  }
  return Status::ok();
}

Status Segment::load_tail_state() {
  reset_tail_state();
  TimestampOffset t = time_index_->last_entry();
  max_timestamp_ = t.timestamp;
  offset_of_max_timestamp_ = t.offset;
  uint64_t start = offset_index_->entries() > 0 ? offset_index_->last_entry().position : 0;
  uint8_t buf[kScanBufferBytes];
  if (size_ > 0 && !sealed_) {  // only the active segment's age matters (segment.ms)
    BlockReader first(*log_, size_, buf);
    auto p = first.view(0, format::kBatchHeaderSize);
    if (!p) return p.status();
    rolling_base_ms_ = std::max<int64_t>(protocol::BatchHeader::parse(*p).max_timestamp, 0);
  }
  BatchScanner scan(*log_, start, size_, buf);
  BatchInfo b;
  for (;;) {
    auto more = scan.next(&b);
    if (!more) return more.status();
    if (!*more) break;
    if (b.base_offset < base_offset_ || b.last_offset - base_offset_ > INT32_MAX) {
      return Status::corruption("batch offsets outside segment " + log_path());
    }
    if (b.max_timestamp > max_timestamp_) {
      max_timestamp_ = b.max_timestamp;
      offset_of_max_timestamp_ = b.last_offset;
    }
    next_offset_ = b.last_offset + 1;
  }
  bytes_since_index_entry_ = size_ - start;
  return Status::ok();
}

Status Segment::append(std::span<const uint8_t> batches, int64_t now_ms) {
  ++mod_count_;
  if (batches.empty()) return Status::ok();
  if (size_ + batches.size() > format::kMaxSegmentBytes) return Status::invalid_argument("segment would overflow");
  const uint64_t start = size_;
  SAMSA_RETURN_IF_ERROR(log_->write_at(start, batches));
  size_ += batches.size();
  if (rolling_base_ms_ < 0) rolling_base_ms_ = now_ms;
  // Per-batch bookkeeping from the headers in memory; the caller validated the
  // framing, so every header is whole.
  uint64_t pos = 0;
  while (pos < batches.size()) {
    auto h = protocol::BatchHeader::parse(batches.data() + pos);
    SAMSA_RETURN_IF_ERROR(index_batch(batch_info(h, start + pos)));
    pos += h.total_size();
  }
  return Status::ok();
}

Status Segment::truncate_bytes(uint64_t size) {
  ++mod_count_;
  SAMSA_RETURN_IF_ERROR(log_->truncate(size));
  size_ = size;
  return Status::ok();
}

Result<std::optional<BatchInfo>> Segment::find_batch(int64_t offset) const {
  OffsetPosition e = offset_index_->lookup(offset);
  uint8_t buf[kScanBufferBytes];
  BatchScanner scan(*log_, e.position, size_, buf);
  BatchInfo b;
  for (;;) {
    auto more = scan.next(&b);
    if (!more) return more.status();
    if (!*more) return std::optional<BatchInfo>();
    if (b.last_offset >= offset) return std::optional<BatchInfo>(b);
  }
}

Result<uint64_t> Segment::position_of(int64_t offset) const {
  if (offset >= next_offset_) return size_;
  auto b = find_batch(offset);
  if (!b) return b.status();
  return b->has_value() ? (*b)->position : size_;
}

Result<uint64_t> Segment::fit_end(uint64_t start, uint64_t max_end) const {
  max_end = std::min(max_end, size_);
  if (max_end <= start) return start;
  // Index entries point at batch starts: begin at the last one not past max_end.
  uint64_t from = std::max<uint64_t>(start, offset_index_->lookup_by_position(max_end).position);
  uint8_t buf[kScanBufferBytes];
  BatchScanner scan(*log_, from, size_, buf);
  uint64_t end = from;
  BatchInfo b;
  for (;;) {
    auto more = scan.next(&b);
    if (!more) return more.status();
    if (!*more || b.end() > max_end) return end;
    end = b.end();
  }
}

Result<std::optional<BatchInfo>> Segment::find_timestamp(int64_t ts) const {
  if (max_timestamp_ < ts) return std::optional<BatchInfo>();
  // Every batch before the one holding t.offset has max timestamp < ts.
  TimestampOffset t = time_index_->lookup_before(ts);
  OffsetPosition e = offset_index_->lookup(t.offset);
  uint8_t buf[kScanBufferBytes];
  BatchScanner scan(*log_, e.position, size_, buf);
  BatchInfo b;
  for (;;) {
    auto more = scan.next(&b);
    if (!more) return more.status();
    if (!*more) return std::optional<BatchInfo>();
    if (b.max_timestamp >= ts) return std::optional<BatchInfo>(b);
  }
}

Result<uint64_t> Segment::truncate_to(int64_t offset) {
  auto found = find_batch(offset);
  if (!found) return found.status();
  if (!found->has_value()) return uint64_t{0};
  const BatchInfo b = **found;
  SAMSA_RETURN_IF_ERROR(offset_index_->truncate_to(b.base_offset));
  SAMSA_RETURN_IF_ERROR(time_index_->truncate_to(b.base_offset));
  uint64_t removed = size_ - b.position;
  SAMSA_RETURN_IF_ERROR(truncate_bytes(b.position));
  SAMSA_RETURN_IF_ERROR(load_tail_state());
  if (size_ == 0) rolling_base_ms_ = -1;
  return removed;
}

Result<uint64_t> Segment::recover() {
  ++mod_count_;
  SAMSA_RETURN_IF_ERROR(clear_indexes_for_rebuild());
  reset_tail_state();
  auto fsize = log_->size();
  if (!fsize) return fsize.status();
  size_ = std::min<uint64_t>(*fsize, format::kMaxSegmentBytes);
  std::vector<uint8_t> buf(kRecoveryBufferBytes);
  BlockReader reader(*log_, size_, buf);
  uint64_t pos = 0;
  int64_t expect = base_offset_;
  while (pos < size_) {
    if (size_ - pos < format::kBatchHeaderSize) break;  // torn header
    auto p = reader.view(pos, format::kBatchHeaderSize);
    if (!p) {
      if (is_io(p.status())) return p.status();
      break;
    }
    auto h = protocol::BatchHeader::parse(*p);
    if (*check_batch_header(h, size_ - pos) != '\0') break;
    if (h.base_offset < expect || h.last_offset() - base_offset_ > INT32_MAX) break;
    // CRC32C of [21, end), streamed through the buffer for batches larger than it.
    uint32_t crc = 0;
    bool short_read = false;
    for (uint64_t at = pos + format::kCrcStart; at < pos + h.total_size();) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), pos + h.total_size() - at));
      auto chunk = reader.view(at, n);
      if (!chunk) {
        if (is_io(chunk.status())) return chunk.status();
        short_read = true;
        break;
      }
      crc = crc32c(*chunk, n, crc);
      at += n;
    }
    if (short_read || crc != h.crc) break;
    BatchInfo b = batch_info(h, pos);
    if (rolling_base_ms_ < 0) rolling_base_ms_ = std::max<int64_t>(b.max_timestamp, 0);
    SAMSA_RETURN_IF_ERROR(index_batch(b));
    expect = b.last_offset + 1;
    pos = b.end();
  }
  uint64_t truncated = *fsize - pos;
  if (truncated > 0) SAMSA_RETURN_IF_ERROR(truncate_bytes(pos));
  return truncated;
}

Status Segment::seal() {
  ++mod_count_;
  if (max_timestamp_ >= 0) {
    SAMSA_RETURN_IF_ERROR(time_index_->maybe_append(max_timestamp_, offset_of_max_timestamp_, /*sealing=*/true));
  }
  SAMSA_RETURN_IF_ERROR(offset_index_->trim());
  SAMSA_RETURN_IF_ERROR(time_index_->trim());
  sealed_ = true;
  return Status::ok();
}

Status Segment::unseal() {
  ++mod_count_;
  SAMSA_RETURN_IF_ERROR(offset_index_->preallocate(opts_.index_bytes));
  SAMSA_RETURN_IF_ERROR(time_index_->preallocate(opts_.index_bytes));
  sealed_ = false;
  return Status::ok();
}

Status Segment::flush() {
  const uint64_t mod = mod_count_;
  SAMSA_RETURN_IF_ERROR(log_->sync());
  SAMSA_RETURN_IF_ERROR(offset_index_->sync());
  SAMSA_RETURN_IF_ERROR(time_index_->sync());
  mark_synced(mod);
  return Status::ok();
}

void Segment::files_to_sync(std::vector<std::shared_ptr<File>>* out) const {
  out->push_back(log_);
  // An index without a descriptor has had nothing written since it was opened.
  if (offset_index_->file()) out->push_back(offset_index_->file());
  if (time_index_->file()) out->push_back(time_index_->file());
}

Status Segment::remove() {
  SAMSA_RETURN_IF_ERROR(offset_index_->unlink());
  SAMSA_RETURN_IF_ERROR(time_index_->unlink());
  Status st = env_->unlink(log_path());
  if (!st && st.kind() != Status::Kind::kNotFound) return st;
  return Status::ok();
}

Status Segment::change_file_suffix(std::string_view to) {
  const std::string from = file_suffix_;
  auto target = [&](std::string_view suffix) { return join_path(dir_, file_name(base_offset_, suffix) + std::string(to)); };
  SAMSA_RETURN_IF_ERROR(time_index_->rename(target(format::kTimeIndexSuffix)));
  SAMSA_RETURN_IF_ERROR(offset_index_->rename(target(format::kIndexSuffix)));
  SAMSA_RETURN_IF_ERROR(env_->rename(log_path(), target(format::kLogSuffix)));
  file_suffix_ = std::string(to);
  return Status::ok();
}

Status Segment::rename_for_deletion(std::vector<std::string>* renamed) {
  for (auto suffix : {format::kLogSuffix, format::kIndexSuffix, format::kTimeIndexSuffix}) {
    const std::string from = path(suffix);
    const std::string to = from + std::string(format::kDeletedSuffix);
    Status st = env_->rename(from, to);
    if (!st && st.kind() == Status::Kind::kNotFound) continue;  // e.g. an index never created
    SAMSA_RETURN_IF_ERROR(st);
    renamed->push_back(to);
  }
  return Status::ok();
}

}  // namespace samsa::storage
