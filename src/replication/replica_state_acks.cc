#include "replication/replica_state_acks.h"

#include <limits>

namespace samsa::replication {

AckTicket AckWaitingRoom::add(Offset required, int64_t deadline_ms) {
  AckTicket t = next_ticket_++;
  if (by_ticket_.size() >= kMaxWaitingAcks) {
    completed_.push_back({t, ErrorCode::REQUEST_TIMED_OUT});
    return t;
  }
  by_ticket_.emplace(t, Waiter{required, deadline_ms});
  by_offset_.emplace(required, t);
  by_deadline_.emplace(deadline_ms, t);
  return t;
}

// Removes `t` from all three indexes and records its completion.
void AckWaitingRoom::finish(AckTicket t, ErrorCode error) {
  auto it = by_ticket_.find(t);
  if (it == by_ticket_.end()) return;
  auto erase_from = [t](auto& index, const auto& key) {
    auto [lo, hi] = index.equal_range(key);
    for (auto i = lo; i != hi; ++i) {
      if (i->second == t) {
        index.erase(i);
        return;
      }
    }
  };
  erase_from(by_offset_, it->second.required);
  erase_from(by_deadline_, it->second.deadline_ms);
  by_ticket_.erase(it);
  completed_.push_back({t, error});
}

void AckWaitingRoom::complete_up_to(Offset high_watermark, ErrorCode error) {
  while (!by_offset_.empty() && by_offset_.begin()->first <= high_watermark) {
    finish(by_offset_.begin()->second, error);
  }
}

void AckWaitingRoom::expire(int64_t now_ms) {
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now_ms) {
    finish(by_deadline_.begin()->second, ErrorCode::REQUEST_TIMED_OUT);
  }
}

void AckWaitingRoom::fail_all(ErrorCode error) {
  while (!by_offset_.empty()) finish(by_offset_.begin()->second, error);
}

std::vector<AckCompletion> AckWaitingRoom::take_completed() {
  std::vector<AckCompletion> out;
  out.swap(completed_);
  return out;
}

int64_t AckWaitingRoom::next_deadline_ms() const {
  return by_deadline_.empty() ? std::numeric_limits<int64_t>::max() : by_deadline_.begin()->first;
}

}  // namespace samsa::replication
