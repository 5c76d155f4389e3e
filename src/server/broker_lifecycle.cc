#include "server/broker_lifecycle.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace samsa::server {

const char* broker_state_name(BrokerState s) {
  switch (s) {
    case BrokerState::kNotRunning: return "NOT_RUNNING";
    case BrokerState::kStarting: return "STARTING";
    case BrokerState::kRecovery: return "RECOVERY";
    case BrokerState::kRunning: return "RUNNING";
    case BrokerState::kPendingControlledShutdown: return "PENDING_CONTROLLED_SHUTDOWN";
    case BrokerState::kShuttingDown: return "SHUTTING_DOWN";
  }
  return "UNKNOWN";
}

BrokerLifecycle::BrokerLifecycle(LifecycleConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), next_due_ms_(clock.monotonic_ms()) {}

std::optional<LifecycleRequest> BrokerLifecycle::poll(Offset metadata_offset) {
  if (in_flight_ || clock_.monotonic_ms() < next_due_ms_ || state() == BrokerState::kShuttingDown) return std::nullopt;
  in_flight_ = true;
  if (!registered()) {
    RegistrationRequest r;
    r.broker_id = config_.node_id;
    r.cluster_id = config_.cluster_id;
    r.incarnation_id = config_.incarnation_id;
    r.listeners = config_.listeners;
    r.rack = config_.rack;
    r.previous_broker_epoch = previous_epoch_;
    return r;
  }
  HeartbeatRequest h;
  h.broker_id = config_.node_id;
  h.broker_epoch = broker_epoch_;
  h.current_metadata_offset = metadata_offset;
  h.want_fence = !ready_to_unfence_;
  h.want_shutdown = shutdown_requested_;
  return h;
}

void BrokerLifecycle::on_registration_reply(const std::optional<RegistrationReply>& reply) {
  in_flight_ = false;
  if (!reply || reply->error != ErrorCode::NONE) {
    spdlog::info("broker registration failed ({}), retrying", reply ? error_name(reply->error) : "no controller answered");
    retry_later();
    return;
  }
  broker_epoch_ = reply->broker_epoch;
  spdlog::info("registered with the controller, broker epoch {}", broker_epoch_);
  schedule(0);  // the first heartbeat at once: it reports how far this broker has caught up
}

// The controller no longer knows this registration (it was replaced, or the
// controller lost it): register again, naming the old epoch.
void BrokerLifecycle::lose_registration() {
  previous_epoch_ = broker_epoch_;
  broker_epoch_ = -1;
  fenced_.store(true, std::memory_order_release);
  if (!shutdown_requested_) set_state(BrokerState::kStarting);
}

void BrokerLifecycle::on_heartbeat_reply(const std::optional<HeartbeatReply>& reply) {
  in_flight_ = false;
  if (!reply) {
    retry_later();
    return;
  }
  if (reply->error == ErrorCode::STALE_BROKER_EPOCH || reply->error == ErrorCode::BROKER_ID_NOT_REGISTERED) {
    spdlog::warn("the controller answered the heartbeat of broker epoch {} with {}: registering again", broker_epoch_,
                 error_name(reply->error));
    lose_registration();
    retry_later();
    return;
  }
  if (reply->error != ErrorCode::NONE) {
    retry_later();
    return;
  }
  bool was_fenced = fenced_.exchange(reply->is_fenced, std::memory_order_acq_rel);
  if (was_fenced != reply->is_fenced)
    spdlog::info("the controller {} this broker", reply->is_fenced ? "fenced" : "unfenced");
  // While fenced or shutting down, the next answer matters soon: ask again
  // within 100 ms (Kafka asks every 10 ms until caught up).
  const int64_t soon = std::min<int64_t>(config_.heartbeat_interval_ms, 10 * config_.catch_up_interval_ms);
  switch (state()) {
    case BrokerState::kStarting:
      if (!reply->is_caught_up) {
        schedule(config_.catch_up_interval_ms);
        return;
      }
      set_state(BrokerState::kRecovery);
      [[fallthrough]];
    case BrokerState::kRecovery:
      if (!reply->is_fenced) set_state(BrokerState::kRunning);
      schedule(reply->is_fenced ? soon : config_.heartbeat_interval_ms);
      return;
    case BrokerState::kRunning:
      schedule(reply->is_fenced ? soon : config_.heartbeat_interval_ms);
      return;
    case BrokerState::kPendingControlledShutdown:
      if (reply->should_shutdown) {
        spdlog::info("the controller completed this broker's controlled shutdown");
        set_state(BrokerState::kShuttingDown);
        return;
      }
      schedule(soon);
      return;
    case BrokerState::kNotRunning:
    case BrokerState::kShuttingDown:
      return;
  }
}

void BrokerLifecycle::begin_controlled_shutdown() {
  if (shutdown_requested_ || state() == BrokerState::kShuttingDown) return;
  if (!registered()) {  // nothing to hand over
    set_state(BrokerState::kShuttingDown);
    return;
  }
  shutdown_requested_ = true;
  shutdown_deadline_ms_ = clock_.monotonic_ms() + config_.controlled_shutdown_timeout_ms;
  set_state(BrokerState::kPendingControlledShutdown);
  schedule(0);
}

bool BrokerLifecycle::shutdown_may_proceed() const {
  if (state() == BrokerState::kShuttingDown) return true;
  return shutdown_requested_ && clock_.monotonic_ms() >= shutdown_deadline_ms_;
}

}  // namespace samsa::server
