// The active controller: the only proposer of metadata records. Every change
// to the cluster's metadata (topics, partitions, configs, brokers, producer id
// blocks) is validated here against the loader's image and proposed to the
// metadata log as one batch (so a change is all-or-nothing). An operation
// answers once its batch is committed and the metadata loader applied it, so
// the image the caller sees next already holds the change.
//
// It also tracks the brokers' sessions (heartbeats, fencing, controlled
// shutdown; controller_brokers.cc) and places new partitions over the
// unfenced brokers and their racks (placement.h).
//
// It runs only where this node leads the metadata quorum (on one node, always);
// an append refused because another node leads is answered NOT_CONTROLLER and
// changes nothing.
//
// Serialization: operations run one at a time, in arrival order (OpQueue), so
// each validates against an image that holds every earlier change. Kafka's
// QuorumController instead keeps a view of its own uncommitted records to
// pipeline operations; one at a time is enough while a commit is one local
// fdatasync.
//
// Ownership: lives on shard 0; every method is called (and every awaitable
// run) on that thread only.
#pragma once
#include <asio.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/error_code.h"
#include "base/random.h"
#include "cluster/acl.h"
#include "base/types.h"
#include "cluster/alter_partition.h"
#include "cluster/broker_heartbeats.h"
#include "cluster/client_quotas.h"
#include "cluster/metadata_image.h"
#include "cluster/metadata_loader.h"
#include "cluster/metadata_records.h"
#include "cluster/partition_changes.h"
#include "cluster/placement.h"
#include "raft/metadata_log.h"

