#include "replication/delayed_fetch.h"

#include <algorithm>

namespace samsa::replication {

void DelayedFetch::add_bytes(int64_t n) {
  if (n <= 0) return;
  if (bytes_.fetch_add(n) + n >= min_bytes_ && armed_.load()) fire();
}

void DelayedFetch::complete() {
  forced_.store(true);
  if (armed_.load()) fire();
}

bool DelayedFetch::arm() {
  armed_.store(true);
  if (!ready()) return false;
  fired_.store(true);  // a wake-up posted meanwhile finds no timer and does nothing
  return true;
}

void DelayedFetch::fire() {
  if (fired_.exchange(true)) return;
  asio::post(home_, [self = shared_from_this()] {
    self->woken_ = true;
    if (self->timer_) self->timer_->cancel();
  });
}

asio::awaitable<bool> DelayedFetch::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (arm()) co_return true;
  // The timer lives in this frame, on the home shard: a DelayedFetch released
  // last on another shard destroys only atomics.
  asio::steady_timer timer(home_);
  timer.expires_at(deadline);
  timer_ = &timer;
  asio::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  timer_ = nullptr;
  co_return woken_;
}

void FetchWaitingRoom::add(const std::shared_ptr<DelayedFetch>& fetch, const FetchWatch& watch) {
  owner_.check("FetchWaitingRoom");
  if (entries_.size() > 64)
    std::erase_if(entries_, [](const Entry& e) {
      auto f = e.fetch.lock();
      return !f || f->fired();
    });
  fetch->add_bytes(watch.read_bytes);
  entries_.push_back(Entry{fetch, watch, watch.read_bytes});
}

void FetchWaitingRoom::on_append(int64_t bytes, int64_t last_stable_offset) {
  owner_.check("FetchWaitingRoom");
  std::erase_if(entries_, [&](Entry& e) {
    auto f = e.fetch.lock();
    if (!f || f->fired()) return true;
    if (e.watch.read_committed) {
      // Appended bytes are readable only once the LSO moves past them.
      if (last_stable_offset <= e.watch.last_stable_offset) return false;
      f->complete();
      return true;
    }
    // A read returns at least one whole batch, then at most max_bytes.
    int64_t credit = e.credited == 0 ? bytes : std::min(bytes, std::max<int64_t>(0, e.watch.max_bytes - e.credited));
    e.credited += credit;
    f->add_bytes(credit);
    return f->fired();
  });
}

void FetchWaitingRoom::complete_all() {
  for (auto& e : entries_)
    if (auto f = e.fetch.lock()) f->complete();
  entries_.clear();
}

}  // namespace samsa::replication
