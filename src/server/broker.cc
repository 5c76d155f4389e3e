#include "server/broker.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "cluster/bootstrap_records.h"
#include "coordinator/group_coordinator.h"
#include "coordinator/txn_state.h"
#include "protocol/api_listeners.h"
#include "protocol/api_registry.h"
#include "replication/close_partitions.h"
#include "replication/flusher.h"
#include "server/authz.h"
#include "server/handlers.h"
#include "server/image_waiter.h"
#include "server/local_controller_channel.h"
#include "server/coordinator_shard.h"
#include "server/listener_security.h"
#include "server/log_maintenance.h"
#include "server/observability.h"
#include "server/replica_fetcher.h"
#include "server/quota_throttle.h"
#include "server/replication_quota.h"
#include "server/peer_clients.h"
#include "server/txn_marker_sender.h"
#include "base/clock.h"
#include "raft/flush_thread.h"
#include "quorum/quorum_node.h"
#include "raft/metadata_log.h"
#include "replication/partition.h"
#include "storage/env.h"
#include "storage/log_manager.h"
#include "storage/meta_properties.h"

namespace samsa::server {

namespace {

sig_atomic_t g_dummy = 0;

// replication.quota.window.num x replication.quota.window.size.seconds (Kafka's 11 x 1 s).
QuotaWindow replication_quota_window(const BrokerSettings& settings) {
  QuotaWindow w;
  if (const auto* cfg = settings.config.get()) {
    w.samples = static_cast<int>(cfg->get_int("replication.quota.window.num").value_or(11));
    w.window_ms = cfg->get_int("replication.quota.window.size.seconds").value_or(1) * int64_t{1000};
  }
  return w;
}

}  // namespace

Broker::Broker(BrokerSettings settings, Clock& clock) : settings_(std::move(settings)), clock_(clock) {}

Broker::~Broker() {
  // The pid file goes before the lock is released: a pid file without the lock
  // held is at worst stale, never the pid of another broker on this dir.
  for (auto& p : pid_files_) ::unlink(p.c_str());
  for (int fd : lock_fds_) ::close(fd);
  release_descriptor_reserve();
}

int Broker::owner_of(const TopicPartition& tp) const {
  return static_cast<int>(TopicPartitionHash()(tp) % shards_.size());
}

storage::LogConfig Broker::log_config_for(const cluster::TopicInfo& t) const {
  if (settings_.log_config_for) return settings_.log_config_for(t.configs);
  return settings_.default_log_config;
}

// Locks every log dir (flock: released by the kernel when a killed process
// dies, so a stale lock never blocks the next start), records this process's
// pid beside the lock (kPidFile, for `samsa stop`) and reads or writes
// meta.properties, which carries the node id and the cluster id.
std::string Broker::prepare_dirs() {
  auto* env = storage::posix_env();
  std::string cluster_id;
  std::vector<std::string> dirs = settings_.log_dirs;
  for (auto& dir : dirs) {
    if (auto st = storage::create_dirs(env, dir); !st) return "cannot create log dir " + dir + ": " + st.to_string();
    std::string lock_path = dir + "/.lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot open " + lock_path + ": " + strerror(errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return "log dir " + dir + " is in use by another Samsa process (lock " + lock_path + " is held)";
    }
    lock_fds_.push_back(fd);
    std::string pid_path = storage::join_path(dir, kPidFile);
    if (auto st = storage::write_file_atomically(env, pid_path, std::to_string(::getpid()) + "\n"); !st)
      return "cannot write " + pid_path + ": " + st.to_string();
    pid_files_.push_back(pid_path);
    auto props = storage::read_meta_properties(env, dir);
    if (!props.is_ok()) {
      if (props.status().kind() == storage::Status::Kind::kNotFound) continue;
      return "cannot read meta.properties in " + dir + ": " + props.status().to_string();
    }
    auto& m = props.value();
    if (m.count("node.id") && m["node.id"] != std::to_string(settings_.node_id))
      return "node.id " + std::to_string(settings_.node_id) + " does not match node.id " + m["node.id"] + " in " +
             storage::join_path(dir, storage::kMetaPropertiesFile);
    if (m.count("cluster.id")) {
      if (!cluster_id.empty() && cluster_id != m["cluster.id"])
        return "log dirs belong to different clusters (" + cluster_id + " vs " + m["cluster.id"] + ")";
      cluster_id = m["cluster.id"];
    }
  }
  // A node of a cluster must share the cluster's id: as Kafka, it is formatted first.
  if (cluster_id.empty() && settings_.quorum)
    return "log dirs are not formatted: every node of a cluster needs its id (samsa storage format -t <cluster id> "
           "-c <config>; samsa dev-cluster formats its nodes)";
  if (cluster_id.empty()) cluster_id = storage::random_cluster_id();
  for (auto& dir : dirs) {
    if (env->exists(storage::join_path(dir, storage::kMetaPropertiesFile))) continue;
    if (auto st = storage::write_meta_properties(env, dir, settings_.node_id, cluster_id, "Written by Samsa at first start");
        !st)
      return "cannot write meta.properties in " + dir + ": " + st.to_string();
  }
  cluster_id_ = cluster_id;
  return {};
}

std::string Broker::start() {
  if (settings_.config)
    if (auto err = make_authorizer(*settings_.config, authorizer_)) return *err;
  if (auto err = prepare_dirs(); !err.empty()) return err;
  storage::LogManagerOptions lm;
  lm.log_dirs = settings_.log_dirs;
  auto manager = storage::LogManager::open(storage::posix_env(), lm);
  if (!manager) return "cannot open log dirs: " + manager.status().to_string();
  log_manager_ = std::move(manager).value();
  replication_quotas_ = std::make_unique<ReplicationQuotas>(replication_quota_window(settings_));
  request_rates_ = std::make_unique<QuotaManager>(
      QuotaWindow{settings_.quota_window_num, int64_t{settings_.quota_window_size_seconds} * 1000}, clock_);
  int n = settings_.shards > 0 ? settings_.shards : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(i));
    shards_.back()->quotas = std::make_unique<QuotaManager>(
        QuotaWindow{settings_.quota_window_num, int64_t{settings_.quota_window_size_seconds} * 1000}, clock_);
    flushers_.push_back(std::make_unique<Flusher>(shards_.back()->io));
    maintenance_.push_back(std::make_unique<LogMaintenance>(*this, *shards_.back()));  // started below
    make_replica_manager(*shards_.back());
    coordinators_.push_back(std::make_unique<coordinator::GroupCoordinator>(shards_.back()->io, group_config(settings_),
                                                                            [this] { return clock_.now_ms(); }));
    txn_coordinators_.push_back(std::make_unique<coordinator::TxnCoordinator>());
    coordinator_shards_.push_back(std::make_unique<CoordinatorShard>(*this, *shards_.back()));
    txn_timers_.push_back(std::make_unique<asio::steady_timer>(shards_.back()->io));
    replication_timers_.push_back(std::make_unique<asio::steady_timer>(shards_.back()->io));
    work_.push_back(asio::make_work_guard(shards_.back()->io));
  }
  // Metadata: replay the log on shard 0's thread before anything else runs.
  std::string md_dir = settings_.metadata_log_dir.empty() ? settings_.log_dirs.front() : settings_.metadata_log_dir;
  metadata_flush_ = std::make_unique<raft::FlushThread>();
  if (settings_.quorum) {
    if (auto err = open_quorum(md_dir); !err.empty()) return err;
    channel_ = &quorum_->channel();  // the lifecycle and forwarding go to the active controller
    single_node_ = false;
  } else {
    auto mlog = raft::open_metadata_log(storage::posix_env(), md_dir, NodeId(settings_.node_id), clock_,
                                        *metadata_flush_);
    if (!mlog.log) return "cannot open metadata log: " + mlog.error;
    metadata_log_ = std::move(mlog.log);
  }
  if (auto err = make_replica_fetchers(); !err.empty()) return err;  // a cluster's followers (none on a single node)
  raft::MetadataLog& metadata_log = settings_.quorum ? static_cast<raft::MetadataLog&>(quorum_->log()) : *metadata_log_;
  cluster::ControllerSettings cs;
  cs.node_id = settings_.node_id;
  {
    auto boot = cluster::read_bootstrap_records(storage::posix_env(), md_dir);
    if (!boot.is_ok()) return "cannot read the bootstrap records: " + boot.status().to_string();
    cs.bootstrap_records = std::move(boot).value();
  }
  cs.default_partitions = settings_.num_partitions;
  cs.default_replication_factor = settings_.default_replication_factor;
  if (settings_.validate_topic_configs) {
    cs.validate_topic_configs = [this](const std::map<std::string, std::string>& m)
        -> std::optional<std::pair<ErrorCode, std::string>> {
      if (auto err = settings_.validate_topic_configs(m)) return std::make_pair(ErrorCode::INVALID_CONFIG, *err);
      return std::nullopt;
    };
  }
  apply_partition_budget(cs);
  cs.clock = &clock_;
  if (settings_.config) cs.session_timeout_ms = settings_.config->get_int("broker.session.timeout.ms").value_or(9000);
  if (settings_.config) {
    cs.unclean_leader_election_enable = settings_.config->unclean_leader_election_enable();
    cs.auto_leader_rebalance = settings_.config->get_bool("auto.leader.rebalance.enable").value_or(true);
    cs.leader_imbalance_check_interval_ms =
        settings_.config->get_long("leader.imbalance.check.interval.seconds").value_or(300) * 1000;
    cs.leader_imbalance_per_broker_percentage = settings_.config->get_int("leader.imbalance.per.broker.percentage").value_or(10);
  }
  image_waiter_ = std::make_unique<ImageWaiter>();
  if (!channel_) {
    local_channel_ = std::make_unique<LocalControllerChannel>(*this);
    channel_ = local_channel_.get();
  }
  loader_ = std::make_unique<cluster::MetadataLoader>(
      metadata_log, [this](cluster::ImagePtr img, cluster::DeltaPtr delta) { publish(img, delta); });
  controller_ = std::make_unique<cluster::Controller>(cs, metadata_log, *loader_);
  observability_ = std::make_unique<Observability>(*this);
  observability_->bind_shards();  // before anything else runs on the shards
  // HTTP before the shards run (a port that is taken fails the start cleanly);
  // it then answers /v1/health/live while logs recover, and ready once started.
  if (auto err = observability_->start_http(); !err.empty()) return err;
  for (auto& s : shards_) {
    Shard* sp = s.get();
    s->thread = std::thread([sp] {
      ShardBinding bound(sp->id);  // what shard-owned state checks (base/shard_affinity.h)
      sp->io.run();
    });
  }
  // Load metadata and register this broker on shard 0, then wait for every
  // shard to have opened its partitions.
  std::promise<std::string> loaded;
  asio::co_spawn(shards_[0]->io, load_metadata(), [&loaded](std::exception_ptr e, std::string err) {
    loaded.set_value(e ? std::string("exception while loading") : std::move(err));
  });
  if (auto err = loaded.get_future().get(); !err.empty()) return "metadata: " + err;
  for (auto& s : shards_) invoke_on_blocking(s->io, [] {});
  // sendfile() has no MSG_NOSIGNAL: a peer gone while its response is sent
  // (its connection's reader may be waiting for a long-poll Fetch to apply,
  // so nobody noticed the EOF) must fail the send, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Listeners: one acceptor per shard on the same port (SO_REUSEPORT), all
  // counting connections against one process-wide quota.
  net::ConnectionLimits limits;
  limits.max_request_bytes = settings_.max_request_bytes;
  limits.idle_ms = settings_.connections_max_idle_ms;
  auto quota_config = net::make_quota_config(settings_.max_connections, settings_.max_connections_per_ip,
                                             settings_.max_connections_per_ip_overrides);
  if (auto* err = std::get_if<std::string>(&quota_config)) return *err;
  auto quotas = std::make_shared<net::ConnectionQuotas>(std::get<net::QuotaConfig>(std::move(quota_config)));
  std::vector<ReloadableTls> reloadable_tls;
  for (auto& spec : settings_.listeners) {
    int port = spec.port;
    if (spec.controller) controller_listeners_.push_back(spec.name);
    auto made = make_listener_context(settings_.config.get(), spec, scram_store_);
    if (auto* err = std::get_if<std::string>(&made)) return *err;
    auto context = std::get<std::shared_ptr<net::ListenerContext>>(std::move(made));
    if (context->tls) {
      auto settings = tls_settings(*settings_.config, spec.name);
      if (auto* s = std::get_if<net::TlsSettings>(&settings))
        reloadable_tls.push_back(ReloadableTls{spec.name, context, tls_source(*s)});
    }
    for (auto& s : shards_) {
      auto l = std::make_unique<net::Listener>(
          s->io, s->id, limits,
          [this](const net::ConnectionInfo& c, std::shared_ptr<protocol::FrameBytes> f, net::ApplyToken t) {
            return handle(c, std::move(f), std::move(t));
          },
          quotas, context);
      if (auto err = l->bind(spec.host, port); !err.empty()) return "listener " + spec.name + ": " + err;
      l->set_name(spec.name);
      if (port == 0) port = l->port();  // the other shards share the port chosen by the first
      if (context->advertised_port == 0) context->advertised_port = port;
      if (context->advertised_host.empty() || context->advertised_host == "0.0.0.0" || context->advertised_host == "::")
        context->advertised_host = spec.host.empty() || spec.host == "0.0.0.0" || spec.host == "::" ? "localhost" : spec.host;
      if (!spec.controller) bound_port_ = l->port();
      listeners_.push_back(std::move(l));
    }
  }
  // Shard 0 keeps the TLS listeners current; a dynamic ssl.* layer already in the metadata applies now.
  invoke_on_blocking(shards_[0]->io, [this, &reloadable_tls] {
    reloadable_tls_ = std::move(reloadable_tls);
    if (shards_[0]->image) reload_listener_tls(*shards_[0]->image);
  });
  for (size_t i = 0; i < listeners_.size(); ++i) {
    auto* l = listeners_[i].get();
    asio::post(shards_[i % shards_.size()]->io, [l] { l->start(); });
  }
  asio::post(shards_[0]->io, [this] {
    schedule_checkpoints();
    // Fences brokers whose heartbeats stopped (none on a node without them).
    controller_->start_session_checks(shards_[0]->io.get_executor(), std::chrono::milliseconds(500));
  });
  for (size_t i = 0; i < shards_.size(); ++i) {
    auto* m = maintenance_[i].get();
    Shard* sp = shards_[i].get();
    asio::post(sp->io, [this, m, sp] {
      m->start();
      schedule_txn_timeouts(*this, *sp, *txn_timers_[sp->id]);
      schedule_replication_tick(*sp);
    });
  }
  start_lifecycle();
  started_.store(true, std::memory_order_release);
  spdlog::info("Samsa broker {} started: cluster {}, {} shard(s), listening on port {}", settings_.node_id, cluster_id_,
               shards_.size(), bound_port_);
  if (!observability_->http_address().empty())
    spdlog::info("web console on {0}/console/ (HTTP server on {0}: /metrics, health, admin API)",
                 observability_->http_address());
  return {};
}

