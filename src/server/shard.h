// A shard is one core: an io_context run by one thread. Every partition is owned
// by exactly one shard (its ReplicaManager) and touched only from its thread;
// work for another shard is posted to it (run_on), never done under a lock.
#pragma once
#include <asio.hpp>
#include <memory>
#include <thread>
#include <unordered_map>

#include "cluster/metadata_image.h"
#include "replication/fwd.h"
#include "replication/replica_manager.h"
#include "server/topic_partition.h"

namespace samsa::server {

using replication::Flusher;
using replication::Partition;

struct Shard {
  explicit Shard(int id_);
  ~Shard();
  int id;
  asio::io_context io;
  std::thread thread;
  cluster::ImagePtr image;  // this shard's current view of the metadata
  std::unique_ptr<replication::ReplicaManager> replicas;  // this shard's partitions

  Partition* find(const TopicPartition& tp) { return replicas->find(tp); }
  const replication::ReplicaManager::PartitionMap& partitions() const { return replicas->partitions(); }
};

// Runs `fn` (a plain function returning T) on `target`'s thread and resumes the
// calling coroutine on its own executor with the result.
//
// GCC 12 destroys a capturing lambda twice when it appears in the same
// expression as co_await. So never write `co_await run_on(s, [x] {...})`;
// write `auto op = run_on(s, [x] {...}); auto r = co_await std::move(op);`.
template <typename F>
asio::awaitable<std::invoke_result_t<F>> run_on(Shard& target, F fn) {
  using T = std::invoke_result_t<F>;
  // Deliberately not a coroutine itself (GCC 12 mishandles lambdas that
  // capture coroutine parameters): the function travels as an init argument.
  auto initiate = [&target](auto handler, F f) {
    asio::post(target.io, [handler = std::move(handler), f = std::move(f)]() mutable {
      T result = f();
      auto ex = asio::get_associated_executor(handler);
      asio::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
        std::move(handler)(std::move(result));
      });
    });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(initiate, asio::use_awaitable, std::move(fn));
}

// Counts outstanding cross-shard operations; the awaiting coroutine resumes when
// all are done. Used on one shard only (completions are posted back to it).
class WaitGroup {
 public:
  explicit WaitGroup(asio::any_io_executor ex) : timer_(ex) {}
  void add(int n = 1) { pending_ += n; }
  void done() {
    if (--pending_ == 0) timer_.cancel();
  }
  asio::awaitable<void> wait() {
    while (pending_ > 0) {
      timer_.expires_at(asio::steady_timer::time_point::max());
      asio::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

 private:
  asio::steady_timer timer_;
  int pending_ = 0;
};

}  // namespace samsa::server
