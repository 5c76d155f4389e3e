#include "quorum/metadata_snapshots.h"

#include <spdlog/spdlog.h>

#include "cluster/image_records.h"

namespace samsa::quorum {

namespace {

// Jobs for the FlushThread, built outside the coroutines: GCC 12 miscompiles
// lambdas that capture a coroutine's locals by copy.
std::function<storage::Status()> write_job(raft::FileSnapshotStore* store, raft::SnapshotId id,
                                           cluster::ImagePtr image, int64_t now_ms,
                                           std::optional<protocol::kraft::VotersRecord> voters) {
  return [store, id, image, now_ms, voters = std::move(voters)]() -> storage::Status {
    // The header's last contained timestamp: the time the state was captured
    // (Kafka uses the last batch's append time; the batches are stamped at propose time, close to it).
    auto writer = store->create(id, now_ms, now_ms, voters ? &*voters : nullptr);
    if (!writer) return writer.status();
    storage::Status st = storage::Status::ok();
    cluster::for_each_image_record(*image, [&](const cluster::MetadataRecord& r) {
      if (!st) return;
      auto value = cluster::encode_record(r);
      st = (*writer)->add(value);
    });
    if (st) st = (*writer)->finish();
    return st;
  };
}

std::function<storage::Status()> install_job(raft::FileSnapshotStore* store, raft::SnapshotId id,
                                             std::shared_ptr<const protocol::Bytes> bytes) {
  return [store, id, bytes] { return store->install(id, *bytes); };
}

std::function<storage::Status()> remove_job(raft::FileSnapshotStore* store, raft::SnapshotId id) {
  return [store, id] { return store->remove_older_than(id); };
}

std::string name(const raft::SnapshotId& id) {
  return std::to_string(id.end_offset.value) + "-" + std::to_string(id.epoch.value);
}

}  // namespace

MetadataSnapshots::MetadataSnapshots(asio::any_io_executor ex, raft::FileSnapshotStore& store, raft::FlushThread& flush,
                                     Clock& clock, raft::SnapshotPolicyConfig policy, QuorumMetadataLog& log,
                                     cluster::MetadataLoader& loader)
    : ex_(std::move(ex)),
      store_(store),
      flush_(flush),
      clock_(clock),
      policy_(policy, clock.monotonic_ms()),
      log_(log),
      loader_(loader) {}

MetadataSnapshots::~MetadataSnapshots() { *alive_ = false; }

std::string MetadataSnapshots::start() {
  if (auto latest = store_.latest()) {
    std::vector<protocol::Bytes> values;
    auto info = store_.load(*latest, [&](std::span<const uint8_t> v) { values.emplace_back(v.begin(), v.end()); });
    if (!info) return "cannot load the metadata snapshot " + name(*latest) + ": " + info.status().to_string();
    loader_.reset_to_snapshot(latest->end_offset, values);
    log_.start_after(latest->end_offset);
    spdlog::info("metadata snapshots: loaded {} ({} records, {} bytes)", name(*latest), info->records,
                 info->size_bytes);
  }
  QuorumMetadataLog::SnapshotHooks hooks;
  hooks.applied = [this](raft::SnapshotId applied, int64_t bytes) { on_applied(applied, bytes); };
  hooks.store = [this](raft::SnapshotId id, std::shared_ptr<const protocol::Bytes> bytes) {
    return store(id, std::move(bytes));
  };
  hooks.installed = [this](raft::SnapshotId id, const protocol::Bytes& bytes) { installed(id, bytes); };
  log_.set_snapshot_hooks(std::move(hooks), &store_);
  return {};
}

void MetadataSnapshots::on_applied(raft::SnapshotId applied, int64_t bytes) {
  policy_.on_committed(bytes);
  auto why = policy_.due(clock_.monotonic_ms());
  if (why.empty()) return;
  if (store_.contains(applied)) return;  // nothing new since the last one
  spdlog::info("metadata snapshots: writing {}: {}", name(applied), why);
  policy_.on_started();
  asio::co_spawn(ex_, write(applied, loader_.image(), alive_), asio::detached);
}

asio::awaitable<void> MetadataSnapshots::write(raft::SnapshotId id, cluster::ImagePtr image,
                                               std::shared_ptr<bool> alive) {
  auto job = write_job(&store_, id, std::move(image), clock_.now_ms(), log_.voters_at(id.end_offset));
  storage::Status st = co_await flush_.run(job);
  if (!*alive) co_return;
  policy_.on_finished(clock_.monotonic_ms(), static_cast<bool>(st));
  if (!st) {
    ++stats_.failed;
    spdlog::error("metadata snapshots: writing {} failed: {}", name(id), st.to_string());
    co_return;
  }
  // Only once the log starts at this snapshot may the older ones go: a leader
  // serves the snapshot its log starts after.
  if (!log_.snapshot_created(id)) {
    spdlog::info("metadata snapshots: {} written; the log keeps its prefix for now", name(id));
    co_return;
  }
  ++stats_.taken;
  auto rm = remove_job(&store_, id);
  storage::Status removed = co_await flush_.run(rm);
  if (!*alive) co_return;
  if (!removed) spdlog::warn("metadata snapshots: cannot delete snapshots older than {}: {}", name(id), removed.to_string());
  spdlog::info("metadata snapshots: {} taken; the log now starts at offset {}", name(id), id.end_offset.value);
}

asio::awaitable<storage::Status> MetadataSnapshots::store(raft::SnapshotId id,
                                                          std::shared_ptr<const protocol::Bytes> bytes) {
  auto job = install_job(&store_, id, std::move(bytes));
  co_return co_await flush_.run(job);
}

void MetadataSnapshots::installed(raft::SnapshotId id, const protocol::Bytes& bytes) {
  std::vector<protocol::Bytes> values;
  auto info = raft::scan_snapshot_bytes(bytes, store_.limits(),
                                        [&](std::span<const uint8_t> v) { values.emplace_back(v.begin(), v.end()); });
  if (!info) {
    // install() validated these very bytes: this cannot happen short of memory corruption.
    spdlog::error("metadata snapshots: the installed snapshot {} does not scan: {}", name(id), info.status().to_string());
    return;
  }
  loader_.reset_to_snapshot(id.end_offset, values);
  ++stats_.installed;
  // Older snapshots are no longer what the log starts after.
  auto rm = remove_job(&store_, id);
  asio::co_spawn(ex_, flush_.run(rm), asio::detached);
}

}  // namespace samsa::quorum
