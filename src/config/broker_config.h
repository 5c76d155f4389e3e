// Broker configuration: loading server.properties (plus command-line
// overrides), typed accessors for the keys the broker uses, and Kafka's
// DescribeConfigs view of broker and topic configs (value, source, synonyms).
//
// Ownership: a BrokerConfig is a value. It is built once at startup by
// load_broker_config() and then shared read-only (by const reference or a
// shared_ptr<const BrokerConfig>) with every core; nothing in it changes
// behind a reader's back. A dynamic update (set_dynamic) is made on a copy by
// the single owner of the metadata image, which then publishes the new copy.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/error_code.h"
#include "config/config_registry.h"

namespace samsa::config {

// ---- Java .properties ------------------------------------------------------

// Key/value pairs in file order; a later duplicate overrides an earlier one
// when applied.
using PropertyList = std::vector<std::pair<std::string, std::string>>;

// Largest properties file load_broker_config() reads.
inline constexpr size_t kMaxPropertiesFileBytes = 8u << 20;

// Parses the subset of java.util.Properties' text format that config files
// use: '#' and '!' comment lines, blank lines, "key=value", "key: value" and
// "key value", whitespace around key and value trimmed, a trailing odd
// backslash continuing the line (leading whitespace of the next line dropped),
// and escapes \t \n \r \f \uXXXX and \<char> (so "\\" is one backslash and
// "\=" a literal '='). Returns an error message for a malformed \u escape.
std::variant<PropertyList, std::string> parse_properties(std::string_view text);

// ---- typed pieces of the broker config ------------------------------------

struct Endpoint {
  std::string listener_name;      // upper-cased, as Kafka normalises it
  std::string host;               // empty: bind the default interface
  int32_t port = 0;
  std::string security_protocol;  // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
};

struct QuorumVoter {
  int32_t id = 0;
  std::string host;
  int32_t port = 0;
};

// Parses a listener list such as "PLAINTEXT://:9092,SSL://[::1]:9093"
// (without resolving security protocols). Kafka's error text on failure.
std::variant<std::vector<Endpoint>, std::string> parse_listeners(std::string_view value);

using ConfigMap = std::map<std::string, std::string, std::less<>>;

class BrokerConfig {
 public:
  // Every key at its default.
  BrokerConfig();

  // Explicitly set values per layer, canonicalised (see canonical_value);
  // unknown keys are kept in static_values() as given, for DescribeConfigs.
  const ConfigMap& static_values() const { return static_; }
  const ConfigMap& dynamic_default_values() const { return dynamic_default_; }
  const ConfigMap& dynamic_broker_values() const { return dynamic_broker_; }

  // Effective value of a key: dynamic per-broker > dynamic cluster default >
  // static (file and overrides) > the key's default. nullopt means null.
  std::optional<std::string> value(std::string_view name) const;
  // The layer the effective value comes from (DEFAULT_CONFIG when unset).
  ConfigSource source(std::string_view name) const;
  // The value set in one layer (DYNAMIC_BROKER_CONFIG,
  // DYNAMIC_DEFAULT_BROKER_CONFIG or STATIC_BROKER_CONFIG), if any.
  std::optional<std::string> layer_value(ConfigSource layer, std::string_view name) const;

  // Typed reads of the effective value of a known key; nullopt when the key
  // is unknown, null, or of another type.
  std::optional<int64_t> get_long(std::string_view name) const;  // INT, SHORT and LONG keys
  std::optional<int32_t> get_int(std::string_view name) const;   // INT and SHORT keys
  std::optional<bool> get_bool(std::string_view name) const;
  std::optional<double> get_double(std::string_view name) const;
  std::vector<std::string> get_list(std::string_view name) const;  // empty when null

  // Sets (value) or removes (nullopt) a dynamic value in the
  // DYNAMIC_BROKER_CONFIG or DYNAMIC_DEFAULT_BROKER_CONFIG layer after
  // validating it; read-only keys and per-broker keys at the cluster-default
  // layer are refused. On error nothing changes.
  std::optional<std::string> set_dynamic(ConfigSource layer, std::string_view name,
                                         std::optional<std::string_view> value);
  // Several changes of one layer at once: each key and value is checked, then
  // Kafka's rules across keys on the result (so related keys can move
  // together). On error nothing changes.
  using DynamicChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;
  std::optional<std::string> set_dynamic(ConfigSource layer, const DynamicChanges& changes);

  // ---- identity and roles ----
  // node.id; else broker.id; else 1: a node started without an id is the
  // single node of a one-voter cluster (Kafka would refuse to start).
  int32_t node_id() const { return node_id_; }
  // process.roles; empty means both, since one Samsa process is both.
  const std::vector<std::string>& process_roles() const { return process_roles_; }
  bool is_broker() const;
  bool is_controller() const;
  // controller.quorum.voters parsed; empty when not set (single node).
  const std::vector<QuorumVoter>& quorum_voters() const { return voters_; }

