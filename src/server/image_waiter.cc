#include "server/image_waiter.h"

namespace samsa::server {

void ImageWaiter::on_image(cluster::ImagePtr image) {
  latest_ = std::move(image);
  for (auto& w : waiters_) {
    if (w->satisfied || !w->pred(*latest_)) continue;
    w->satisfied = true;
    w->timer->cancel();
  }
}

asio::awaitable<bool> ImageWaiter::wait_for(Predicate pred, std::chrono::milliseconds timeout) {
  if (latest_ && pred(*latest_)) co_return true;
  auto w = std::make_shared<Waiter>();
  w->pred = std::move(pred);
  w->timer = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor, timeout);
  auto it = waiters_.insert(waiters_.end(), w);
  asio::error_code ec;
  co_await w->timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  waiters_.erase(it);
  co_return w->satisfied;
}

}  // namespace samsa::server
