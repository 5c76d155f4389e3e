#include "server/quota_manager.h"

#include <cmath>
#include <functional>

namespace samsa::server {

namespace {
// Past this many sensors, idle ones are dropped on the next record.
constexpr size_t kSensorsBeforeExpiry = 4096;
}  // namespace

// A sample is complete once it is window_ms old; the next record starts the
// next slot (reset), wrapping over `samples` slots, as Kafka's SampledStat.
void QuotaRate::record(double value, int64_t now_ms) {
  if (samples_.empty()) samples_.push_back(Sample{0, now_ms});
  if (now_ms - samples_[current_].start_ms >= w_.window_ms) {
    current_ = (current_ + 1) % static_cast<size_t>(std::max(w_.samples, 1));
    if (current_ >= samples_.size()) samples_.push_back(Sample{0, now_ms});
    else samples_[current_].reset(now_ms);
  }
  samples_[current_].value += value;
  last_record_ms_ = now_ms;
}

void QuotaRate::purge(int64_t now_ms) {
  const int64_t expire_age = static_cast<int64_t>(w_.samples) * w_.window_ms;
  for (auto& s : samples_)
    if (now_ms - s.start_ms >= expire_age) s.reset(now_ms);
}

int64_t QuotaRate::window_size_ms(int64_t now_ms) {
  purge(now_ms);
  if (samples_.empty()) samples_.push_back(Sample{0, now_ms});
  int64_t oldest = samples_[0].start_ms;
  for (auto& s : samples_) oldest = std::min(oldest, s.start_ms);
  int64_t elapsed = now_ms - oldest;
  // Until the window holds samples - 1 full windows, the rate is measured as
  // if it did: a first burst is not mistaken for a high rate.
  const int64_t full = elapsed / w_.window_ms;
  const int64_t min_full = w_.samples - 1;
  if (full < min_full) elapsed += (min_full - full) * w_.window_ms;
  return elapsed;
}

double QuotaRate::rate(int64_t now_ms) {
  purge(now_ms);
  double total = 0;
  for (auto& s : samples_) total += s.value;
  const int64_t window = window_size_ms(now_ms);
  return window <= 0 ? 0 : total / (static_cast<double>(window) / 1000.0);
}

int64_t throttle_ms(double rate, double quota, int64_t window_ms) {
  if (!(quota > 0) || rate <= quota) return 0;
  const double ms = (rate - quota) / quota * static_cast<double>(window_ms);
  // Bounded so it fits throttle_time_ms (int32) whatever the numbers.
  return static_cast<int64_t>(std::llround(std::min(ms, 2147483647.0)));
}

int QuotaManager::owner(const Key& key, int shards) {
  if (shards <= 1) return 0;
  size_t h = std::hash<std::string>()(key.user) * 31 + std::hash<std::string>()(key.client_id);
  h = h * 31 + static_cast<size_t>(key.type);
  return static_cast<int>(h % static_cast<size_t>(shards));
}

int64_t QuotaManager::record(const Key& key, double quota, double value) {
  const int64_t now = clock_.monotonic_ms();
  // At most one scan per window, however many clients are active.
  if (rates_.size() >= kSensorsBeforeExpiry && now - last_expiry_ms_ >= w_.window_ms) {
    last_expiry_ms_ = now;
    expire(now);
  }
  auto it = rates_.try_emplace(key, w_).first;
  QuotaRate& r = it->second;
  r.record(value, now);
  const double rate = r.rate(now);
  return throttle_ms(rate, quota, r.window_size_ms(now));
}

int64_t QuotaManager::throttle_now(const Key& key, double quota) {
  auto it = rates_.find(key);
  if (it == rates_.end()) return 0;
  const int64_t now = clock_.monotonic_ms();
  return throttle_ms(it->second.rate(now), quota, it->second.window_size_ms(now));
}

void QuotaManager::unrecord(const Key& key, double value) {
  auto it = rates_.find(key);
  if (it != rates_.end()) it->second.record(-value, clock_.monotonic_ms());
}

void QuotaManager::expire(int64_t now_ms) {
  const int64_t idle = static_cast<int64_t>(w_.samples) * w_.window_ms;
  std::erase_if(rates_, [&](const auto& kv) { return now_ms - kv.second.last_record_ms() >= idle; });
}

}  // namespace samsa::server