namespace samsa::cluster {

struct TopicSpec {
  std::string name;
  int32_t num_partitions = -1;      // -1: num.partitions
  int16_t replication_factor = -1;  // -1: default.replication.factor
  std::map<int32_t, std::vector<int32_t>> assignments;  // explicit replica assignment
  std::map<std::string, std::string> configs;
};

struct OpResult {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  Uuid topic_id{};
};

// Kafka's KRaft controller refuses a CreateTopics request that would create
// more than this many partitions (ReplicationControlManager's
// MAX_PARTITIONS_PER_BATCH) with POLICY_VIOLATION, before allocating anything.
inline constexpr int64_t kMaxPartitionsPerRequest = 10000;
inline constexpr const char* kExcessivePartitionsMessage = "Excessively large number of partitions per request.";
// Any other operation is bounded by the records it would write
// (QuorumController's MAX_RECORDS_PER_USER_OP), also with POLICY_VIOLATION.
inline constexpr int64_t kMaxRecordsPerOp = 10000;

// One entry of AlterClientQuotas: the entity as sent, the ops on its keys.
struct QuotaAlteration {
  EntityComponents entity;
  std::vector<QuotaOp> ops;
};
inline constexpr const char* kExcessiveBatchMessage = "Unable to perform excessively large batch operation.";
inline constexpr const char* kNotControllerMessage = "This is not the correct controller for this cluster.";

// One change of UpdateFeatures: `level` 0 removes the feature's finalized level.
enum class FeatureUpgradeType : int8_t { upgrade = 1, safe_downgrade = 2, unsafe_downgrade = 3 };
struct FeatureUpdate {
  std::string name;
  int16_t level = 0;
  int8_t upgrade_type = 1;  // FeatureUpgradeType; anything else is refused
};

struct ControllerSettings {
  int32_t node_id = 1;
  // Records the first batch of an empty metadata log starts with (KIP-900:
  // `storage format --add-scram`, bootstrap_records.h).
  std::vector<MetadataRecord> bootstrap_records;
  // Partitions this broker can keep open (descriptors, memory maps); creating
  // beyond it is refused with POLICY_VIOLATION. 0: no limit.
  int64_t max_partitions = 0;
  std::string max_partitions_reason;  // what bounds it, for the error message
  int32_t default_partitions = 1;
  int16_t default_replication_factor = 1;
  // Validates topic configs; returns {error, message} when invalid.
  std::function<std::optional<std::pair<ErrorCode, std::string>>(const std::map<std::string, std::string>&)>
      validate_topic_configs;
  // Seeds the topic ids and placement (tests); unset: from the system.
  std::optional<uint64_t> seed;
  // Broker sessions: time from this clock (nullptr: the system's), expiry
  // after broker.session.timeout.ms without a heartbeat.
  Clock* clock = nullptr;
  int64_t session_timeout_ms = 9000;
  // This node's static unclean.leader.election.enable: what a topic without
  // an override and without a dynamic broker config gets (Kafka: false).
  bool unclean_leader_election_enable = false;
  // Automatic leader balance (leader_balance.h), checked every interval by
  // the session-check timer: Kafka's auto.leader.rebalance.enable (true),
  // leader.imbalance.check.interval.seconds (300) and
  // leader.imbalance.per.broker.percentage (10).
  bool auto_leader_rebalance = true;
  int64_t leader_imbalance_check_interval_ms = 300000;
  int32_t leader_imbalance_per_broker_percentage = 10;
};

// ElectLeaders (API 43), as the controller takes it: Kafka's ElectionType.
enum class ElectionType : int8_t { preferred = 0, unclean = 1 };

// AlterPartitionReassignments (API 45), one partition as the controller takes
// it: `replicas` the target set, nullopt to cancel (controller_reassign.cc).
struct ReassignmentItem {
  std::string topic;
  int32_t partition = -1;
  std::optional<std::vector<int32_t>> replicas;
  // KIP-860: false refuses a target whose size differs from the replicas
  // before any move in progress (INVALID_REPLICATION_FACTOR).
  bool allow_replication_factor_change = true;
};

// ListPartitionReassignments (API 46): one partition being reassigned.
struct OngoingReassignment {
  std::string topic;
  int32_t partition = -1;
  std::vector<int32_t> replicas;  // target first, then the replicas leaving
  std::vector<int32_t> adding;
  std::vector<int32_t> removing;
};

struct ListReassignmentsResult {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  std::vector<OngoingReassignment> partitions;
};

struct ElectionResult {
  std::string topic;
  int32_t partition = -1;
  ErrorCode error = ErrorCode::NONE;
  std::string message;  // empty on NONE
};

// A BrokerRegistration request, as the controller takes it.
struct BrokerRegistration {
  NodeId id{-1};
  std::string cluster_id;
  Uuid incarnation_id{};
  std::vector<BrokerEndpoint> listeners;
  std::vector<BrokerFeatureRange> features;
  std::optional<std::string> rack;
  // Its registration before a clean shutdown, or -1. Kept for the unclean
  // shutdown handling of KIP-966 (eligible leader replicas), not used yet.
  int64_t previous_broker_epoch = -1;
};

struct RegistrationResult {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  int64_t broker_epoch = -1;
};

// A BrokerHeartbeat request, as the controller takes it.
struct BrokerHeartbeat {
  NodeId id{-1};
  int64_t broker_epoch = -1;
  int64_t metadata_offset = -1;  // the highest metadata offset the broker has replayed
  bool want_fence = false;
  bool want_shutdown = false;
};

struct HeartbeatResult {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  bool is_caught_up = false;
  bool is_fenced = true;
  bool should_shutdown = false;
};

// Runs operations one at a time: acquire() resumes when every earlier
// operation has called release(). One event loop only.
class OpQueue {
 public:
  asio::awaitable<void> acquire();
  void release();

  // Holds an operation's turn until the coroutine leaves its scope.
  class Turn {
   public:
    explicit Turn(OpQueue& q) : q_(q) {}
    ~Turn() { q_.release(); }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    OpQueue& q_;
  };

 private:
  bool busy_ = false;
  std::deque<std::shared_ptr<asio::steady_timer>> waiters_;
};

class Controller {
 public:
  Controller(ControllerSettings settings, raft::MetadataLog& log, MetadataLoader& loader);

  // The topics of one request are validated one by one and the valid ones
  // proposed as one batch (one append, one new image); results in spec order.
  // The caller refuses duplicate names first.
  asio::awaitable<std::vector<OpResult>> create_topics(std::vector<TopicSpec> specs, bool validate_only);
  asio::awaitable<OpResult> create_topic(TopicSpec spec, bool validate_only);
  asio::awaitable<OpResult> delete_topic(std::string name);
  asio::awaitable<OpResult> create_partitions(std::string name, int32_t total,
                                              std::vector<std::vector<int32_t>> assignments, bool validate_only);
  // Sets (value) or removes (nullopt) config overrides of a topic or the broker.
  asio::awaitable<OpResult> alter_configs(int8_t resource_type, std::string resource_name,
                                          std::vector<std::pair<std::string, std::optional<std::string>>> changes,
                                          bool validate_only);
  // The broker of this process on a node without broker heartbeats (one
  // node): registered unfenced, its session never expires. Registers again
  // only when its address or rack changed.
  asio::awaitable<OpResult> register_broker(int32_t id, std::string host, int32_t port,
                                            std::optional<std::string> rack);

