#include "storage/log_cleaner.h"

#include <algorithm>
#include <cassert>
#include <thread>

#include "storage/batch_filter.h"
#include "storage/batch_scanner.h"
#include "storage/log_format.h"

namespace samsa::storage {

namespace {

using protocol::BatchHeader;

// The cleanable prefix of a log: sealed segments wholly below the active
// segment, the high watermark and min.compaction.lag.ms.
struct Cleanable {
  std::vector<const Segment*> segments;
  int64_t first_dirty = 0;
  uint64_t clean_bytes = 0;
  uint64_t dirty_bytes = 0;
  const Segment* first_dirty_segment = nullptr;
};

std::optional<Cleanable> cleanable_part(const Log& log, int64_t checkpoint, int64_t high_watermark, int64_t now_ms) {
  const LogConfig& cfg = log.config();
  if (!cfg.cleanup_compact || log.failed() || log.closed()) return std::nullopt;
  const auto& segs = log.segments();
  Cleanable c;
  const int64_t uncleanable = std::min(segs.back()->base_offset(), high_watermark);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    const Segment& s = *segs[i];
    if (s.next_offset() > uncleanable) break;
    if (cfg.min_compaction_lag_ms > 0 && s.max_timestamp() > now_ms - cfg.min_compaction_lag_ms) break;
    c.segments.push_back(&s);
  }
  if (c.segments.empty()) return std::nullopt;
  // A checkpoint outside the log (truncation, deleted records) starts over.
  c.first_dirty = checkpoint;
  if (checkpoint < c.segments.front()->base_offset() || checkpoint > log.log_end_offset()) {
    c.first_dirty = c.segments.front()->base_offset();
  }
  c.first_dirty = std::min(c.first_dirty, c.segments.back()->next_offset());
  for (const Segment* s : c.segments) {
    if (s->next_offset() <= c.first_dirty) {
      c.clean_bytes += s->size();
    } else {
      c.dirty_bytes += s->size();
      if (c.first_dirty_segment == nullptr) c.first_dirty_segment = s;
    }
  }
  return c;
}

double ratio_of(const Cleanable& c) {
  const uint64_t total = c.clean_bytes + c.dirty_bytes;
  return total == 0 ? 0 : static_cast<double>(c.dirty_bytes) / static_cast<double>(total);
}

// Whole batches of one segment file, read through a caller-provided buffer
// (one pread per buffer; a batch larger than the buffer is read on its own).
// A short-lived stack object of the cleaner thread.
class BatchReader {
 public:
  BatchReader(const File& file, uint64_t size, std::span<uint8_t> buffer)
      : file_(file), size_(size), reader_(file, size, buffer) {}

  Result<bool> next(std::span<const uint8_t>* out) {
    if (pos_ >= size_) return false;
    if (size_ - pos_ < format::kBatchHeaderSize) return Status::corruption("truncated batch header in " + file_.path());
    auto head = reader_.view(pos_, format::kBatchHeaderSize);
    if (!head) return head.status();
    const BatchHeader h = BatchHeader::parse(*head);
    if (const char* why = check_batch_header(h, size_ - pos_); *why != '\0') {
      return Status::corruption(std::string(why) + " in " + file_.path());
    }
    const size_t n = h.total_size();
    if (n <= reader_.capacity()) {
      auto whole = reader_.view(pos_, n);
      if (!whole) return whole.status();
      *out = std::span<const uint8_t>(*whole, n);
    } else {
      big_.resize(n);
      auto got = file_.read_at(pos_, big_);
      if (!got) return got.status();
      if (*got != n) return Status::corruption("short read in " + file_.path());
      *out = big_;
    }
    pos_ += n;
    return true;
  }

