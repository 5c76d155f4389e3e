#include "server/broker_metrics.h"

#include <string>

#include "net/request_metrics.h"
#include "replication/partition.h"
#include "server/broker.h"
#include "storage/log.h"
#include "storage/log_manager.h"

namespace samsa::server {

namespace {

using observe::Family;
using observe::MetricType;

const Family kBytesIn{"kafka_server_brokertopicmetrics_bytesin_total",
                      "Bytes appended by produce requests, per topic.", MetricType::kCounter, {"topic"}};
const Family kMessagesIn{"kafka_server_brokertopicmetrics_messagesin_total",
                         "Records appended by produce requests, per topic.", MetricType::kCounter, {"topic"}};
const Family kBytesOut{"kafka_server_brokertopicmetrics_bytesout_total",
                       "Record bytes returned to consumers' fetches, per topic.", MetricType::kCounter, {"topic"}};
const Family kReplicationBytesOut{"kafka_server_brokertopicmetrics_replicationbytesout_total",
                                  "Record bytes returned to followers' fetches, per topic.", MetricType::kCounter,
                                  {"topic"}};
const Family kFailedProduce{"kafka_server_brokertopicmetrics_failedproducerequests_total",
                            "Produce requests that failed, per topic (one per partition that failed).",
                            MetricType::kCounter, {"topic"}};

const Family kLogSize{"kafka_log_log_size", "Bytes of the partition's log segments.", MetricType::kGauge,
                      {"topic", "partition"}};
const Family kSegments{"kafka_log_log_numlogsegments", "Segments of the partition's log.", MetricType::kGauge,
                       {"topic", "partition"}};
const Family kLogEnd{"kafka_log_log_logendoffset", "Log end offset of the partition.", MetricType::kGauge,
                     {"topic", "partition"}};
const Family kLogStart{"kafka_log_log_logstartoffset", "Log start offset of the partition.", MetricType::kGauge,
                       {"topic", "partition"}};
const Family kTopicSize{"samsa_log_topic_size_bytes", "Bytes of all the topic's partitions on this broker.",
                        MetricType::kGauge, {"topic"}};

const Family kPartitionCount{"kafka_server_replicamanager_partitioncount", "Partitions on this broker.",
                             MetricType::kGauge, {}};
const Family kLeaderCount{"kafka_server_replicamanager_leadercount", "Partitions this broker leads.",
                          MetricType::kGauge, {}};
const Family kUnderReplicated{"kafka_server_replicamanager_underreplicatedpartitions",
                              "Led partitions whose ISR is smaller than their replica set.", MetricType::kGauge, {}};
const Family kUnderMinIsr{"kafka_server_replicamanager_underminisrpartitioncount",
                          "Led partitions whose ISR is below min.insync.replicas.", MetricType::kGauge, {}};
const Family kOfflineReplicas{"kafka_server_replicamanager_offlinereplicacount",
                              "Replicas on this broker that are offline (failed log or log dir).",
                              MetricType::kGauge, {}};
const Family kOfflinePartitions{"kafka_controller_kafkacontroller_offlinepartitionscount",
                                "Partitions without an online leader.", MetricType::kGauge, {}};
const Family kActiveController{"kafka_controller_kafkacontroller_activecontrollercount",
                               "1 on the broker that is the active controller.", MetricType::kGauge, {}};
const Family kOfflineDirs{"kafka_log_logmanager_offlinelogdirectorycount", "Log directories that are offline.",
                          MetricType::kGauge, {}};
const Family kReady{"samsa_broker_ready", "1 once the broker is ready to serve (see /v1/health/ready).",
                    MetricType::kGauge, {}};

}  // namespace

void record_produced(std::string_view topic, int64_t bytes, int64_t messages) {
  auto* reg = observe::local();
  if (!reg) return;
  reg->counter(kBytesIn, {topic}).add(static_cast<double>(bytes));
  reg->counter(kMessagesIn, {topic}).add(static_cast<double>(messages));
}

void record_produce_failed(std::string_view topic) { observe::count(kFailedProduce, {topic}); }

void record_fetched(std::string_view topic, int64_t bytes, bool from_follower) {
  observe::count(from_follower ? kReplicationBytesOut : kBytesOut, {topic}, static_cast<double>(bytes));
}

void record_response_error(int16_t api_key, ErrorCode error) { net::record_error(api_key, error_name(error)); }

void add_shard_gauges(Broker& broker, Shard& s, bool per_partition, observe::Snapshot& out) {
  int64_t partitions = 0, leaders = 0, offline = 0;
  for (auto& [tp, part] : s.partitions()) {
    ++partitions;
    if (part->role() == replication::Role::kLeader) ++leaders;
    if (part->offline()) {
      ++offline;
      continue;
    }
    auto& log = part->log();
    double size = static_cast<double>(log.size_bytes());
    out.add(kTopicSize, {tp.topic}, size);
    if (!per_partition) continue;
    std::string p = std::to_string(tp.partition);
    out.add(kLogSize, {tp.topic, p}, size);
    out.add(kSegments, {tp.topic, p}, static_cast<double>(log.segment_count()));
    out.add(kLogEnd, {tp.topic, p}, static_cast<double>(part->log_end_offset().value));
    out.add(kLogStart, {tp.topic, p}, static_cast<double>(part->log_start_offset().value));
  }
  out.add(kPartitionCount, {}, static_cast<double>(partitions));
  out.add(kLeaderCount, {}, static_cast<double>(leaders));
  out.add(kOfflineReplicas, {}, static_cast<double>(offline));
  // One replica per partition today: no partition is under-replicated or under
  // min ISR. The series exist so dashboards and alerts can be set up now.
  out.add(kUnderReplicated, {}, 0);
  out.add(kUnderMinIsr, {}, 0);
  out.add(kOfflinePartitions, {}, static_cast<double>(offline));
}

void add_broker_gauges(Broker& broker, observe::Snapshot& out) {
  // Partitions of the image whose log could not be opened are offline too.
  out.add(kOfflinePartitions, {}, static_cast<double>(broker.unopened_count()));
  out.add(kActiveController, {}, 1);  // a single-node quorum: this broker is the controller
  int offline_dirs = 0;
  for (auto& d : broker.log_manager().log_dirs()) offline_dirs += !d.online;
  out.add(kOfflineDirs, {}, offline_dirs);
  out.add(kReady, {}, broker.ready() ? 1 : 0);
}

}  // namespace samsa::server
