#include "storage/fault_injection_env.h"

#include <algorithm>
#include <cerrno>

namespace samsa::storage {
namespace {

constexpr unsigned kMutatingOps = FaultInjectionEnv::kOpWrite | FaultInjectionEnv::kOpSync |
                                  FaultInjectionEnv::kOpOpen | FaultInjectionEnv::kOpTruncate |
                                  FaultInjectionEnv::kOpRename | FaultInjectionEnv::kOpUnlink |
                                  FaultInjectionEnv::kOpSyncDir | FaultInjectionEnv::kOpCreateDir;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Wraps a base file; every call passes the env's fault checks first.
class FaultFile final : public File {
 public:
  FaultFile(FaultInjectionEnv* env, std::shared_ptr<File> base, std::shared_ptr<FaultInjectionEnv::Durable> state)
      : env_(env), base_(std::move(base)), state_(std::move(state)) {}

  int fd() const override { return base_->fd(); }
  const std::string& path() const override { return base_->path(); }
  const std::shared_ptr<File>& base() const { return base_; }

  Status write_at(uint64_t pos, std::span<const uint8_t> data) override {
    return env_->faulty_write(*base_, pos, data);
  }
  Result<size_t> read_at(uint64_t pos, std::span<uint8_t> out) const override {
    SAMSA_RETURN_IF_ERROR(env_->check(FaultInjectionEnv::kOpRead, path()));
    return base_->read_at(pos, out);
  }
  Status sync() override {
    SAMSA_RETURN_IF_ERROR(env_->check(FaultInjectionEnv::kOpSync, path()));
    if (!env_->skip_real_sync()) SAMSA_RETURN_IF_ERROR(base_->sync());
    return env_->record_sync(*base_, *state_);
  }
  Status truncate(uint64_t size) override {
    SAMSA_RETURN_IF_ERROR(env_->check(FaultInjectionEnv::kOpTruncate, path()));
    return base_->truncate(size);
  }
  Result<uint64_t> size() const override { return base_->size(); }

 private:
  FaultInjectionEnv* env_;
  std::shared_ptr<File> base_;
  std::shared_ptr<FaultInjectionEnv::Durable> state_;
};

}  // namespace

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::fail_next(unsigned ops, int err, int count, std::string path_part) {
  std::lock_guard lock(mu_);
  fail_ops_ = ops;
  fail_errno_ = err;
  fail_count_ = count;
  fail_path_part_ = std::move(path_part);
}

void FaultInjectionEnv::tear_next_write(uint64_t keep_bytes, std::string path_suffix) {
  std::lock_guard lock(mu_);
  tear_armed_ = true;
  tear_keep_ = keep_bytes;
  tear_suffix_ = std::move(path_suffix);
}

void FaultInjectionEnv::crash() {
  std::lock_guard lock(mu_);
  crashed_ = true;
}

void FaultInjectionEnv::crash_after(int n) {
  std::lock_guard lock(mu_);
  crash_countdown_ = n;
}

bool FaultInjectionEnv::crashed() const {
  std::lock_guard lock(mu_);
  return crashed_;
}

void FaultInjectionEnv::restart() {
  std::lock_guard lock(mu_);
  crashed_ = false;
  crash_countdown_ = -1;
  fail_count_ = 0;
  tear_armed_ = false;
}

void FaultInjectionEnv::set_skip_real_sync(bool skip) {
  std::lock_guard lock(mu_);
  skip_real_sync_ = skip;
}

bool FaultInjectionEnv::skip_real_sync() const {
  std::lock_guard lock(mu_);
  return skip_real_sync_;
}

int FaultInjectionEnv::sync_count() const {
  std::lock_guard lock(mu_);
  return sync_count_;
}

Status FaultInjectionEnv::power_cut() {
  std::lock_guard lock(mu_);
  for (auto& [path, state] : files_) {
    if (!state->dir_entry_durable) {
      Status st = base_->unlink(path);
      if (!st && st.kind() != Status::Kind::kNotFound) return st;
      continue;
    }
    auto file = base_->open_file(path, OpenMode::kCreate);
    if (!file) return file.status();
    SAMSA_RETURN_IF_ERROR((*file)->truncate(0));
    SAMSA_RETURN_IF_ERROR((*file)->write_at(
        0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(state->content.data()), state->content.size())));
    SAMSA_RETURN_IF_ERROR((*file)->truncate(state->size));
  }
  // Every surviving file now equals its durable state; keep tracking them.
  crashed_ = false;
  crash_countdown_ = -1;
  fail_count_ = 0;
  tear_armed_ = false;
  for (auto it = files_.begin(); it != files_.end();) {
    it = it->second->dir_entry_durable ? std::next(it) : files_.erase(it);
  }
  return Status::ok();
}

Status FaultInjectionEnv::check(unsigned op, const std::string& path) {
  std::lock_guard lock(mu_);
  return check_locked(op, path);
}

Status FaultInjectionEnv::check_locked(unsigned op, const std::string& path) {
  if (crashed_ && (op & kMutatingOps)) return Status::io_error("injected crash: " + path, EIO);
  if (crash_countdown_ >= 0 && (op & kMutatingOps)) {
    if (crash_countdown_ == 0) {
      crash_countdown_ = -1;
      crashed_ = true;
      return Status::io_error("injected crash: " + path, EIO);
    }
    --crash_countdown_;
  }
  if (fail_count_ > 0 && (fail_ops_ & op) && path.find(fail_path_part_) != std::string::npos) {
    --fail_count_;
    return Status::io_error("injected fault: " + path, fail_errno_);
  }
  return Status::ok();
}

