// Time as a dependency. Code that stamps records or measures timeouts asks a
// `Clock` instead of calling the system, so a test (and later a deterministic
// simulator) can hold time still or move it by hand.
//
// - now_ms(): wall-clock milliseconds since the Unix epoch, for timestamps that
//   leave the process (record batches, log file names). May jump.
// - monotonic_ms(): milliseconds on a clock that never goes back, for timeouts,
//   backoffs and durations. Its origin is arbitrary.
//
// Threads: SystemClock is stateless; ManualClock may be read and moved from any
// thread (atomics), though tests usually drive it from one.
#pragma once
#include <atomic>
#include <cstdint>

namespace samsa {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;
  virtual int64_t monotonic_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  int64_t monotonic_ms() const override;
  // One process-wide instance for code that is not handed a clock yet.
  static SystemClock& instance();
};

// Time that moves only when told. advance() moves both clocks; set_now_ms()
// makes the wall clock jump (either way) as NTP may, while the monotonic clock
// can only be moved forward (set_monotonic_ms() ignores a step back).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 0, int64_t monotonic_ms = 0) : now_(now_ms), mono_(monotonic_ms) {}
  int64_t now_ms() const override { return now_.load(std::memory_order_acquire); }
  int64_t monotonic_ms() const override { return mono_.load(std::memory_order_acquire); }
  // Moves both clocks by `ms` (negative values are ignored: time does not go back).
  void advance(int64_t ms);
  void set_now_ms(int64_t ms) { now_.store(ms, std::memory_order_release); }
  void set_monotonic_ms(int64_t ms);

 private:
  std::atomic<int64_t> now_;
  std::atomic<int64_t> mono_;
};

}  // namespace samsa