asio::awaitable<std::string> Broker::load_metadata() {
  loader_->set_cluster_id(cluster_id_);  // from meta.properties, as in Kafka (no record in the log)
  // With a quorum, the newest metadata snapshot is loaded first and the log replayed after it.
  if (quorum_) {
    if (auto err = quorum_->attach_loader(*loader_); !err.empty()) co_return err;
  }
  if (auto st = loader_->load(); !st) co_return "cannot replay the metadata log: " + st.to_string();
  // In a cluster every broker (the active controller's too) registers through
  // the lifecycle once the listeners are bound (broker_lifecycle_driver.cc).
  if (quorum_) co_return co_await start_quorum();
  auto reg = controller_->register_broker(settings_.node_id, settings_.advertised_host, settings_.advertised_port,
                                          std::nullopt);
  auto r = co_await std::move(reg);
  co_return r.error == ErrorCode::NONE ? std::string() : r.message;
}

asio::awaitable<int64_t> Broker::allocate_producer_id() { return on_controller(take_producer_id()); }

// Ids come from the current block; an empty block is refilled through the
// controller. Requests arriving meanwhile each reserve a block: the one whose
// commit lands last is used, ids never repeat either way.
asio::awaitable<int64_t> Broker::take_producer_id() {
  if (next_producer_id_ >= producer_id_block_end_) {
    constexpr int32_t kBlock = 1000;  // Kafka's block size
    auto op = allocate_producer_ids_at_controller(kBlock);
    ProducerIdBlock block = co_await std::move(op);
    if (block.error != ErrorCode::NONE || block.first < 0 || block.length <= 0) co_return -1;
    next_producer_id_ = block.first;
    producer_id_block_end_ = block.first + block.length;
  }
  co_return next_producer_id_++;
}

