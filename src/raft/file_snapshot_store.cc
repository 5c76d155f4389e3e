#include "raft/file_snapshot_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "protocol/batch_header.h"
#include "raft/bootstrap_checkpoint.h"
#include "raft/metadata_batches.h"

namespace samsa::raft {

namespace {

constexpr std::string_view kCheckpointSuffix = ".checkpoint";
constexpr std::string_view kPartSuffix = ".checkpoint.part";        // a write a crash interrupted
constexpr std::string_view kDeletedSuffix = ".checkpoint.deleted";  // Kafka's pending deletion

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Reads exactly out.size() bytes at pos of a source of `size` bytes.
using ReadFn = std::function<storage::Status(uint64_t pos, std::span<uint8_t> out)>;

// The one validator of snapshot content, over a file or memory: batches
// framed and CRC-checked one by one (each bounded before it is read), offsets
// dense from 0, a SnapshotHeader first, a SnapshotFooter last and nothing
// after it. Other control batches (KRaftVersion, Voters) are allowed between.
storage::Result<SnapshotInfo> scan(uint64_t size, const ReadFn& read, const SnapshotLimits& limits,
                                   const SnapshotValueFn& on_value) {
  auto bad = [](const std::string& why) { return storage::Status::corruption("snapshot: " + why); };
  if (size > static_cast<uint64_t>(limits.max_snapshot_bytes)) return bad("larger than the limit");
  SnapshotInfo info;
  info.size_bytes = static_cast<int64_t>(size);
  protocol::Bytes buf;
  uint64_t pos = 0;
  int64_t next_offset = 0;
  bool header = false;
  bool footer = false;
  while (pos < size) {
    if (footer) return bad("bytes after the footer");
    if (size - pos < protocol::batch::kHeaderSize) return bad("torn batch header");
    uint8_t head[protocol::batch::kHeaderSize];
    SAMSA_RETURN_IF_ERROR(read(pos, std::span<uint8_t>(head, sizeof head)));
    auto h = protocol::BatchHeader::parse(head);
    if (h.length < 0 || h.total_size() < protocol::batch::kHeaderSize || h.total_size() > limits.max_batch_bytes)
      return bad("batch length out of bounds");
    if (h.total_size() > size - pos) return bad("torn batch");
    buf.resize(h.total_size());
    SAMSA_RETURN_IF_ERROR(read(pos, std::span<uint8_t>(buf)));
    auto s = summarize_batch(buf);
    if (!s) return bad("invalid batch (CRC or framing)");
    if (s->base_offset.value != next_offset) return bad("offsets not dense");
    next_offset += s->offsets;
    if (!header) {
      auto hr = parse_snapshot_header(buf);
      if (!hr) return bad("does not start with a SnapshotHeader");
      info.last_contained_log_timestamp = hr->last_contained_log_timestamp;
      header = true;
    } else if (s->control) {
      auto type = control_type_of(buf);
      if (!type) return bad("unreadable control batch");
      if (*type == protocol::kraft::control_type::SnapshotFooterRecord) {
        if (!parse_snapshot_footer(buf)) return bad("unreadable footer");
        footer = true;
      } else if (*type == protocol::kraft::control_type::SnapshotHeaderRecord) {
        return bad("a second header");
      } else if (*type == protocol::kraft::control_type::VotersRecord) {
        auto v = parse_voters(buf);
        if (!v) return bad("unreadable Voters record");
        info.voters = std::move(*v);
      }
    } else {
      ErrorCode e = for_each_value(buf, [&](Offset, std::span<const uint8_t> v) {
        ++info.records;
        if (on_value) on_value(v);
      });
      if (e != ErrorCode::NONE) return bad("undecodable records");
    }
    pos += h.total_size();
  }
  if (!footer) return bad("no footer (torn or partial)");
  return info;
}

}  // namespace

storage::Result<SnapshotInfo> scan_snapshot_bytes(std::span<const uint8_t> bytes, const SnapshotLimits& limits,
                                                  const SnapshotValueFn& on_value) {
  return scan(
      bytes.size(),
      [&](uint64_t pos, std::span<uint8_t> out) {
        std::memcpy(out.data(), bytes.data() + pos, out.size());
        return storage::Status::ok();
      },
      limits, on_value);
}

// ---- SnapshotWriter ----

SnapshotWriter::SnapshotWriter(FileSnapshotStore* store, SnapshotId id, std::shared_ptr<storage::File> file,
                               std::string part_path, int64_t timestamp_ms)
    : store_(store), id_(id), file_(std::move(file)), part_path_(std::move(part_path)), timestamp_ms_(timestamp_ms) {}

SnapshotWriter::~SnapshotWriter() {
  if (done_) return;
  file_.reset();
  auto st = store_->env_->unlink(part_path_);
  if (!st && st.kind() != storage::Status::Kind::kNotFound)
    spdlog::warn("could not remove the unfinished snapshot {}: {}", part_path_, st.to_string());
}

storage::Status SnapshotWriter::write_batch(const protocol::Bytes& batch) {
  if (pos_ + batch.size() > static_cast<uint64_t>(store_->limits_.max_snapshot_bytes))
    return storage::Status::invalid_argument("snapshot larger than " + std::to_string(store_->limits_.max_snapshot_bytes));
  SAMSA_RETURN_IF_ERROR(file_->write_at(pos_, batch));
  pos_ += batch.size();
  auto s = summarize_batch(batch);
  next_offset_ += s ? s->offsets : 0;
  return storage::Status::ok();
}

storage::Status SnapshotWriter::flush_pending() {
  if (pending_.empty()) return storage::Status::ok();
  auto batch = build_data_batch(pending_, BatchPlacement{Offset(next_offset_), id_.epoch, timestamp_ms_});
  pending_.clear();
  pending_bytes_ = 0;
  return write_batch(batch);
}

storage::Status SnapshotWriter::add(std::span<const uint8_t> value) {
  if (!status_) return status_;
  if (done_) return storage::Status::closed("snapshot already finished");
  // A value alone must fit a batch (its record framing is at most ~20 bytes).
  if (value.size() + protocol::batch::kHeaderSize + 32 > store_->limits_.max_batch_bytes)
    return status_ = storage::Status::invalid_argument("snapshot record too large");
  if (pending_bytes_ + value.size() + 32 > store_->limits_.target_batch_bytes) status_ = flush_pending();
  if (!status_) return status_;
  pending_.emplace_back(value.begin(), value.end());
  pending_bytes_ += value.size() + 32;
  return storage::Status::ok();
}

storage::Status SnapshotWriter::finish() {
  if (!status_) return status_;
  if (done_) return storage::Status::ok();
  status_ = flush_pending();
  if (status_) status_ = write_batch(build_snapshot_footer_batch(BatchPlacement{Offset(next_offset_), id_.epoch, timestamp_ms_}));
  if (status_) status_ = file_->sync();
  if (!status_) return status_;
  file_.reset();
  status_ = store_->publish(part_path_, id_, static_cast<int64_t>(pos_));
  if (status_) done_ = true;
  return status_;
}

// ---- FileSnapshotStore ----

storage::Result<std::unique_ptr<FileSnapshotStore>> FileSnapshotStore::open(storage::Env* env, std::string dir,
                                                                            SnapshotLimits limits) {
  SAMSA_RETURN_IF_ERROR(storage::create_dirs(env, dir));
  std::unique_ptr<FileSnapshotStore> store(new FileSnapshotStore(env, std::move(dir), limits));
  SAMSA_RETURN_IF_ERROR(store->load_dir());
  return store;
}

storage::Status FileSnapshotStore::load_dir() {
  auto names = env_->list_dir(dir_);
  if (!names) return names.status();
  bool removed = false;
  for (const auto& name : *names) {
    const std::string path = storage::join_path(dir_, name);
    bool remove = ends_with(name, kPartSuffix) || ends_with(name, kDeletedSuffix);
    if (!remove && ends_with(name, kCheckpointSuffix)) {
      auto id = parse_snapshot_file_name(name);
      if (!id) continue;  // not ours to judge
      auto info = scan_file(path, {});
      if (info) {
        std::lock_guard lock(mu_);
        files_[key(*id)] = {*id, info->size_bytes};
        continue;
      }
      if (info.status().kind() != storage::Status::Kind::kCorruption) return info.status();  // an I/O error
      spdlog::warn("deleting invalid snapshot {}: {}", path, info.status().to_string());
      remove = true;
    }
    if (!remove) continue;
    SAMSA_RETURN_IF_ERROR(env_->unlink(path));
    ++removed_at_open_;
    removed = true;
  }
  return removed ? env_->sync_dir(dir_) : storage::Status::ok();
}

std::string FileSnapshotStore::path_of(const SnapshotId& id) const {
  return storage::join_path(dir_, snapshot_file_name(id));
}

storage::Result<SnapshotInfo> FileSnapshotStore::scan_file(const std::string& path,
                                                           const SnapshotValueFn& on_value) const {
  auto file = env_->open_file(path, storage::OpenMode::kExisting);
  if (!file) return file.status();
  auto size = (*file)->size();
  if (!size) return size.status();
  const storage::File& f = **file;
  return scan(
      *size,
      [&](uint64_t pos, std::span<uint8_t> out) -> storage::Status {
        auto n = f.read_at(pos, out);
        if (!n) return n.status();
        if (*n != out.size()) return storage::Status::corruption("snapshot: short read in " + path);
        return storage::Status::ok();
      },
      limits_, on_value);
}

std::optional<SnapshotId> FileSnapshotStore::latest() const {
  std::lock_guard lock(mu_);
  if (files_.empty()) return std::nullopt;
  return files_.rbegin()->second.first;
}

std::vector<SnapshotId> FileSnapshotStore::list() const {
  std::vector<SnapshotId> out;
  std::lock_guard lock(mu_);
  for (const auto& [k, v] : files_) out.push_back(v.first);
  return out;
}

storage::Result<std::unique_ptr<SnapshotWriter>> FileSnapshotStore::create(const SnapshotId& id,
                                                                            int64_t last_contained_log_timestamp,
                                                                            int64_t now_ms,
                                                                            const protocol::kraft::VotersRecord* voters) {
  if (id.end_offset.value < 0 || id.epoch.value < 0) return storage::Status::invalid_argument("bad snapshot id");
  if (contains(id)) return storage::Status::invalid_argument("snapshot " + snapshot_file_name(id) + " exists");
  const std::string part = path_of(id) + ".part";
  auto file = env_->open_file(part, storage::OpenMode::kTruncate);
  if (!file) return file.status();
  std::unique_ptr<SnapshotWriter> w(new SnapshotWriter(this, id, std::move(*file), part, now_ms));
  SAMSA_RETURN_IF_ERROR(
      w->write_batch(build_snapshot_header_batch(last_contained_log_timestamp, BatchPlacement{Offset(0), id.epoch, now_ms})));
  if (voters) {
    SAMSA_RETURN_IF_ERROR(
        w->write_batch(build_kraft_version_batch(kDynamicKRaftVersion, BatchPlacement{Offset(1), id.epoch, now_ms})));
    SAMSA_RETURN_IF_ERROR(w->write_batch(build_voters_batch(*voters, BatchPlacement{Offset(2), id.epoch, now_ms})));
  }
  return w;
}

storage::Status FileSnapshotStore::publish(const std::string& part_path, const SnapshotId& id, int64_t size) {
  SAMSA_RETURN_IF_ERROR(env_->rename(part_path, path_of(id)));
  SAMSA_RETURN_IF_ERROR(env_->sync_dir(dir_));
  std::lock_guard lock(mu_);
  files_[key(id)] = {id, size};
  return storage::Status::ok();
}

storage::Result<SnapshotInfo> FileSnapshotStore::load(const SnapshotId& id, const SnapshotValueFn& on_value) const {
  if (!contains(id)) return storage::Status::not_found("no snapshot " + snapshot_file_name(id));
  return scan_file(path_of(id), on_value);
}

storage::Status FileSnapshotStore::install(const SnapshotId& id, std::span<const uint8_t> bytes) {
  if (id.end_offset.value < 0 || id.epoch.value < 0) return storage::Status::invalid_argument("bad snapshot id");
  if (contains(id)) return storage::Status::ok();
  auto info = scan_snapshot_bytes(bytes, limits_, {});
  if (!info) return info.status();
  const std::string part = path_of(id) + ".part";
  auto file = env_->open_file(part, storage::OpenMode::kTruncate);
  if (!file) return file.status();
  storage::Status st = (*file)->write_at(0, bytes);
  if (st) st = (*file)->sync();
  file->reset();
  if (st) st = publish(part, id, static_cast<int64_t>(bytes.size()));
  if (!st) (void)env_->unlink(part);
  return st;
}

storage::Status FileSnapshotStore::remove_older_than(const SnapshotId& id) {
  bool removed = false;
  std::unique_lock lock(mu_);
  for (auto it = files_.begin(); it != files_.end() && it->first < key(id);) {
    SAMSA_RETURN_IF_ERROR(env_->unlink(path_of(it->second.first)));
    it = files_.erase(it);
    removed = true;
  }
  lock.unlock();
  return removed ? env_->sync_dir(dir_) : storage::Status::ok();
}

int64_t FileSnapshotStore::size(const SnapshotId& id) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(key(id));
  return it == files_.end() ? -1 : it->second.second;
}

bool FileSnapshotStore::read(const SnapshotId& id, int64_t position, size_t max, protocol::Bytes& out) const {
  const int64_t total = size(id);
  if (total < 0 || position < 0 || position > total) return false;
  size_t n = std::min({max, limits_.max_chunk_bytes, static_cast<size_t>(total - position)});
  auto file = env_->open_file(path_of(id), storage::OpenMode::kExisting);
  if (!file) return false;
  out.resize(n);
  auto got = (*file)->read_at(static_cast<uint64_t>(position), std::span<uint8_t>(out));
  if (!got || *got != n) {
    out.clear();
    return false;
  }
  return true;
}

}  // namespace samsa::raft
