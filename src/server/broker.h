// The broker process: shards (one io_context thread per core), listeners, the
// metadata log, its loader and the active controller (on shard 0), partitions
// spread over shards, and the request dispatcher. Start-up, signal handling and
// clean shutdown live here.
#pragma once
#include <asio.hpp>
#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "cluster/acl_authorizer.h"
#include "cluster/controller.h"
#include "cluster/controller_channel.h"
#include "net/connection.h"
#include "net/listener.h"
#include "net/scram.h"
#include "server/broker_lifecycle.h"
#include "server/controller_forwarding.h"
#include "server/listener_security.h"
#include "server/settings.h"
#include "replication/partition_writer.h"
#include "server/shard.h"

namespace samsa::storage {
class LogManager;
}
namespace samsa::raft {
class FlushThread;
}
namespace samsa::quorum {
class QuorumNode;
}
namespace samsa::cluster {
class ControllerChannel;
}
namespace samsa::coordinator {
class GroupCoordinator;
class TxnCoordinator;
}

namespace samsa::server {

struct CoordinatorShard;
class FetchSessionCache;
struct ReplicationQuotas;
class ImageWaiter;
class LagTracker;
class LogMaintenance;
class Observability;
class ReplicaFetcherManager;
class TxnMarkerSender;
class PeerClients;
struct RequestContext;

// Written by the broker in each log dir at start (its pid, one line) and
// removed at exit; `samsa stop` signals the process it names.
inline constexpr const char* kPidFile = "samsa.pid";

class Broker {
 public:
  // `clock`: all time the broker and its services read (a ManualClock in tests).
  explicit Broker(BrokerSettings settings, Clock& clock = SystemClock::instance());
  ~Broker();

  // Prepares the data dirs, replays metadata, opens logs and starts serving.
  // Returns an error message on failure (the process should exit non-zero).
  std::string start();
  // Blocks until SIGINT/SIGTERM (or stop()), then shuts down cleanly.
  void wait_for_shutdown();
  void stop();

  const BrokerSettings& settings() const { return settings_; }
  // The static config with the dynamic layers of `image` applied: the cluster
  // default, then broker `node`'s own (this broker when empty).
  config::BrokerConfig effective_config(const cluster::MetadataImage& image, const std::string& node = {}) const;
  // The metadata log's SCRAM credentials (KIP-554), current on any shard: what the SASL listeners
  // and the web console's login look up first.
  std::shared_ptr<const net::ScramCredentialStore> metadata_scram() const { return scram_store_; }
  Clock& clock() const { return clock_; }  // any thread
  int32_t node_id() const { return settings_.node_id; }
  const std::string& cluster_id() const { return cluster_id_; }
  int shard_count() const { return static_cast<int>(shards_.size()); }
  Shard& shard(int i) { return *shards_[i]; }
  int owner_of(const TopicPartition& tp) const;
  Shard& owner_shard(const TopicPartition& tp) { return *shards_[owner_of(tp)]; }
  cluster::Controller& controller() { return *controller_; }  // its operations run on shard 0 only
  // The metadata log: the quorum's where one runs, else the one-voter log. Shard 0 only.
  raft::MetadataLog& metadata_log();
  // The metadata quorum (controller.quorum.voters set; null on a single node).
  // Shard 0 only (broker_quorum.cc).
  quorum::QuorumNode* quorum() { return quorum_.get(); }
  // Whether `conn` came in on a CONTROLLER listener (controller.listener.names). Any thread.
  bool on_controller_listener(const net::ConnectionInfo& conn) const;
  // Runs a controller operation (e.g. controller().delete_topic(name)) on shard
  // 0 and resumes the caller on its own executor, always through a post: the
  // images the operation published reach the caller's shard before it resumes.
  template <typename T>
  asio::awaitable<T> on_controller(asio::awaitable<T> op) {
    return invoke_on(*shards_[0], [op = std::move(op)]() mutable { return std::move(op); });
  }
  Flusher& flusher(int shard) { return *flushers_[shard]; }
  storage::LogConfig log_config_for(const cluster::TopicInfo& t) const;
  int bound_port() const { return bound_port_; }
  storage::LogManager& log_manager() { return *log_manager_; }  // thread-safe
  // The consumer groups whose __consumer_offsets partitions shard `i` owns (shard i only).
  coordinator::GroupCoordinator& group_coordinator(int i) { return *coordinators_[i]; }
  // The transactional ids whose __transaction_state partitions shard `i` owns (shard i only).
  coordinator::TxnCoordinator& txn_coordinator(int i) { return *txn_coordinators_[i]; }
  // Shard `i`'s coordinator services and the PartitionWriter they write through (shard i only).
  CoordinatorShard& coordinator_shard(int i) { return *coordinator_shards_[i]; }
  // A producer id never handed out before (blocks are reserved in the metadata
  // log, so ids never repeat across restarts); -1 if the controller failed.
  asio::awaitable<int64_t> allocate_producer_id();

