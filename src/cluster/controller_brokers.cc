// The Controller's broker operations: registration, heartbeats, session
// expiry, unregistration (KIP-631; Kafka's ClusterControlManager and
// ReplicationControlManager as facts). See controller.h.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "cluster/controller.h"
#include "cluster/partition_changes.h"

namespace samsa::cluster {

namespace {

using Turn = OpQueue::Turn;

constexpr const char* kMetadataVersionFeature = "metadata.version";

BrokerRegistrationChangeRecord registration_change(int32_t id, int64_t epoch) {
  BrokerRegistrationChangeRecord c;
  c.broker_id = id;
  c.broker_epoch = epoch;
  c.fenced = 0;
  c.in_controlled_shutdown = 0;
  return c;
}

// A registration that changes nothing: the same process asking again (its
// answer was lost), answered with the epoch it already has.
bool same_registration(const BrokerInfo& b, const BrokerRegistration& reg) {
  return b.incarnation_id == reg.incarnation_id && b.endpoints == reg.listeners && b.features == reg.features &&
         b.rack == reg.rack;
}

BrokerState state_of(const BrokerInfo& b) {
  if (b.fenced) return BrokerState::fenced;
  return b.in_controlled_shutdown ? BrokerState::controlled_shutdown : BrokerState::unfenced;
}

}  // namespace

std::optional<RegistrationResult> Controller::registration_error(const BrokerRegistration& reg) const {
  if (reg.id.value < 0)
    return RegistrationResult{ErrorCode::INVALID_REQUEST, "Invalid broker id " + std::to_string(reg.id.value), -1};
  if (!image_->cluster_id.empty() && reg.cluster_id != image_->cluster_id)
    return RegistrationResult{ErrorCode::INCONSISTENT_CLUSTER_ID,
                              "Expected cluster ID " + image_->cluster_id + ", but got cluster ID " + reg.cluster_id,
                              -1};
  // Each feature the broker names must support its finalized level; a broker
  // that does not name metadata.version supports only its first KRaft level (1).
  auto unsupported = [&](const BrokerFeatureRange& f) -> std::optional<RegistrationResult> {
    auto level = image_->features.find(f.name);
    if (level == image_->features.end() || (level->second >= f.min_supported && level->second <= f.max_supported))
      return std::nullopt;
    return RegistrationResult{ErrorCode::UNSUPPORTED_VERSION,
                              "Unable to register because the broker does not support version " +
                                  std::to_string(level->second) + " of " + f.name + ". It wants a version between " +
                                  std::to_string(f.min_supported) + " and " + std::to_string(f.max_supported) +
                                  ", inclusive.",
                              -1};
  };
  bool names_metadata_version = false;
  for (auto& f : reg.features) {
    if (auto err = unsupported(f)) return err;
    names_metadata_version |= f.name == kMetadataVersionFeature;
  }
  if (!names_metadata_version)
    if (auto err = unsupported({kMetadataVersionFeature, 1, 1})) return err;
  auto it = image_->brokers.find(reg.id.value);
  if (it == image_->brokers.end()) return std::nullopt;
  const BrokerInfo& old = it->second;
  // Another process holds the id while its session is valid. Not so for this
  // node's own id when this controller never heard from that registration:
  // it belonged to an earlier process of this node (restarted after a crash),
  // which would otherwise block the restart for a whole session timeout.
  auto* session = heartbeats_.find(old.id);
  const bool earlier_self = old.id == settings_.node_id && (!session || !session->heard) &&
                            !heartbeats_.is_exempt(old.id, old.epoch);
  if (old.incarnation_id != reg.incarnation_id && heartbeats_.alive(old) && !earlier_self)
    return RegistrationResult{ErrorCode::DUPLICATE_BROKER_REGISTRATION,
                              "Another broker is registered with that broker id.", -1};
  return std::nullopt;
}

void Controller::fence_records(const std::vector<int32_t>& leaving, std::vector<MetadataRecord>& recs) const {
  move_away_from(*image_, leaving, election_rules(leaving), recs);
  for (auto id : leaving) {
    auto c = registration_change(id, image_->brokers.at(id).epoch);
    c.fenced = 1;
    recs.push_back(c);
  }
}

asio::awaitable<RegistrationResult> Controller::register_broker(BrokerRegistration reg) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  if (!log_.is_leader()) co_return RegistrationResult{ErrorCode::NOT_CONTROLLER, kNotControllerMessage, -1};
  heartbeats_.sync(*image_);
  if (auto err = registration_error(reg)) co_return *err;
  const int32_t id = reg.id.value;
  std::vector<MetadataRecord> recs;
  if (auto it = image_->brokers.find(id); it != image_->brokers.end()) {
    if (same_registration(it->second, reg)) co_return RegistrationResult{ErrorCode::NONE, {}, it->second.epoch};
    // The new registration starts fenced: the old one's leaderships move first.
    if (!it->second.fenced) move_away_from(*image_, {id}, election_rules({id}), recs);
  }
  RegisterBrokerRecord rec;
  rec.broker_id = id;
  rec.incarnation_id = reg.incarnation_id;
  // Kafka's broker epoch is the offset of the registration record; were a
  // control batch to sit between, the epoch would still exceed every earlier
  // epoch of this broker.
  const int64_t epoch = next_record_offset(recs.size());
  rec.broker_epoch = epoch;
  for (auto& l : reg.listeners) {
    auto& ep = rec.end_points.emplace_back();
    ep.name = l.name;
    ep.host = l.host;
    ep.port = static_cast<uint16_t>(l.port);
    ep.security_protocol = l.security_protocol;
  }
  for (auto& f : reg.features) {
    auto& bf = rec.features.emplace_back();
    bf.name = f.name;
    bf.min_supported_version = f.min_supported;
    bf.max_supported_version = f.max_supported;
  }
  rec.rack = reg.rack;
  rec.fenced = true;  // until its heartbeat says it caught up with this record
  recs.push_back(std::move(rec));
  int64_t last = -1;
  auto op = commit(std::move(recs), &last);
  auto committed = co_await std::move(op);
  if (committed.error != ErrorCode::NONE) co_return RegistrationResult{committed.error, committed.message, -1};
  heartbeats_.registered(id, epoch, std::max(last, epoch));  // the record is the batch's last
  spdlog::info("controller: broker {} registered with epoch {} (fenced until caught up)", id, epoch);
  co_return RegistrationResult{ErrorCode::NONE, {}, epoch};
}