  // Brokers in a cluster (controller_brokers.cc), Kafka's KRaft rules (KIP-631).
  // Registration: checks the cluster id and the finalized features, refuses an
  // id whose registration by another incarnation is still alive, and writes a
  // RegisterBrokerRecord (fenced) whose offset is the new broker epoch. The
  // same incarnation registering again unchanged gets its epoch back.
  asio::awaitable<RegistrationResult> register_broker(BrokerRegistration reg);
  // Keeps the broker's session alive and moves it between fenced, unfenced,
  // controlled shutdown and shutdown (next_broker_state), writing the fencing
  // records and the leadership moves each step needs.
  asio::awaitable<HeartbeatResult> heartbeat(BrokerHeartbeat hb);
  // Removes a broker's registration (its leaderships and ISR places first).
  asio::awaitable<OpResult> unregister_broker(NodeId id);
  // Fences every unfenced broker whose session expired, moving its
  // leaderships away; returns how many. Run periodically by the active
  // controller (start_session_checks) and by tests.
  asio::awaitable<int> fence_expired_brokers();
  // This node just became the active controller: every registered broker
  // gets a fresh session.
  void activate() { heartbeats_.clear(); }
  // Automatic leader balance: preferred elections for the partitions
  // partitions_to_rebalance picks, one batch (at most kMaxRecordsPerOp);
  // returns how many leaderships moved. Run by the session-check timer every
  // leader_imbalance_check_interval_ms when auto_leader_rebalance is on, and
  // by tests.
  asio::awaitable<int> balance_leaders();
  // Runs fence_expired_brokers every `interval` on `ex` until
  // stop_session_checks() (both on the controller's thread).
  void start_session_checks(asio::any_io_executor ex, std::chrono::milliseconds interval);
  void stop_session_checks();
  const BrokerHeartbeats& sessions() const { return heartbeats_; }
  // Reserves a block of producer ids; returns the first id, or -1 on failure.
  asio::awaitable<int64_t> allocate_producer_ids(int32_t broker_id, int64_t block_size);
  // ACL bindings (controller_acls.cc), each request one batch: results in
  // request order; a binding already stored succeeds without a new record.
  asio::awaitable<std::vector<OpResult>> create_acls(std::vector<AclBinding> bindings);
  asio::awaitable<std::vector<AclDeleteResult>> delete_acls(std::vector<AclFilter> filters);
  // AlterClientQuotas (controller_quotas.cc), one batch per request: results
  // in entry order; an op that changes nothing writes no record.
  asio::awaitable<std::vector<OpResult>> alter_client_quotas(std::vector<QuotaAlteration> entries, bool validate_only);
  // AlterUserScramCredentials (controller_scram.cc), one batch per request:
  // one result per user named, as plan_scram_alteration decides.
  asio::awaitable<std::vector<ScramUserResult>> alter_user_scram_credentials(ScramAlteration req);
  // UpdateFeatures (controller_features.cc): every update checked, then all of them as one
  // batch of FeatureLevelRecords, or none (Kafka's rule: one error for the request).
  asio::awaitable<OpResult> update_features(std::vector<FeatureUpdate> updates, bool validate_only);
  // Partition leaders (controller_partitions.cc). AlterPartition: a leader's
  // ISR change, checked as alter_partition.h says; each accepted partition one
  // PartitionChangeRecord, all in one batch; the answer carries the state
  // after it.
  asio::awaitable<AlterPartitionResponse> alter_partition(AlterPartitionRequest req);
  // ElectLeaders: a preferred or unclean election for each partition named
  // (nullopt: every partition, leaving out those that need none); results in
  // request order, or one INVALID_REQUEST result for an unknown election type
  // is the caller's to produce.
  asio::awaitable<std::vector<ElectionResult>> elect_leaders(
      ElectionType type, std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> partitions);
  // Reassignments (controller_reassign.cc, KIP-455): each item starts,
  // replaces or (null replicas) cancels the reassignment of one partition;
  // all accepted items are one batch. Results in item order.
  asio::awaitable<std::vector<OpResult>> alter_reassignments(std::vector<ReassignmentItem> items);
  // The partitions being reassigned, of the named topics and partitions
  // (unknown ones left out) or of every topic (nullopt).
  asio::awaitable<ListReassignmentsResult> list_reassignments(
      std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> partitions);

