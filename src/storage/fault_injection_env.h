// An Env for tests that wraps another Env (normally the POSIX one on a temp
// directory) and injects the faults a storage engine must survive:
//
//   * power cut: every file goes back to its content at its last sync(); files
//     whose creation was not made durable by a sync_dir() of their directory
//     vanish (LevelDB's fault_injection_test model);
//   * process crash mid-write: tear_next_write() stores only the first N bytes
//     of the next write, then every further mutating call fails with EIO, as if
//     the process had died (the page cache, i.e. what was written, survives);
//   * errors on demand: fail_next() makes the next calls of chosen kinds fail
//     with a chosen errno (EIO, ENOSPC, ...).
//
// Simplifications (documented so tests do not rely on more): unlink and rename
// are durable at once (a rename carries the durable state of its source);
// directories are durable at once.
//
// Thread-safety: all methods may be called from any thread (one mutex).
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "storage/env.h"

namespace samsa::storage {

class FaultInjectionEnv final : public Env {
 public:
  enum Op : unsigned {
    kOpWrite = 1u << 0,
    kOpSync = 1u << 1,
    kOpOpen = 1u << 2,
    kOpTruncate = 1u << 3,
    kOpRename = 1u << 4,
    kOpUnlink = 1u << 5,
    kOpSyncDir = 1u << 6,
    kOpRead = 1u << 7,
    kOpMap = 1u << 8,
    kOpCreateDir = 1u << 9,
    kOpAll = 0xffffu,
  };

  explicit FaultInjectionEnv(Env* base);
  ~FaultInjectionEnv() override;

  // The next `count` calls of the kinds in `ops` (bit set of Op) fail with
  // errno `err`; only calls on paths containing `path_part` count (e.g. one
  // log dir, or ".index").
  void fail_next(unsigned ops, int err, int count = 1, std::string path_part = "");
  // The next write to a file whose path ends with `path_suffix` stores only its
  // first `keep_bytes` bytes and returns EIO; then the env is crashed().
  void tear_next_write(uint64_t keep_bytes, std::string path_suffix = "");
  // From now on every mutating call fails with EIO (reads still work).
  void crash();
  // The next `n` mutating calls succeed, then the env is crashed() (the n+1-th
  // fails): walks a multi-step protocol through a crash at every step.
  void crash_after(int n);
  bool crashed() const;
  // Process restart: clears the crash flag and armed faults; data stays.
  void restart();
  // Power cut, then restart: drops everything that was not synced. Close or
  // destroy the logs that use this env first.
  Status power_cut();

  int sync_count() const;
  // Tests that only care about the simulated durability can skip the real
  // fdatasync/fsync calls (much faster); power_cut() behaves the same.
  void set_skip_real_sync(bool skip);
  bool skip_real_sync() const;

  // Env
  Result<std::shared_ptr<File>> open_file(const std::string& path, OpenMode mode) override;
  Result<std::shared_ptr<MappedRegion>> map_file(const std::shared_ptr<File>& file, size_t length) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status unlink(const std::string& path) override;
  Status create_dir(const std::string& path) override;
  Status remove_dir(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  Status sync_dir(const std::string& path) override;
  bool exists(const std::string& path) override;
  bool is_dir(const std::string& path) override;
  Result<uint64_t> file_size(const std::string& path) override;

  // What a power cut would restore for one file (held by the map and by its
  // open handles, so a rename moves it). Public only for the file wrapper.
  struct Durable {
    std::string content;     // bytes at the last sync, trailing zero bytes trimmed
    uint64_t size = 0;       // file size at the last sync
    bool dir_entry_durable = false;  // survives a power cut (created before, or dir synced)
    std::string path;        // current name
  };

  // Called by the file wrapper.
  Status check(unsigned op, const std::string& path);
  Status faulty_write(File& base, uint64_t pos, std::span<const uint8_t> data);
  Status record_sync(File& base, Durable& state);

 private:
  Status check_locked(unsigned op, const std::string& path);
  static Result<Durable> snapshot(const File& file);

  Env* base_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Durable>> files_;
  bool crashed_ = false;
  int crash_countdown_ = -1;  // crash_after(): mutating calls left, -1 = off
  unsigned fail_ops_ = 0;
  int fail_errno_ = 0;
  int fail_count_ = 0;
  std::string fail_path_part_;
  bool tear_armed_ = false;
  uint64_t tear_keep_ = 0;
  std::string tear_suffix_;
  int sync_count_ = 0;
  bool skip_real_sync_ = false;
};

}  // namespace samsa::storage
