#include "cluster/broker_heartbeats.h"

#include <limits>

namespace samsa::cluster {

BrokerState next_broker_state(BrokerState current, const HeartbeatAsk& ask) {
  switch (current) {
    case BrokerState::fenced:
      if (ask.want_shutdown) return BrokerState::shutdown_now;
      if (!ask.want_fence && ask.caught_up) return BrokerState::unfenced;
      return BrokerState::fenced;
    case BrokerState::unfenced:
      if (ask.want_fence) return ask.want_shutdown ? BrokerState::shutdown_now : BrokerState::fenced;
      if (ask.want_shutdown) return ask.has_leaderships ? BrokerState::controlled_shutdown : BrokerState::shutdown_now;
      return BrokerState::unfenced;
    case BrokerState::controlled_shutdown:
      if (ask.has_leaderships || !ask.others_caught_up) return BrokerState::controlled_shutdown;
      return BrokerState::shutdown_now;
    case BrokerState::shutdown_now:
      break;
  }
  return BrokerState::shutdown_now;
}

void BrokerHeartbeats::registered(int32_t id, int64_t epoch, int64_t register_offset, bool heard) {
  Session s;
  s.epoch = epoch;
  s.register_offset = register_offset;
  s.heard = heard;
  s.last_contact_ms = clock_.monotonic_ms();
  sessions_[id] = s;
}

void BrokerHeartbeats::sync(const MetadataImage& image) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (!image.brokers.count(it->first)) it = sessions_.erase(it);
    else ++it;
  }
  for (auto it = exempt_.begin(); it != exempt_.end();) {
    auto b = image.brokers.find(it->first);
    if (b == image.brokers.end() || b->second.epoch != it->second) it = exempt_.erase(it);
    else ++it;
  }
  for (auto& [id, b] : image.brokers) {
    auto it = sessions_.find(id);
    // The registration's offset is at least its epoch (see Controller::register_broker).
    if (it == sessions_.end() || it->second.epoch != b.epoch) registered(id, b.epoch, b.epoch, false);
  }
}

void BrokerHeartbeats::touch(int32_t id, int64_t epoch) {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.epoch != epoch) return;
  it->second.last_contact_ms = clock_.monotonic_ms();
  it->second.heard = true;
}

BrokerHeartbeats::Session* BrokerHeartbeats::find(int32_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

bool BrokerHeartbeats::is_exempt(int32_t id, int64_t epoch) const {
  auto it = exempt_.find(id);
  return it != exempt_.end() && it->second == epoch;
}

bool BrokerHeartbeats::alive(const BrokerInfo& b) const {
  if (is_exempt(b.id, b.epoch)) return true;
  auto it = sessions_.find(b.id);
  if (b.fenced || it == sessions_.end() || it->second.epoch != b.epoch) return false;
  return clock_.monotonic_ms() - it->second.last_contact_ms <= timeout_ms_;
}

std::vector<int32_t> BrokerHeartbeats::expired(const MetadataImage& image) const {
  std::vector<int32_t> out;
  const int64_t now = clock_.monotonic_ms();
  for (auto& [id, b] : image.brokers) {
    if (b.fenced || is_exempt(id, b.epoch)) continue;
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second.epoch != b.epoch) continue;  // sync() gives it a fresh one
    if (now - it->second.last_contact_ms > timeout_ms_) out.push_back(id);
  }
  return out;
}

int64_t BrokerHeartbeats::lowest_active_offset(const MetadataImage& image, int32_t except) const {
  int64_t lowest = std::numeric_limits<int64_t>::max();
  for (auto& [id, b] : image.brokers) {
    if (id == except || b.fenced || b.in_controlled_shutdown || is_exempt(id, b.epoch)) continue;
    auto it = sessions_.find(id);
    lowest = std::min(lowest, it == sessions_.end() ? -1 : it->second.metadata_offset);
  }
  return lowest;
}

}  // namespace samsa::cluster