asio::awaitable<HeartbeatResult> Controller::heartbeat(BrokerHeartbeat hb) {
  const int32_t id = hb.id.value;
  // Time spent waiting for the turn does not count against the session.
  heartbeats_.touch(id, hb.broker_epoch);
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  HeartbeatResult out;
  if (!log_.is_leader()) {
    out.error = ErrorCode::NOT_CONTROLLER;
    out.message = kNotControllerMessage;
    co_return out;
  }
  heartbeats_.sync(*image_);
  auto it = image_->brokers.find(id);
  if (it == image_->brokers.end() || it->second.epoch != hb.broker_epoch) {
    out.error = ErrorCode::STALE_BROKER_EPOCH;
    out.message = it == image_->brokers.end() ? "No broker registration found for broker id " + std::to_string(id)
                                              : "Expected broker epoch " + std::to_string(it->second.epoch) +
                                                    ", but got broker epoch " + std::to_string(hb.broker_epoch);
    co_return out;
  }
  const BrokerInfo broker = it->second;
  heartbeats_.touch(id, broker.epoch);
  auto* session = heartbeats_.find(id);
  session->metadata_offset = hb.metadata_offset;
  const BrokerState current = state_of(broker);
  HeartbeatAsk ask;
  ask.want_fence = hb.want_fence;
  ask.want_shutdown = hb.want_shutdown;
  ask.caught_up = hb.metadata_offset >= session->register_offset;
  // Only a broker that is stopping asks whether it still leads (a scan).
  if (current == BrokerState::controlled_shutdown || (current == BrokerState::unfenced && hb.want_shutdown))
    ask.has_leaderships = leads_any(*image_, id);
  if (current == BrokerState::controlled_shutdown)
    ask.others_caught_up = session->shutdown_moves_offset >= 0 &&
                           heartbeats_.lowest_active_offset(*image_, id) >= session->shutdown_moves_offset;
  const BrokerState next = next_broker_state(current, ask);
  std::vector<MetadataRecord> recs;
  if (next != current) {
    switch (next) {
      case BrokerState::fenced:
      case BrokerState::shutdown_now:
        if (!broker.fenced) fence_records({id}, recs);
        break;
      case BrokerState::unfenced: {
        auto c = registration_change(id, broker.epoch);
        c.fenced = -1;
        recs.push_back(c);
        elect_leaderless(*image_, election_rules({}, id), recs);
        break;
      }
      case BrokerState::controlled_shutdown: {
        auto c = registration_change(id, broker.epoch);
        c.in_controlled_shutdown = 1;
        recs.push_back(c);
        move_away_from(*image_, {id}, election_rules({id}), recs);
        break;
      }
    }
  }
  if (!recs.empty()) {
    int64_t last = -1;
    auto op = commit(std::move(recs), &last);
    auto committed = co_await std::move(op);
    if (committed.error != ErrorCode::NONE) {
      out.error = committed.error;
      out.message = committed.message;
      co_return out;
    }
    spdlog::info("controller: broker {} is now {}", id,
                 next == BrokerState::unfenced              ? "unfenced"
                 : next == BrokerState::controlled_shutdown ? "in controlled shutdown"
                                                            : "fenced");
    // The session may be gone meanwhile (a new term cleared the sessions).
    if (auto* s = heartbeats_.find(id); s && next == BrokerState::controlled_shutdown) s->shutdown_moves_offset = last;
  }
  out.is_caught_up = ask.caught_up;
  out.is_fenced = next == BrokerState::fenced || next == BrokerState::shutdown_now;
  out.should_shutdown = next == BrokerState::shutdown_now;
  co_return out;
}