  // ---- listeners ----
  const std::vector<Endpoint>& listeners() const { return listeners_; }
  // advertised.listeners, or else the listeners that are not controller
  // listeners (all of them when that would leave none).
  const std::vector<Endpoint>& advertised_listeners() const { return advertised_; }
  // Listener name -> security protocol, upper-cased names.
  const std::map<std::string, std::string>& listener_security_protocols() const { return protocol_map_; }
  // inter.broker.listener.name, else the name of security.inter.broker.protocol.
  const std::string& inter_broker_listener_name() const { return inter_broker_listener_; }
  const std::vector<std::string>& controller_listener_names() const { return controller_listeners_; }
  // A per-listener setting as Kafka reads it: listener.name.<listener in lower
  // case>.<key> when set, else the key's effective value.
  std::optional<std::string> listener_value(std::string_view listener, std::string_view key) const;

  // ---- storage ----
  // log.dirs if set, else log.dir; never empty.
  const std::vector<std::string>& log_dirs() const { return log_dirs_; }
  // metadata.log.dir, else the first of log_dirs().
  std::string metadata_log_dir() const;
  // log.retention.ms > log.retention.minutes > log.retention.hours, in ms;
  // any negative value is returned as -1 (no time limit), as Kafka does.
  int64_t log_retention_ms() const;
  int64_t log_retention_bytes() const { return long_or("log.retention.bytes", -1); }
  int32_t log_segment_bytes() const { return int_or("log.segment.bytes", 1073741824); }
  // log.roll.ms, else log.roll.hours in ms.
  int64_t log_roll_ms() const;
  int64_t log_roll_jitter_ms() const;
  int64_t log_flush_interval_messages() const { return long_or("log.flush.interval.messages", INT64_MAX); }
  // log.flush.interval.ms, else log.flush.scheduler.interval.ms.
  int64_t log_flush_interval_ms() const;
  int64_t log_retention_check_interval_ms() const { return long_or("log.retention.check.interval.ms", 300000); }
  bool log_cleaner_enable() const { return bool_or("log.cleaner.enable", true); }
  int32_t log_cleaner_threads() const { return int_or("log.cleaner.threads", 1); }
  int64_t log_cleaner_backoff_ms() const { return long_or("log.cleaner.backoff.ms", 15000); }
  int64_t log_cleaner_dedupe_buffer_size() const { return long_or("log.cleaner.dedupe.buffer.size", 134217728); }
  double log_cleaner_io_max_bytes_per_second() const {
    return get_double("log.cleaner.io.max.bytes.per.second").value_or(0);
  }
  int32_t num_recovery_threads_per_data_dir() const { return int_or("num.recovery.threads.per.data.dir", 1); }

  // ---- topics ----
  int32_t num_partitions() const { return int_or("num.partitions", 1); }
  int32_t default_replication_factor() const { return int_or("default.replication.factor", 1); }
  bool auto_create_topics_enable() const { return bool_or("auto.create.topics.enable", true); }
  bool delete_topic_enable() const { return bool_or("delete.topic.enable", true); }
  int32_t message_max_bytes() const { return int_or("message.max.bytes", 1048588); }
  int32_t min_insync_replicas() const { return int_or("min.insync.replicas", 1); }
  bool unclean_leader_election_enable() const { return bool_or("unclean.leader.election.enable", false); }
  std::string compression_type() const { return value("compression.type").value_or("producer"); }

  // ---- network ----
  int32_t socket_request_max_bytes() const { return int_or("socket.request.max.bytes", 104857600); }
  int32_t socket_send_buffer_bytes() const { return int_or("socket.send.buffer.bytes", 102400); }
  int32_t socket_receive_buffer_bytes() const { return int_or("socket.receive.buffer.bytes", 102400); }
  int32_t num_network_threads() const { return int_or("num.network.threads", 3); }
  int32_t num_io_threads() const { return int_or("num.io.threads", 8); }
  int32_t queued_max_requests() const { return int_or("queued.max.requests", 500); }
  int64_t connections_max_idle_ms() const { return long_or("connections.max.idle.ms", 600000); }
  int32_t max_connections() const { return int_or("max.connections", INT32_MAX); }
  int32_t max_connections_per_ip() const { return int_or("max.connections.per.ip", INT32_MAX); }
  int32_t fetch_max_bytes() const { return int_or("fetch.max.bytes", 57671680); }
  int32_t quota_window_num() const { return int_or("quota.window.num", 11); }
  int32_t quota_window_size_seconds() const { return int_or("quota.window.size.seconds", 1); }