  // Entry point of every request frame (runs on the connection's shard).
  asio::awaitable<net::Response> handle(const net::ConnectionInfo& conn, std::shared_ptr<protocol::FrameBytes> frame,
                                        net::ApplyToken applying);

  // Creates topics through the controller (on shard 0) from any shard: one
  // metadata batch for all of them. A topic is answered with success only once
  // every shard has opened its partitions; one whose partitions could not be
  // opened (e.g. out of descriptors) is deleted again and answered
  // KAFKA_STORAGE_ERROR. Results in spec order.
  asio::awaitable<std::vector<cluster::OpResult>> create_topics(std::vector<cluster::TopicSpec> specs,
                                                                bool validate_only);
  asio::awaitable<cluster::OpResult> create_topic(cluster::TopicSpec spec, bool validate_only);
  // The other metadata changes, from any shard. Each runs on this node's
  // controller when it is the active one; otherwise it is forwarded to the
  // active controller over the controller channel and answered once this
  // node's image shows the change (bounded; broker_forwarding.cc).
  asio::awaitable<cluster::OpResult> delete_topic(std::string name);
  asio::awaitable<cluster::OpResult> create_partitions(std::string name, int32_t total,
                                                       std::vector<std::vector<int32_t>> assignments,
                                                       bool validate_only);
  asio::awaitable<cluster::OpResult> alter_configs(int8_t resource_type, std::string resource_name,
                                                   ConfigChanges changes, bool validate_only);
  // CreateAcls / DeleteAcls: one batch per request, here or forwarded like the above.
  asio::awaitable<std::vector<cluster::OpResult>> create_acls(std::vector<cluster::AclBinding> bindings);
  asio::awaitable<std::vector<cluster::AclDeleteResult>> delete_acls(std::vector<cluster::AclFilter> filters);
  // AlterClientQuotas: one batch per request, likewise (client_quota_handlers.cc).
  asio::awaitable<std::vector<cluster::OpResult>> alter_client_quotas(std::vector<cluster::QuotaAlteration> entries,
                                                                      bool validate_only);
  // AlterUserScramCredentials: one batch per request, likewise (scram_handlers.cc).
  asio::awaitable<std::vector<cluster::ScramUserResult>> alter_user_scram_credentials(cluster::ScramAlteration req);
  // Shard 0: this node's controller is the active one (always on one node).
  bool controller_here() const;
  // A partition of the image whose log could not be opened on this broker
  // (Metadata shows it without a leader, Produce gets KAFKA_STORAGE_ERROR).
  // Any thread.
  bool partition_unavailable(const TopicPartition& tp) const { return unopened_.contains(tp); }
  size_t unopened_count() const;  // any thread

  // The authorizer (authorizer.class.name), or null: every request allowed. Any thread.
  const cluster::Authorizer* authorizer() const { return authorizer_.get(); }
  // The way to the active controller (cluster/controller_channel.h): the
  // quorum's channel where controller.quorum.voters is set; otherwise start()
  // makes a LocalControllerChannel to this node's own controller (single_node()).
  cluster::ControllerChannel& controller_channel() { return *channel_; }  // shard 0 only
  // No quorum configured: this node is the whole cluster (any thread).
  bool single_node() const { return single_node_; }
  // fetch_handler.cc: this broker's fetch sessions (KIP-227), shared by all shards.
  FetchSessionCache& fetch_sessions();
  // Replication throttles (replication_quota.h); made at start.
  ReplicationQuotas& replication_quotas() { return *replication_quotas_; }
  // Records `value` (percent-seconds of a thread) on `charge`'s request rate; the throttle in ms
  // (any thread).
  int64_t record_request_time(const QuotaCharge& charge, double value);
  // This broker's membership (broker_lifecycle.h), any thread: its broker
  // epoch (-1 before it registered), fenced until the controller unfenced it,
  // and Kafka's BrokerState.
  int64_t broker_epoch() const;
  bool fenced() const;
  BrokerState broker_state() const;

  // Metrics, lag trackers and the HTTP server (observability.h).
  Observability& observability() { return *observability_; }
  LagTracker& lag_tracker(int shard);  // shard `shard` only
  // Start-up finished: logs recovered, metadata replayed, partitions opened. Any thread.
  bool started() const { return started_.load(std::memory_order_acquire); }
  // started() and every log dir online (GET /v1/health/ready). Any thread.
  bool ready() const;

