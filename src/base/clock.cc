#include "base/clock.h"

#include <chrono>

namespace samsa {

int64_t SystemClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::monotonic_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

void ManualClock::advance(int64_t ms) {
  if (ms <= 0) return;
  now_.fetch_add(ms, std::memory_order_acq_rel);
  mono_.fetch_add(ms, std::memory_order_acq_rel);
}

void ManualClock::set_monotonic_ms(int64_t ms) {
  int64_t cur = mono_.load(std::memory_order_acquire);
  while (ms > cur && !mono_.compare_exchange_weak(cur, ms, std::memory_order_acq_rel)) {
  }
}

}  // namespace samsa