int64_t Broker::record_request_time(const QuotaCharge& charge, double value) {
  std::lock_guard lock(request_rates_mu_);
  return request_rates_->record(charge.key, charge.quota, value);
}

asio::awaitable<net::Response> Broker::handle(const net::ConnectionInfo& conn, std::shared_ptr<protocol::FrameBytes> frame,
                                              net::ApplyToken applying) {
  // After SaslHandshake v0 the SASL tokens come as bare frames, without a request header.
  if (conn.session && conn.session->raw_tokens) co_return handle_raw_sasl_token(conn, *frame);
  protocol::Reader r(frame->data(), frame->size());
  RequestContext ctx;
  ctx.api_key = r.i16();
  ctx.api_version = r.i16();
  ctx.correlation_id = r.i32();
  ctx.client_id = r.nstring(false);
  ctx.conn = &conn;
  ctx.broker = this;
  ctx.shard = shards_[conn.shard].get();
  ctx.frame = frame;
  ctx.applying = std::move(applying);
  net::Response close;
  close.send = false;
  close.close_after = true;
  if (!r.ok()) co_return close;
  auto* info = protocol::find_api(ctx.api_key);
  auto* handler = on_controller_listener(conn) ? find_controller_handler(ctx.api_key) : find_handler(ctx.api_key);
  if (!info || !handler) {
    spdlog::debug("connection {}: unknown API key {}, closing", conn.id, ctx.api_key);
    co_return close;
  }
  if (ctx.api_version < info->min_version ||
      ctx.api_version > protocol::served_max_version(*info, handler->max_version)) {
    if (ctx.api_key == protocol::api_key::ApiVersions) co_return unsupported_api_versions(ctx);
    spdlog::debug("connection {}: unsupported version {} of API {}, closing", conn.id, ctx.api_version, info->name);
    co_return close;
  }
  if (auto refused = sasl_gate(ctx)) co_return std::move(*refused);
  ctx.flexible = info->is_flexible(ctx.api_version);
  if (ctx.flexible) {  // request header v2: tagged fields after the client id
    uint32_t n = r.uvarint();
    if (n > r.remaining()) co_return close;
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.uvarint();
      r.skip(r.uvarint());
    }
    if (!r.ok()) co_return close;
  }
  // request_percentage: every request but the ones a client needs to connect and log in, and
  // the controllers' own (Kafka exempts cluster actions).
  if (ctx.api_key != protocol::api_key::ApiVersions && ctx.api_key != protocol::api_key::SaslHandshake &&
      ctx.api_key != protocol::api_key::SaslAuthenticate && !on_controller_listener(conn))
    ctx.request_quota = quota_for(ctx, QuotaType::kRequest);
  ctx.started = std::chrono::steady_clock::now();
  auto resp = co_await handler->fn(ctx, r);
  if (ctx.request_quota) {
    charge_request_time(ctx);  // no-op when make_response charged it
    resp.throttle_ms = std::max(resp.throttle_ms, ctx.request_throttle_ms);
  }
  co_return resp;
}

