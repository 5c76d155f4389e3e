// Snapshots of the metadata state on disk (KIP-630), as Kafka lays them out:
// `<end offset, 20 digits>-<epoch, 10 digits>.checkpoint` files in the
// metadata partition directory (<metadata.log.dir>/__cluster_metadata-0),
// each a run of v2 record batches with offsets from 0: a SnapshotHeader
// control batch, data batches whose record values are the encoded metadata
// records that rebuild the state, a SnapshotFooter control batch (FORMAT.md).
//
// A snapshot is written as `<name>.part`, synced, renamed to its name and the
// directory synced, so a `.checkpoint` file is complete or absent; open()
// still validates every file (framing, CRCs, header first, footer last,
// dense offsets) and deletes what does not pass, with every `.part` left by
// a crash. Every size is bounded (SnapshotLimits) before anything is read
// or allocated. All I/O goes through storage::Env.
//
// Threads: the core reads FetchSnapshot chunks through SnapshotReader on the
// thread that drives it (shard 0's loop), while the snapshot writer, install()
// and remove_older_than() may run on the FlushThread (their fsyncs must not
// block the loop): the list of snapshots is guarded by a mutex. One writer,
// install or removal runs at a time (the FlushThread runs its jobs in order).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/kraft/records.h"
#include "raft/raft_snapshot.h"
#include "storage/env.h"

namespace samsa::raft {

struct SnapshotLimits {
  int64_t max_snapshot_bytes = int64_t{1} << 30;  // a larger file is refused (RaftConfig::max_snapshot_bytes)
  size_t max_batch_bytes = size_t{8} << 20;       // one batch (Kafka's metadata batch bound)
  size_t target_batch_bytes = size_t{1} << 20;    // the writer closes a data batch past this
  size_t max_chunk_bytes = size_t{16} << 20;      // one SnapshotReader::read
};

// What a validated snapshot holds besides its values.
struct SnapshotInfo {
  int64_t last_contained_log_timestamp = -1;  // from the header
  int64_t records = 0;                        // data records (values)
  int64_t size_bytes = 0;
  // A dynamic quorum's voter set at the snapshot's end (its Voters control record, KIP-853).
  std::optional<protocol::kraft::VotersRecord> voters;
};

using SnapshotValueFn = std::function<void(std::span<const uint8_t>)>;

// Checks snapshot bytes held in memory (a FetchSnapshot download) and calls
// `on_value` (may be empty) for each data record value. Corruption when invalid.
storage::Result<SnapshotInfo> scan_snapshot_bytes(std::span<const uint8_t> bytes, const SnapshotLimits& limits,
                                                  const SnapshotValueFn& on_value);

class FileSnapshotStore;

// Writes one snapshot: add() the values in order, then finish(). Destroyed
// before finish() (or after a failure) it removes its `.part` file.
class SnapshotWriter {
 public:
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  const SnapshotId& id() const { return id_; }
  // Appends one value (an encoded metadata record); data batches are closed
  // at SnapshotLimits::target_batch_bytes. Fails past max_snapshot_bytes.
  storage::Status add(std::span<const uint8_t> value);
  // Footer, fdatasync, rename to the final name, fsync of the directory; the
  // store lists the snapshot from then on.
  storage::Status finish();
  int64_t bytes_written() const { return static_cast<int64_t>(pos_); }

 private:
  friend class FileSnapshotStore;
  SnapshotWriter(FileSnapshotStore* store, SnapshotId id, std::shared_ptr<storage::File> file, std::string part_path,
                 int64_t timestamp_ms);
  storage::Status write_batch(const protocol::Bytes& batch);
  storage::Status flush_pending();

  FileSnapshotStore* store_;
  SnapshotId id_;
  std::shared_ptr<storage::File> file_;
  std::string part_path_;
  int64_t timestamp_ms_;
  uint64_t pos_ = 0;
  int64_t next_offset_ = 0;  // offsets inside the snapshot start at 0
  std::vector<protocol::Bytes> pending_;
  size_t pending_bytes_ = 0;
  bool done_ = false;
  storage::Status status_;  // the first failure (ok until then): the writer stays failed
};

class FileSnapshotStore final : public SnapshotReader {
 public:
  // Opens the snapshots in `dir` (the partition directory, created if missing).
  static storage::Result<std::unique_ptr<FileSnapshotStore>> open(storage::Env* env, std::string dir,
                                                                  SnapshotLimits limits = {});

  std::optional<SnapshotId> latest() const;
  std::vector<SnapshotId> list() const;  // oldest first
  bool contains(const SnapshotId& id) const {
    std::lock_guard lock(mu_);
    return files_.count(key(id)) != 0;
  }

  // A new snapshot of the state below id.end_offset (one writer per id at a
  // time). `last_contained_log_timestamp` is the timestamp of the last batch it
  // covers (the header's field); `now_ms` stamps the batches. InvalidArgument
  // if that snapshot is already there.
  // `voters` (a dynamic quorum's committed voter set at the end) goes right after the header as
  // KRaftVersion and Voters control records, as Kafka writes them, so a replica that installs or
  // restarts from the snapshot knows the voters without the log prefix it replaces.
  storage::Result<std::unique_ptr<SnapshotWriter>> create(const SnapshotId& id, int64_t last_contained_log_timestamp,
                                                          int64_t now_ms,
                                                          const protocol::kraft::VotersRecord* voters = nullptr);
  // Validates the snapshot and calls on_value for every value in order, as it
  // reads: on an error the values before it were already passed, so load into
  // a fresh image and drop it unless this succeeds.
  storage::Result<SnapshotInfo> load(const SnapshotId& id, const SnapshotValueFn& on_value) const;
  // A snapshot fetched from the leader: validated, then written atomically.
  // An id already present is left as it is (ok).
  storage::Status install(const SnapshotId& id, std::span<const uint8_t> bytes);
  // Deletes every snapshot older than `id` (the newest is kept by the caller
  // passing it: Kafka keeps only what the log start still needs).
  storage::Status remove_older_than(const SnapshotId& id);

  // SnapshotReader: FetchSnapshot chunks.
  int64_t size(const SnapshotId& id) const override;
  bool read(const SnapshotId& id, int64_t position, size_t max, protocol::Bytes& out) const override;

  const std::string& dir() const { return dir_; }
  const SnapshotLimits& limits() const { return limits_; }
  // Files open() deleted (torn, invalid, leftovers), for tests and the log line.
  int removed_at_open() const { return removed_at_open_; }

 private:
  friend class SnapshotWriter;
  FileSnapshotStore(storage::Env* env, std::string dir, SnapshotLimits limits)
      : env_(env), dir_(std::move(dir)), limits_(limits) {}
  using Key = std::pair<int64_t, int32_t>;
  static Key key(const SnapshotId& id) { return {id.end_offset.value, id.epoch.value}; }
  std::string path_of(const SnapshotId& id) const;
  storage::Status load_dir();
  storage::Result<SnapshotInfo> scan_file(const std::string& path, const SnapshotValueFn& on_value) const;
  // The `.part` file is complete and synced: rename it into place.
  storage::Status publish(const std::string& part_path, const SnapshotId& id, int64_t size);

  storage::Env* env_;
  std::string dir_;
  SnapshotLimits limits_;
  mutable std::mutex mu_;  // guards files_ (see Threads above)
  std::map<Key, std::pair<SnapshotId, int64_t>> files_;  // id -> (id, size)
  int removed_at_open_ = 0;
};

}  // namespace samsa::raft
