#include "quorum/quorum_node.h"

#include <spdlog/spdlog.h>

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

QuorumNode::~QuorumNode() = default;

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

asio::awaitable<void> QuorumNode::stop(std::chrono::milliseconds grace) {
  if (stopped_) co_return;
  stopped_ = true;
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
