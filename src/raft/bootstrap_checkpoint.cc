#include "raft/bootstrap_checkpoint.h"

#include <algorithm>
#include <climits>
#include <functional>
#include <string_view>
#include <vector>

#include "raft/metadata_batches.h"
#include "raft/raft_snapshot.h"

namespace samsa::raft {

namespace kraft = protocol::kraft;

namespace {

// v2 batch header: baseOffset int64, batchLength int32, partitionLeaderEpoch
// int32, magic int8, crc uint32, attributes int16 (bit 5: control).
constexpr size_t kBatchPrefixBytes = 23;
constexpr size_t kLengthAt = 8;
constexpr size_t kAttributesAt = 21;
constexpr uint16_t kControlBit = 0x20;
// Bound on the batches looked at in one file (a segment holds fewer).
constexpr size_t kMaxBatchesPerFile = size_t{1} << 24;

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Reads exactly out.size() bytes at pos; false on a short read or an error.
bool read_exact(const storage::File& f, uint64_t pos, std::span<uint8_t> out) {
  auto n = f.read_at(pos, out);
  return n.is_ok() && n.value() == out.size();
}

// Calls fn(batch) for every control batch of type Voters in a file of v2
// batches, in file order; a torn or corrupt batch ends the scan (what the log
// and snapshot readers would also ignore).
storage::Status scan_voters(storage::Env* env, const std::string& path,
                            const std::function<void(Offset, kraft::VotersRecord)>& fn) {
  auto opened = env->open_file(path, storage::OpenMode::kExisting);
  if (!opened.is_ok()) return opened.status();
  auto& file = *opened.value();
  auto size = file.size();
  if (!size.is_ok()) return size.status();
  uint64_t pos = 0;
  uint8_t prefix[kBatchPrefixBytes];
  for (size_t i = 0; i < kMaxBatchesPerFile && pos + kBatchPrefixBytes <= size.value(); ++i) {
    if (!read_exact(file, pos, prefix)) break;
    uint64_t total = uint64_t{be32(prefix + kLengthAt)} + 12;
    if (total < kBatchPrefixBytes || total > kMaxMetadataBatchBytes || pos + total > size.value()) break;
    uint16_t attributes = static_cast<uint16_t>((prefix[kAttributesAt] << 8) | prefix[kAttributesAt + 1]);
    if (attributes & kControlBit) {
      protocol::Bytes batch(total);
      if (!read_exact(file, pos, batch)) break;
      if (auto voters = parse_voters(batch)) {
        if (auto summary = summarize_batch(batch)) fn(summary->base_offset, std::move(*voters));
      }
    }
    pos += total;
  }
  return storage::Status::ok();
}

}  // namespace

protocol::Bytes build_bootstrap_checkpoint(const kraft::VotersRecord& voters, int64_t timestamp_ms) {
  auto at = [&](int64_t offset) { return BatchPlacement{Offset(offset), Epoch(0), timestamp_ms}; };
  protocol::Bytes out = build_snapshot_header_batch(timestamp_ms, at(0));
  for (auto&& batch : {build_kraft_version_batch(kDynamicKRaftVersion, at(1)), build_voters_batch(voters, at(2)),
                       build_snapshot_footer_batch(at(3))})
    out.insert(out.end(), batch.begin(), batch.end());
  return out;
}

storage::Status write_bootstrap_checkpoint(storage::Env* env, const std::string& partition_dir,
                                           const kraft::VotersRecord& voters, int64_t timestamp_ms) {
  if (auto st = storage::create_dirs(env, partition_dir); !st) return st;
  auto bytes = build_bootstrap_checkpoint(voters, timestamp_ms);
  return storage::write_file_atomically(
      env, storage::join_path(partition_dir, kBootstrapCheckpointName),
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

storage::Result<std::optional<kraft::VotersRecord>> read_newest_voters(storage::Env* env,
                                                                       const std::string& partition_dir) {
  if (!env->is_dir(partition_dir)) return std::optional<kraft::VotersRecord>{};
  auto names = env->list_dir(partition_dir);
  if (!names.is_ok()) return names.status();
  // Where a record sits in the log's order: a snapshot's records stand just
  // below its end offset, a log batch at its own offset; the highest wins.
  std::optional<kraft::VotersRecord> newest;
  int64_t newest_at = INT64_MIN;
  for (const auto& name : names.value()) {
    int64_t base = 0;
    bool snapshot = false;
    if (auto id = parse_snapshot_file_name(name)) {
      base = id->end_offset.value - 1;
      snapshot = true;
    } else if (name.size() != 24 || !name.ends_with(".log")) {
      continue;
    }
    auto st = scan_voters(env, storage::join_path(partition_dir, name), [&](Offset offset, kraft::VotersRecord v) {
      int64_t at = snapshot ? base : offset.value;
      if (at >= newest_at) {
        newest_at = at;
        newest = std::move(v);
      }
    });
    if (!st) return st;
  }
  return newest;
}

}  // namespace samsa::raft
