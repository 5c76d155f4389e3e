#include "storage/index_file.h"

#include <algorithm>
#include <cassert>
#include <vector>

namespace samsa::storage {
namespace {

bool all_zero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

}  // namespace

Result<std::unique_ptr<IndexFile>> IndexFile::open(Env* env, std::string path, size_t entry_size,
                                                   uint64_t preallocate_bytes) {
  std::unique_ptr<IndexFile> index(new IndexFile(env, std::move(path), entry_size));
  auto file = env->open_file(index->path_, OpenMode::kCreate);
  if (!file) return file.status();
  index->file_ = std::move(*file);
  auto size = index->file_->size();
  if (!size) return size.status();
  // A size that is not a whole number of entries means a torn trim: the
  // partial entry is garbage.
  uint64_t whole = *size - *size % entry_size;
  uint64_t target = std::max(whole, preallocate_bytes - preallocate_bytes % entry_size);
  if (target != *size) SAMSA_RETURN_IF_ERROR(index->file_->truncate(target));
  SAMSA_RETURN_IF_ERROR(index->remap(target));
  return index;
}

Status IndexFile::remap(uint64_t new_size) {
  map_.reset();
  capacity_ = 0;
  if (new_size == 0) return Status::ok();
  auto map = env_->map_file(file_, static_cast<size_t>(new_size));
  if (!map) return map.status();
  map_ = std::move(*map);
  capacity_ = new_size;
  return Status::ok();
}

// Read with pread, not through the mapping: the zero fill is a hole of the
// sparse preallocation, and on tmpfs a read fault on a hole allocates a page,
// which on a full file system is SIGBUS (pread of a hole allocates nothing).
// A failed read counts as the end of the entries (fewer entries only make
// lookups scan further).
bool IndexFile::entry_is_zero(size_t i) const {
  uint8_t buf[kMaxEntrySize];
  assert(entry_size_ <= kMaxEntrySize);
  auto n = file_->read_at(i * entry_size_, std::span<uint8_t>(buf, entry_size_));
  return !n || *n != entry_size_ || all_zero(buf, entry_size_);
}

size_t IndexFile::count_valid_prefix() const {
  // Valid entries form a prefix followed by zero fill: binary search the first
  // all-zero entry.
  size_t lo = 0, hi = max_entries();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (entry_is_zero(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

Status IndexFile::append(const uint8_t* e) {
  if (entries_ >= max_entries()) return Status::invalid_argument("index full: " + path_);
  SAMSA_RETURN_IF_ERROR(file_->write_at(entries_ * entry_size_, std::span<const uint8_t>(e, entry_size_)));
  ++entries_;
  return Status::ok();
}

Status IndexFile::truncate_entries(size_t n) {
  if (n >= entries_) return Status::ok();
  std::vector<uint8_t> zeros((entries_ - n) * entry_size_, 0);
  SAMSA_RETURN_IF_ERROR(file_->write_at(n * entry_size_, zeros));
  entries_ = n;
  return Status::ok();
}

Status IndexFile::trim() {
  uint64_t target = entries_ * entry_size_;
  if (target == capacity_) return Status::ok();
  map_.reset();  // unmap before shrinking: touching a mapping past EOF is SIGBUS
  capacity_ = 0;
  SAMSA_RETURN_IF_ERROR(file_->truncate(target));
  return remap(target);
}

Status IndexFile::preallocate(uint64_t bytes) {
  uint64_t target = bytes - bytes % entry_size_;
  if (target <= capacity_) return Status::ok();
  SAMSA_RETURN_IF_ERROR(file_->truncate(target));
  return remap(target);
}

Status IndexFile::rename(std::string to) {
  SAMSA_RETURN_IF_ERROR(env_->rename(path_, to));
  path_ = std::move(to);
  return Status::ok();
}

Status IndexFile::unlink() {
  map_.reset();
  capacity_ = 0;
  entries_ = 0;
  Status st = env_->unlink(path_);
  if (!st && st.kind() != Status::Kind::kNotFound) return st;
  return Status::ok();
}

}  // namespace samsa::storage
