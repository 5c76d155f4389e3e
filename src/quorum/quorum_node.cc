#include "quorum/quorum_node.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "protocol/messages/update_raft_voter.h"
#include "protocol/uuid_text.h"
#include "quorum/dynamic_voters.h"
#include "raft/raft_wire.h"
#include "storage/env.h"
#include "storage/meta_properties.h"

namespace samsa::quorum {

std::function<storage::Status()> DiskLogSyncer::prepare() {
  job_ = log_.prepare_sync();
  return job_->run;
}

void DiskLogSyncer::complete(const storage::Status& status) {
  if (job_) log_.complete_sync(*job_, status);
  job_.reset();
}

QuorumNode::QuorumNode(asio::any_io_executor ex, Clock& clock, raft::FlushThread& flush, QuorumNodeOptions options)
    : ex_(std::move(ex)), clock_(clock), flush_(flush), options_(std::move(options)) {
  wire_.cluster_id = options_.cluster_id;
  wire_.topic_id = raft::kMetadataTopicId;
}

QuorumNode::~QuorumNode() { *alive_ = false; }

namespace {

constexpr auto kOwnEntryCheck = std::chrono::milliseconds(500);
constexpr int16_t kUpdateRaftVoter = 82;

std::string endpoints_text(const std::vector<protocol::kraft::VotersRecord::Endpoint>& endpoints) {
  std::string out;
  for (auto& e : endpoints) out += (out.empty() ? "" : ", ") + e.name + "://" + e.host + ":" + std::to_string(e.port);
  return out;
}

}  // namespace

std::variant<std::unique_ptr<QuorumNode>, std::string> QuorumNode::open(asio::any_io_executor ex, storage::Env* env,
                                                                       Clock& clock, raft::FlushThread& flush,
                                                                       QuorumNodeOptions options) {
  std::unique_ptr<QuorumNode> node(new QuorumNode(ex, clock, flush, std::move(options)));
  auto& o = node->options_;
  if (!o.settings.raft.listener_name.empty()) o.controller_listener = o.settings.raft.listener_name;
  auto store = raft::FileSnapshotStore::open(env, raft::metadata_partition_dir(o.metadata_log_dir));
  if (!store) return "cannot open the metadata snapshots: " + store.status().to_string();
  node->snapshot_store_ = std::move(store).value();
  if (int n = node->snapshot_store_->removed_at_open(); n > 0)
    spdlog::warn("metadata snapshots: removed {} incomplete or invalid snapshot file(s) at start", n);
  raft::DiskRaftLogOptions log_options;
  log_options.snapshot = node->snapshot_store_->latest();
  log_options.segment_bytes = o.settings.segment_bytes;
  log_options.segment_ms = o.settings.segment_ms;
  auto opened = raft::DiskRaftLog::open(env, o.metadata_log_dir, clock, log_options);
  if (!opened.log) return "cannot open the metadata log: " + opened.error;
  node->disk_ = std::move(opened.log);
  node->syncer_ = std::make_unique<DiskLogSyncer>(*node->disk_);
  // KIP-853: the replica key of this node is (node.id, the metadata dir's directory.id).
  if (auto meta = storage::read_meta_properties(env, o.metadata_log_dir); meta.is_ok()) {
    if (auto it = meta.value().find("directory.id"); it != meta.value().end())
      if (auto id = protocol::from_base64url(it->second)) o.settings.raft.directory_id = *id;
  }
  node->state_ = std::make_unique<raft::FileQuorumStateStore>(env, raft::metadata_partition_dir(o.metadata_log_dir));
  node->transport_ = std::make_unique<net::TcpTransport>(ex, o.settings.raft.request_timeout_ms, o.security);
  VoterAddresses reachable = o.settings.voters;
  reachable.insert(o.settings.bootstrap.begin(), o.settings.bootstrap.end());
  node->peers_ = std::make_unique<NetworkPeers>(ex, *node->transport_, clock, o.seed, std::move(reachable), node->wire_,
                                                o.settings.raft.local_id);
  node->mlog_ = std::make_unique<QuorumMetadataLog>(ex, o.settings.raft, *node->disk_, *node->syncer_, *node->state_,
                                                    flush, *node->peers_, clock, o.seed + 1);
  node->leader_clients_ = std::make_unique<VoterClients>(ex, *node->transport_, clock, o.seed + 3, o.settings.voters,
                                                        "samsa-raft-voter-update", 1);
  node->channel_ = std::make_unique<NetworkControllerChannel>(ex, *node->transport_, clock, o.seed + 2,
                                                              o.settings.voters, *node->mlog_,
                                                              o.settings.raft.retry_backoff_ms);
  QuorumNode* self = node.get();
  node->mlog_->set_voters_listener([self](const raft::VoterSet& set) {
    self->voter_set_ = set;
    self->refresh_addresses();
  });
  node->mlog_->set_endpoint_listener([self](NodeId id, const raft::FetchResponse::Endpoint& ep) {
    PeerAddress a{ep.host, ep.port};
    auto it = self->learned_.find(id);
    if (it != self->learned_.end() && it->second == a) return;
    self->learned_[id] = a;
    self->refresh_addresses();
  });
  return node;
}

void QuorumNode::refresh_addresses() {
  VoterAddresses voters = learned_;
  if (voter_set_ && voter_set_->record) {
    for (auto& v : voters_from_record(*voter_set_->record, options_.controller_listener))
      voters[NodeId(v.id)] = PeerAddress{v.host, static_cast<uint16_t>(v.port)};
  } else {
    for (auto& [id, a] : options_.settings.voters) voters[id] = a;
  }
  channel_->set_voters(voters);
  leader_clients_->set_addresses(voters);
  addresses_ = voters;
  voters.insert(options_.settings.bootstrap.begin(), options_.settings.bootstrap.end());
  peers_->set_addresses(std::move(voters));
}

std::string QuorumNode::attach_loader(cluster::MetadataLoader& loader) {
  raft::SnapshotPolicyConfig policy;
  policy.max_bytes_between_snapshots = options_.settings.max_record_bytes_between_snapshots;
  policy.max_interval_ms = options_.settings.max_snapshot_interval_ms;
  snapshots_ = std::make_unique<MetadataSnapshots>(ex_, *snapshot_store_, flush_, clock_, policy, *mlog_, loader);
  return snapshots_->start();
}

std::string QuorumNode::start() {
  std::string err = mlog_->start();
  if (err.empty() && options_.settings.raft.dynamic && !options_.settings.local_endpoints.empty())
    asio::co_spawn(ex_, keep_own_entry(alive_), asio::detached);
  return err;
}

asio::awaitable<void> QuorumNode::stop(std::chrono::milliseconds grace) {
  if (stopped_) co_return;
  stopped_ = true;
  *alive_ = false;
  leader_clients_->close();
  co_await mlog_->stop(grace);
  channel_->close();
  // A snapshot being written on the FlushThread uses the store: let it finish (bounded).
  asio::steady_timer t(ex_);
  for (int i = 0; i < 1000 && snapshots_ && snapshots_->writing(); ++i) {
    t.expires_after(std::chrono::milliseconds(10));
    asio::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // A barrier: every sync posted before it has finished (jobs run in order),
  // then the log is closed cleanly (synced, active segment sealed).
  co_await flush_.run([] { return 0; });
  if (auto st = disk_->close(); !st) spdlog::warn("metadata quorum: closing the metadata log: {}", st.to_string());
}

bool QuorumNode::is_quorum_api(int16_t api_key) {
  // Fetch (1) on the CONTROLLER listener is the quorum's Fetch of __cluster_metadata-0.
  return api_key == 1 || api_key == 52 || api_key == 53 || api_key == 54 || api_key == 59;
}

asio::awaitable<std::optional<protocol::Bytes>> QuorumNode::handle_request(int16_t api_key, int16_t api_version,
                                                                           std::vector<uint8_t> body) {
  auto decoded = raft::decode_raft_request(wire_, api_key, api_version, body);
  if (decoded.refusal != ErrorCode::NONE) {
    spdlog::warn("metadata quorum: refusing API {} v{}: {}", api_key, api_version, decoded.error);
    co_return raft::encode_raft_error_response(api_key, api_version, decoded.refusal);
  }
  if (!decoded.body) {
    spdlog::debug("metadata quorum: malformed API {} v{}: {}", api_key, api_version, decoded.error);
    co_return std::nullopt;
  }
  auto request = std::move(decoded.body);
  // An inbound Fetch may wait (long poll) up to its max wait before the core answers.
  int64_t wait = options_.settings.raft.request_timeout_ms;
  if (auto* f = std::get_if<raft::FetchRequest>(&*request)) wait += std::max<int64_t>(0, f->max_wait_ms);
  auto response = co_await mlog_->handle_message(std::move(*request), std::chrono::milliseconds(wait));
  if (!response) co_return std::nullopt;
  co_return raft::encode_raft_response(wire_, api_key, api_version, *response);
}

std::optional<protocol::kraft::VotersRecord::Voter> QuorumNode::own_entry_update() const {
  const auto& local = options_.settings.local_endpoints;
  const raft::VoterSet& set = mlog_->core().voter_set();
  if (!options_.settings.raft.dynamic || !set.record || local.empty()) return std::nullopt;
  for (const auto& v : set.record->voters) {
    if (NodeId(v.voter_id) != options_.settings.raft.local_id || v.voter_directory_id != options_.settings.raft.directory_id)
      continue;
    bool same = v.endpoints.size() == local.size() && std::is_permutation(local.begin(), local.end(), v.endpoints.begin());
    if (same && v.k_raft_version_feature.min_supported_version == 0 && v.k_raft_version_feature.max_supported_version == 1)
      return std::nullopt;
    protocol::kraft::VotersRecord::Voter want = v;
    want.endpoints = local;
    want.k_raft_version_feature.min_supported_version = 0;
    want.k_raft_version_feature.max_supported_version = 1;
    return want;
  }
  return std::nullopt;
}

asio::awaitable<QuorumNode::UpdateVoterAnswer> QuorumNode::update_voter(protocol::kraft::VotersRecord::Voter voter,
                                                                        int32_t current_leader_epoch,
                                                                        std::chrono::milliseconds timeout) {
  UpdateVoterAnswer out;
  auto alive = alive_;
  int32_t epoch = mlog_->core().epoch().value;
  if (current_leader_epoch > epoch) {
    out.answer = {ErrorCode::UNKNOWN_LEADER_EPOCH, "the request's leader epoch is newer than this node's"};
  } else if (current_leader_epoch < epoch) {
    out.answer = {ErrorCode::FENCED_LEADER_EPOCH, "the request's leader epoch is older than this node's"};
  } else {
    out.answer = co_await mlog_->update_voter(std::move(voter), timeout);
    if (!*alive) co_return out;
  }
  out.leader = mlog_->raft_leader();
  if (out.leader.leader == options_.settings.raft.local_id && !options_.settings.local_endpoints.empty()) {
    const auto& own = options_.settings.local_endpoints.front();
    out.leader_address = PeerAddress{own.host, own.port};
  } else if (out.leader.leader) {
    if (auto it = addresses_.find(*out.leader.leader); it != addresses_.end()) out.leader_address = it->second;
  }
  co_return out;
}

asio::awaitable<void> QuorumNode::keep_own_entry(std::shared_ptr<bool> alive) {
  asio::steady_timer timer(ex_);
  auto wait = kOwnEntryCheck;
  ErrorCode last = ErrorCode::NONE;
  while (*alive) {
    timer.expires_after(wait);
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
    wait = kOwnEntryCheck;
    auto want = own_entry_update();
    raft::LeaderAndEpoch leader = mlog_->raft_leader();
    if (!want || !leader.leader) continue;
    std::string endpoints = endpoints_text(want->endpoints);
    ErrorCode error;
    if (*leader.leader == options_.settings.raft.local_id) {
      if (!mlog_->is_leader()) continue;  // not ready yet
      auto a = co_await mlog_->update_voter(*want, std::chrono::milliseconds(options_.settings.raft.request_timeout_ms));
      if (!*alive) co_return;
      error = a.error;
    } else {
      error = co_await send_own_entry(*want, leader);
      if (!*alive) co_return;
    }
    if (error == ErrorCode::NONE) {
      spdlog::info("metadata quorum: node {} had the voter set record its endpoints {}", options_.settings.raft.local_id.value,
                   endpoints);
      last = ErrorCode::NONE;
      continue;
    }
    if (error != last)
      spdlog::warn("metadata quorum: node {} could not have the voter set record its endpoints {}: {}",
                   options_.settings.raft.local_id.value, endpoints, error_name(error));
    last = error;
    wait = std::chrono::milliseconds(std::max<int64_t>(options_.settings.raft.request_timeout_ms, kOwnEntryCheck.count()));
  }
}

asio::awaitable<ErrorCode> QuorumNode::send_own_entry(protocol::kraft::VotersRecord::Voter want,
                                                      raft::LeaderAndEpoch leader) {
  auto client = leader_clients_->client_for(*leader.leader);
  if (!client) co_return ErrorCode::LEADER_NOT_AVAILABLE;  // its address is not known yet
  protocol::UpdateRaftVoterRequest req;
  req.cluster_id = options_.cluster_id;
  req.current_leader_epoch = leader.epoch.value;
  req.voter_id = want.voter_id;
  req.voter_directory_id = want.voter_directory_id;
  for (auto& e : want.endpoints) req.listeners.push_back({e.name, e.host, e.port, {}});
  req.k_raft_version_feature.min_supported_version = want.k_raft_version_feature.min_supported_version;
  req.k_raft_version_feature.max_supported_version = want.k_raft_version_feature.max_supported_version;
  protocol::UpdateRaftVoterResponse resp;
  // The leader answers once the new voter set commits.
  auto timeout = std::chrono::milliseconds(2 * options_.settings.raft.request_timeout_ms);
  auto sent = co_await client->call(kUpdateRaftVoter, 0, req, resp, timeout);
  if (sent != net::ClientError::kNone) co_return ErrorCode::REQUEST_TIMED_OUT;
  co_return static_cast<ErrorCode>(resp.error_code);
}

raft::QuorumDescription QuorumNode::describe() const {
  raft::QuorumDescription d;
  const auto& core = mlog_->core();
  if (core.role() != raft::Role::kLeader || !mlog_->is_leader()) {
    d.error = ErrorCode::NOT_LEADER_OR_FOLLOWER;
    return d;
  }
  d.leader_id = core.local_id();
  d.leader_epoch = core.epoch();
  d.high_watermark = core.high_watermark().value_or(Offset(-1));
  // The core's times are monotonic; DescribeQuorum reports wall-clock ms.
  int64_t wall = clock_.now_ms(), mono = clock_.monotonic_ms();
  for (auto& r : mlog_->replica_states()) {
    raft::QuorumReplica q;
    q.id = r.id;
    q.log_end_offset = r.log_end_offset;
    q.directory_id = r.directory_id;
    if (r.last_fetch_ms >= 0) {
      q.last_fetch_timestamp = wall - (mono - r.last_fetch_ms);
      if (r.log_end_offset >= d.high_watermark) q.last_caught_up_timestamp = q.last_fetch_timestamp;
    }
    (r.voter ? d.voters : d.observers).push_back(q);
  }
  const raft::VoterSet& set = mlog_->core().voter_set();
  if (set.record) {
    // A dynamic quorum: the voters' replica keys and endpoints from the VotersRecord.
    for (auto& v : set.record->voters) {
      raft::QuorumDescription::Node n{NodeId(v.voter_id), {}};
      for (auto& e : v.endpoints) n.listeners.push_back(raft::QuorumListener{e.name, e.host, e.port});
      d.nodes.push_back(std::move(n));
      for (auto& q : d.voters)
        if (q.id == NodeId(v.voter_id)) q.directory_id = v.voter_directory_id;
    }
    return d;
  }
  for (auto& [id, a] : options_.settings.voters)
    d.nodes.push_back({id, {raft::QuorumListener{options_.controller_listener, a.host, a.port}}});
  return d;
}

}  // namespace samsa::quorum
