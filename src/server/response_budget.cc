#include "server/response_budget.h"

namespace samsa::server {

ResponseBudget& ResponseBudget::global() {
  static ResponseBudget budget(kDefaultCapacity);
  return budget;
}

void ResponseBudget::Reservation::shrink_to(size_t n) {
  if (n >= bytes_) return;
  budget_.release(bytes_ - n);
  bytes_ = n;
}

std::shared_ptr<ResponseBudget::Reservation> ResponseBudget::try_acquire(size_t n) {
  size_t used = used_.load(std::memory_order_relaxed);
  for (;;) {
    if (used != 0 && (n > capacity_ || used > capacity_ - n)) return nullptr;
    if (used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed)) break;
  }
  return std::make_shared<Reservation>(*this, n);
}

asio::awaitable<std::shared_ptr<ResponseBudget::Reservation>> ResponseBudget::acquire(
    size_t n, std::chrono::milliseconds max_wait) {
  auto deadline = std::chrono::steady_clock::now() + max_wait;
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    if (auto r = try_acquire(n)) co_return r;
    if (std::chrono::steady_clock::now() >= deadline) co_return nullptr;
    asio::steady_timer t(ex, std::chrono::milliseconds(5));
    co_await t.async_wait(asio::use_awaitable);
  }
}

}  // namespace samsa::server
