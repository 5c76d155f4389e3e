#include "storage/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace samsa::storage {
namespace {

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  int fd() const override { return fd_; }
  const std::string& path() const override { return path_; }

  Status write_at(uint64_t pos, std::span<const uint8_t> data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::io_error("pwrite " + path_, errno);
      }
      data = data.subspan(static_cast<size_t>(n));
      pos += static_cast<uint64_t>(n);
    }
    return Status::ok();
  }

  Result<size_t> read_at(uint64_t pos, std::span<uint8_t> out) const override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(pos + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::io_error("pread " + path_, errno);
      }
      if (n == 0) break;  // end of file
      done += static_cast<size_t>(n);
    }
    return done;
  }

  Status sync() override {
    if (::fdatasync(fd_) != 0) return Status::io_error("fdatasync " + path_, errno);
    return Status::ok();
  }

  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return Status::io_error("ftruncate " + path_, errno);
    return Status::ok();
  }

  Result<uint64_t> size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::io_error("fstat " + path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  int fd_;
  std::string path_;
};

class PosixMappedRegion final : public MappedRegion {
 public:
  PosixMappedRegion(void* base, size_t size) : base_(base), size_(size) {}
  ~PosixMappedRegion() override { ::munmap(base_, size_); }
  const uint8_t* data() const override { return static_cast<const uint8_t*>(base_); }
  size_t size() const override { return size_; }

 private:
  void* base_;
  size_t size_;
};

class PosixEnv final : public Env {
 public:
  Result<std::shared_ptr<File>> open_file(const std::string& path, OpenMode mode) override {
    int flags = O_RDWR | O_CLOEXEC;
    switch (mode) {
      case OpenMode::kExisting: break;
      case OpenMode::kCreate: flags |= O_CREAT; break;
      case OpenMode::kCreateNew: flags |= O_CREAT | O_EXCL; break;
      case OpenMode::kTruncate: flags |= O_CREAT | O_TRUNC; break;
    }
    int fd;
    do {
      fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      if (errno == ENOENT) return Status::not_found("open " + path);
      return Status::io_error("open " + path, errno);
    }
    return std::shared_ptr<File>(std::make_shared<PosixFile>(fd, path));
  }

  Result<std::shared_ptr<MappedRegion>> map_file(const std::shared_ptr<File>& file, size_t length) override {
    if (length == 0) return Status::invalid_argument("mmap of 0 bytes: " + file->path());
    void* p = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, file->fd(), 0);
    if (p == MAP_FAILED) return Status::io_error("mmap " + file->path(), errno);
    return std::shared_ptr<MappedRegion>(std::make_shared<PosixMappedRegion>(p, length));
  }

  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Status::io_error("rename " + from + " -> " + to, errno);
    return Status::ok();
  }

  Status unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return Status::not_found("unlink " + path);
      return Status::io_error("unlink " + path, errno);
    }
    return Status::ok();
  }

  Status create_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) == 0) return Status::ok();
    if (errno == EEXIST && is_dir(path)) return Status::ok();
    return Status::io_error("mkdir " + path, errno);
  }

  Status remove_dir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return Status::io_error("rmdir " + path, errno);
    return Status::ok();
  }

  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) return Status::not_found("opendir " + path);
      return Status::io_error("opendir " + path, errno);
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return Status::io_error("readdir " + path, err);
    return names;
  }

  Status sync_dir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::io_error("open dir " + path, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Status::io_error("fsync dir " + path, err);
    return Status::ok();
  }

  bool exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  bool is_dir(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  Result<uint64_t> file_size(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::not_found("stat " + path);
      return Status::io_error("stat " + path, errno);
    }
    return static_cast<uint64_t>(st.st_size);
  }
};

}  // namespace

Env* posix_env() {
  static PosixEnv* env = new PosixEnv();  // intentionally leaked: used until exit
  return env;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status create_dirs(Env* env, const std::string& path) {
  if (path.empty() || env->is_dir(path)) return Status::ok();
  std::string parent = parent_dir(path);
  if (parent != path && parent != "." && parent != "/") SAMSA_RETURN_IF_ERROR(create_dirs(env, parent));
  return env->create_dir(path);
}

Status remove_dir_recursive(Env* env, const std::string& path) {
  auto names = env->list_dir(path);
  if (!names) return names.status();
  for (const auto& name : *names) {
    std::string child = join_path(path, name);
    if (env->is_dir(child)) {
      SAMSA_RETURN_IF_ERROR(remove_dir_recursive(env, child));
    } else {
      Status st = env->unlink(child);
      if (!st && st.kind() != Status::Kind::kNotFound) return st;
    }
  }
  return env->remove_dir(path);
}

Result<std::string> read_file_to_string(Env* env, const std::string& path, size_t max_bytes) {
  auto file = env->open_file(path, OpenMode::kExisting);
  if (!file) return file.status();
  auto size = (*file)->size();
  if (!size) return size.status();
  if (*size > max_bytes) return Status::corruption(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  std::string out(static_cast<size_t>(*size), '\0');
  auto n = (*file)->read_at(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  if (!n) return n.status();
  out.resize(*n);
  return out;
}

Status write_file_atomically(Env* env, const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  {
    auto file = env->open_file(tmp, OpenMode::kTruncate);
    if (!file) return file.status();
    SAMSA_RETURN_IF_ERROR(
        (*file)->write_at(0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size())));
    SAMSA_RETURN_IF_ERROR((*file)->sync());
  }
  SAMSA_RETURN_IF_ERROR(env->rename(tmp, path));
  return env->sync_dir(parent_dir(path));
}

}  // namespace samsa::storage