 private:
  // Proposes the records as one batch and waits for the commit; NONE once the
  // loader applied it, else the error to answer.
  // `last_offset`, when given, receives the offset of the batch's last record.
  asio::awaitable<OpResult> commit(std::vector<MetadataRecord> records, int64_t* last_offset = nullptr);
  // What commit() puts before the first batch of an empty log: the bootstrap records and the
  // bootstrap level of each feature they do not set (empty once the log has a record).
  std::vector<MetadataRecord> first_batch_records() const;
  // The offset the `index`-th record of the next commit() will have.
  int64_t next_record_offset(size_t index) const;
  // The sync part of each operation: validates against the current image and
  // fills `recs` with what to propose (empty: nothing to write).
  std::vector<OpResult> plan_topics(const std::vector<TopicSpec>& specs, std::vector<MetadataRecord>& recs);
  OpResult plan_partitions(const std::string& name, int32_t total, const std::vector<std::vector<int32_t>>& assignments,
                           std::vector<MetadataRecord>& recs);
  OpResult plan_configs(int8_t resource_type, const std::string& resource_name,
                        const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);
  static uint64_t fresh_seed();
  Uuid random_uuid();
  // Validates one topic against the image and the topics before it in the same
  // request (`pending_*`), and appends its records.
  OpResult plan_topic(const TopicSpec& spec, int64_t& pending_partitions, std::map<std::string, std::string>& pending,
                      std::vector<MetadataRecord>& recs);
  std::optional<OpResult> replica_error(const std::vector<int32_t>& replicas) const;
  std::optional<OpResult> budget_error(int64_t adding) const;
  // The brokers new replicas may go to, or the INVALID_REPLICATION_FACTOR
  // answering `rf` (Kafka's message, after `prefix`).
  std::variant<std::vector<PlacementBroker>, OpResult> placement_brokers(int32_t rf, const std::string& prefix) const;
  // Explicitly assigned replicas: ISR = the ones that may lead, leader the
  // first of them; an error when none may.
  std::optional<OpResult> assigned_partition(const Uuid& topic_id, int32_t partition, const std::vector<int32_t>& replicas,
                                             std::vector<MetadataRecord>& recs) const;
  // Broker operations' parts (controller_brokers.cc).
  std::optional<RegistrationResult> registration_error(const BrokerRegistration& reg) const;
  // Who may lead once `leaving` left (and `joining`, still fenced in the
  // image, is unfenced), and which topics allow unclean election.
  ElectionRules election_rules(std::vector<int32_t> leaving, int32_t joining = -1) const;
  // One partition of AlterPartition / ElectLeaders (controller_partitions.cc).
  AlterPartitionResult alter_one(const TopicInfo& t, const AlterPartitionItem& item, const AlterPartitionRequest& req,
                                 std::map<std::pair<Uuid, int32_t>, PartitionInfo>& changed,
                                 std::vector<MetadataRecord>& recs) const;
  ElectionResult elect_one(const TopicInfo& t, int32_t partition, ElectionType type,
                           std::vector<MetadataRecord>& recs) const;
  // Records that move `leaving` off its partitions and fence it.
  void fence_records(const std::vector<int32_t>& leaving, std::vector<MetadataRecord>& recs) const;
  void schedule_session_check();
  // One tick of the session-check timer: fencing, then the leader balance
  // when it is due.
  asio::awaitable<int> session_tick();

  ControllerSettings settings_;
  raft::MetadataLog& log_;
  MetadataLoader& loader_;
  ImagePtr image_;  // the loader's image, taken when an operation starts its turn
  Random rng_;
  OpQueue queue_;
  Clock& clock_;
  BrokerHeartbeats heartbeats_;
  std::unique_ptr<asio::steady_timer> session_timer_;
  std::chrono::milliseconds session_check_interval_{1000};
  int64_t next_balance_ms_ = -1;  // monotonic; -1: one interval after the first tick
};

}  // namespace samsa::cluster
