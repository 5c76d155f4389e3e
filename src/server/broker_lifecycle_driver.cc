// Runs this broker's BrokerLifecycle (broker_lifecycle.h) over the controller
// channel: BrokerRegistration (62) and BrokerHeartbeat (63) requests to the
// active controller, their answers fed back, the metadata offset the loader
// last applied reported in every heartbeat. Controlled shutdown is driven from
// Broker::shutdown (the main thread), which waits for the state machine.
//
// Threads: the loop, the state machine and the channel run on shard 0.
#include <spdlog/spdlog.h>

#include <thread>

#include "base/random.h"

#include "protocol/api_registry.h"
#include "protocol/messages/broker_heartbeat.h"
#include "protocol/messages/broker_registration.h"
#include "server/broker.h"
#include "server/broker_lifecycle.h"

namespace samsa::server {

namespace {

constexpr int16_t kRegistrationVersion = 3;  // previous_broker_epoch (KIP-966)
constexpr int16_t kHeartbeatVersion = 0;

protocol::Bytes encode_registration(const RegistrationRequest& r) {
  protocol::BrokerRegistrationRequest req;
  req.broker_id = r.broker_id.value;
  req.cluster_id = r.cluster_id;
  req.incarnation_id = r.incarnation_id;
  for (auto& l : r.listeners) {
    auto& out = req.listeners.emplace_back();
    out.name = l.name;
    out.host = l.host;
    out.port = static_cast<uint16_t>(l.port);
    out.security_protocol = l.security_protocol;
  }
  req.rack = r.rack;
  req.previous_broker_epoch = r.previous_broker_epoch;
  protocol::Writer w;
  req.encode(w, kRegistrationVersion);
  return std::move(w.buffer());
}

std::optional<RegistrationReply> decode_registration(std::span<const uint8_t> body) {
  protocol::Reader r(body.data(), body.size());
  protocol::BrokerRegistrationResponse resp;
  resp.decode(r, kRegistrationVersion);
  if (!r.ok()) return std::nullopt;
  return RegistrationReply{static_cast<ErrorCode>(resp.error_code), resp.broker_epoch};
}

protocol::Bytes encode_heartbeat(const HeartbeatRequest& h) {
  protocol::BrokerHeartbeatRequest req;
  req.broker_id = h.broker_id.value;
  req.broker_epoch = h.broker_epoch;
  req.current_metadata_offset = h.current_metadata_offset.value;
  req.want_fence = h.want_fence;
  req.want_shut_down = h.want_shutdown;
  protocol::Writer w;
  req.encode(w, kHeartbeatVersion);
  return std::move(w.buffer());
}

std::optional<HeartbeatReply> decode_heartbeat(std::span<const uint8_t> body) {
  protocol::Reader r(body.data(), body.size());
  protocol::BrokerHeartbeatResponse resp;
  resp.decode(r, kHeartbeatVersion);
  if (!r.ok()) return std::nullopt;
  return HeartbeatReply{static_cast<ErrorCode>(resp.error_code), resp.is_caught_up, resp.is_fenced,
                        resp.should_shut_down};
}

}  // namespace

// This broker's endpoints as it registers them: each client listener with its
// advertised address (a CONTROLLER listener is not among settings_.listeners).
std::vector<ListenerAddress> Broker::registered_listeners() const {
  std::vector<ListenerAddress> out;
  auto is_controller = [this](const std::string& name) {
    if (!settings_.config) return false;
    for (auto& n : settings_.config->controller_listener_names())
      if (n == name) return true;
    return false;
  };
  for (auto& l : settings_.listeners) {
    if (is_controller(l.name)) continue;  // brokers are not reached there
    ListenerAddress a;
    a.name = l.name;
    a.host = !l.advertised_host.empty() ? l.advertised_host
             : l.host.empty() || l.host == "0.0.0.0" || l.host == "::" ? "localhost"
                                                                        : l.host;
    a.port = l.advertised_port != 0 ? l.advertised_port : l.port;
    if (a.port == 0) a.port = bound_port_;
    const auto& p = l.security_protocol;
    a.security_protocol = p == "SSL" ? 1 : p == "SASL_PLAINTEXT" ? 2 : p == "SASL_SSL" ? 3 : 0;
    out.push_back(std::move(a));
  }
  return out;
}

// After the listeners are bound (the endpoints carry their ports): registers
// and heartbeats from shard 0. Only in a cluster: a node without a quorum
// registered its broker directly when it loaded its metadata (unfenced, no
// session, as before clusters existed) and has nobody to heartbeat to. In a
// cluster start-up does not wait for the quorum (/v1/health/ready and this
// broker's presence in Metadata tell when it is unfenced).
void Broker::start_lifecycle() {
  if (single_node_) return;
  LifecycleConfig c;
  c.node_id = NodeId(settings_.node_id);
  c.cluster_id = cluster_id_;
  auto& rng = unique_ids();  // a fresh incarnation per process
  for (size_t i = 0; i < c.incarnation_id.size(); i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8; ++j) c.incarnation_id[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  c.listeners = registered_listeners();
  c.rack = settings_.rack;
  c.heartbeat_interval_ms = settings_.heartbeat_interval_ms;
  c.controlled_shutdown_timeout_ms = settings_.controlled_shutdown_timeout_ms;
  lifecycle_ = std::make_unique<BrokerLifecycle>(std::move(c), clock_);
  lifecycle_->set_ready_to_unfence();  // logs recovered and the metadata replayed before this
  invoke_on_blocking(shards_[0]->io, [this] {
    lifecycle_timer_ = std::make_unique<asio::steady_timer>(shards_[0]->io);
    asio::co_spawn(shards_[0]->io, run_lifecycle(), asio::detached);
  });
}

asio::awaitable<void> Broker::run_lifecycle() {
  auto& lc = *lifecycle_;
  const auto call_timeout = std::chrono::milliseconds(std::max<int64_t>(1000, 2 * settings_.heartbeat_interval_ms));
  while (!lifecycle_stop_) {
    auto due = lc.poll(Offset(loader_->image()->last_offset));
    if (!due) {
      int64_t wait = std::clamp<int64_t>(lc.next_due_ms() - clock_.monotonic_ms(), 1, 1000);
      lifecycle_timer_->expires_after(std::chrono::milliseconds(wait));
      asio::error_code ec;
      co_await lifecycle_timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (auto* reg = std::get_if<RegistrationRequest>(&*due)) {
      protocol::Bytes body = encode_registration(*reg);
      auto op = channel_->call(protocol::api_key::BrokerRegistration, kRegistrationVersion, body, call_timeout);
      auto resp = co_await std::move(op);
      lc.on_registration_reply(resp.ok ? decode_registration(resp.body) : std::nullopt);
    } else {
      protocol::Bytes body = encode_heartbeat(std::get<HeartbeatRequest>(*due));
      auto op = channel_->call(protocol::api_key::BrokerHeartbeat, kHeartbeatVersion, body, call_timeout);
      auto resp = co_await std::move(op);
      lc.on_heartbeat_reply(resp.ok ? decode_heartbeat(resp.body) : std::nullopt);
    }
  }
}

// Shard 0: wakes the loop (a controlled shutdown was asked for, or it stops).
void Broker::wake_lifecycle() {
  if (lifecycle_timer_) lifecycle_timer_->cancel();
}

int64_t Broker::broker_epoch() const { return lifecycle_ ? lifecycle_->broker_epoch() : -1; }

bool Broker::fenced() const { return lifecycle_ && lifecycle_->fenced(); }

BrokerState Broker::broker_state() const {
  if (stopping_) return BrokerState::kShuttingDown;
  if (!started()) return BrokerState::kStarting;
  return lifecycle_ ? lifecycle_->state() : BrokerState::kRunning;
}

// Main thread, at the start of shutdown: in a cluster, asks the controller to
// move this broker's leaderships away and waits until it agrees or the bound
// passes. Clients are still served meanwhile. On one node there is nobody to
// hand over to: nothing is asked.
void Broker::controlled_shutdown() {
  if (!lifecycle_ || single_node_) return;
  invoke_on_blocking(shards_[0]->io, [this] {
    lifecycle_->begin_controlled_shutdown();
    wake_lifecycle();
  });
  spdlog::info("controlled shutdown: waiting for the controller to move this broker's leaderships");
  // Bounded by the state machine's timeout (on clock_); the count bounds it
  // should that clock not move.
  const int64_t max_polls = settings_.controlled_shutdown_timeout_ms / 10 + 100;
  for (int64_t i = 0; i < max_polls; ++i) {
    bool done = false;
    invoke_on_blocking(shards_[0]->io, [this, &done] { done = lifecycle_->shutdown_may_proceed(); });
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Broker::stop_lifecycle() {
  if (!lifecycle_) return;
  invoke_on_blocking(shards_[0]->io, [this] {
    lifecycle_stop_ = true;
    wake_lifecycle();
  });
}

}  // namespace samsa::server