Status FaultInjectionEnv::faulty_write(File& base, uint64_t pos, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  SAMSA_RETURN_IF_ERROR(check_locked(kOpWrite, base.path()));
  if (tear_armed_ && ends_with(base.path(), tear_suffix_)) {
    tear_armed_ = false;
    crashed_ = true;
    size_t keep = static_cast<size_t>(std::min<uint64_t>(tear_keep_, data.size()));
    if (keep > 0) SAMSA_RETURN_IF_ERROR(base.write_at(pos, data.first(keep)));
    return Status::io_error("injected torn write: " + base.path(), EIO);
  }
  return base.write_at(pos, data);
}

Result<FaultInjectionEnv::Durable> FaultInjectionEnv::snapshot(const File& file) {
  auto size = file.size();
  if (!size) return size.status();
  Durable d;
  d.size = *size;
  d.content.resize(static_cast<size_t>(*size));
  auto n = file.read_at(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(d.content.data()), d.content.size()));
  if (!n) return n.status();
  d.content.resize(*n);
  // Preallocated index files are mostly zeros; do not keep them in memory.
  while (!d.content.empty() && d.content.back() == '\0') d.content.pop_back();
  return d;
}

Status FaultInjectionEnv::record_sync(File& base, Durable& state) {
  auto snap = snapshot(base);
  if (!snap) return snap.status();
  std::lock_guard lock(mu_);
  state.content = std::move(snap->content);
  state.size = snap->size;
  ++sync_count_;
  return Status::ok();
}

Result<std::shared_ptr<File>> FaultInjectionEnv::open_file(const std::string& path, OpenMode mode) {
  std::lock_guard lock(mu_);
  SAMSA_RETURN_IF_ERROR(check_locked(kOpOpen, path));
  std::shared_ptr<Durable> fresh;
  if (files_.count(path) == 0) {
    fresh = std::make_shared<Durable>();
    fresh->path = path;
    fresh->dir_entry_durable = false;
    if (base_->exists(path)) {
      // Whatever was there before this env saw it counts as durable.
      auto old = base_->open_file(path, OpenMode::kExisting);
      if (!old) return old.status();
      auto snap = snapshot(**old);
      if (!snap) return snap.status();
      fresh->content = std::move(snap->content);
      fresh->size = snap->size;
      fresh->dir_entry_durable = true;
    }
  }
  auto file = base_->open_file(path, mode);
  if (!file) return file.status();
  auto& state = files_[path];
  if (!state) state = std::move(fresh);
  return std::shared_ptr<File>(std::make_shared<FaultFile>(this, std::move(*file), state));
}

Result<std::shared_ptr<MappedRegion>> FaultInjectionEnv::map_file(const std::shared_ptr<File>& file, size_t length) {
  SAMSA_RETURN_IF_ERROR(check(kOpMap, file->path()));
  auto* wrapper = dynamic_cast<FaultFile*>(file.get());
  return base_->map_file(wrapper != nullptr ? wrapper->base() : file, length);
}

Status FaultInjectionEnv::rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  SAMSA_RETURN_IF_ERROR(check_locked(kOpRename, from));
  SAMSA_RETURN_IF_ERROR(base_->rename(from, to));
  // Move the durable state of `from` (and of files under it, for a directory).
  std::map<std::string, std::shared_ptr<Durable>> moved;
  for (auto it = files_.begin(); it != files_.end();) {
    const std::string& p = it->first;
    if (p == from || (p.size() > from.size() && p.compare(0, from.size(), from) == 0 && p[from.size()] == '/')) {
      std::string np = to + p.substr(from.size());
      it->second->path = np;
      moved[np] = it->second;
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  files_.erase(to);
  for (auto& [p, s] : moved) files_[p] = s;
  return Status::ok();
}

Status FaultInjectionEnv::unlink(const std::string& path) {
  std::lock_guard lock(mu_);
  SAMSA_RETURN_IF_ERROR(check_locked(kOpUnlink, path));
  SAMSA_RETURN_IF_ERROR(base_->unlink(path));
  files_.erase(path);
  return Status::ok();
}

Status FaultInjectionEnv::create_dir(const std::string& path) {
  SAMSA_RETURN_IF_ERROR(check(kOpCreateDir, path));
  return base_->create_dir(path);
}

Status FaultInjectionEnv::remove_dir(const std::string& path) {
  SAMSA_RETURN_IF_ERROR(check(kOpUnlink, path));
  return base_->remove_dir(path);
}

Result<std::vector<std::string>> FaultInjectionEnv::list_dir(const std::string& path) {
  SAMSA_RETURN_IF_ERROR(check(kOpRead, path));
  return base_->list_dir(path);
}

Status FaultInjectionEnv::sync_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  SAMSA_RETURN_IF_ERROR(check_locked(kOpSyncDir, path));
  if (!skip_real_sync_) SAMSA_RETURN_IF_ERROR(base_->sync_dir(path));
  for (auto& [p, state] : files_) {
    if (parent_dir(p) == path) state->dir_entry_durable = true;
  }
  return Status::ok();
}

bool FaultInjectionEnv::exists(const std::string& path) { return base_->exists(path); }
bool FaultInjectionEnv::is_dir(const std::string& path) { return base_->is_dir(path); }
Result<uint64_t> FaultInjectionEnv::file_size(const std::string& path) { return base_->file_size(path); }

}  // namespace samsa::storage
