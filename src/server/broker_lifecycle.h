// The broker's side of its membership in a cluster (Kafka's
// BrokerLifecycleManager, KIP-631): it registers with the active controller
// (BrokerRegistration: node id, a fresh incarnation id per process, cluster id,
// endpoints, rack), then heartbeats every broker.heartbeat.interval.ms with the
// offset its metadata loader last applied. It stays fenced until the
// controller says otherwise: STARTING (not registered, or registered and not
// yet caught up), RECOVERY (caught up, still fenced), RUNNING (unfenced). On
// SIGTERM it asks for a controlled shutdown (heartbeats with want_shutdown)
// until the controller answers should_shutdown, bounded by a timeout.
//
// BrokerLifecycle is the state machine only: it is fed the controller's
// answers and the time and says what to send next (no I/O, no threads), so it
// is unit-tested with a ManualClock. LifecycleDriver (lifecycle_driver.h) runs
// it over a cluster::ControllerChannel.
//
// Threads: owned by shard 0 (the driver runs there). state() and fenced() are
// also read by other threads (Metadata handlers, /v1/health/ready): atomic.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/error_code.h"
#include "base/types.h"
#include "protocol/wire.h"

namespace samsa::server {

// Kafka's BrokerState values (metadata's BrokerState enum) for the states a
// live broker goes through.
enum class BrokerState : int8_t {
  kNotRunning = 0,
  kStarting = 1,
  kRecovery = 2,
  kRunning = 3,
  kPendingControlledShutdown = 6,
  kShuttingDown = 7,
};
const char* broker_state_name(BrokerState s);

struct ListenerAddress {
  std::string name;  // listener name
  std::string host;
  int32_t port = 0;
  int16_t security_protocol = 0;  // Kafka's ids: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL
};

struct RegistrationRequest {
  NodeId broker_id{-1};
  std::string cluster_id;
  protocol::Uuid incarnation_id{};
  std::vector<ListenerAddress> listeners;
  std::optional<std::string> rack;
  int64_t previous_broker_epoch = -1;  // the epoch of this process's earlier registration
};
struct RegistrationReply {
  ErrorCode error = ErrorCode::NONE;
  int64_t broker_epoch = -1;
};

struct HeartbeatRequest {
  NodeId broker_id{-1};
  int64_t broker_epoch = -1;
  Offset current_metadata_offset{-1};
  bool want_fence = false;
  bool want_shutdown = false;
};
struct HeartbeatReply {
  ErrorCode error = ErrorCode::NONE;
  bool is_caught_up = false;
  bool is_fenced = true;
  bool should_shutdown = false;
};

using LifecycleRequest = std::variant<RegistrationRequest, HeartbeatRequest>;

struct LifecycleConfig {
  NodeId node_id{1};
  std::string cluster_id;
  protocol::Uuid incarnation_id{};  // fresh per process (drawn by the broker)
  std::vector<ListenerAddress> listeners;
  std::optional<std::string> rack;
  int64_t heartbeat_interval_ms = 2000;  // broker.heartbeat.interval.ms
  // Bound of a controlled shutdown (Kafka waits on the controller; past
  // broker.session.timeout.ms the controller fences this broker anyway).
  int64_t controlled_shutdown_timeout_ms = 9000;
  // After a failed request (no answer, NOT_CONTROLLER, ...): retry after this.
  int64_t retry_backoff_ms = 100;
  // While not caught up, heartbeats go out this often (Kafka: 10 ms).
  int64_t catch_up_interval_ms = 10;
};

class BrokerLifecycle {
 public:
  BrokerLifecycle(LifecycleConfig config, const Clock& clock);

  // The request due now (nullopt: nothing is due, or one is in flight). The
  // caller sends it and reports the answer with on_*_reply (nullopt: none came).
  std::optional<LifecycleRequest> poll(Offset metadata_offset);
  // When poll() may next return a request (ms on the monotonic clock).
  int64_t next_due_ms() const { return next_due_ms_; }
  void on_registration_reply(const std::optional<RegistrationReply>& reply);
  void on_heartbeat_reply(const std::optional<HeartbeatReply>& reply);

  // The broker's own metadata is loaded: from now on heartbeats stop asking to
  // stay fenced (Kafka's readyToUnfence).
  void set_ready_to_unfence() { ready_to_unfence_ = true; }
  // SIGTERM: ask the controller to move this broker's leaderships away.
  void begin_controlled_shutdown();
  // The controller allowed it, or the timeout passed: partitions may close.
  bool shutdown_may_proceed() const;

  BrokerState state() const { return state_.load(std::memory_order_acquire); }
  bool registered() const { return broker_epoch_ >= 0; }
  bool fenced() const { return fenced_.load(std::memory_order_acquire); }  // any thread
  int64_t broker_epoch() const { return broker_epoch_; }

 private:
  void set_state(BrokerState s) { state_.store(s, std::memory_order_release); }
  void schedule(int64_t delay_ms) { next_due_ms_ = clock_.monotonic_ms() + delay_ms; }
  void retry_later() { schedule(config_.retry_backoff_ms); }
  void lose_registration();

  LifecycleConfig config_;
  const Clock& clock_;
  std::atomic<BrokerState> state_{BrokerState::kStarting};
  std::atomic<bool> fenced_{true};
  int64_t broker_epoch_ = -1;
  int64_t previous_epoch_ = -1;
  bool in_flight_ = false;
  bool ready_to_unfence_ = false;
  bool shutdown_requested_ = false;
  int64_t shutdown_deadline_ms_ = 0;
  int64_t next_due_ms_ = 0;
};

}  // namespace samsa::server