asio::awaitable<OpResult> Controller::unregister_broker(NodeId id) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  if (!log_.is_leader()) co_return OpResult{ErrorCode::NOT_CONTROLLER, kNotControllerMessage, {}};
  auto it = image_->brokers.find(id.value);
  if (it == image_->brokers.end())
    co_return OpResult{ErrorCode::BROKER_ID_NOT_REGISTERED,
                       "Broker ID " + std::to_string(id.value) + " is not currently registered", {}};
  std::vector<MetadataRecord> recs;
  move_away_from(*image_, {id.value}, election_rules({id.value}), recs);
  UnregisterBrokerRecord rec;
  rec.broker_id = id.value;
  rec.broker_epoch = it->second.epoch;
  recs.push_back(rec);
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  if (committed.error == ErrorCode::NONE) {
    heartbeats_.remove(id.value);
    spdlog::info("controller: broker {} unregistered", id.value);
  }
  co_return committed;
}

asio::awaitable<int> Controller::fence_expired_brokers() {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  if (!log_.is_leader()) co_return 0;
  heartbeats_.sync(*image_);
  auto expired = heartbeats_.expired(*image_);
  if (expired.empty()) co_return 0;
  std::vector<MetadataRecord> recs;
  fence_records(expired, recs);
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  if (committed.error != ErrorCode::NONE) co_return 0;
  for (auto id : expired)
    spdlog::warn("controller: broker {} fenced: no heartbeat for {} ms (broker.session.timeout.ms)", id,
                 heartbeats_.session_timeout_ms());
  co_return static_cast<int>(expired.size());
}

asio::awaitable<int> Controller::session_tick() {
  auto fence = fence_expired_brokers();
  int fenced = co_await std::move(fence);
  if (!settings_.auto_leader_rebalance) co_return fenced;
  const int64_t now = clock_.monotonic_ms();
  if (next_balance_ms_ < 0) next_balance_ms_ = now + settings_.leader_imbalance_check_interval_ms;
  if (now < next_balance_ms_) co_return fenced;
  next_balance_ms_ = now + settings_.leader_imbalance_check_interval_ms;
  auto balance = balance_leaders();
  co_await std::move(balance);
  co_return fenced;
}

void Controller::start_session_checks(asio::any_io_executor ex, std::chrono::milliseconds interval) {
  session_check_interval_ = interval;
  session_timer_ = std::make_unique<asio::steady_timer>(ex);
  schedule_session_check();
}

void Controller::stop_session_checks() { session_timer_.reset(); }

void Controller::schedule_session_check() {
  if (!session_timer_) return;
  session_timer_->expires_after(session_check_interval_);
  session_timer_->async_wait([this](const asio::error_code& ec) {
    if (ec || !session_timer_) return;  // stopped: the controller may be gone
    asio::co_spawn(session_timer_->get_executor(), session_tick(),
                   [this](std::exception_ptr, int) { schedule_session_check(); });
  });
}

}  // namespace samsa::cluster