 private:
  std::string prepare_dirs();
  // broker_metadata.cc: metadata images reaching the shards.
  void publish(cluster::ImagePtr image, cluster::DeltaPtr delta);
  void apply_image(Shard& s, cluster::ImagePtr image, const cluster::ImageDelta& delta);
  void make_replica_manager(Shard& s);
  // broker_isr.cc: a partition leader's ISR proposal as AlterPartition to the
  // active controller, the answer back to the partition (on shard `s`), and
  // each shard's replication timer.
  void send_isr_proposal(Shard& s, Partition& p, const replication::IsrProposal& proposal);
  asio::awaitable<void> alter_isr(int shard, TopicPartition tp, protocol::Uuid topic_id,
                                  replication::IsrProposal proposal);
  void schedule_replication_tick(Shard& s);
  // Partition budget from the descriptor and memory-map limits, and the
  // descriptors held back for shutdown (partition_budget.cc).
  void apply_partition_budget(cluster::ControllerSettings& cs);
  void release_descriptor_reserve();
  void shutdown();
  void schedule_checkpoints();
  // Shard 0: replays the metadata log and registers this broker; an error message or "".
  asio::awaitable<std::string> load_metadata();
  // broker_quorum.cc: opening, starting and stopping the metadata quorum.
  std::string open_quorum(const std::string& metadata_dir);
  asio::awaitable<std::string> start_quorum();  // shard 0
  void stop_quorum();                            // main thread, at shutdown: resigns a leadership
  asio::awaitable<int64_t> take_producer_id();  // shard 0
  // broker_forwarding.cc, shard 0: the operation on the active controller,
  // here or forwarded. `call_controller`: nullopt when none answered in time.
  asio::awaitable<std::optional<protocol::Bytes>> call_controller(int16_t api_key, int16_t version, protocol::Bytes body);
  asio::awaitable<std::vector<cluster::OpResult>> create_topics_at_controller(std::vector<cluster::TopicSpec> specs,
                                                                              bool validate_only);
  asio::awaitable<ProducerIdBlock> allocate_producer_ids_at_controller(int32_t block_size);
  using ShowsChange = std::function<bool(const cluster::MetadataImage&, const cluster::OpResult&)>;
  // One forwarded batch: `decode` reads the controller's answer, then, unless `shows` is empty, the
  // answer waits (bounded) until this node's image satisfies it. False: no controller answered in time.
  using ShowsImage = std::function<bool(const cluster::MetadataImage&)>;
  asio::awaitable<bool> forward_batch(int16_t api_key, int16_t version, protocol::Bytes request,
                                      std::function<void(std::span<const uint8_t>)> decode, ShowsImage shows);
  asio::awaitable<cluster::OpResult> forward(int16_t api_key, int16_t version, protocol::Bytes request,
                                             cluster::OpResult (*decode)(std::span<const uint8_t>), ShowsChange shows);
  asio::awaitable<cluster::OpResult> delete_topic_at_controller(std::string name);
  asio::awaitable<cluster::OpResult> create_partitions_at_controller(std::string name, int32_t total,
                                                                     std::vector<std::vector<int32_t>> assignments,
                                                                     bool validate_only);
  asio::awaitable<cluster::OpResult> alter_configs_at_controller(int8_t resource_type, std::string resource_name,
                                                                 ConfigChanges changes, bool validate_only);
  asio::awaitable<std::vector<cluster::OpResult>> create_acls_at_controller(std::vector<cluster::AclBinding> bindings);
  asio::awaitable<std::vector<cluster::AclDeleteResult>> delete_acls_at_controller(std::vector<cluster::AclFilter> filters);
  asio::awaitable<std::vector<cluster::OpResult>> alter_client_quotas_at_controller(
      std::vector<cluster::QuotaAlteration> entries, bool validate_only);
  asio::awaitable<std::vector<cluster::ScramUserResult>> alter_user_scram_credentials_at_controller(
      cluster::ScramAlteration req);
  // broker_lifecycle_driver.cc: registration and heartbeats (shard 0), and
  // the controlled shutdown (main thread).
  void start_lifecycle();
  asio::awaitable<void> run_lifecycle();
  void wake_lifecycle();
  void controlled_shutdown();
  void stop_lifecycle();
  std::vector<ListenerAddress> registered_listeners() const;
  void close_partitions();  // clean shutdown of every log (replication/close_partitions.h)
  // broker_replica_fetchers.cc: the follower side of replication (replica_fetcher.h).
  std::string make_replica_fetchers();  // "" or why the inter-broker client cannot be made
  void reconcile_replica_fetchers(Shard& s);  // on s, after each image
  void stop_replica_fetchers();               // main thread, before the logs close

