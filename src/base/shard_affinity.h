// Which shard a thread runs, and the check that shard-owned state is touched
// only there. A shard is one event loop on one thread; each shard's thread
// binds itself (ShardBinding) before running its loop, every other thread
// (main, flush threads, worker pool) is bound to no shard.
//
// The check is one thread-local load and a compare, so it is always on (not
// only in debug builds): a state touched from the wrong thread is a data race
// that would otherwise corrupt a log silently. A violation aborts the process
// with the owner, the thread's shard and what was touched.
//
// Threads: the binding is per thread; a ShardAffinity belongs to the object
// it guards (same owner rules).
#pragma once

namespace samsa {

// The shard of a thread that runs no shard's event loop.
inline constexpr int kNoShard = -1;

namespace detail {
// constinit: no dynamic initialisation, so access needs no TLS wrapper call.
inline constinit thread_local int t_current_shard = kNoShard;
[[noreturn]] void shard_violation(int owner, int current, const char* what);
}  // namespace detail

// The shard whose event loop runs on this thread (kNoShard elsewhere).
inline int current_shard() { return detail::t_current_shard; }

// Binds the calling thread to `shard` while it lives (a shard's thread around
// its loop; a test that plays a shard); restores the previous binding.
class ShardBinding {
 public:
  explicit ShardBinding(int shard) : previous_(detail::t_current_shard) { detail::t_current_shard = shard; }
  ~ShardBinding() { detail::t_current_shard = previous_; }
  ShardBinding(const ShardBinding&) = delete;
  ShardBinding& operator=(const ShardBinding&) = delete;

 private:
  int previous_;
};

// Aborts unless the calling thread runs shard `owner` (`what`: what was touched).
inline void assert_on_shard(int owner, const char* what = "") {
  if (detail::t_current_shard != owner) [[unlikely]]
    detail::shard_violation(owner, detail::t_current_shard, what);
}

// Aborts if the calling thread runs a shard: for code that blocks (waits for
// other shards from start-up or shutdown), which on a shard would stall it.
inline void assert_not_on_shard(const char* what = "") {
  if (detail::t_current_shard != kNoShard) [[unlikely]]
    detail::shard_violation(kNoShard, detail::t_current_shard, what);
}

// The owner of one object's shard-owned state. Given a shard, it checks
// against it; built without one, it takes the shard of the first thread that
// checks (state built on the main thread before the shards run, then used
// only by its shard; or built and used by a test on the test's thread).
class ShardAffinity {
 public:
  ShardAffinity() = default;
  explicit ShardAffinity(int owner) : owner_(owner) {}

  void check(const char* what = "") const {
    const int current = detail::t_current_shard;
    if (owner_ == current) [[likely]]
      return;
    if (owner_ == kUnbound) {
      owner_ = current;
      return;
    }
    detail::shard_violation(owner_, current, what);
  }
  // The owner, or kNoShard while unbound.
  int owner() const { return owner_ == kUnbound ? kNoShard : owner_; }

 private:
  static constexpr int kUnbound = -2;
  mutable int owner_ = kUnbound;
};

}  // namespace samsa
