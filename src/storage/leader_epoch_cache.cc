#include "storage/leader_epoch_cache.h"

#include <algorithm>

#include "storage/checkpoint.h"
#include "storage/log_format.h"

namespace samsa::storage {

std::string LeaderEpochCache::format(const std::vector<EpochEntry>& entries) {
  std::string out = std::to_string(format::kCheckpointVersion) + "\n" + std::to_string(entries.size()) + "\n";
  for (const auto& e : entries) out += std::to_string(e.epoch) + " " + std::to_string(e.start_offset) + "\n";
  return out;
}

bool LeaderEpochCache::well_formed(const std::vector<EpochEntry>& entries) {
  if (entries.size() > kMaxEntries) return false;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].epoch < 0 || entries[i].start_offset < 0) return false;
    if (i > 0 && (entries[i].epoch <= entries[i - 1].epoch || entries[i].start_offset < entries[i - 1].start_offset)) {
      return false;
    }
  }
  return true;
}

Result<std::vector<EpochEntry>> LeaderEpochCache::parse(std::string_view text) {
  auto lines = checkpoint_entry_lines(text);
  if (!lines) return Status::corruption("leader-epoch-checkpoint: " + lines.status().message());
  // Checked before any allocation sized by the count.
  if (lines->size() > kMaxEntries) return Status::corruption("leader-epoch-checkpoint: too many entries");
  std::vector<EpochEntry> out;
  out.reserve(lines->size());
  for (size_t i = 0; i < lines->size(); ++i) {
    auto f = checkpoint_fields((*lines)[i]);
    EpochEntry e;
    if (f.size() != 2 || !parse_checkpoint_int(f[0], &e.epoch) || !parse_checkpoint_int(f[1], &e.start_offset)) {
      return Status::corruption("leader-epoch-checkpoint: malformed line " + std::to_string(i + 3));
    }
    out.push_back(e);
  }
  if (!well_formed(out)) {
    return Status::corruption("leader-epoch-checkpoint: epochs or offsets negative or not rising");
  }
  return out;
}

bool LeaderEpochCache::load() {
  entries_.clear();
  dirty_ = false;
  if (env_ == nullptr) return false;
  auto text = read_file_to_string(env_, path_, format::kMaxCheckpointBytes);
  if (!text) return false;
  auto parsed = parse(*text);
  if (!parsed) return false;
  entries_ = std::move(*parsed);
  return true;
}

// tmp file then rename, so a reader sees the old or the new content whole;
// no fsync (README "leader-epoch-checkpoint"): the entries are derived from
// the log's batches and rebuilt from them when the file is lost or torn.
Status LeaderEpochCache::persist() {
  if (env_ == nullptr) {
    dirty_ = false;
    return Status::ok();
  }
  const std::string content = format(entries_);
  const std::string tmp = path_ + std::string(format::kTmpSuffix);
  {
    auto f = env_->open_file(tmp, OpenMode::kTruncate);
    if (!f) return f.status();
    SAMSA_RETURN_IF_ERROR(
        (*f)->write_at(0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size())));
  }
  SAMSA_RETURN_IF_ERROR(env_->rename(tmp, path_));
  dirty_ = false;
  return Status::ok();
}

Status LeaderEpochCache::replace(std::vector<EpochEntry> entries) {
  if (!well_formed(entries)) return Status::invalid_argument("leader epoch entries not rising");
  if (entries == entries_ && !dirty_) return Status::ok();
  entries_ = std::move(entries);
  return changed();
}

Status LeaderEpochCache::assign(int32_t epoch, int64_t start_offset) {
  if (epoch < 0) return Status::ok();
  if (!entries_.empty()) {
    const EpochEntry& last = entries_.back();
    if (epoch == last.epoch) return Status::ok();
    if (epoch < last.epoch || start_offset < last.start_offset) {
      return Status::invalid_argument("leader epoch " + std::to_string(epoch) + " at offset " +
                                      std::to_string(start_offset) + " after epoch " + std::to_string(last.epoch) +
                                      " at " + std::to_string(last.start_offset) + ": epochs only rise");
    }
  }
  if (start_offset < 0) return Status::invalid_argument("negative leader epoch start offset");
  if (entries_.size() >= kMaxEntries) return Status::invalid_argument("too many leader epochs");
  entries_.push_back(EpochEntry{epoch, start_offset});
  return changed();
}

Status LeaderEpochCache::assign_superseding(int32_t epoch, int64_t start_offset) {
  if (epoch < 0 || start_offset < 0 || epoch == latest_epoch()) return Status::ok();
  while (!entries_.empty() && (entries_.back().epoch >= epoch || entries_.back().start_offset >= start_offset)) {
    entries_.pop_back();
  }
  entries_.push_back(EpochEntry{epoch, start_offset});
  return changed();
}

Status LeaderEpochCache::truncate_from_end(int64_t end_offset) {
  if (end_offset < 0 || entries_.empty() || entries_.back().start_offset < end_offset) return Status::ok();
  while (!entries_.empty() && entries_.back().start_offset >= end_offset) entries_.pop_back();
  return changed();
}

Status LeaderEpochCache::truncate_from_start(int64_t start_offset) {
  if (entries_.empty() || start_offset <= entries_.front().start_offset) return Status::ok();
  // The last entry starting at or before the new start holds it.
  auto it = std::upper_bound(entries_.begin(), entries_.end(), start_offset,
                             [](int64_t o, const EpochEntry& e) { return o < e.start_offset; });
  EpochEntry holder = *(it - 1);
  holder.start_offset = start_offset;
  it = entries_.erase(entries_.begin(), it);
  entries_.insert(it, holder);
  return changed();
}

Status LeaderEpochCache::clear() {
  if (entries_.empty() && !dirty_) return Status::ok();
  entries_.clear();
  return changed();
}

EpochEndOffset LeaderEpochCache::end_offset_for(int32_t requested, int64_t log_end_offset) const {
  if (requested == kUndefinedEpoch || entries_.empty()) return {};
  if (requested == entries_.back().epoch) return {requested, log_end_offset};
  // First entry with an epoch above the requested one.
  auto higher = std::upper_bound(entries_.begin(), entries_.end(), requested,
                                 [](int32_t e, const EpochEntry& x) { return e < x.epoch; });
  if (higher == entries_.end()) return {};  // above the latest epoch
  if (higher == entries_.begin()) return {requested, higher->start_offset};
  return {(higher - 1)->epoch, higher->start_offset};
}

}  // namespace samsa::storage
