// The acks=all waiting room of one partition leader as data (Kafka's
// DelayedProduce purgatory for one partition): a produce registers the offset
// it needs committed (its last offset + 1) and a deadline, and gets a ticket.
// The owner (ReplicaState) completes tickets when the high watermark reaches
// them, when they time out, or when leadership is lost; completions queue up
// until the caller takes them, so the caller decides how to answer (promise,
// callback) and nothing here runs user code.
//
// Ownership: a member of its ReplicaState, on the partition's shard.
#pragma once
#include <map>
#include <unordered_map>
#include <vector>

#include "replication/replica_state_types.h"

namespace samsa::replication {

class AckWaitingRoom {
 public:
  // Registers a waiter. When kMaxWaitingAcks are already waiting it completes
  // at once with REQUEST_TIMED_OUT (it could not wait).
  AckTicket add(Offset required, int64_t deadline_ms);

  // Completes every waiter whose required offset is <= `high_watermark` with
  // `error` (NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is too small).
  void complete_up_to(Offset high_watermark, ErrorCode error);
  // Completes every waiter whose deadline is <= now with REQUEST_TIMED_OUT.
  void expire(int64_t now_ms);
  // Completes every waiter with `error` (leadership lost: NOT_LEADER_OR_FOLLOWER).
  void fail_all(ErrorCode error);

  // The completions since the last call, in completion order.
  std::vector<AckCompletion> take_completed();
  size_t waiting() const { return by_ticket_.size(); }
  // The earliest deadline among waiters (INT64_MAX when none): the caller's next timer.
  int64_t next_deadline_ms() const;

 private:
  struct Waiter {
    Offset required;
    int64_t deadline_ms;
  };
  void finish(AckTicket t, ErrorCode error);

  AckTicket next_ticket_ = 1;
  std::unordered_map<AckTicket, Waiter> by_ticket_;
  std::multimap<Offset, AckTicket> by_offset_;
  std::multimap<int64_t, AckTicket> by_deadline_;
  std::vector<AckCompletion> completed_;
};

}  // namespace samsa::replication