 private:
  const File& file_;
  uint64_t size_;
  BlockReader reader_;
  uint64_t pos_ = 0;
  std::vector<uint8_t> big_;
};

Status cancelled_status() { return Status::closed("cleaning cancelled"); }

void throttle(const CleanTask& t, size_t bytes) {
  if (t.throttle) t.throttle->account(bytes, *t.cancelled);
}

// Maps key -> last offset over [first_dirty, *end). Stops early (lowering
// *end to a batch boundary) when the map is full.
Status build_offset_map(const CleanTask& t, KeyOffsetMap& map, int64_t* end, std::vector<uint8_t>& buf) {
  for (const SourceSegment& seg : t.segments) {
    if (seg.next_offset <= t.first_dirty_offset) continue;
    BatchReader reader(*seg.file, seg.size, buf);
    std::span<const uint8_t> batch;
    for (;;) {
      if (t.cancelled->load(std::memory_order_relaxed)) return cancelled_status();
      auto more = reader.next(&batch);
      if (!more) return more.status();
      if (!*more) break;
      throttle(t, batch.size());
      const BatchHeader h = BatchHeader::parse(batch.data());
      if (h.last_offset() < t.first_dirty_offset) continue;
      if (h.producer_id >= 0) map.producer_last_batch()[h.producer_id] = h.base_offset;
      if (h.is_control() || h.is_transactional()) continue;  // never compacted away, see FORMAT.md
      protocol::RecordIterator it;
      if (it.open(batch) != ErrorCode::NONE) return Status::corruption("undecodable batch in " + seg.file->path());
      protocol::RecordView r;
      while (it.next(r)) {
        if (r.offset < t.first_dirty_offset || !r.key) continue;
        if (!map.put(*r.key, r.offset)) {
          *end = h.base_offset;
          if (*end <= t.first_dirty_offset) return Status::invalid_argument("log.cleaner.dedupe.buffer.size too small");
          return Status::ok();
        }
      }
      if (it.error() != ErrorCode::NONE) return Status::corruption("undecodable batch in " + seg.file->path());
    }
  }
  return Status::ok();
}

// Rewrites one group of consecutive source segments into one ".cleaned" segment.
Result<std::unique_ptr<Segment>> clean_group(const CleanTask& t, const KeyOffsetMap& map,
                                             std::span<const SourceSegment> group, std::vector<uint8_t>& buf,
                                             CleanResult& result) {
  auto created = Segment::create(t.env, t.dir, group.front().base_offset, t.segment_options, format::kCleanedSuffix);
  if (!created) return created.status();
  std::unique_ptr<Segment> out = std::move(*created);
  auto fail = [&out](Status st) -> Result<std::unique_ptr<Segment>> {
    (void)out->remove();
    return st;
  };
  // The group's last batch always stays (empty if need be), so the cleaned
  // segment covers the group's whole offset range: recovery relies on it.
  const int64_t group_last_offset = group.back().next_offset - 1;
  const auto& producers = map.producer_last_batch();
  std::vector<uint8_t> pending;
  for (const SourceSegment& seg : group) {
    result.bytes_before += seg.size;
    BatchReader reader(*seg.file, seg.size, buf);
    std::span<const uint8_t> batch;
    for (;;) {
      if (t.cancelled->load(std::memory_order_relaxed)) return fail(cancelled_status());
      auto more = reader.next(&batch);
      if (!more) return fail(more.status());
      if (!*more) break;
      throttle(t, batch.size());
      const BatchHeader h = BatchHeader::parse(batch.data());
      FilterContext ctx;
      ctx.map = &map;
      ctx.now_ms = t.now_ms;
      ctx.delete_retention_ms = t.delete_retention_ms;
      auto p = h.producer_id >= 0 ? producers.find(h.producer_id) : producers.end();
      const bool producer_last = h.producer_id >= 0 && (p == producers.end() || p->second == h.base_offset);
      ctx.keep_empty = h.last_offset() == group_last_offset || producer_last;
      FilterOutcome f = filter_batch(batch, ctx);
      if (f.error != ErrorCode::NONE) return fail(Status::corruption("undecodable batch in " + seg.file->path()));
      result.records_removed += f.records_removed;
      if (f.delete_horizon >= 0 && (result.earliest_delete_horizon < 0 || f.delete_horizon < result.earliest_delete_horizon)) {
        result.earliest_delete_horizon = f.delete_horizon;
      }
      if (f.action == FilterOutcome::Action::keep) pending.insert(pending.end(), batch.begin(), batch.end());
      if (f.action == FilterOutcome::Action::rewrite) pending.insert(pending.end(), f.batch.begin(), f.batch.end());
      if (pending.size() >= t.options.io_buffer_bytes) {
        if (Status st = out->append(pending, t.now_ms); !st) return fail(st);
        throttle(t, pending.size());
        pending.clear();
      }
    }
  }
  if (Status st = out->append(pending, t.now_ms); !st) return fail(st);
  if (Status st = out->seal(); !st) return fail(st);
  if (Status st = out->flush(); !st) return fail(st);
  assert(out->empty() || out->next_offset() == group.back().next_offset);
  result.bytes_after += out->size();
  return out;
}

// Consecutive segments whose input fits segment.bytes and whose offsets fit
// the int32 relative offsets of one segment's index.
std::vector<std::span<const SourceSegment>> group_segments(std::span<const SourceSegment> segs, uint64_t max_bytes) {
  std::vector<std::span<const SourceSegment>> groups;
  size_t i = 0;
  while (i < segs.size()) {
    size_t j = i + 1;
    uint64_t bytes = segs[i].size;
    while (j < segs.size() && bytes + segs[j].size <= max_bytes &&
           segs[j].next_offset - 1 - segs[i].base_offset <= INT32_MAX) {
      bytes += segs[j].size;
      ++j;
    }
    groups.push_back(segs.subspan(i, j - i));
    i = j;
  }
  return groups;
}

}  // namespace

std::optional<double> dirty_ratio(const Log& log, int64_t checkpoint, int64_t high_watermark, int64_t now_ms) {
  auto c = cleanable_part(log, checkpoint, high_watermark, now_ms);
  if (!c || c->dirty_bytes == 0) return std::nullopt;
  return ratio_of(*c);
}

