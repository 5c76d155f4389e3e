// `samsa get-offsets` (kafka-get-offsets.sh / GetOffsetShell) and
// `samsa broker-api-versions` (kafka-broker-api-versions.sh).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "cli/commands.h"
#include "cli/client_security.h"
#include "cli/common.h"
#include "protocol/messages/api_versions.h"

namespace samsa::cli {

namespace {

bool name_matches(const std::string& pattern, const std::string& name) {
  if (pattern.empty()) return true;
  try {
    return std::regex_match(name, std::regex(pattern));
  } catch (const std::regex_error&) {
    return pattern == name;
  }
}

// Kafka's ApiKeys names, indexed by key (gaps are keys Kafka never assigned a name here).
const char* api_name(int key) {
  static const char* names[] = {
      "Produce", "Fetch", "ListOffsets", "Metadata", "LeaderAndIsr", "StopReplica",
      "UpdateMetadata", "ControlledShutdown", "OffsetCommit", "OffsetFetch", "FindCoordinator",
      "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", "DescribeGroups", "ListGroups",
      "SaslHandshake", "ApiVersions", "CreateTopics", "DeleteTopics", "DeleteRecords",
      "InitProducerId", "OffsetForLeaderEpoch", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn",
      "WriteTxnMarkers", "TxnOffsetCommit", "DescribeAcls", "CreateAcls", "DeleteAcls",
      "DescribeConfigs", "AlterConfigs", "AlterReplicaLogDirs", "DescribeLogDirs",
      "SaslAuthenticate", "CreatePartitions", "CreateDelegationToken", "RenewDelegationToken",
      "ExpireDelegationToken", "DescribeDelegationToken", "DeleteGroups", "ElectLeaders",
      "IncrementalAlterConfigs", "AlterPartitionReassignments", "ListPartitionReassignments",
      "OffsetDelete", "DescribeClientQuotas", "AlterClientQuotas", "DescribeUserScramCredentials",
      "AlterUserScramCredentials", "Vote", "BeginQuorumEpoch", "EndQuorumEpoch", "DescribeQuorum",
      "AlterPartition", "UpdateFeatures", "Envelope", "FetchSnapshot", "DescribeCluster",
      "DescribeProducers", "BrokerRegistration", "BrokerHeartbeat", "UnregisterBroker",
      "DescribeTransactions", "ListTransactions", "AllocateProducerIds", "ConsumerGroupHeartbeat",
      "ConsumerGroupDescribe", "ControllerRegistration", "GetTelemetrySubscriptions", "PushTelemetry",
      "AssignReplicasToDirs", "ListClientMetricsResources", "DescribeTopicPartitions"};
  if (key >= 0 && key < static_cast<int>(sizeof names / sizeof names[0])) return names[key];
  return "Unknown";
}

}  // namespace

int get_offsets_main(int argc, char** argv) {
  CLI::App app{"Print the offsets of topic partitions (like kafka-get-offsets.sh / GetOffsetShell)",
               "samsa get-offsets"};
  app.footer(
      "Output: one line per partition, topic:partition:offset\n"
      "Examples:\n"
      "  samsa get-offsets --bootstrap-server localhost:9092 --topic t1\n"
      "  samsa get-offsets --bootstrap-server localhost:9092 --topic 't.*' --time -2\n"
      "  samsa get-offsets --broker-list localhost:9092 --topic t1 --partitions 0,2 --time 1700000000000\n"
      "  samsa get-offsets --bootstrap-server localhost:9092 --topic t1 --output json");
  std::string bootstrap, broker_list, topic, partitions, command_config, time_arg = "-1", output = "text";
  bool exclude_internal = false;
  int timeout_ms = 30000;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--broker-list", broker_list, "DEPRECATED, use --bootstrap-server instead");
  app.add_option("--topic", topic, "Topic name or regular expression (default: all topics)");
  app.add_option("--partitions", partitions, "Comma-separated partition ids (default: all)");
  app.add_option("--time", time_arg, "-1 or latest, -2 or earliest, -3 or max-timestamp, or a timestamp in ms");
  app.add_flag("--exclude-internal-topics", exclude_internal, "Leave out internal topics");
  app.add_option("--command-config", command_config, "Client config properties file");
  app.add_option("--timeout-ms", timeout_ms, "Give up after this many milliseconds (default 30000)");
  app.add_option("--output", output, "text (default: topic:partition:offset lines) or json")
      ->check(CLI::IsMember({"text", "json"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  int64_t when = 0;
  if (time_arg == "latest") when = -1;
  else if (time_arg == "earliest") when = -2;
  else if (time_arg == "max-timestamp") when = -3;
  else {
    try {
      size_t used = 0;
      when = std::stoll(time_arg, &used);
      if (used != time_arg.size() || when < -3) throw std::invalid_argument(time_arg);
    } catch (const std::exception&) {
      return fail("Malformed time argument " + time_arg + ", please use -1 or latest / -2 or earliest / -3 or max-timestamp, or a specified long format timestamp");
    }
  }
  if (when == -3) return fail("--time -3 (max-timestamp) is not supported by this client");
  std::set<int32_t> wanted;
  for (auto& p : split(partitions, ',')) {
    try {
      wanted.insert(std::stoi(p));
    } catch (const std::exception&) {
      return fail("Invalid --partitions '" + partitions + "': expected comma-separated integers");
    }
  }
  std::string err;
  Properties props;
  if (!base_properties(bootstrap.empty() ? broker_list : bootstrap, command_config, props, err)) return fail(err);
  props["group.id"] = "samsa-get-offsets";
  auto rk = make_handle(RD_KAFKA_CONSUMER, props, err);
  if (!rk) return fail(err);
  const rd_kafka_metadata_t* md = nullptr;
  auto e = rd_kafka_metadata(rk.get(), 1, nullptr, &md, timeout_ms);
  if (e) return fail(std::string("could not fetch metadata: ") + rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_t* tpl = rd_kafka_topic_partition_list_new(16);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    std::string name = t.topic;
    if (t.err || !name_matches(topic, name)) continue;
    if (exclude_internal && name.rfind("__", 0) == 0) continue;
    for (int j = 0; j < t.partition_cnt; ++j) {
      if (!wanted.empty() && !wanted.count(t.partitions[j].id)) continue;
      rd_kafka_topic_partition_list_add(tpl, t.topic, t.partitions[j].id);
    }
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_partition_list_sort(tpl, nullptr, nullptr);
  int rc = 0;
  std::string json;
  for (int i = 0; i < tpl->cnt; ++i) {
    auto& tp = tpl->elems[i];
    int64_t lo = -1, hi = -1, off = -1;
    if (when < 0) {
      e = rd_kafka_query_watermark_offsets(rk.get(), tp.topic, tp.partition, &lo, &hi, timeout_ms);
      off = when == -1 ? hi : lo;
    } else {
      rd_kafka_topic_partition_list_t* q = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(q, tp.topic, tp.partition)->offset = when;
      e = rd_kafka_offsets_for_times(rk.get(), q, timeout_ms);
      if (!e) e = q->elems[0].err;
      off = q->elems[0].offset;
      rd_kafka_topic_partition_list_destroy(q);
      if (!e && off < 0) continue;  // Kafka prints nothing when no record is that recent
    }
    if (e) {
      rc = fail(std::string(tp.topic) + ":" + std::to_string(tp.partition) + ": " + rd_kafka_err2str(e));
      break;
    }
    if (output == "json")
      json += std::string(json.empty() ? "" : ",") + "{\"topic\":" + json_escape(tp.topic) + ",\"partition\":" +
              std::to_string(tp.partition) + ",\"offset\":" + std::to_string(off) + "}";
    else
      std::printf("%s:%d:%lld\n", tp.topic, tp.partition, static_cast<long long>(off));
  }
  rd_kafka_topic_partition_list_destroy(tpl);
  if (output == "json" && rc == 0) std::printf("{\"offsets\":[%s]}\n", json.c_str());
  return rc;
}

int broker_api_versions_main(int argc, char** argv) {
  CLI::App app{"Print the API versions each broker supports (like kafka-broker-api-versions.sh)",
               "samsa broker-api-versions"};
  app.footer("Examples:\n  samsa broker-api-versions --bootstrap-server localhost:9092\n"
             "  samsa broker-api-versions --bootstrap-server localhost:9092 --output json");
  std::string bootstrap, command_config, output = "text";
  int timeout_ms = 30000;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--command-config", command_config, "Client config properties file");
  app.add_option("--timeout-ms", timeout_ms, "Give up after this many milliseconds (default 30000)");
  app.add_option("--output", output, "text (default, Kafka's layout) or json")->check(CLI::IsMember({"text", "json"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  std::string err;
  Properties props;
  RawClient boot;
  if (!boot.open(bootstrap, command_config, timeout_ms, props, err)) return fail(err);
  std::vector<BrokerEndpoint> brokers;
  if (!list_brokers(boot, brokers, err)) return fail(err);
  int rc = 0;
  std::string json;
  for (auto& b : brokers) {
    std::string hp = b.host_port();
    RawClient c;
    protocol::ApiVersionsRequest req;
    req.client_software_name = "samsa-cli";
    req.client_software_version = "1.0";
    protocol::ApiVersionsResponse resp;
    if (!c.connect(hp, timeout_ms, err) || !c.secure(props, err) || !c.call(req, 3, resp, err)) {
      rc = fail(hp + " (id: " + std::to_string(b.id) + "): " + err);
      continue;
    }
    auto keys = resp.api_keys;
    std::sort(keys.begin(), keys.end(), [](auto& x, auto& y) { return x.api_key < y.api_key; });
    if (output == "json") {
      json += std::string(json.empty() ? "" : ",") + "{\"id\":" + std::to_string(b.id) + ",\"host\":" +
              json_escape(b.host) + ",\"port\":" + std::to_string(b.port) + ",\"rack\":" +
              (b.rack ? json_escape(*b.rack) : "null") + ",\"apis\":[";
      for (size_t i = 0; i < keys.size(); ++i)
        json += std::string(i ? "," : "") + "{\"name\":" + json_escape(api_name(keys[i].api_key)) + ",\"key\":" +
                std::to_string(keys[i].api_key) + ",\"min_version\":" + std::to_string(keys[i].min_version) +
                ",\"max_version\":" + std::to_string(keys[i].max_version) + "}";
      json += "]}";
      continue;
    }
    std::printf("%s (id: %d rack: %s) -> (\n", hp.c_str(), b.id, b.rack ? b.rack->c_str() : "null");
    for (size_t i = 0; i < keys.size(); ++i) {
      auto& k = keys[i];
      std::string range = k.min_version == k.max_version
                              ? std::to_string(k.min_version)
                              : std::to_string(k.min_version) + " to " + std::to_string(k.max_version);
      std::printf("\t%s(%d): %s [usable: %d]%s\n", api_name(k.api_key), k.api_key, range.c_str(),
                  k.max_version, i + 1 < keys.size() ? "," : "");
    }
    std::printf(")\n");
  }
  if (output == "json" && rc == 0) std::printf("{\"brokers\":[%s]}\n", json.c_str());
  return rc;
}

}  // namespace samsa::cli
