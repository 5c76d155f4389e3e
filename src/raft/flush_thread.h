// One thread for blocking disk work that must stay off the event loops: the
// metadata log's fdatasync and the broker's periodic checkpoint files. Jobs
// run one at a time, in the order posted; run() hands a job's result back to
// the calling coroutine on its own executor.
//
// Threads: post() and run() from any thread; the jobs run on the flush thread.
// After stop() (shutdown: every job posted before it has run) a job posted runs
// on the caller's thread, so nothing is lost and nobody waits forever.
#pragma once
#include <asio.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

namespace samsa::raft {

class FlushThread {
 public:
  FlushThread();
  ~FlushThread();
  FlushThread(const FlushThread&) = delete;
  FlushThread& operator=(const FlushThread&) = delete;

  void post(std::function<void()> job);
  // Runs every job posted so far, then joins the thread. Idempotent.
  void stop();

  // Runs `fn` (copyable, returning a copyable T) on the flush thread and
  // resumes the calling coroutine on its executor with the result. The
  // caller's executor counts as busy meanwhile (an io_context's run() does not
  // return while a job is pending).
  template <typename F>
  asio::awaitable<std::invoke_result_t<F>> run(F fn) {
    using T = std::invoke_result_t<F>;
    // Not a coroutine itself (GCC 12 mishandles lambdas capturing coroutine
    // parameters): the function travels as an init argument, as in invoke_on.
    auto initiate = [this](auto handler, F f) {
      asio::any_io_executor ex =
          asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
      auto h = std::make_shared<decltype(handler)>(std::move(handler));
      post([h, f = std::move(f), ex]() mutable {
        T result = f();
        asio::post(ex, [h, result = std::move(result)]() mutable { std::move (*h)(std::move(result)); });
      });
    };
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(initiate, asio::use_awaitable, std::move(fn));
  }

 private:
  void main();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace samsa::raft