std::optional<CleanTask> plan_cleaning(const Log& log, int64_t checkpoint, int64_t high_watermark, int64_t now_ms,
                                       const CleanerOptions& options, bool force) {
  auto c = cleanable_part(log, checkpoint, high_watermark, now_ms);
  if (!c) return std::nullopt;
  const LogConfig& cfg = log.config();
  const double ratio = ratio_of(*c);
  // max.compaction.lag.ms: a dirty segment older than that is cleaned whatever the ratio.
  const bool overdue = c->first_dirty_segment != nullptr && cfg.max_compaction_lag_ms != kNoLimit &&
                       c->first_dirty_segment->max_timestamp() >= 0 &&
                       now_ms - c->first_dirty_segment->max_timestamp() > cfg.max_compaction_lag_ms;
  if (!force && (c->dirty_bytes == 0 || (ratio < cfg.min_cleanable_dirty_ratio && !overdue))) return std::nullopt;
  CleanTask t;
  t.env = log.env();
  t.dir = log.dir();
  t.tp = log.topic_partition();
  for (const Segment* s : c->segments) {
    t.segments.push_back(SourceSegment{s->base_offset(), s->next_offset(), s->size(), s->max_timestamp(), s->log_file()});
  }
  t.first_dirty_offset = c->first_dirty;
  t.end_offset = t.segments.back().next_offset;
  t.generation = log.truncation_generation();
  t.dirty_ratio = ratio;
  t.now_ms = now_ms;
  t.delete_retention_ms = cfg.delete_retention_ms;
  t.max_group_bytes = static_cast<uint64_t>(std::max(cfg.segment_bytes, 1));
  t.segment_options = log.segment_options();
  t.options = options;
  return t;
}

IoThrottle::IoThrottle(double bytes_per_second) : rate_(bytes_per_second), start_(std::chrono::steady_clock::now()) {}

void IoThrottle::account(size_t bytes, const std::atomic<bool>& cancelled) {
  using namespace std::chrono;
  bytes_ += static_cast<double>(bytes);
  const auto due = start_ + duration_cast<steady_clock::duration>(duration<double>(bytes_ / rate_));
  for (auto now = steady_clock::now(); now < due && !cancelled.load(std::memory_order_relaxed);
       now = steady_clock::now()) {
    const auto nap = std::min<steady_clock::duration>(due - now, milliseconds(100));
    std::this_thread::sleep_for(nap);
    slept_ += duration<double>(nap).count();
  }
}

Result<CleanResult> run_cleaning(const CleanTask& task) {
  assert(!task.segments.empty() && task.env != nullptr);
  CleanTask t = task;  // shares the files and the cancel flag; owns the throttle of this run
  const double rate = t.options.max_io_bytes_per_second;
  if (rate > 0 && rate < 1e300) t.throttle = std::make_shared<IoThrottle>(rate);
  std::vector<uint8_t> buf(std::max<size_t>(t.options.io_buffer_bytes, format::kBatchHeaderSize));
  KeyOffsetMap map(t.options.max_map_bytes);
  CleanResult result;
  int64_t end = t.end_offset;
  SAMSA_RETURN_IF_ERROR(build_offset_map(t, map, &end, buf));
  result.cleaned_up_to = end;
  size_t n = 0;
  while (n < t.segments.size() && t.segments[n].base_offset < end) ++n;
  for (auto group : group_segments(std::span<const SourceSegment>(t.segments.data(), n), t.max_group_bytes)) {
    auto seg = clean_group(t, map, group, buf, result);
    if (!seg) {
      discard_cleaning(result);
      return seg.status();
    }
    CleanedGroup g;
    for (const auto& s : group) g.old_bases.push_back(s.base_offset);
    g.segment = std::move(*seg);
    result.groups.push_back(std::move(g));
  }
  // Commit point of every group: ".swap" names, made durable before any old
  // segment is deleted (by apply_cleaning).
  for (auto& g : result.groups) {
    if (Status st = g.segment->change_file_suffix(format::kSwapSuffix); !st) {
      discard_cleaning(result);
      return st;
    }
  }
  if (Status st = t.env->sync_dir(t.dir); !st) {
    discard_cleaning(result);
    return st;
  }
  if (t.throttle) result.throttled_seconds = t.throttle->slept_seconds();
  return result;
}

Result<int> apply_cleaning(Log& log, CleanResult& result, uint64_t generation, int64_t now_ms) {
  int swapped = 0;
  for (auto& g : result.groups) {
    Status st = log.replace_segments(g.old_bases, generation, g.segment, now_ms);
    if (st.kind() == Status::Kind::kInvalidArgument) break;  // stale: the rest is discarded
    if (!st) {
      // The log failed part-way through a swap: the durable ".swap" files are
      // what recovery needs to finish it when the log is reopened. Keep them.
      for (auto& left : result.groups) left.segment.reset();
      return st;
    }
    ++swapped;
  }
  discard_cleaning(result);
  return swapped;
}

void discard_cleaning(CleanResult& result) {
  for (auto& g : result.groups) {
    if (g.segment) (void)g.segment->remove();
    g.segment.reset();
  }
}

}  // namespace samsa::storage
