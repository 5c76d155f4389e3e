// A global bound on the memory of responses that are built in memory rather
// than sent from files with sendfile: today the down-converted record sets of
// Fetch v0-3. Without it, clients that send fetches and never read the answers
// make the broker hold every built response (two such connections took the
// RSS from 11 MiB to 3.8 GiB).
//
// A handler reserves the bytes before it builds such a response and hands the
// reservation to net::Response::keepalive; it is released when the connection
// has written (or dropped) the response. When the budget is exhausted the
// handler waits (bounded) for other responses to be written, then answers with
// fewer records. A reservation is always granted when nothing else is held, so
// a single response larger than the whole budget still goes out, alone.
//
// Thread-safety: one process-wide instance shared by every shard; the counter
// is atomic, reservations may be released on any thread.
#pragma once
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>

namespace samsa::server {

class ResponseBudget {
 public:
  // 128 MiB for the whole broker (README: "Limits").
  static constexpr size_t kDefaultCapacity = size_t{128} << 20;

  explicit ResponseBudget(size_t capacity) : capacity_(capacity) {}
  static ResponseBudget& global();

  // A held reservation; releases its bytes when destroyed.
  class Reservation {
   public:
    Reservation(ResponseBudget& b, size_t n) : budget_(b), bytes_(n) {}
    ~Reservation() { budget_.release(bytes_); }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    size_t bytes() const { return bytes_; }
    // Gives back what is not needed (n <= bytes()).
    void shrink_to(size_t n);

   private:
    ResponseBudget& budget_;
    size_t bytes_;
  };

  // Reserves n bytes if they fit (or nothing is held); nullptr otherwise.
  std::shared_ptr<Reservation> try_acquire(size_t n);
  // Waits on the caller's executor, polling, at most `max_wait` for the bytes;
  // nullptr when they did not become free in time.
  asio::awaitable<std::shared_ptr<Reservation>> acquire(size_t n, std::chrono::milliseconds max_wait);

  size_t in_use() const { return used_.load(std::memory_order_relaxed); }
  size_t capacity() const { return capacity_; }

 private:
  void release(size_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }

  size_t capacity_;
  std::atomic<size_t> used_{0};
};

}  // namespace samsa::server
