// A small pool of worker threads for CPU-heavy work on untrusted data that
// must not run on a shard's event loop: decompressing and validating the
// records of compressed produce batches, up-converting legacy message sets,
// and down-converting batches for Fetch v0-3. A shard thread that decompressed
// a 131 KB zstd batch inline stalled every other client of that shard for tens
// of milliseconds; on the pool it only delays the request that needs it.
//
// Threads: `threads` workers of an asio::thread_pool; they share no state with
// the shards but the tasks handed to them. A task is posted by a coroutine on a shard and
// the coroutine resumes on its own executor when the task is done (run()).
// The queue is bounded: a caller that finds it full waits (timer, on its own
// shard) until there is room, so queued work (each task borrows a request's
// memory) cannot pile up without bound.
#pragma once
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>

namespace samsa::server {

class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t max_queued);
  ~WorkerPool();  // stops and joins the threads (tasks not started are dropped)
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // The process-wide pool (1 thread, see shared(); 256 queued tasks), created on first use and never destroyed. Every task posted
  // to it is awaited by a request, and the broker drains its requests before
  // stopping its shards.
  static WorkerPool& shared();

  // Runs `fn` (a plain function returning T, default-constructible) on a
  // worker and resumes the calling coroutine on its own executor with the
  // result; an exception thrown by fn is rethrown in the caller.
  //
  // As with invoke_on (base/invoke_on.h), GCC 12 mishandles a capturing lambda in the
  // same expression as co_await: write `auto op = pool.run(...); co_await std::move(op);`.
  template <typename F>
  asio::awaitable<std::invoke_result_t<F>> run(F fn) {
    using T = std::invoke_result_t<F>;
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; !try_reserve_slot(); ++i) {
      asio::steady_timer t(ex, std::chrono::milliseconds(i < 10 ? 1 : 10));
      co_await t.async_wait(asio::use_awaitable);
    }
    auto initiate = [this](auto handler, F f) {
      asio::post(pool_, [this, handler = std::move(handler), f = std::move(f)]() mutable {
        T result{};
        std::exception_ptr error;
        try {
          result = f();
        } catch (...) {
          error = std::current_exception();
        }
        auto hex = asio::get_associated_executor(handler);
        asio::post(hex, [handler = std::move(handler), error, result = std::move(result)]() mutable {
          std::move(handler)(error, std::move(result));
        });
        queued_.fetch_sub(1, std::memory_order_relaxed);
      });
    };
    auto op = asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, T)>(
        initiate, asio::use_awaitable, std::move(fn));
    co_return co_await std::move(op);
  }

  size_t queued() const { return queued_.load(std::memory_order_relaxed); }

 private:
  // Takes one of the max_queued slots; the task frees it when it has run.
  bool try_reserve_slot();

  size_t max_queued_;
  std::atomic<size_t> queued_{0};  // reserved slots: queued or running tasks
  asio::thread_pool pool_;
};

}  // namespace samsa::server