void Broker::wait_for_shutdown() {
  asio::io_context sig_io;
  asio::signal_set signals(sig_io, SIGINT, SIGTERM);
  signals.async_wait([this](const asio::error_code&, int sig) {
    spdlog::info("received signal {}, shutting down", sig);
  });
  sig_io.run();
  shutdown();
}

// Recovery points and log start offsets go to the checkpoint files once a
// minute (log.flush.offset.checkpoint.interval.ms), so an unclean restart only
// re-validates what was written since.
void Broker::schedule_checkpoints() {
  if (stopping_) return;
  if (!checkpoint_timer_) checkpoint_timer_ = std::make_unique<asio::steady_timer>(shards_[0]->io);
  checkpoint_timer_->expires_after(std::chrono::seconds(60));
  checkpoint_timer_->async_wait([this](const asio::error_code& ec) {
    if (ec || stopping_) return;
    // The files are fsynced: on the flush thread, not on this event loop.
    metadata_flush_->post([this] {
      if (auto st = log_manager_->write_checkpoints(); !st)
        spdlog::error("writing checkpoints failed: {}", st.to_string());
    });
    schedule_checkpoints();
  });
}

void Broker::stop() { ::kill(::getpid(), SIGTERM); }

size_t Broker::unopened_count() const {
  return unopened_.select([](const TopicPartition&) { return true; }).size();
}

