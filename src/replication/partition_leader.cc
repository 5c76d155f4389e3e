// The leader side of a partition's replication: the replica state machine
// (replica_state.h) fed with the partition's registration, its appends and its
// followers' fetches, and what follows from it — the high watermark consumers
// see, the acks=all waiters, the ISR proposals to the controller.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "replication/partition.h"

namespace samsa::replication {

namespace {

std::string node_list(const std::vector<NodeId>& ids) {
  std::string out;
  for (NodeId id : ids) out += (out.empty() ? "" : ",") + std::to_string(id.value);
  return out;
}

}  // namespace

// One acks=all produce waiting on its ticket; the timer is its wake-up (cancelled
// when the ticket completes, else it fires at the deadline).
struct Partition::AckWaiter {
  explicit AckWaiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  ErrorCode error = ErrorCode::REQUEST_TIMED_OUT;
  bool done = false;
  void finish(ErrorCode e) {
    if (done) return;
    error = e;
    done = true;
    timer.cancel();
  }
};

bool Partition::apply_registration(const LeaderAndIsr& r, const ReplicaConfig& cfg, NodeId local,
                                   int64_t local_broker_epoch) {
  on_owner();
  // The log already holds batches of a later leader epoch: this registration
  // is history (an image published before the node caught up), and leading or
  // following in it would write a stale epoch into the epoch cache.
  if (const Epoch logged = latest_log_epoch(); r.leader_epoch < logged) {
    spdlog::warn("{}: ignoring the registration at leader epoch {} (leader {}): the log is already at epoch {}",
                 tp_.to_string(), r.leader_epoch.value, r.leader.value, logged.value);
    return false;
  }
  if (!state_) {
    // Kafka's HW at start-up: the checkpointed one (a replicated leader then
    // recomputes it from its ISR); none checkpointed: the log start, so a
    // replica never shows what its ISR may not have.
    int64_t recovered = log_->recovered_high_watermark();
    Offset hw(recovered >= 0 ? recovered : log_->log_start_offset());
    state_ = std::make_unique<ReplicaState>(local, local_broker_epoch, cfg, hw);
    high_watermark_ = std::min(hw, log_end_offset());
  }
  state_->set_config(cfg);
  const Epoch before = leader_epoch_;
  const bool was_leader = role_ == Role::kLeader;
  if (!state_->apply(r, log_end_offset(), mono_now())) return false;
  const bool leads = state_->is_leader();
  if (leads && (r.leader_epoch > before || !was_leader)) log_->assign_epoch_start(r.leader_epoch.value);
  set_role(leads ? Role::kLeader : Role::kFollower, std::max(r.leader_epoch, before));
  // A registration may lower the HW only to the log end (a follower whose log
  // is shorter than its checkpoint); the state machine decides the rest.
  high_watermark_ = std::min(high_watermark_, log_end_offset());
  sync_from_state();
  if (r.leader_epoch != before || leads != was_leader) {
    // Kafka logs each leadership change of a replica the same way: what the
    // log held when it began is what a later divergence is measured against.
    spdlog::info("{}: {} at leader epoch {} (partition epoch {}) with log end {}, high watermark {}, ISR [{}]",
                 tp_.to_string(), leads ? "leader" : "follower of broker " + std::to_string(r.leader.value),
                 r.leader_epoch.value, r.partition_epoch.value, log_end_offset().value, high_watermark_.value,
                 node_list(state_->isr()));
  }
  return true;
}

void Partition::set_replica_eligible(NodeId replica, bool eligible) {
  on_owner();
  if (state_) state_->set_replica_eligible(replica, eligible);
}

ErrorCode Partition::check_append(int16_t acks) const {
  on_owner();
  return state_ ? state_->check_append(acks) : ErrorCode::NONE;
}

void Partition::on_follower_fetch(const FollowerFetch& fetch) {
  on_owner();
  if (state_ && state_->is_leader()) {
    auto up = state_->on_follower_fetch(ReplicaFetch{fetch.replica, fetch.broker_epoch, fetch.fetch_offset, mono_now(), fetch.log_start_offset});
    if (up.error == ErrorCode::NONE) {
      sync_from_state();
      send_proposal(up.proposal);
    }
  }
  if (follower_fetch_listener_) follower_fetch_listener_(fetch);
}

void Partition::tick() {
  on_owner();
  if (!state_ || !state_->is_leader()) return;
  const int64_t now = mono_now();
  state_->expire_acks(now);
  deliver_acks();
  send_proposal(state_->maybe_shrink_isr(now));
  // A lost AlterPartition answer: the same proposal again (the controller
  // answers a repeat of what it applied with its current state).
  const auto& pending = state_->pending();
  const int64_t resend_after = std::max<int64_t>(state_->config().replica_lag_time_max_ms / 2, 1000);
  if (pending && isr_sink_ && now - proposal_sent_ms_ >= resend_after) {
    proposal_sent_ms_ = now;
    isr_sink_(*this, *pending);
  }
}

void Partition::on_isr_answer(const IsrAnswer& answer) {
  on_owner();
  if (!state_) return;
  if (answer.error != ErrorCode::NONE)
    spdlog::info("{}: AlterPartition answered {}", tp_.to_string(), error_name(answer.error));
  if (!state_->on_isr_answer(answer, mono_now())) return;
  sync_from_state();
  if (answer.error == ErrorCode::NONE)
    spdlog::info("{}: ISR [{}] at partition epoch {} (high watermark {})", tp_.to_string(), node_list(state_->isr()),
                 state_->partition_epoch().value, high_watermark_.value);
}

void Partition::send_proposal(const std::optional<IsrProposal>& proposal) {
  if (!proposal || !isr_sink_) return;
  proposal_sent_ms_ = mono_now();
  std::vector<NodeId> isr;
  for (auto& m : proposal->new_isr) isr.push_back(m.id);
  spdlog::info("{}: proposing ISR [{}] ({}) at leader epoch {}", tp_.to_string(), node_list(isr),
               proposal->expand ? "expand" : "shrink", proposal->leader_epoch.value);
  isr_sink_(*this, *proposal);
}

void Partition::sync_from_state() {
  const Offset hw = std::min(state_->high_watermark(), log_end_offset());
  if (hw > high_watermark_) {
    high_watermark_ = hw;
    // What was appended while the HW lagged is now visible to consumers: an
    // upper bound of it wakes the fetches waiting here (a fetch woken early
    // reads again and waits on).
    if (!fetch_waiters_.empty() && bytes_above_hw_ > 0)
      fetch_waiters_.on_append(bytes_above_hw_, last_stable_offset().value);
    if (hw == log_end_offset()) bytes_above_hw_ = 0;
  } else if (hw < high_watermark_) {
    high_watermark_ = hw;  // only by a truncation below it
  }
  log_->set_high_watermark_snapshot(high_watermark_.value);
  deliver_acks();
}

void Partition::deliver_acks() {
  if (!state_) return;
  for (const auto& c : state_->take_ack_completions()) {
    auto it = ack_waiters_.find(c.ticket);
    if (it == ack_waiters_.end()) continue;
    it->second->finish(c.error);
    ack_waiters_.erase(it);
  }
}

void Partition::fail_ack_waiters() {
  for (auto& [ticket, waiter] : ack_waiters_) waiter->finish(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  ack_waiters_.clear();
}

asio::awaitable<ErrorCode> Partition::wait_for_isr(Offset required, int64_t timeout_ms) {
  on_owner();
  if (!state_) co_return ErrorCode::NONE;  // no registration: one node, the append is the commit
  const int64_t deadline = mono_now() + std::max<int64_t>(timeout_ms, 0);
  const AckTicket ticket = state_->wait_for_ack(required, deadline);
  auto waiter = std::make_shared<AckWaiter>(co_await asio::this_coro::executor);
  ack_waiters_[ticket] = waiter;
  deliver_acks();  // the HW may be there already
  if (!waiter->done) {
    auto alive = alive_token();
    waiter->timer.expires_after(std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)));
    asio::error_code ec;
    co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!waiter->done && !alive.expired()) {
      state_->expire_acks(std::max(deadline, mono_now()));
      deliver_acks();
    }
    if (!waiter->done) waiter->finish(alive.expired() ? ErrorCode::NOT_LEADER_OR_FOLLOWER : ErrorCode::REQUEST_TIMED_OUT);
  }
  co_return waiter->error;
}

}  // namespace samsa::replication