  // ---- replication ----
  int32_t replica_fetch_max_bytes() const { return int_or("replica.fetch.max.bytes", 1048576); }
  int64_t replica_lag_time_max_ms() const { return long_or("replica.lag.time.max.ms", 30000); }
  int32_t replica_fetch_wait_max_ms() const { return int_or("replica.fetch.wait.max.ms", 500); }

  // ---- group coordinator ----
  int32_t offsets_topic_num_partitions() const { return int_or("offsets.topic.num.partitions", 50); }
  int16_t offsets_topic_replication_factor() const;
  int32_t offsets_topic_segment_bytes() const { return int_or("offsets.topic.segment.bytes", 104857600); }
  int64_t offsets_retention_ms() const { return int64_t{int_or("offsets.retention.minutes", 10080)} * 60000; }
  int64_t offsets_retention_check_interval_ms() const { return long_or("offsets.retention.check.interval.ms", 600000); }
  int32_t offsets_commit_timeout_ms() const { return int_or("offsets.commit.timeout.ms", 5000); }
  int32_t offset_metadata_max_bytes() const { return int_or("offset.metadata.max.bytes", 4096); }
  int32_t group_initial_rebalance_delay_ms() const { return int_or("group.initial.rebalance.delay.ms", 3000); }
  int32_t group_min_session_timeout_ms() const { return int_or("group.min.session.timeout.ms", 6000); }
  int32_t group_max_session_timeout_ms() const { return int_or("group.max.session.timeout.ms", 1800000); }
  int32_t group_max_size() const { return int_or("group.max.size", INT32_MAX); }

  // ---- transaction coordinator ----
  int32_t transaction_state_log_num_partitions() const { return int_or("transaction.state.log.num.partitions", 50); }
  int16_t transaction_state_log_replication_factor() const;
  int32_t transaction_state_log_min_isr() const { return int_or("transaction.state.log.min.isr", 2); }
  int32_t transaction_state_log_segment_bytes() const {
    return int_or("transaction.state.log.segment.bytes", 104857600);
  }
  int32_t transaction_max_timeout_ms() const { return int_or("transaction.max.timeout.ms", 900000); }
  bool transaction_partition_verification_enable() const {
    return bool_or("transaction.partition.verification.enable", true);
  }
  int32_t transactional_id_expiration_ms() const { return int_or("transactional.id.expiration.ms", 604800000); }
  int32_t producer_id_expiration_ms() const { return int_or("producer.id.expiration.ms", 86400000); }
  int32_t transaction_abort_timed_out_transaction_cleanup_interval_ms() const {
    return int_or("transaction.abort.timed.out.transaction.cleanup.interval.ms", 10000);
  }

 private:
  friend std::variant<BrokerConfig, std::string> load_broker_config(
      const std::optional<std::string>&, const std::vector<std::pair<std::string, std::string>>&,
      std::vector<std::string>&);

  int32_t int_or(std::string_view name, int32_t fallback) const { return get_int(name).value_or(fallback); }
  int64_t long_or(std::string_view name, int64_t fallback) const { return get_long(name).value_or(fallback); }
  bool bool_or(std::string_view name, bool fallback) const { return get_bool(name).value_or(fallback); }
  // Recomputes the parsed members from the layers and checks the rules that
  // span several keys. Returns Kafka-like error text.
  std::optional<std::string> finalize();
  std::optional<std::string> finalize_listeners();

  ConfigMap static_;
  ConfigMap dynamic_default_;
  ConfigMap dynamic_broker_;

  int32_t node_id_ = 1;
  std::vector<std::string> process_roles_;
  std::vector<QuorumVoter> voters_;
  std::vector<Endpoint> listeners_;
  std::vector<Endpoint> advertised_;
  std::map<std::string, std::string> protocol_map_;
  std::string inter_broker_listener_;
  std::vector<std::string> controller_listeners_;
  std::vector<std::string> log_dirs_;
};

// Loads the broker config: the properties file (if any), then `overrides`
// (e.g. from --override key=value) on top. An unknown key adds a warning
// ("The configuration 'x' was supplied but isn't a known config.") and is
// kept for DescribeConfigs; an invalid value is an error naming the key, the
// value and what is accepted, e.g.
// "Invalid value -5 for configuration num.partitions: Value must be at least 1".
std::variant<BrokerConfig, std::string> load_broker_config(
    const std::optional<std::string>& file_path, const std::vector<std::pair<std::string, std::string>>& overrides,
    std::vector<std::string>& warnings);

// Validates one broker key's value. Unknown keys are accepted (nullopt): the
// broker only warns about them.
std::optional<std::string> validate_value(std::string_view name, std::string_view value);

// ---- DescribeConfigs ------------------------------------------------------

struct ConfigSynonym {
  std::string name;
  std::optional<std::string> value;  // null for sensitive keys
  ConfigSource source = ConfigSource::UNKNOWN;
};

struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;  // null for sensitive or null-valued keys
  ConfigSource source = ConfigSource::DEFAULT_CONFIG;
  bool is_default = true;  // source == DEFAULT_CONFIG (DescribeConfigs v0)
  bool read_only = true;
  bool sensitive = false;
  ConfigType type = ConfigType::UNKNOWN;
  std::string_view documentation;  // static storage
  // Highest priority first; the first one (if any) is where the value comes from.
  std::vector<ConfigSynonym> synonyms;
};