LagTracker& Broker::lag_tracker(int shard) { return observability_->lag_tracker(shard); }

bool Broker::ready() const {
  if (!started() || stopping_ || fenced()) return false;
  for (auto& d : log_manager_->log_dirs())
    if (!d.online) return false;
  return true;
}

// The shards' services stop touching their logs, then every partition is
// closed (replication/close_partitions.h: the syncs run in parallel).
void Broker::close_partitions() {
  std::vector<replication::ShardReplicas> replicas;
  for (auto& s : shards_) {
    Shard* sp = s.get();
    invoke_on_blocking(sp->io, [this, sp] {
      if (static_cast<size_t>(sp->id) < maintenance_.size()) maintenance_[sp->id]->stop();
      txn_timers_[sp->id]->cancel();
      replication_timers_[sp->id]->cancel();
    });
    replicas.push_back({&sp->io, sp->replicas.get()});
  }
  replication::close_partitions(replicas, *log_manager_);
}

// Stop accepting, let in-flight requests finish, flush every log, close them
// (writing the clean-shutdown marker), then stop the shards.
void Broker::shutdown() {
  if (stopping_.exchange(true)) return;
  // In a cluster the controller first moves this broker's leaderships away
  // (clients are still served meanwhile), then heartbeats stop.
  controlled_shutdown();
  stop_lifecycle();
  stop_quorum();  // a leader resigns first, so the quorum elects another without waiting for a timeout
  // Stop accepting, then give in-flight requests up to 5 s to be answered.
  auto on_listeners = [this](auto fn) {
    for (size_t i = 0; i < listeners_.size(); ++i) {
      auto* l = listeners_[i].get();
      invoke_on_blocking(shards_[i % shards_.size()]->io, [l, &fn] { fn(*l); });
    }
  };
  if (observability_) observability_->stop_http();
  on_listeners([](net::Listener& l) { l.stop_accepting(); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    size_t busy = 0;
    on_listeners([&busy](net::Listener& l) { busy += l.in_flight(); });
    if (busy == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  on_listeners([](net::Listener& l) { l.stop(); });
  release_descriptor_reserve();  // closing logs and writing the marker need descriptors
  stop_replica_fetchers();  // no follower appends or truncates once the logs start closing
  close_partitions();
  if (checkpoint_timer_) {  // set where the session checks start: both stop here
    invoke_on_blocking(shards_[0]->io, [this] {
      checkpoint_timer_.reset();
      controller_->stop_session_checks();
    });
  }
  // A checkpoint write in flight finishes before the clean-shutdown marker.
  if (metadata_flush_) metadata_flush_->stop();
  if (auto st = log_manager_->write_clean_shutdown(); !st)
    spdlog::error("writing the clean-shutdown marker failed: {}", st.to_string());
  for (auto& f : flushers_) f->stop();
  work_.clear();
  for (auto& s : shards_) s->io.stop();
  for (auto& s : shards_)
    if (s->thread.joinable()) s->thread.join();
  spdlog::info("shutdown complete");
  (void)g_dummy;
}

}  // namespace samsa::server
