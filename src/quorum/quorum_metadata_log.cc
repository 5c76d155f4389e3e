#include "quorum/quorum_metadata_log.h"

#include <spdlog/spdlog.h>

#include "protocol/record_batch.h"
#include "raft/file_snapshot_store.h"
#include "raft/raft_wire.h"

namespace samsa::quorum {

namespace {

constexpr size_t kDeliverBatch = 256;        // committed batches handed to the listener per read
constexpr int64_t kMaxTickWaitMs = 1000;     // the timer re-reads the deadline at least this often
constexpr auto kForever = std::chrono::steady_clock::time_point::max();

// Waits until `timer` is cancelled or expires; the caller re-checks its condition.
asio::awaitable<void> wait_on(asio::steady_timer& timer) {
  asio::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Built outside the coroutine: GCC 12 miscompiles lambdas that capture a
// coroutine's locals by copy (the copy is freed twice).
std::function<storage::Status()> persist_job(raft::QuorumStateStore* store, const raft::QuorumStateData& data) {
  auto state = std::make_shared<const raft::QuorumStateData>(data);
  return [store, state] { return store->write(*state); };
}

}  // namespace

struct QuorumMetadataLog::AppendWaiter {
  explicit AppendWaiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  std::optional<raft::AppendResult> result;
};

struct QuorumMetadataLog::InboundWaiter {
  explicit InboundWaiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  std::optional<raft::MessageBody> response;
};

bool is_response(const raft::MessageBody& body) {
  return std::holds_alternative<raft::VoteResponse>(body) || std::holds_alternative<raft::QuorumEpochResponse>(body) ||
         std::holds_alternative<raft::FetchResponse>(body) || std::holds_alternative<raft::FetchSnapshotResponse>(body);
}

protocol::Bytes build_data_batch(const std::vector<protocol::Bytes>& values, int64_t timestamp_ms) {
  protocol::BatchBuilder b;
  for (auto& v : values) b.add(timestamp_ms, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

QuorumMetadataLog::QuorumMetadataLog(asio::any_io_executor ex, raft::RaftConfig config, raft::RaftLog& log,
                                     LogSyncer& syncer, raft::QuorumStateStore& state, raft::FlushThread& flush,
                                     QuorumPeers& peers, Clock& clock, uint64_t seed)
    : ex_(ex),
      config_(std::move(config)),
      log_(log),
      syncer_(syncer),
      state_(state),
      flush_(flush),
      peers_(peers),
      clock_(clock),
      rng_(seed),
      tick_timer_(ex) {
  applied_ = log_.start_offset();
}

QuorumMetadataLog::~QuorumMetadataLog() { *alive_ = false; }

std::string QuorumMetadataLog::start() {
  auto restored = state_.read();
  if (!restored.is_ok()) return "cannot read the quorum-state file: " + restored.status().to_string();
  core_ = std::make_unique<raft::RaftCore>(config_, log_, rng_, restored.value(), now());
  if (snapshot_reader_) core_->set_snapshot_reader(snapshot_reader_);
  spdlog::info("metadata quorum: node {} starts as a {} at epoch {} (log end offset {})", config_.local_id.value,
               core_->is_voter() ? "voter" : "observer", core_->epoch().value, log_.end_offset().value);
  collect();
  asio::co_spawn(ex_, tick_loop(alive_), asio::detached);
  return {};
}

asio::awaitable<void> QuorumMetadataLog::stop(std::chrono::milliseconds grace) {
  if (stopped_ || !core_) co_return;
  auto alive = alive_;
  if (core_->role() == raft::Role::kLeader) {
    spdlog::info("metadata quorum: node {} resigns the leadership of epoch {}", config_.local_id.value,
                 core_->epoch().value);
    core_->resign(now());
    collect();
    // Let the EndQuorumEpoch requests go out (and, within the grace, be answered).
    asio::steady_timer t(ex_);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (*alive && (pumping_ || !queue_.empty()) && std::chrono::steady_clock::now() < deadline) {
      t.expires_after(std::chrono::milliseconds(5));
      co_await wait_on(t);
    }
    if (*alive) {
      t.expires_at(std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
      co_await wait_on(t);
    }
  }
  if (!*alive) co_return;
  stopped_ = true;
  tick_timer_.cancel();
  fail_appends(ErrorCode::NOT_LEADER_OR_FOLLOWER, "the metadata log is shutting down");
  for (auto& [id, w] : inbound_) w->timer.cancel();
  peers_.close();
}

raft::LeaderAndEpoch QuorumMetadataLog::raft_leader() const {
  if (!core_) return {std::nullopt, Epoch(0)};
  return core_->leader();
}

bool QuorumMetadataLog::ready_leader() const {
  if (!core_ || stopped_ || failed() || core_->role() != raft::Role::kLeader) return false;
  auto hw = core_->high_watermark();
  return ready_epoch_ == core_->epoch() && hw && *hw >= ready_offset_ && applied_ >= ready_offset_;
}

raft::LeaderAndEpoch QuorumMetadataLog::leader() const {
  auto l = raft_leader();
  // This node leads only once it has applied everything committed before its
  // epoch (see the header); until then nobody is the active controller.
  if (l.leader == config_.local_id && !ready_leader()) l.leader.reset();
  return l;
}

storage::Status QuorumMetadataLog::replay(const std::function<void(Offset, std::span<const uint8_t>)>& fn) {
  if (!core_) return storage::Status::ok();
  while (true) {
    auto entries = core_->read_committed(applied_, kDeliverBatch);
    if (entries.empty()) break;
    for (auto& e : entries) {
      if (!e.control) {
        protocol::RecordIterator it;
        if (it.open(e.data) != ErrorCode::NONE)
          return storage::Status::corruption("metadata log: undecodable batch at offset " +
                                             std::to_string(e.offset.value));
        protocol::RecordView rv;
        int64_t i = 0;
        while (it.next(rv)) {
          if (rv.value) fn(e.offset + i, *rv.value);
          ++i;
        }
      }
      applied_ = e.end();
    }
  }
  return storage::Status::ok();
}

void QuorumMetadataLog::collect() {
  if (!core_) return;
  auto out = core_->take_output();
  if (core_->voters_version() != voters_seen_) {
    voters_seen_ = core_->voters_version();
    if (voters_listener_) voters_listener_(core_->voter_set());
  }
  if (core_->role() == raft::Role::kLeader && ready_epoch_ != core_->epoch()) {
    // The call that made this node leader appended its LeaderChange batch last.
    ready_epoch_ = core_->epoch();
    ready_offset_ = log_.end_offset();
  }
  if (!out.empty()) {
    queue_.push_back(std::move(out));
    if (!pumping_) {
      pumping_ = true;
      asio::co_spawn(ex_, pump(alive_), asio::detached);
    }
  }
  tick_timer_.cancel();  // the next deadline may have moved
}

asio::awaitable<void> QuorumMetadataLog::tick_loop(std::shared_ptr<bool> alive) {
  while (*alive && !stopped_ && !failed()) {
    int64_t t = now();
    int64_t deadline = core_->next_deadline();
    if (deadline <= t) {
      core_->tick(t);
      collect();
    }
    int64_t wait = std::clamp<int64_t>(core_->next_deadline() - now(), 1, kMaxTickWaitMs);
    tick_timer_.expires_after(std::chrono::milliseconds(wait));
    co_await wait_on(tick_timer_);
  }
}

// Carries out the queued outputs one after the other, each in the order the
// core requires: persist (and wait), start the sync, send, notify.
asio::awaitable<void> QuorumMetadataLog::pump(std::shared_ptr<bool> alive) {
  while (*alive && !queue_.empty()) {
    raft::Output out = std::move(queue_.front());
    queue_.pop_front();
    if (out.persist && !failed()) {
      auto job = persist_job(&state_, *out.persist);
      storage::Status st = co_await flush_.run(job);
      if (!*alive) co_return;
      ++stats_.persists;
      if (!st) {
        fail("cannot write the quorum-state file: " + st.to_string());
        continue;
      }
    }
    if (failed()) continue;  // nothing that depends on a lost write may leave this node
    if (out.sync_log && !sync_running_) {
      sync_running_ = true;
      asio::co_spawn(ex_, run_sync(alive), asio::detached);
    }
    for (auto& m : out.messages) dispatch(std::move(m));
    if (out.high_watermark) deliver_committed();
    if (out.leader) {
      spdlog::info("metadata quorum: node {} sees leader {} at epoch {}", config_.local_id.value,
                   out.leader->leader ? std::to_string(out.leader->leader->value) : std::string("none"),
                   out.leader->epoch.value);
      if (out.leader->leader != config_.local_id)
        fail_appends(ErrorCode::NOT_LEADER_OR_FOLLOWER, "this node no longer leads the metadata quorum");
      if (leader_listener_) leader_listener_(leader());
    }
    if (out.install_snapshot && !failed()) co_await install_snapshot(std::move(*out.install_snapshot), alive);
    if (!*alive) co_return;
    if (!out.fatal.empty()) fail(out.fatal);
  }
  if (*alive) pumping_ = false;
}

// Write before act: the snapshot is durable before the core restarts its log
// at the snapshot's end and the state machine loads it.
asio::awaitable<void> QuorumMetadataLog::install_snapshot(raft::Output::InstallSnapshot snap,
                                                          std::shared_ptr<bool> alive) {
  if (!snapshot_hooks_.store) {
    spdlog::warn("metadata quorum: a snapshot {}-{} was offered but this node cannot install snapshots",
                 snap.id.end_offset.value, snap.id.epoch.value);
    co_return;
  }
  auto bytes = std::make_shared<const protocol::Bytes>(std::move(snap.bytes));
  storage::Status st = co_await snapshot_hooks_.store(snap.id, bytes);
  if (!*alive || stopped_) co_return;
  if (!st) {
    fail("cannot store the snapshot fetched from the leader: " + st.to_string());
    co_return;
  }
  // The voter set the snapshot records (KIP-853): what the log it replaces held, as the leader
  // committed it (a static quorum's snapshots have none).
  std::optional<protocol::kraft::VotersRecord> voters;
  if (auto info = raft::scan_snapshot_bytes(*bytes, raft::SnapshotLimits{}, {})) voters = std::move(info->voters);
  if (core_->on_snapshot_installed(snap.id, now(), std::move(voters))) {
    spdlog::info("metadata quorum: node {} installed the snapshot {}-{} ({} bytes) from the leader",
                 config_.local_id.value, snap.id.end_offset.value, snap.id.epoch.value, bytes->size());
    applied_ = std::max(applied_, snap.id.end_offset);
    if (snapshot_hooks_.installed) snapshot_hooks_.installed(snap.id, *bytes);
  }
  collect();
}

bool QuorumMetadataLog::snapshot_created(raft::SnapshotId id) {
  if (!core_ || stopped_ || failed()) return false;
  bool ok = core_->on_snapshot_created(id, now());
  collect();
  return ok;
}

asio::awaitable<void> QuorumMetadataLog::run_sync(std::shared_ptr<bool> alive) {
  auto job = syncer_.prepare();
  storage::Status st = co_await flush_.run(job);
  if (!*alive || stopped_) co_return;  // after stop() the log may be closed
  ++stats_.syncs;
  syncer_.complete(st);
  sync_running_ = false;
  if (!st) {
    fail("metadata log sync failed: " + st.to_string());
    co_return;
  }
  core_->on_log_synced(now());
  collect();
  // One sync runs at a time: a request the pump skipped meanwhile is served now.
  if (!failed() && !stopped_ && !sync_running_ && log_.flushed_end_offset() < log_.end_offset()) {
    sync_running_ = true;
    asio::co_spawn(ex_, run_sync(alive), asio::detached);
  }
}

void QuorumMetadataLog::dispatch(raft::Message m) {
  if (is_response(m.body)) {
    auto it = inbound_.find(m.correlation_id);
    if (it == inbound_.end()) return;  // the caller gave up
    it->second->response = std::move(m.body);
    it->second->timer.cancel();
    return;
  }
  if (stopped_) return;
  asio::co_spawn(ex_, send_request(std::move(m), alive_), asio::detached);
}

asio::awaitable<void> QuorumMetadataLog::send_request(raft::Message m, std::shared_ptr<bool> alive) {
  int64_t timeout = config_.request_timeout_ms;
  if (auto* f = std::get_if<raft::FetchRequest>(&m.body)) timeout += f->max_wait_ms;
  ++stats_.requests_sent;
  auto resp = co_await peers_.request(m.to, m.body, std::chrono::milliseconds(timeout));
  if (!*alive || stopped_ || failed()) co_return;
  if (!resp) {
    ++stats_.requests_failed;
    co_return;  // dropped: the core's own timeouts retry
  }
  if (auto* f = std::get_if<raft::FetchResponse>(&*resp); f && f->leader_id && f->leader_endpoint && endpoint_listener_)
    endpoint_listener_(*f->leader_id, *f->leader_endpoint);
  core_->handle(raft::Message{m.to, config_.local_id, m.correlation_id, std::move(*resp)}, now());
  collect();
}

asio::awaitable<std::optional<raft::MessageBody>> QuorumMetadataLog::handle_message(raft::MessageBody request,
                                                                                   std::chrono::milliseconds timeout) {
  if (!core_ || stopped_ || failed() || is_response(request) || inbound_.size() >= max_inbound_)
    co_return std::nullopt;
  auto alive = alive_;
  ++stats_.inbound;
  uint64_t id = next_inbound_++;
  auto waiter = std::make_shared<InboundWaiter>(ex_);
  inbound_[id] = waiter;
  NodeId from = raft::request_sender(request);
  core_->handle(raft::Message{from, config_.local_id, id, std::move(request)}, now());
  collect();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (*alive && !waiter->response && !stopped_ && std::chrono::steady_clock::now() < deadline) {
    waiter->timer.expires_at(deadline);
    co_await wait_on(waiter->timer);
  }
  if (!*alive) co_return std::nullopt;
  inbound_.erase(id);
  co_return std::move(waiter->response);
}

bool QuorumMetadataLog::catching_up() const {
  if (!core_) return false;
  auto hw = core_->high_watermark();
  return hw && handing_.value_or(applied_) < *hw;
}

void QuorumMetadataLog::deliver_committed() {
  int64_t bytes = 0;
  std::optional<Epoch> last_epoch;
  while (core_) {
    auto entries = core_->read_committed(applied_, kDeliverBatch);
    if (entries.empty()) break;
    for (auto& e : entries) {
      last_epoch = e.epoch;
      if (!e.control) bytes += static_cast<int64_t>(e.data.size());
      if (!e.control && listener_) {
        std::vector<protocol::Bytes> values;
        protocol::RecordIterator it;
        if (it.open(e.data) != ErrorCode::NONE) {
          fail("metadata log: a committed batch at offset " + std::to_string(e.offset.value) + " is undecodable");
          return;
        }
        protocol::RecordView rv;
        while (it.next(rv)) values.emplace_back(rv.value ? protocol::Bytes(rv.value->begin(), rv.value->end())
                                                         : protocol::Bytes{});
        handing_ = e.end();
        listener_(e.offset, e.epoch, values);
        handing_.reset();
      }
      applied_ = e.end();
    }
  }
  if (caught_up_listener_ && !catching_up()) caught_up_listener_();
  complete_appends();
  if (last_epoch && snapshot_hooks_.applied) snapshot_hooks_.applied(raft::SnapshotId{applied_, *last_epoch}, bytes);
  if (ready_leader() && announced_epoch_ != core_->epoch()) {
    announced_epoch_ = core_->epoch();
    spdlog::info("metadata quorum: node {} is the active controller of epoch {} (high watermark {})",
                 config_.local_id.value, announced_epoch_.value, core_->high_watermark()->value);
    if (leader_listener_) leader_listener_(leader());
  }
}

void QuorumMetadataLog::complete_appends() {
  while (!appends_.empty()) {
    auto it = appends_.begin();
    if (it->first >= applied_.value) break;
    it->second->timer.cancel();
    if (!it->second->result) it->second->result = raft::AppendResult{ErrorCode::NONE, Offset(it->first), Epoch(-1), {}};
    appends_.erase(it);
  }
}

void QuorumMetadataLog::fail_appends(ErrorCode error, const std::string& why) {
  for (auto& [offset, w] : appends_) {
    w->result = raft::AppendResult{error, Offset(-1), Epoch(-1), why};
    w->timer.cancel();
  }
  appends_.clear();
}

void QuorumMetadataLog::fail(std::string why) {
  if (!fatal_.empty()) return;
  fatal_ = std::move(why);
  spdlog::error("metadata quorum: node {} stops: {}", config_.local_id.value, fatal_);
  fail_appends(ErrorCode::KAFKA_STORAGE_ERROR, fatal_);
  tick_timer_.cancel();
}

asio::awaitable<raft::AppendResult> QuorumMetadataLog::append(std::vector<protocol::Bytes> values) {
  if (failed()) co_return raft::AppendResult{ErrorCode::KAFKA_STORAGE_ERROR, Offset(-1), Epoch(-1), fatal_};
  if (!ready_leader())
    co_return raft::AppendResult{ErrorCode::NOT_LEADER_OR_FOLLOWER, Offset(-1), Epoch(-1),
                                 "this node does not lead the metadata quorum"};
  if (values.empty()) co_return raft::AppendResult{ErrorCode::INVALID_REQUEST, Offset(-1), Epoch(-1), "empty batch"};
  int32_t n = static_cast<int32_t>(values.size());
  auto r = core_->propose(build_data_batch(values, clock_.now_ms()), n, now());
  collect();
  if (r.error != ErrorCode::NONE) co_return raft::AppendResult{r.error, Offset(-1), Epoch(-1), "proposal refused"};
  auto result = *co_await await_commit(r.last_offset.value, kForever);
  if (result.error == ErrorCode::NONE) {
    result.offset = r.last_offset;
    result.epoch = r.epoch;
  }
  co_return result;
}

asio::awaitable<std::optional<raft::AppendResult>> QuorumMetadataLog::await_commit(
    int64_t last_offset, std::chrono::steady_clock::time_point deadline) {
  auto alive = alive_;
  auto waiter = std::make_shared<AppendWaiter>(ex_);
  appends_[last_offset] = waiter;
  while (*alive && !waiter->result && std::chrono::steady_clock::now() < deadline) {
    waiter->timer.expires_at(deadline);
    co_await wait_on(waiter->timer);
  }
  if (!*alive) co_return raft::AppendResult{ErrorCode::NOT_LEADER_OR_FOLLOWER, Offset(-1), Epoch(-1), "closed"};
  if (!waiter->result) {
    if (auto it = appends_.find(last_offset); it != appends_.end() && it->second == waiter) appends_.erase(it);
    co_return std::nullopt;
  }
  co_return waiter->result;
}

}  // namespace samsa::quorum