 public:
  // broker_txn_markers.cc: on `shard`, writes the markers of `items` (owned by
  // that shard) — here where this broker leads, with WriteTxnMarkers to the
  // leader elsewhere.
  asio::awaitable<void> write_markers_on_shard(int shard, std::vector<replication::MarkerWrite*> items,
                                               replication::MarkerSpec spec);
  // broker_txn_markers.cc: on `here`, one request to broker `node` over the
  // shard's inter-broker connection to it (peer_clients.h), as this broker;
  // the response body, or nullopt on a single node, when `node` has no
  // address or did not answer within `timeout`.
  asio::awaitable<std::optional<protocol::Bytes>> call_broker(Shard& here, NodeId node, int16_t api_key,
                                                              int16_t version, protocol::Bytes body,
                                                              std::chrono::milliseconds timeout);

 private:

  BrokerSettings settings_;
  Clock& clock_;
  std::string cluster_id_;
  std::vector<std::string> pid_files_;  // removed by the destructor, before the locks go
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<Flusher>> flushers_;
  std::vector<std::unique_ptr<coordinator::GroupCoordinator>> coordinators_;  // after shards_: destroyed first
  std::vector<std::unique_ptr<coordinator::TxnCoordinator>> txn_coordinators_;
  std::vector<std::unique_ptr<asio::steady_timer>> txn_timers_;  // transaction timeouts, one per shard
  std::vector<std::unique_ptr<asio::steady_timer>> replication_timers_;  // ISR checks, one per shard
  std::vector<std::unique_ptr<CoordinatorShard>> coordinator_shards_;  // after the coordinators: destroyed first
  int64_t next_producer_id_ = 0;  // the current block [next, end), shard 0 only
  int64_t producer_id_block_end_ = 0;
  std::vector<std::unique_ptr<LogMaintenance>> maintenance_;  // one per shard, used on its thread
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unique_ptr<storage::LogManager> log_manager_;
  // Metadata log syncs and checkpoint writes, off the event loops.
  std::unique_ptr<raft::FlushThread> metadata_flush_;
  std::unique_ptr<raft::MetadataLog> metadata_log_;
  std::unique_ptr<quorum::QuorumNode> quorum_;  // instead of metadata_log_ when a quorum is configured
  std::vector<std::string> controller_listeners_;  // names of the CONTROLLER listeners served
  std::unique_ptr<asio::steady_timer> checkpoint_timer_;
  std::unique_ptr<cluster::MetadataLoader> loader_;  // the image broker code reads (shard 0)
  std::unique_ptr<cluster::Controller> controller_;
  std::shared_ptr<const cluster::Authorizer> authorizer_;  // set in start(), then only read
  cluster::ControllerChannel* channel_ = nullptr;        // used on shard 0
  std::unique_ptr<cluster::ControllerChannel> local_channel_;  // one node without a quorum
  std::unique_ptr<ImageWaiter> image_waiter_;           // shard 0
  // The metadata image's SCRAM credentials as every SASL listener looks them
  // up (any shard); replaced on shard 0 when an image changes them (scram_handlers.cc).
  std::shared_ptr<net::DynamicScramStore> scram_store_ = std::make_shared<net::DynamicScramStore>();
  std::shared_ptr<const cluster::ScramCredentialMap> published_scram_;  // shard 0
  void publish_scram_credentials(const cluster::MetadataImage& image);
  // The TLS listeners, rebuilt when their ssl.* settings or files change (shard 0).
  std::vector<ReloadableTls> reloadable_tls_;
  void reload_listener_tls(const cluster::MetadataImage& image);
  std::unique_ptr<BrokerLifecycle> lifecycle_;          // shard 0 (state() and fenced(): any thread)
  std::unique_ptr<asio::steady_timer> lifecycle_timer_;  // shard 0
  bool lifecycle_stop_ = false;                         // shard 0
  bool single_node_ = true;
  std::vector<int> lock_fds_;
  std::vector<int> reserve_fds_;  // /dev/null, closed at shutdown to free descriptors
  // Partitions whose log failed to open, with the reason (any thread).
  replication::UnopenedPartitions unopened_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> started_{false};
  std::unique_ptr<Observability> observability_;  // after shards_: its servers and registries go first
  int bound_port_ = 0;
  // One per shard in a cluster (empty on a single node), each used on its shard.
  std::vector<std::unique_ptr<ReplicaFetcherManager>> replica_fetchers_;
  std::vector<std::unique_ptr<PeerClients>> peer_clients_;        // likewise
  std::vector<std::unique_ptr<TxnMarkerSender>> marker_senders_;  // likewise, over peer_clients_
  std::once_flag fetch_sessions_once_;
  std::shared_ptr<FetchSessionCache> fetch_sessions_;  // made on first use (fetch_handler.cc)
  std::unique_ptr<ReplicationQuotas> replication_quotas_;
  // request_percentage rates (any shard, under the mutex): only clients with a request quota touch it.
  std::mutex request_rates_mu_;
  std::unique_ptr<QuotaManager> request_rates_;
};

}  // namespace samsa::server