// The broker's configs as DescribeConfigs reports them, sorted by name. With
// `keys` non-empty only those keys (unknown ones are skipped, as Kafka does).
// Synonyms follow Kafka: the key itself and its alternatives (log.roll.ms /
// log.roll.hours, ...) in every layer where they are set, from the key itself
// down; defaults appear as DEFAULT_CONFIG synonyms when not null.
std::vector<ConfigEntry> describe_broker_config(const BrokerConfig& broker, std::span<const std::string> keys = {},
                                                bool include_synonyms = true);

// Per-topic overrides as stored in the metadata (key -> value).
using TopicOverrides = std::map<std::string, std::string, std::less<>>;

// A topic's configs as DescribeConfigs reports them, sorted by name: the
// override (DYNAMIC_TOPIC_CONFIG) if any, else the value its broker keys give
// (retention.ms <- log.retention.ms <- .minutes <- .hours, converted to ms),
// else Kafka's default. Synonyms and source are Kafka's: the override, then
// the synonyms of the topic key's canonical broker key (log.retention.ms for
// retention.ms) in every layer where they are set (dynamic broker, dynamic
// default, static, default), from the canonical key on; the source is the
// first synonym's, else DEFAULT_CONFIG. So with only log.retention.hours set,
// retention.ms reports that value with no synonyms and source DEFAULT_CONFIG,
// as Kafka does.
std::vector<ConfigEntry> describe_topic_config(const TopicOverrides& overrides, const BrokerConfig& broker,
                                               std::span<const std::string> keys = {},
                                               bool include_synonyms = true);

// Checks a CreateTopics / AlterConfigs set of topic configs: unknown keys,
// values, and min.compaction.lag.ms <= max.compaction.lag.ms (with broker
// defaults filling the gaps when `broker` is given). INVALID_CONFIG and
// Kafka's message on error, e.g. "Unknown topic config name: foo".
std::optional<std::pair<ErrorCode, std::string>> validate_topic_configs(
    const std::map<std::string, std::string, std::less<>>& configs, const BrokerConfig* broker = nullptr);
// The same for wire maps whose values may be null (null is refused).
std::optional<std::pair<ErrorCode, std::string>> validate_topic_configs(
    const std::map<std::string, std::optional<std::string>, std::less<>>& configs,
    const BrokerConfig* broker = nullptr);

// The overrides with canonical values (what DescribeConfigs prints and what
// should be stored). Precondition: validate_topic_configs() accepted them.
TopicOverrides canonical_topic_configs(const TopicOverrides& configs);

// A topic's effective configuration as typed values, for the log and the
// request handlers. Precondition: the overrides were validated.
struct EffectiveTopicConfig {
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  std::string compression_type = "producer";
  int32_t max_message_bytes = 1048588;
  int64_t retention_ms = 604800000;  // -1: no limit
  int64_t retention_bytes = -1;      // -1: no limit
  int32_t segment_bytes = 1073741824;
  int64_t segment_ms = 604800000;
  int64_t segment_jitter_ms = 0;
  int32_t segment_index_bytes = 10485760;
  int32_t index_interval_bytes = 4096;
  int64_t flush_messages = INT64_MAX;
  int64_t flush_ms = INT64_MAX;
  int64_t delete_retention_ms = 86400000;
  int64_t min_compaction_lag_ms = 0;
  int64_t max_compaction_lag_ms = INT64_MAX;
  double min_cleanable_dirty_ratio = 0.5;
  int64_t file_delete_delay_ms = 60000;
  int32_t min_insync_replicas = 1;
  bool unclean_leader_election_enable = false;
  bool preallocate = false;
  bool log_append_time = false;  // message.timestamp.type == LogAppendTime
  int64_t message_timestamp_before_max_ms = INT64_MAX;
  int64_t message_timestamp_after_max_ms = INT64_MAX;
};

EffectiveTopicConfig resolve_topic_config(const TopicOverrides& overrides, const BrokerConfig& broker);

}  // namespace samsa::config

// Transitional: the config code lived in cluster/ and its callers (server/,
// tests) still name it samsa::cluster::...; this keeps them compiling until
// they say config::. New code should name samsa::config directly.
namespace samsa::cluster {
using namespace samsa::config;
}  // namespace samsa::cluster
