// The tables below are data, which is why this file is longer than most: one
// row per Kafka configuration key. Facts (names, types, defaults, ranges,
// update modes, synonyms) are Kafka 3.9's; the one-line docs are ours.
#include "config/config_registry.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <unordered_map>

namespace samsa::cluster {
namespace {

using enum ConfigType;
constexpr auto kHigh = Importance::kHigh;
constexpr auto kMedium = Importance::kMedium;
constexpr auto kLow = Importance::kLow;
constexpr auto kRO = UpdateMode::kReadOnly;
constexpr auto kPB = UpdateMode::kPerBroker;
constexpr auto kCW = UpdateMode::kClusterWide;
constexpr std::optional<std::string_view> kNull = std::nullopt;
constexpr std::string_view kLongMax = "9223372036854775807";
constexpr std::string_view kIntMax = "2147483647";

Validator none() { return {}; }
Validator at_least(int64_t min) { return {ValidatorKind::kRange, min, std::nullopt, {}}; }
Validator between(int64_t min, int64_t max) { return {ValidatorKind::kRange, min, max, {}}; }
Validator one_of(std::vector<std::string_view> c) { return {ValidatorKind::kOneOf, {}, {}, std::move(c)}; }
Validator list_of(std::vector<std::string_view> c) { return {ValidatorKind::kListOf, {}, {}, std::move(c)}; }
Validator of_kind(ValidatorKind k) { return {k, {}, {}, {}}; }

const std::vector<std::string_view>& compression_types() {
  static const std::vector<std::string_view> v{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"};
  return v;
}

const std::vector<std::string_view>& metadata_versions() {
  static const std::vector<std::string_view> v{
      "0.8.0", "0.8.1", "0.8.2", "0.9.0", "0.10.0-IV0", "0.10.0-IV1", "0.10.1-IV0", "0.10.1-IV1",
      "0.10.1-IV2", "0.10.2-IV0", "0.11.0-IV0", "0.11.0-IV1", "0.11.0-IV2", "1.0-IV0", "1.1-IV0",
      "2.0-IV0", "2.0-IV1", "2.1-IV0", "2.1-IV1", "2.1-IV2", "2.2-IV0", "2.2-IV1", "2.3-IV0", "2.3-IV1",
      "2.4-IV0", "2.4-IV1", "2.5-IV0", "2.6-IV0", "2.7-IV0", "2.7-IV1", "2.7-IV2", "2.8-IV0", "2.8-IV1",
      "3.0-IV0", "3.0-IV1", "3.1-IV0", "3.2-IV0", "3.3-IV0", "3.3-IV1", "3.3-IV2", "3.3-IV3", "3.4-IV0",
      "3.5-IV0", "3.5-IV1", "3.5-IV2", "3.6-IV0", "3.6-IV1", "3.6-IV2", "3.7-IV0", "3.7-IV1", "3.7-IV2",
      "3.7-IV3", "3.7-IV4", "3.8-IV0", "3.9-IV0", "4.0-IV0", "4.0-IV1"};
  return v;
}

ConfigDef broker(std::string_view name, ConfigType type, std::optional<std::string_view> def, Validator v,
                 Importance imp, UpdateMode mode, std::string_view doc,
                 std::vector<std::string_view> synonyms = {}) {
  ConfigDef d;
  d.name = name;
  d.type = type;
  d.default_value = def;
  d.validator = std::move(v);
  d.importance = imp;
  d.update_mode = mode;
  d.documentation = doc;
  d.synonyms = std::move(synonyms);
  return d;
}

ConfigDef topic(std::string_view name, ConfigType type, std::optional<std::string_view> def, Validator v,
                std::vector<std::string_view> server_defaults, std::string_view doc,
                Importance imp = kMedium) {
  ConfigDef d;
  d.name = name;
  d.type = type;
  d.default_value = def;
  d.validator = std::move(v);
  d.importance = imp;
  d.update_mode = kCW;
  d.documentation = doc;
  d.is_topic_config = true;
  d.synonyms = std::move(server_defaults);
  return d;
}

std::vector<ConfigDef> build_topic_defs() {
  const std::vector<std::string_view> retention{"log.retention.ms", "log.retention.minutes", "log.retention.hours"};
  return {
      topic("cleanup.policy", LIST, "delete", list_of({"compact", "delete"}), {"log.cleanup.policy"},
            "Retention policy for old segments: delete, compact, or both (comma separated)."),
      topic("compression.gzip.level", INT, "-1", of_kind(ValidatorKind::kGzipLevel), {"compression.gzip.level"},
            "Compression level used when compression.type is gzip."),
      topic("compression.lz4.level", INT, "9", between(1, 17), {"compression.lz4.level"},
            "Compression level used when compression.type is lz4."),
      topic("compression.type", STRING, "producer", one_of(compression_types()), {"compression.type"},
            "Final compression codec of the topic; 'producer' keeps the producer's codec, 'uncompressed' stores "
            "batches uncompressed."),
      topic("compression.zstd.level", INT, "3", between(-131072, 22), {"compression.zstd.level"},
            "Compression level used when compression.type is zstd."),
      topic("delete.retention.ms", LONG, "86400000", at_least(0), {"log.cleaner.delete.retention.ms"},
            "How long delete tombstones are kept in a compacted topic."),
      topic("file.delete.delay.ms", LONG, "60000", at_least(0), {"log.segment.delete.delay.ms"},
            "Delay before a deleted segment file is removed from the filesystem."),
      topic("flush.messages", LONG, kLongMax, at_least(1), {"log.flush.interval.messages"},
            "Force an fsync after this many messages; prefer replication for durability."),
      topic("flush.ms", LONG, kLongMax, at_least(0), {"log.flush.interval.ms", "log.flush.scheduler.interval.ms"},
            "Force an fsync when this much time has passed since the last one."),
      topic("follower.replication.throttled.replicas", LIST, "", of_kind(ValidatorKind::kThrottledReplicas), {},
            "Replicas ([partition]:[broker],... or '*') throttled on the follower side."),
      topic("index.interval.bytes", INT, "4096", at_least(0), {"log.index.interval.bytes"},
            "Bytes of log between two offset index entries."),
      topic("leader.replication.throttled.replicas", LIST, "", of_kind(ValidatorKind::kThrottledReplicas), {},
            "Replicas ([partition]:[broker],... or '*') throttled on the leader side."),
      topic("local.retention.bytes", LONG, "-2", at_least(-2), {"log.local.retention.bytes"},
            "Local size limit of a tiered partition; -2 means retention.bytes."),
      topic("local.retention.ms", LONG, "-2", at_least(-2), {"log.local.retention.ms"},
            "Local time limit of a tiered partition; -2 means retention.ms."),
      topic("max.compaction.lag.ms", LONG, kLongMax, at_least(1), {"log.cleaner.max.compaction.lag.ms"},
            "Longest time a message may stay ineligible for compaction."),
      topic("max.message.bytes", INT, "1048588", at_least(0), {"message.max.bytes"},
            "Largest record batch (after compression) the topic accepts."),
      topic("message.downconversion.enable", BOOLEAN, "true", none(), {"log.message.downconversion.enable"},
            "Whether fetches from old clients may be down-converted to an older message format.", kLow),
      topic("message.format.version", STRING, "3.0-IV1", one_of(metadata_versions()),
            {"log.message.format.version"},
            "[DEPRECATED] Message format version; ignored from inter.broker.protocol.version 3.0 on."),
      topic("message.timestamp.after.max.ms", LONG, kLongMax, at_least(0), {"log.message.timestamp.after.max.ms"},
            "How far a CreateTime timestamp may be ahead of the broker's clock."),
      topic("message.timestamp.before.max.ms", LONG, kLongMax, at_least(0),
            {"log.message.timestamp.before.max.ms"},
            "How far a CreateTime timestamp may be behind the broker's clock."),
      topic("message.timestamp.difference.max.ms", LONG, kLongMax, at_least(0),
            {"log.message.timestamp.difference.max.ms"},
            "[DEPRECATED] Largest allowed difference between a CreateTime timestamp and the broker's clock."),
      topic("message.timestamp.type", STRING, "CreateTime", one_of({"CreateTime", "LogAppendTime"}),
            {"log.message.timestamp.type"}, "Whether record timestamps are the producer's (CreateTime) or the "
            "broker's append time (LogAppendTime)."),
      topic("min.cleanable.dirty.ratio", DOUBLE, "0.5", between(0, 1), {"log.cleaner.min.cleanable.ratio"},
            "Share of uncompacted log above which the compactor cleans the partition."),
      topic("min.compaction.lag.ms", LONG, "0", at_least(0), {"log.cleaner.min.compaction.lag.ms"},
            "Shortest time a message stays uncompacted."),
      topic("min.insync.replicas", INT, "1", at_least(1), {"min.insync.replicas"},
            "Replicas that must acknowledge an acks=all write."),
      topic("preallocate", BOOLEAN, "false", none(), {"log.preallocate"},
            "Preallocate the segment file on disk when a segment is created."),
      topic("remote.log.copy.disable", BOOLEAN, "false", none(), {},
            "Stop uploading data of this topic to tiered storage."),
      topic("remote.log.delete.on.disable", BOOLEAN, "false", none(), {},
            "Delete tiered data when tiered storage is disabled for the topic."),
      topic("remote.storage.enable", BOOLEAN, "false", none(), {}, "Enable tiered storage for the topic."),
      topic("retention.bytes", LONG, "-1", none(), {"log.retention.bytes"},
            "Size a partition may grow to before old segments are deleted; -1 means no limit."),
      topic("retention.ms", LONG, "604800000", at_least(-1), retention,
            "How long a segment is kept before deletion; -1 means no time limit."),
      topic("segment.bytes", INT, "1073741824", at_least(14), {"log.segment.bytes"}, "Size of a segment file."),
      topic("segment.index.bytes", INT, "10485760", at_least(4), {"log.index.size.max.bytes"},
            "Preallocated size of the offset index of a segment."),
      topic("segment.jitter.ms", LONG, "0", at_least(0), {"log.roll.jitter.ms", "log.roll.jitter.hours"},
            "Largest random jitter subtracted from the segment roll time."),
      topic("segment.ms", LONG, "604800000", at_least(1), {"log.roll.ms", "log.roll.hours"},
            "Time after which a segment is rolled even if it is not full."),
      topic("unclean.leader.election.enable", BOOLEAN, "false", none(), {"unclean.leader.election.enable"},
            "Allow an out-of-sync replica to become leader as a last resort (may lose data)."),
  };
}

// Broker configs, part 1: identity, listeners, quorum, logs.
void add_broker_core(std::vector<ConfigDef>& v) {
  const std::vector<std::string_view> retention{"log.retention.ms", "log.retention.minutes", "log.retention.hours"};
  const std::vector<std::string_view> roll{"log.roll.ms", "log.roll.hours"};
  const std::vector<std::string_view> jitter{"log.roll.jitter.ms", "log.roll.jitter.hours"};
  const std::vector<std::string_view> flush{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"};
  v.insert(v.end(), {
      broker("advertised.listeners", STRING, kNull, none(), kHigh, kPB,
             "Listeners published to clients when they differ from 'listeners'; defaults to 'listeners'."),
      broker("auto.create.topics.enable", BOOLEAN, "true", none(), kHigh, kRO,
             "Create a topic automatically when a client asks for an unknown one."),
      broker("auto.leader.rebalance.enable", BOOLEAN, "true", none(), kHigh, kRO,
             "Move leadership back to preferred replicas periodically."),
      broker("background.threads", INT, "10", at_least(1), kHigh, kCW, "Threads for background tasks."),
      broker("broker.id", INT, "-1", none(), kHigh, kRO,
             "Legacy id of this broker; when set it must equal node.id."),
      broker("broker.rack", STRING, kNull, none(), kMedium, kRO, "Rack of this broker, for rack-aware placement."),
      broker("broker.heartbeat.interval.ms", INT, "2000", none(), kMedium, kRO,
             "Time between broker heartbeats to the controller."),
      broker("broker.session.timeout.ms", INT, "9000", none(), kMedium, kRO,
             "How long a broker lease lasts without heartbeats."),
      broker("control.plane.listener.name", STRING, kNull, none(), kHigh, kRO,
             "Listener dedicated to controller-to-broker traffic (ZooKeeper mode only)."),
      broker("controller.listener.names", STRING, kNull, none(), kHigh, kRO,
             "Comma-separated listener names used by the controller quorum."),
      broker("controller.quorum.append.linger.ms", INT, "25", none(), kMedium, kRO,
             "How long the quorum leader waits for writes to accumulate before flushing."),
      broker("controller.quorum.bootstrap.servers", LIST, "", none(), kHigh, kRO,
             "host:port endpoints used to discover the controller quorum."),
      broker("controller.quorum.election.backoff.max.ms", INT, "1000", none(), kHigh, kRO,
             "Largest backoff before starting a new election."),
      broker("controller.quorum.election.timeout.ms", INT, "1000", none(), kHigh, kRO,
             "Time without a leader before an election starts."),
      broker("controller.quorum.fetch.timeout.ms", INT, "2000", none(), kHigh, kRO,
             "Time without a successful fetch from the leader before becoming a candidate."),
      broker("controller.quorum.request.timeout.ms", INT, "2000", none(), kMedium, kRO,
             "Timeout of requests between quorum members."),
      broker("controller.quorum.voters", LIST, "", none(), kHigh, kRO,
             "Static voter set as id@host:port entries, comma separated."),
      broker("early.start.listeners", STRING, kNull, none(), kHigh, kRO,
             "Listeners that may start before the authorizer is ready."),
      broker("initial.broker.registration.timeout.ms", INT, "60000", none(), kMedium, kRO,
             "How long a broker waits for its first registration before exiting."),
      broker("inter.broker.listener.name", STRING, kNull, none(), kMedium, kRO,
             "Listener used between brokers; defaults to security.inter.broker.protocol's name."),
      broker("inter.broker.protocol.version", STRING, "3.9-IV0", one_of(metadata_versions()), kMedium, kRO,
             "Version of the inter-broker protocol."),
      broker("listener.security.protocol.map", STRING,
             "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", none(), kLow, kPB,
             "Map from listener name to security protocol, as NAME:PROTOCOL pairs."),
      broker("listeners", STRING, "PLAINTEXT://:9092", none(), kHigh, kPB,
             "Comma-separated NAME://host:port endpoints to listen on; an empty host binds the default "
             "interface."),
      broker("node.id", INT, "-1", none(), kHigh, kRO,
             "Id of this node in the cluster (Samsa treats -1 as 1 for a single node)."),
      broker("process.roles", LIST, "", list_of({"broker", "controller"}), kHigh, kRO,
             "Roles of this process: broker, controller or both (Samsa runs both when empty)."),
      broker("metadata.log.dir", STRING, kNull, none(), kHigh, kRO,
             "Directory of the metadata log; defaults to the first of log.dirs."),
      broker("metadata.log.max.record.bytes.between.snapshots", LONG, "20971520", at_least(1), kHigh, kRO,
             "Metadata log bytes after the last snapshot that trigger a new snapshot."),
      broker("metadata.log.max.snapshot.interval.ms", LONG, "3600000", at_least(0), kHigh, kRO,
             "Longest time between metadata snapshots when there are new records; 0 disables."),
      broker("metadata.log.segment.bytes", INT, "1073741824", at_least(12), kHigh, kRO,
             "Segment size of the metadata log."),
      broker("metadata.log.segment.ms", LONG, "604800000", none(), kHigh, kRO,
             "Roll time of a metadata log segment."),
      broker("metadata.max.idle.interval.ms", INT, "500", at_least(0), kLow, kRO,
             "How often the active controller appends a no-op record; 0 disables."),
      broker("metadata.max.retention.bytes", LONG, "104857600", none(), kHigh, kRO,
             "Soft size limit of the metadata log and snapshots."),
      broker("metadata.max.retention.ms", LONG, "604800000", none(), kHigh, kRO,
             "Soft time limit of metadata log files and snapshots."),
      // Samsa's default log directory is the one Kafka's KRaft sample config
      // uses, since Samsa is always a KRaft node (Kafka's code default is
      // /tmp/kafka-logs).
      broker("log.dir", STRING, "/tmp/kraft-combined-logs", none(), kHigh, kRO,
             "Directory of the log data, used when log.dirs is not set."),
      broker("log.dirs", STRING, kNull, none(), kHigh, kRO,
             "Comma-separated directories of the log data; overrides log.dir."),
      broker("log.flush.interval.messages", LONG, kLongMax, at_least(1), kHigh, kCW,
             "Messages accumulated on a partition before an fsync."),
      broker("log.flush.interval.ms", LONG, kNull, none(), kHigh, kCW,
             "Longest time a message stays unflushed; defaults to log.flush.scheduler.interval.ms.", flush),
      broker("log.flush.offset.checkpoint.interval.ms", INT, "60000", at_least(0), kHigh, kRO,
             "How often the recovery point checkpoint is written."),
      broker("log.flush.scheduler.interval.ms", LONG, kLongMax, none(), kHigh, kRO,
             "How often the flusher checks whether a log needs an fsync.", flush),
      broker("log.flush.start.offset.checkpoint.interval.ms", INT, "60000", at_least(0), kHigh, kRO,
             "How often the log start offset checkpoint is written."),
      broker("log.retention.bytes", LONG, "-1", none(), kHigh, kCW,
             "Default size limit of a partition; -1 means none."),
      broker("log.retention.hours", INT, "168", none(), kHigh, kRO,
             "Default retention in hours; lowest priority of the three retention keys.", retention),
      broker("log.retention.minutes", INT, kNull, none(), kHigh, kRO,
             "Default retention in minutes; used when log.retention.ms is not set.", retention),
      broker("log.retention.ms", LONG, kNull, none(), kHigh, kCW,
             "Default retention in milliseconds; highest priority; negative means no limit.", retention),
      broker("log.roll.hours", INT, "168", at_least(1), kHigh, kRO,
             "Default segment roll time in hours, used when log.roll.ms is not set.", roll),
      broker("log.roll.jitter.hours", INT, "0", at_least(0), kHigh, kRO,
             "Default roll jitter in hours, used when log.roll.jitter.ms is not set.", jitter),
      broker("log.roll.jitter.ms", LONG, kNull, none(), kHigh, kCW, "Default roll jitter in milliseconds.",
             jitter),
      broker("log.roll.ms", LONG, kNull, none(), kHigh, kCW, "Default segment roll time in milliseconds.", roll),
      broker("log.segment.bytes", INT, "1073741824", at_least(14), kHigh, kCW, "Default segment file size."),
      broker("log.segment.delete.delay.ms", LONG, "60000", at_least(0), kHigh, kCW,
             "Default delay before a deleted segment file is removed."),
      broker("message.max.bytes", INT, "1048588", at_least(0), kHigh, kCW,
             "Default largest record batch a topic accepts (topic: max.message.bytes)."),
  });
}

// Broker configs, part 2: log cleaner and log defaults of topics.
void add_broker_log(std::vector<ConfigDef>& v) {
  v.insert(v.end(), {
      broker("compression.gzip.level", INT, "-1", of_kind(ValidatorKind::kGzipLevel), kMedium, kCW,
             "Default gzip level of topics."),
      broker("compression.lz4.level", INT, "9", between(1, 17), kMedium, kCW, "Default lz4 level of topics."),
      broker("compression.type", STRING, "producer", one_of(compression_types()), kHigh, kCW,
             "Default final compression codec of topics."),
      broker("compression.zstd.level", INT, "3", between(-131072, 22), kMedium, kCW,
             "Default zstd level of topics."),
      broker("log.cleaner.backoff.ms", LONG, "15000", at_least(0), kMedium, kCW,
             "Sleep of the cleaner when no log needs cleaning."),
      broker("log.cleaner.dedupe.buffer.size", LONG, "134217728", none(), kMedium, kCW,
             "Memory of the cleaner's deduplication map, over all cleaner threads."),
      broker("log.cleaner.delete.retention.ms", LONG, "86400000", at_least(0), kMedium, kCW,
             "Default time tombstones are kept in compacted topics."),
      broker("log.cleaner.enable", BOOLEAN, "true", none(), kMedium, kRO,
             "Run the log cleaner (needed by compacted topics such as __consumer_offsets)."),
      broker("log.cleaner.io.buffer.load.factor", DOUBLE, "0.9", none(), kMedium, kCW,
             "Fill factor of the deduplication buffer."),
      broker("log.cleaner.io.buffer.size", INT, "524288", at_least(0), kMedium, kCW,
             "Memory of the cleaner's I/O buffers, over all cleaner threads."),
      broker("log.cleaner.io.max.bytes.per.second", DOUBLE, "1.7976931348623157E308", none(), kMedium, kCW,
             "Throttle of the cleaner's read plus write I/O."),
      broker("log.cleaner.max.compaction.lag.ms", LONG, kLongMax, at_least(1), kMedium, kCW,
             "Default longest time a message stays ineligible for compaction."),
      broker("log.cleaner.min.cleanable.ratio", DOUBLE, "0.5", between(0, 1), kMedium, kCW,
             "Default share of dirty log that makes a log eligible for cleaning."),
      broker("log.cleaner.min.compaction.lag.ms", LONG, "0", at_least(0), kMedium, kCW,
             "Default shortest time a message stays uncompacted."),
      broker("log.cleaner.threads", INT, "1", at_least(0), kMedium, kCW, "Number of cleaner threads."),
      broker("log.cleanup.policy", LIST, "delete", list_of({"compact", "delete"}), kMedium, kCW,
             "Default cleanup policy of topics: delete, compact or both."),
      broker("log.index.interval.bytes", INT, "4096", at_least(0), kMedium, kCW,
             "Default bytes between two offset index entries."),
      broker("log.index.size.max.bytes", INT, "10485760", at_least(4), kMedium, kCW,
             "Default preallocated size of an offset index."),
      broker("log.local.retention.bytes", LONG, "-2", at_least(-2), kMedium, kCW,
             "Default local size limit of tiered partitions; -2 means log.retention.bytes."),
      broker("log.local.retention.ms", LONG, "-2", at_least(-2), kMedium, kCW,
             "Default local time limit of tiered partitions; -2 means log.retention.ms."),
      broker("log.message.downconversion.enable", BOOLEAN, "true", none(), kLow, kCW,
             "Default of message.downconversion.enable."),
      broker("log.message.format.version", STRING, "3.0-IV1", one_of(metadata_versions()), kMedium, kRO,
             "[DEPRECATED] Default message format version."),
      broker("log.message.timestamp.after.max.ms", LONG, kLongMax, at_least(0), kMedium, kCW,
             "Default of message.timestamp.after.max.ms."),
      broker("log.message.timestamp.before.max.ms", LONG, kLongMax, at_least(0), kMedium, kCW,
             "Default of message.timestamp.before.max.ms."),
      broker("log.message.timestamp.difference.max.ms", LONG, kLongMax, at_least(0), kMedium, kCW,
             "[DEPRECATED] Default of message.timestamp.difference.max.ms."),
      broker("log.message.timestamp.type", STRING, "CreateTime", one_of({"CreateTime", "LogAppendTime"}), kMedium,
             kCW, "Default timestamp type of topics."),
      broker("log.preallocate", BOOLEAN, "false", none(), kMedium, kCW, "Default of preallocate."),
      broker("log.retention.check.interval.ms", LONG, "300000", at_least(1), kMedium, kRO,
             "How often retention checks whether a log has segments to delete."),
      broker("min.insync.replicas", INT, "1", at_least(1), kHigh, kCW,
             "Default replicas that must acknowledge an acks=all write."),
      broker("num.partitions", INT, "1", at_least(1), kMedium, kRO,
             "Default partition count of new topics."),
      broker("default.replication.factor", INT, "1", none(), kMedium, kRO,
             "Replication factor of auto-created topics and of topics created with -1."),
      broker("delete.topic.enable", BOOLEAN, "true", none(), kHigh, kRO,
             "Allow topics to be deleted through the admin API."),
      broker("num.recovery.threads.per.data.dir", INT, "1", at_least(1), kHigh, kCW,
             "Threads per data directory that recover logs at startup and flush them at shutdown."),
      broker("remote.log.storage.system.enable", BOOLEAN, "false", none(), kMedium, kRO,
             "Enable tiered storage on this broker."),
      broker("unclean.leader.election.enable", BOOLEAN, "false", none(), kHigh, kCW,
             "Default of unclean.leader.election.enable."),
  });
}

// Broker configs, part 3: network, replication, coordinators, security.
void add_broker_server(std::vector<ConfigDef>& v) {
  v.insert(v.end(), {
      broker("connections.max.idle.ms", LONG, "600000", none(), kMedium, kRO,
             "Idle connections are closed after this time."),
      broker("connections.max.reauth.ms", LONG, "0", none(), kMedium, kRO,
             "When positive, longest SASL session lifetime before re-authentication."),
      broker("controlled.shutdown.enable", BOOLEAN, "true", none(), kMedium, kRO,
             "Hand off leadership before shutting down."),
      broker("delete.records.purgatory.purge.interval.requests", INT, "1", none(), kMedium, kRO,
             "Purge interval of the delete-records waiting room, in requests."),
      broker("failed.authentication.delay.ms", INT, "100", at_least(0), kLow, kRO,
             "Delay of the answer to a failed authentication; must stay below connections.max.idle.ms."),
      broker("fetch.max.bytes", INT, "57671680", at_least(1024), kMedium, kRO,
             "Largest response the broker returns to one fetch."),
      broker("fetch.purgatory.purge.interval.requests", INT, "1000", none(), kMedium, kRO,
             "Purge interval of the fetch waiting room, in requests."),
      broker("leader.imbalance.check.interval.seconds", LONG, "300", at_least(1), kHigh, kRO,
             "How often the controller checks leader balance."),
      broker("leader.imbalance.per.broker.percentage", INT, "10", none(), kHigh, kRO,
             "Leader imbalance per broker, in percent, that triggers a rebalance."),
      broker("max.connection.creation.rate", INT, kIntMax, at_least(0), kMedium, kCW,
             "Largest rate of new connections per second."),
      broker("max.connections", INT, kIntMax, at_least(0), kMedium, kCW, "Largest number of connections."),
      broker("max.connections.per.ip", INT, kIntMax, at_least(0), kMedium, kCW,
             "Largest number of connections from one address."),
      broker("max.connections.per.ip.overrides", STRING, "", none(), kMedium, kCW,
             "Per-host overrides of max.connections.per.ip, as host:count pairs."),
      broker("max.incremental.fetch.session.cache.slots", INT, "1000", at_least(0), kMedium, kRO,
             "Largest number of incremental fetch sessions kept."),
      broker("max.request.partition.size.limit", INT, "2000", at_least(1), kMedium, kRO,
             "Largest number of partitions served in one request."),
      broker("num.io.threads", INT, "8", at_least(1), kHigh, kCW, "Threads that process requests."),
      broker("num.network.threads", INT, "3", at_least(1), kHigh, kCW,
             "Threads that read requests and write responses, per listener."),
      broker("num.replica.alter.log.dirs.threads", INT, kNull, none(), kHigh, kRO,
             "Threads that move replicas between log directories."),
      broker("num.replica.fetchers", INT, "1", none(), kHigh, kCW, "Fetcher threads per source broker."),
      broker("producer.purgatory.purge.interval.requests", INT, "1000", none(), kMedium, kRO,
             "Purge interval of the produce waiting room, in requests."),
      broker("queued.max.request.bytes", LONG, "-1", none(), kMedium, kRO,
             "Queued request bytes after which no more requests are read; -1 means no limit."),
      broker("queued.max.requests", INT, "500", at_least(1), kHigh, kRO,
             "Queued requests after which the network threads stop reading."),
      broker("replica.fetch.backoff.ms", INT, "1000", at_least(0), kMedium, kRO,
             "Sleep of a follower after a fetch error."),
      broker("replica.fetch.max.bytes", INT, "1048576", at_least(0), kMedium, kRO,
             "Bytes a follower asks for per partition (not an absolute maximum)."),
      broker("replica.fetch.min.bytes", INT, "1", none(), kHigh, kRO,
             "Bytes a follower waits for in a fetch response."),
      broker("replica.fetch.response.max.bytes", INT, "10485760", at_least(0), kMedium, kRO,
             "Bytes a follower asks for in a whole fetch response."),
      broker("replica.fetch.wait.max.ms", INT, "500", none(), kHigh, kRO,
             "Longest wait of a follower fetch; keep below replica.lag.time.max.ms."),
      broker("replica.high.watermark.checkpoint.interval.ms", LONG, "5000", none(), kHigh, kRO,
             "How often the high watermark checkpoint is written."),
      broker("replica.lag.time.max.ms", LONG, "30000", none(), kHigh, kRO,
             "A follower that has not caught up for this long leaves the ISR."),
      broker("replica.selector.class", STRING, kNull, none(), kMedium, kRO,
             "Selector of the preferred read replica."),
      broker("replica.socket.receive.buffer.bytes", INT, "65536", none(), kHigh, kRO,
             "Receive buffer of follower connections."),
      broker("replica.socket.timeout.ms", INT, "30000", none(), kHigh, kRO, "Timeout of follower requests."),
      broker("request.timeout.ms", INT, "30000", none(), kHigh, kRO,
             "Timeout of requests this node sends."),
      broker("reserved.broker.max.id", INT, "1000", at_least(0), kMedium, kRO, "Largest usable broker.id."),
      broker("socket.listen.backlog.size", INT, "50", at_least(1), kMedium, kRO,
             "Pending connections queued by the kernel."),
      broker("socket.receive.buffer.bytes", INT, "102400", none(), kHigh, kRO,
             "SO_RCVBUF of server sockets; -1 uses the OS default."),
      broker("socket.request.max.bytes", INT, "104857600", at_least(1), kHigh, kRO,
             "Largest request the broker reads."),
      broker("socket.send.buffer.bytes", INT, "102400", none(), kHigh, kRO,
             "SO_SNDBUF of server sockets; -1 uses the OS default."),
      broker("telemetry.max.bytes", INT, "1048576", at_least(1), kLow, kRO,
             "Largest client telemetry push."),
  });
}

// Broker configs, part 4: group and transaction coordinators.
void add_broker_coordinators(std::vector<ConfigDef>& v) {
  v.insert(v.end(), {
      broker("group.consumer.assignors", LIST,
             "org.apache.kafka.coordinator.group.assignor.UniformAssignor,"
             "org.apache.kafka.coordinator.group.assignor.RangeAssignor",
             none(), kMedium, kRO, "Server-side assignors of the consumer group protocol, default first."),
      broker("group.consumer.heartbeat.interval.ms", INT, "5000", at_least(1), kMedium, kRO,
             "Heartbeat interval given to consumer-protocol members."),
      broker("group.consumer.max.session.timeout.ms", INT, "60000", at_least(1), kMedium, kRO,
             "Largest session timeout of consumer-protocol members."),
      broker("group.consumer.max.size", INT, kIntMax, at_least(1), kMedium, kRO,
             "Largest consumer-protocol group."),
      broker("group.consumer.min.session.timeout.ms", INT, "45000", at_least(1), kMedium, kRO,
             "Smallest session timeout of consumer-protocol members."),
      broker("group.consumer.session.timeout.ms", INT, "45000", at_least(1), kMedium, kRO,
             "Session timeout of consumer-protocol members."),
      broker("group.coordinator.rebalance.protocols", LIST, "classic",
             list_of({"consumer", "classic", "share", "unknown"}), kMedium, kRO, "Enabled rebalance protocols."),
      broker("group.coordinator.threads", INT, "1", at_least(1), kMedium, kRO,
             "Threads of the group coordinator."),
      broker("group.initial.rebalance.delay.ms", INT, "3000", none(), kMedium, kRO,
             "Wait for more members before the first rebalance of a new group."),
      broker("group.max.session.timeout.ms", INT, "1800000", none(), kMedium, kRO,
             "Largest session timeout a classic group member may ask for."),
      broker("group.max.size", INT, kIntMax, at_least(1), kMedium, kRO, "Largest classic consumer group."),
      broker("group.min.session.timeout.ms", INT, "6000", none(), kMedium, kRO,
             "Smallest session timeout a classic group member may ask for."),
      broker("offset.metadata.max.bytes", INT, "4096", none(), kHigh, kRO,
             "Largest metadata string of a committed offset."),
      broker("offsets.commit.required.acks", SHORT, "-1", none(), kHigh, kRO,
             "[DEPRECATED] Acks required for an offset commit."),
      broker("offsets.commit.timeout.ms", INT, "5000", at_least(1), kHigh, kRO,
             "How long an offset commit waits for the offsets topic's replicas."),
      broker("offsets.load.buffer.size", INT, "5242880", at_least(1), kHigh, kRO,
             "Read size when loading offsets into the cache."),
      broker("offsets.retention.check.interval.ms", LONG, "600000", at_least(1), kHigh, kRO,
             "How often stale offsets are looked for."),
      broker("offsets.retention.minutes", INT, "10080", at_least(1), kHigh, kRO,
             "How long committed offsets of an empty group are kept."),
      // No validator in Kafka's ConfigDef, but its start-up fails on an id
      // CompressionType.forId does not know (0 none .. 4 zstd).
      broker("offsets.topic.compression.codec", INT, "0", between(0, 4), kHigh, kRO,
             "Compression codec id of the offsets topic: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd."),
      broker("offsets.topic.num.partitions", INT, "50", at_least(1), kHigh, kRO,
             "Partitions of __consumer_offsets (do not change after deployment)."),
      broker("offsets.topic.replication.factor", SHORT, "3", at_least(1), kHigh, kRO,
             "Replication factor of __consumer_offsets."),
      broker("offsets.topic.segment.bytes", INT, "104857600", at_least(1), kHigh, kRO,
             "Segment size of __consumer_offsets."),
      broker("producer.id.expiration.ms", INT, "86400000", at_least(1), kLow, kCW,
             "How long a partition leader keeps an idle producer id."),
      broker("transaction.abort.timed.out.transaction.cleanup.interval.ms", INT, "10000", at_least(1), kLow, kRO,
             "How often timed-out transactions are rolled back."),
      broker("transaction.max.timeout.ms", INT, "900000", at_least(1), kHigh, kRO,
             "Largest transaction timeout a producer may ask for."),
      broker("transaction.partition.verification.enable", BOOLEAN, "true", none(), kLow, kCW,
             "Check that a partition was added to the transaction before a transactional write."),
      broker("transaction.remove.expired.transaction.cleanup.interval.ms", INT, "3600000", at_least(1), kLow, kRO,
             "How often expired transactional ids are removed."),
      broker("transaction.state.log.load.buffer.size", INT, "5242880", at_least(1), kHigh, kRO,
             "Read size when loading transactions into the cache."),
      broker("transaction.state.log.min.isr", INT, "2", at_least(1), kHigh, kRO,
             "min.insync.replicas of __transaction_state."),
      broker("transaction.state.log.num.partitions", INT, "50", at_least(1), kHigh, kRO,
             "Partitions of __transaction_state (do not change after deployment)."),
      broker("transaction.state.log.replication.factor", SHORT, "3", at_least(1), kHigh, kRO,
             "Replication factor of __transaction_state."),
      broker("transaction.state.log.segment.bytes", INT, "104857600", at_least(1), kHigh, kRO,
             "Segment size of __transaction_state."),
      broker("transactional.id.expiration.ms", INT, "604800000", at_least(1), kHigh, kRO,
             "How long an idle transactional id is kept."),
  });
}

// Broker configs, part 5: security, metrics, quotas.
void add_broker_security(std::vector<ConfigDef>& v) {
  v.insert(v.end(), {
      broker("authorizer.class.name", STRING, "", none(), kLow, kRO, "Authorizer used for ACL checks."),
      broker("delegation.token.secret.key", PASSWORD, kNull, none(), kMedium, kRO,
             "Secret used to sign delegation tokens; empty disables them."),
      broker("metric.reporters", LIST, "", none(), kLow, kCW, "Metrics reporters."),
      broker("metrics.num.samples", INT, "2", at_least(1), kLow, kRO, "Samples kept per metric."),
      broker("metrics.recording.level", STRING, "INFO", none(), kLow, kRO, "Highest metrics recording level."),
      broker("metrics.sample.window.ms", LONG, "30000", at_least(1), kLow, kRO, "Window of a metrics sample."),
      broker("password.encoder.old.secret", PASSWORD, kNull, none(), kMedium, kRO,
             "Previous secret of dynamically configured passwords."),
      broker("password.encoder.secret", PASSWORD, kNull, none(), kMedium, kRO,
             "Secret that encodes dynamically configured passwords."),
      broker("principal.builder.class", CLASS,
             "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", none(), kMedium, kPB,
             "Builder of the principal used for authorization."),
      broker("quota.window.num", INT, "11", at_least(1), kLow, kRO, "Samples kept for client quotas."),
      broker("quota.window.size.seconds", INT, "1", at_least(1), kLow, kRO, "Span of a client quota sample."),
      broker("sasl.enabled.mechanisms", LIST, "GSSAPI", none(), kMedium, kPB, "Enabled SASL mechanisms."),
      broker("sasl.jaas.config", PASSWORD, kNull, none(), kMedium, kPB, "JAAS login context of SASL."),
      broker("sasl.kerberos.service.name", STRING, kNull, none(), kMedium, kPB,
             "Kerberos principal name Kafka runs as."),
      broker("sasl.mechanism.controller.protocol", STRING, "GSSAPI", none(), kHigh, kRO,
             "SASL mechanism used with controllers."),
      broker("sasl.mechanism.inter.broker.protocol", STRING, "GSSAPI", none(), kMedium, kPB,
             "SASL mechanism used between brokers."),
      broker("sasl.server.max.receive.size", INT, "524288", none(), kMedium, kRO,
             "Largest frame accepted before and during SASL authentication."),
      broker("security.inter.broker.protocol", STRING, "PLAINTEXT",
             one_of({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}), kMedium, kRO,
             "Security protocol between brokers; exclusive with inter.broker.listener.name."),
      broker("ssl.cipher.suites", LIST, "", none(), kMedium, kPB, "Enabled TLS cipher suites; empty means all."),
      broker("ssl.client.auth", STRING, "none", one_of({"required", "requested", "none"}), kMedium, kPB,
             "Whether TLS clients must present a certificate."),
      broker("ssl.enabled.protocols", LIST, "TLSv1.2,TLSv1.3", none(), kMedium, kPB, "Enabled TLS versions."),
      broker("ssl.endpoint.identification.algorithm", STRING, "https", none(), kLow, kPB,
             "Host name verification algorithm."),
      broker("ssl.key.password", PASSWORD, kNull, none(), kMedium, kPB, "Password of the private key."),
      broker("ssl.keystore.certificate.chain", PASSWORD, kNull, none(), kMedium, kPB,
             "Certificate chain in PEM, instead of a key store file."),
      broker("ssl.keystore.key", PASSWORD, kNull, none(), kMedium, kPB,
             "Private key in PEM, instead of a key store file."),
      broker("ssl.keystore.location", STRING, kNull, none(), kMedium, kPB, "Key store file."),
      broker("ssl.keystore.password", PASSWORD, kNull, none(), kMedium, kPB, "Password of the key store."),
      broker("ssl.keystore.type", STRING, "JKS", none(), kMedium, kPB, "Format of the key store (JKS, PKCS12, PEM)."),
      broker("ssl.principal.mapping.rules", STRING, "DEFAULT", none(), kLow, kRO,
             "Rules mapping a certificate's distinguished name to a principal."),
      broker("ssl.protocol", STRING, "TLSv1.3", none(), kMedium, kPB, "TLS protocol of the SSL context."),
      broker("ssl.truststore.certificates", PASSWORD, kNull, none(), kMedium, kPB,
             "Trusted certificates in PEM, instead of a trust store file."),
      broker("ssl.truststore.location", STRING, kNull, none(), kMedium, kPB, "Trust store file."),
      broker("ssl.truststore.password", PASSWORD, kNull, none(), kMedium, kPB, "Password of the trust store."),
      broker("ssl.truststore.type", STRING, "JKS", none(), kMedium, kPB, "Format of the trust store."),
  });
}

std::vector<ConfigDef> sorted(std::vector<ConfigDef> v) {
  std::sort(v.begin(), v.end(), [](const ConfigDef& a, const ConfigDef& b) { return a.name < b.name; });
  return v;
}

struct Tables {
  std::vector<ConfigDef> brokers;
  std::vector<ConfigDef> topics;
  std::unordered_map<std::string_view, const ConfigDef*> broker_index;
  std::unordered_map<std::string_view, const ConfigDef*> topic_index;

  Tables() {
    std::vector<ConfigDef> b;
    add_broker_core(b);
    add_broker_log(b);
    add_broker_server(b);
    add_broker_coordinators(b);
    add_broker_security(b);
    brokers = sorted(std::move(b));
    topics = sorted(build_topic_defs());
    for (const auto& d : brokers) broker_index.emplace(d.name, &d);
    for (const auto& d : topics) topic_index.emplace(d.name, &d);
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

bool is_java_whitespace_or_control(char c) { return static_cast<unsigned char>(c) <= ' '; }

// Java's Integer.parseInt family: optional sign, then ASCII digits only.
template <typename T>
std::optional<T> parse_integral(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  std::string_view digits = s;
  bool negative = false;
  if (digits[0] == '+' || digits[0] == '-') {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty()) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  // Parse as negative magnitude so the minimum value fits.
  T value = 0;
  for (char c : digits) {
    const T d = static_cast<T>(c - '0');
    if (value < (std::numeric_limits<T>::min() + d) / 10) return std::nullopt;
    value = static_cast<T>(value * 10 - d);
  }
  if (!negative) {
    if (value == std::numeric_limits<T>::min()) return std::nullopt;
    value = static_cast<T>(-value);
  }
  return value;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  return out + "]";
}

std::string invalid(std::string_view name, std::string_view value, std::string_view why) {
  std::string msg = "Invalid value ";
  msg.append(value).append(" for configuration ").append(name);
  if (!why.empty()) msg.append(": ").append(why);
  return msg;
}

std::string join(const std::vector<std::string_view>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.append(sep);
    out.append(items[i]);
  }
  return out;
}

// Number as Kafka prints it in a ConfigException: integers plainly, doubles in
// Java notation.
std::string number_text(const ConfigDef& def, double d, int64_t i) {
  return def.type == ConfigType::DOUBLE ? java_double_string(d) : std::to_string(i);
}

std::optional<std::string> check_range(const ConfigDef& def, double d, int64_t i) {
  const Validator& v = def.validator;
  const bool is_double = def.type == ConfigType::DOUBLE;
  if (v.min && (is_double ? d < static_cast<double>(*v.min) : i < *v.min)) {
    return invalid(def.name, number_text(def, d, i), "Value must be at least " + std::to_string(*v.min));
  }
  if (v.max && (is_double ? d > static_cast<double>(*v.max) : i > *v.max)) {
    return invalid(def.name, number_text(def, d, i), "Value must be no more than " + std::to_string(*v.max));
  }
  return std::nullopt;
}

bool contains(const std::vector<std::string_view>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool is_throttled_replica_entry(std::string_view e) {
  e = trim(e);
  if (e.empty()) return true;  // Kafka's pattern makes the whole entry optional
  const auto colon = e.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == e.size()) return false;
  auto all_digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return all_digits(e.substr(0, colon)) && all_digits(e.substr(colon + 1));
}

// Validates the parsed value against the validator kind; numbers arrive as
// both double and integer so one function serves every numeric type.
std::optional<std::string> check_numeric(const ConfigDef& def, double d, int64_t i) {
  switch (def.validator.kind) {
    case ValidatorKind::kRange:
      return check_range(def, d, i);
    case ValidatorKind::kGzipLevel:
      if (i > 9 || (i < 1 && i != -1)) {
        return invalid(def.name, std::to_string(i), "Value must be between 1 and 9 or equal to -1");
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<std::string> check_string(const ConfigDef& def, std::string_view s) {
  const Validator& v = def.validator;
  if (v.kind == ValidatorKind::kOneOf && !contains(v.choices, s)) {
    return invalid(def.name, s, "String must be one of: " + join(v.choices, ", "));
  }
  if (v.kind == ValidatorKind::kNonEmptyString && s.empty()) {
    return invalid(def.name, s, "String must be non-empty");
  }
  return std::nullopt;
}

std::optional<std::string> check_list(const ConfigDef& def, const std::vector<std::string>& items) {
  const Validator& v = def.validator;
  if (v.kind == ValidatorKind::kListOf) {
    for (const auto& item : items) {
      if (!contains(v.choices, item)) {
        return invalid(def.name, item, "String must be one of: " + join(v.choices, ", "));
      }
    }
  } else if (v.kind == ValidatorKind::kNonEmptyList && items.empty()) {
    return "Configuration '" + std::string(def.name) + "' must not be empty.";
  } else if (v.kind == ValidatorKind::kThrottledReplicas) {
    std::string joined;
    for (const auto& item : items) joined += item;
    const bool ok = trim(joined) == "*" || std::all_of(items.begin(), items.end(), is_throttled_replica_entry);
    if (!ok) {
      return invalid(def.name, quoted_list(items),
                     std::string(def.name) +
                         " must be the literal '*' or a list of replicas in the following format: "
                         "[partitionId]:[brokerId],[partitionId]:[brokerId],...");
    }
  }
  return std::nullopt;
}

}  // namespace

std::span<const ConfigDef> broker_config_defs() { return tables().brokers; }
std::span<const ConfigDef> topic_config_defs() { return tables().topics; }

const ConfigDef* find_broker_config(std::string_view name) {
  const auto& idx = tables().broker_index;
  auto it = idx.find(name);
  return it == idx.end() ? nullptr : it->second;
}

const ConfigDef* find_topic_config(std::string_view name) {
  const auto& idx = tables().topic_index;
  auto it = idx.find(name);
  return it == idx.end() ? nullptr : it->second;
}

std::string_view type_name(ConfigType type) {
  switch (type) {
    case ConfigType::BOOLEAN: return "boolean";
    case ConfigType::STRING: return "string";
    case ConfigType::INT: return "int";
    case ConfigType::SHORT: return "short";
    case ConfigType::LONG: return "long";
    case ConfigType::DOUBLE: return "double";
    case ConfigType::LIST: return "list";
    case ConfigType::CLASS: return "class";
    case ConfigType::PASSWORD: return "password";
    case ConfigType::UNKNOWN: break;
  }
  return "unknown";
}

std::optional<std::string> validate_value(const ConfigDef& def, std::string_view value) {
  const std::string_view t = trim(value);
  switch (def.type) {
    case ConfigType::BOOLEAN:
      if (!parse_bool(t)) return invalid(def.name, value, "Expected value to be either true or false");
      return std::nullopt;
    case ConfigType::SHORT: {
      auto v = parse_int16(t);
      if (!v) return invalid(def.name, value, "Not a number of type SHORT");
      return check_numeric(def, *v, *v);
    }
    case ConfigType::INT: {
      auto v = parse_int32(t);
      if (!v) return invalid(def.name, value, "Not a number of type INT");
      return check_numeric(def, *v, *v);
    }
    case ConfigType::LONG: {
      auto v = parse_int64(t);
      if (!v) return invalid(def.name, value, "Not a number of type LONG");
      return check_numeric(def, static_cast<double>(*v), *v);
    }
    case ConfigType::DOUBLE: {
      auto v = parse_double(t);
      if (!v) return invalid(def.name, value, "Not a number of type DOUBLE");
      const double clamped = std::clamp(*v, -9.2e18, 9.2e18);
      return check_numeric(def, *v, std::isnan(*v) ? 0 : static_cast<int64_t>(clamped));
    }
    case ConfigType::LIST:
      return check_list(def, parse_list(t));
    case ConfigType::STRING:
    case ConfigType::CLASS:
    case ConfigType::PASSWORD:
    case ConfigType::UNKNOWN:
      return check_string(def, t);
  }
  return std::nullopt;
}

std::string canonical_value(const ConfigDef& def, std::string_view value) {
  const std::string_view t = trim(value);
  switch (def.type) {
    case ConfigType::BOOLEAN: {
      auto b = parse_bool(t);
      return b ? (*b ? "true" : "false") : std::string(t);
    }
    case ConfigType::SHORT:
    case ConfigType::INT:
    case ConfigType::LONG: {
      auto v = parse_int64(t);
      return v ? std::to_string(*v) : std::string(t);
    }
    case ConfigType::DOUBLE: {
      auto v = parse_double(t);
      return v ? java_double_string(*v) : std::string(t);
    }
    case ConfigType::LIST: {
      const auto items = parse_list(t);
      std::string out;
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += items[i];
      }
      return out;
    }
    default:
      return std::string(t);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_java_whitespace_or_control(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_java_whitespace_or_control(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> parse_int64(std::string_view s) { return parse_integral<int64_t>(s); }
std::optional<int32_t> parse_int32(std::string_view s) { return parse_integral<int32_t>(s); }
std::optional<int16_t> parse_int16(std::string_view s) { return parse_integral<int16_t>(s); }

std::optional<bool> parse_bool(std::string_view s) {
  s = trim(s);
  auto iequals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  };
  if (iequals(s, "true")) return true;
  if (iequals(s, "false")) return false;
  return std::nullopt;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  // Java accepts a trailing float/double type suffix.
  if (!s.empty() && (s.back() == 'd' || s.back() == 'D' || s.back() == 'f' || s.back() == 'F')) {
    s.remove_suffix(1);
  }
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Infinity") {
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  // Only decimal literals below; this keeps from_chars' "inf"/"nan" out.
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) return std::nullopt;
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::general);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return negative ? -d : d;
}

std::vector<std::string> parse_list(std::string_view s) {
  s = trim(s);
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    const std::string_view item = s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
    out.emplace_back(trim(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string java_double_string(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits in scientific form: "d.ddde[+-]xx".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
  if (ec != std::errc()) return std::to_string(d);
  const std::string_view sci(buf, static_cast<size_t>(end - buf));
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  const int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  std::string out = d < 0 ? "-" : "";
  const double mag = std::fabs(d);
  if (mag >= 1e-3 && mag < 1e7) {
    if (exponent >= 0) {
      const size_t int_len = static_cast<size_t>(exponent) + 1;
      while (digits.size() < int_len) digits += '0';
      std::string frac = digits.substr(int_len);
      out += digits.substr(0, int_len) + "." + (frac.empty() ? "0" : frac);
    } else {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    }
    return out;
  }
  std::string frac = digits.substr(1);
  out += digits.substr(0, 1) + "." + (frac.empty() ? "0" : frac) + "E" + std::to_string(exponent);
  return out;
}

}  // namespace samsa::cluster
