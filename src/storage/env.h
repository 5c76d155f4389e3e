// The narrow file-system interface of the storage layer (LevelDB's Env is the
// model). Every disk access of storage/ goes through it, so tests can swap in
// FaultInjectionEnv to tear writes, lose unsynced data and fail with EIO/ENOSPC.
//
// Ownership: an Env is shared by every log of the process and outlives them;
// PosixEnv is stateless and safe from any thread. Files are handed out as
// std::shared_ptr<File>: a reader (e.g. a fetch waiting for sendfile) keeps the
// descriptor open after the segment was rolled, truncated or deleted.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "storage/status.h"

namespace samsa::storage {

// An open regular file. Positional reads/writes only (no shared file offset),
// so one File may be read by several threads while its owner appends to it.
// Thread-safety: read_at/fd/sync are safe from any thread; write_at/truncate
// belong to the single owner of the segment.
class File {
 public:
  virtual ~File() = default;
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // The raw descriptor, for sendfile() by the network layer. Valid while this
  // File lives.
  virtual int fd() const = 0;
  virtual const std::string& path() const = 0;

  // Writes all of `data` at `pos` (loops over short writes; one syscall in the
  // normal case). On error part of the data may have reached the file.
  virtual Status write_at(uint64_t pos, std::span<const uint8_t> data) = 0;
  // Reads up to out.size() bytes at `pos`; returns how many were read, fewer
  // only at end of file.
  virtual Result<size_t> read_at(uint64_t pos, std::span<uint8_t> out) const = 0;
  // fdatasync: everything written (also through a mapping) is durable after it.
  virtual Status sync() = 0;
  virtual Status truncate(uint64_t size) = 0;
  virtual Result<uint64_t> size() const = 0;
};

// A read-only shared mapping of the first `size()` bytes of a file. Index files
// are looked up through it; they are written with File::write_at, which the
// kernel's unified page cache makes visible through the mapping at once.
// (Writing through a mapping of a sparse file would turn ENOSPC into SIGBUS.)
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;
  virtual const uint8_t* data() const = 0;
  virtual size_t size() const = 0;
};

enum class OpenMode : uint8_t {
  kExisting,      // open read-write; NotFound if missing
  kCreate,        // open read-write, create if missing
  kCreateNew,     // create; fails (EEXIST) if it exists
  kTruncate,      // create or open, then truncate to 0
};

class Env {
 public:
  virtual ~Env() = default;

  virtual Result<std::shared_ptr<File>> open_file(const std::string& path, OpenMode mode) = 0;
  // Maps [0, length) of `file` read-only; length must be > 0 and <= file size.
  virtual Result<std::shared_ptr<MappedRegion>> map_file(const std::shared_ptr<File>& file, size_t length) = 0;

  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status unlink(const std::string& path) = 0;
  // Creates one directory; ok if it already exists as a directory.
  virtual Status create_dir(const std::string& path) = 0;
  virtual Status remove_dir(const std::string& path) = 0;  // must be empty
  // Names (not paths) of the entries of a directory, without "." and "..".
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  // fsync of a directory: makes creations, renames and unlinks in it durable.
  virtual Status sync_dir(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual bool is_dir(const std::string& path) = 0;
  virtual Result<uint64_t> file_size(const std::string& path) = 0;
};

// The process-wide Env backed by POSIX calls (never destroyed).
Env* posix_env();

// ---- helpers built on Env (no extra virtuals, so every Env gets them) ----

std::string join_path(const std::string& dir, const std::string& name);
std::string parent_dir(const std::string& path);
// mkdir -p.
Status create_dirs(Env* env, const std::string& path);
// Removes a directory and the regular files in it (partition dirs are flat;
// sub-directories are removed recursively too).
Status remove_dir_recursive(Env* env, const std::string& path);
// Whole-file read, bounded by max_bytes (a larger file is Corruption).
Result<std::string> read_file_to_string(Env* env, const std::string& path, size_t max_bytes);
// Crash-safe replace: write `path`.tmp, fdatasync, rename over `path`, fsync the
// directory. After a crash either the old or the new content is there.
Status write_file_atomically(Env* env, const std::string& path, std::string_view content);

}  // namespace samsa::storage
