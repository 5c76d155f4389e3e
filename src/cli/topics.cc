// `samsa topics`: kafka-topics.sh. Create/delete/alter/config go through
// librdkafka's Admin API; describe reads Metadata v12 with the project's codecs
// because librdkafka 2.0.2 does not expose topic ids.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/client_security.h"
#include "cli/common.h"
#include "protocol/messages/metadata.h"

namespace samsa::cli {

namespace {

struct TopicsArgs {
  std::string bootstrap, command_config, topic, replica_assignment, output = "text";
  bool create = false, list = false, describe = false, alter = false, del = false;
  bool if_exists = false, if_not_exists = false, under_replicated = false, unavailable = false;
  bool under_min_isr = false, at_min_isr = false;
  bool exclude_internal = false, topics_with_overrides = false;
  int partitions = -1, replication_factor = -1, timeout_ms = 30000;
  std::vector<std::string> configs;
};

struct PartitionInfo {
  int32_t id = 0, leader = -1;
  std::vector<int32_t> replicas, isr;
};
struct TopicInfo {
  std::string name, id;
  bool internal = false;
  std::vector<PartitionInfo> partitions;
  std::vector<std::pair<std::string, std::string>> configs;  // non-default only
  std::optional<int> min_isr;  // min.insync.replicas (default or not), once described
};
// A --topic value is a regular expression for list/describe/delete (Kafka: a
// Java regex over the whole name); a plain name matches itself.
bool matches(const std::string& pattern, const std::string& name) {
  if (pattern.empty()) return true;
  try {
    return std::regex_match(name, std::regex(pattern));
  } catch (const std::regex_error&) {
    return pattern == name;
  }
}

bool fetch_metadata(const TopicsArgs& a, const Properties& props, std::vector<TopicInfo>& out, std::string& err,
                    std::set<int32_t>* live_brokers = nullptr) {
  RawClient client;
  if (!client.connect(props.at("bootstrap.servers"), a.timeout_ms, err) || !client.secure(props, err))
    return false;
  protocol::MetadataRequest req;
  req.allow_auto_topic_creation = false;
  protocol::MetadataResponse resp;
  if (!client.call(req, 12, resp, err)) return false;
  if (live_brokers)
    for (auto& b : resp.brokers) live_brokers->insert(b.node_id);
  for (auto& t : resp.topics) {
    if (t.error_code != 0 || !t.name) continue;
    TopicInfo ti;
    ti.name = *t.name;
    ti.id = protocol::to_base64url(t.topic_id);
    ti.internal = t.is_internal;
    for (auto& p : t.partitions)
      ti.partitions.push_back({p.partition_index, p.leader_id, p.replica_nodes, p.isr_nodes});
    std::sort(ti.partitions.begin(), ti.partitions.end(),
              [](auto& x, auto& y) { return x.id < y.id; });
    out.push_back(std::move(ti));
  }
  std::sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.name < y.name; });
  return true;
}

// Selects the topics --topic names; errors like Kafka when none exists and
// --if-exists was not given.
bool select_topics(const TopicsArgs& a, std::vector<TopicInfo>& all, std::string& err) {
  std::vector<TopicInfo> sel;
  for (auto& t : all) {
    if (a.exclude_internal && (t.internal || t.name.rfind("__", 0) == 0)) continue;
    if (matches(a.topic, t.name)) sel.push_back(std::move(t));
  }
  all = std::move(sel);
  if (!a.topic.empty() && all.empty() && !a.if_exists) {
    err = "Topic '" + a.topic + "' does not exist as expected";
    return false;
  }
  return true;
}

bool describe_configs(rd_kafka_t* rk, std::vector<TopicInfo>& topics, int timeout_ms,
                      std::string& err) {
  if (topics.empty()) return true;
  AdminCall call(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
  std::vector<rd_kafka_ConfigResource_t*> res;
  for (auto& t : topics) res.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.name.c_str()));
  rd_kafka_DescribeConfigs(rk, res.data(), res.size(), call.options(), call.queue());
  rd_kafka_ConfigResource_destroy_array(res.data(), res.size());
  auto ev = call.wait(err);
  if (!ev) return false;
  size_t n = 0;
  auto* result = rd_kafka_event_DescribeConfigs_result(ev.get());
  const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(result, &n);
  std::map<std::string, TopicInfo*> by_name;
  for (auto& t : topics) by_name[t.name] = &t;
  for (size_t i = 0; i < n; ++i) {
    auto it = by_name.find(rd_kafka_ConfigResource_name(rs[i]));
    if (it == by_name.end() || rd_kafka_ConfigResource_error(rs[i])) continue;
    size_t m = 0;
    const rd_kafka_ConfigEntry_t** es = rd_kafka_ConfigResource_configs(rs[i], &m);
    for (size_t j = 0; j < m; ++j) {
      const char* v = rd_kafka_ConfigEntry_value(es[j]);
      if (std::string(rd_kafka_ConfigEntry_name(es[j])) == "min.insync.replicas" && v) {
        try {
          it->second->min_isr = std::stoi(v);
        } catch (const std::exception&) {
        }
      }
      if (rd_kafka_ConfigEntry_is_default(es[j])) continue;
      it->second->configs.emplace_back(rd_kafka_ConfigEntry_name(es[j]), v ? v : "null");
    }
  }
  return true;
}

// Kafka's TopicCommand report filters (--under-replicated-partitions and the
// others): with none given every partition is shown; otherwise those matching
// any of the given ones.
bool any_report_filter(const TopicsArgs& a) {
  return a.under_replicated || a.unavailable || a.under_min_isr || a.at_min_isr;
}

bool partition_selected(const TopicsArgs& a, const TopicInfo& t, const PartitionInfo& p,
                        const std::set<int32_t>& live_brokers) {
  if (!any_report_filter(a)) return true;
  const bool has_leader = p.leader >= 0;
  const auto isr = static_cast<int>(p.isr.size());
  if (a.under_replicated && p.isr.size() < p.replicas.size()) return true;
  if (a.unavailable && (!has_leader || !live_brokers.count(p.leader))) return true;
  if (a.under_min_isr && (!has_leader || (t.min_isr && isr < *t.min_isr))) return true;
  if (a.at_min_isr && t.min_isr && isr == *t.min_isr) return true;
  return false;
}

int do_list(const TopicsArgs& a, const Properties& props) {
  std::vector<TopicInfo> topics;
  std::string err;
  if (!fetch_metadata(a, props, topics, err) || !select_topics(a, topics, err)) return fail(err);
  if (a.output == "json") {
    std::string s = "{\"topics\":[";
    for (size_t i = 0; i < topics.size(); ++i) s += (i ? "," : "") + json_escape(topics[i].name);
    std::printf("%s]}\n", s.c_str());
  } else {
    for (auto& t : topics) std::printf("%s\n", t.name.c_str());
  }
  return 0;
}

void print_describe_json(const std::vector<TopicInfo>& topics, const TopicsArgs& a,
                         const std::set<int32_t>& live_brokers) {
  std::string s = "{\"topics\":[";
  for (size_t i = 0; i < topics.size(); ++i) {
    auto& t = topics[i];
    s += (i ? "," : "");
    s += "{\"name\":" + json_escape(t.name) + ",\"topic_id\":" + json_escape(t.id) +
         ",\"partition_count\":" + std::to_string(t.partitions.size()) +
         ",\"replication_factor\":" +
         std::to_string(t.partitions.empty() ? 0 : t.partitions[0].replicas.size()) + ",\"configs\":{";
    for (size_t j = 0; j < t.configs.size(); ++j)
      s += (j ? "," : "") + json_escape(t.configs[j].first) + ":" + json_escape(t.configs[j].second);
    s += "},\"partitions\":[";
    bool first = true;
    for (auto& p : t.partitions) {
      if (!partition_selected(a, t, p, live_brokers)) continue;
      s += (first ? "" : ",");
      first = false;
      s += "{\"partition\":" + std::to_string(p.id) + ",\"leader\":" +
           (p.leader < 0 ? std::string("null") : std::to_string(p.leader)) + ",\"replicas\":[" +
           join_ids(p.replicas) + "],\"isr\":[" + join_ids(p.isr) + "]}";
    }
    s += "]}";
  }
  std::printf("%s]}\n", s.c_str());
}

int do_describe(const TopicsArgs& a, const Properties& props) {
  std::vector<TopicInfo> topics;
  std::set<int32_t> live;
  std::string err;
  if (!fetch_metadata(a, props, topics, err, &live) || !select_topics(a, topics, err)) return fail(err);
  auto rk = make_handle(RD_KAFKA_PRODUCER, props, err);
  if (!rk) return fail(err);
  if (!describe_configs(rk.get(), topics, a.timeout_ms, err)) return fail(err);
  if (a.output == "json") {
    print_describe_json(topics, a, live);
    return 0;
  }
  // With a partition filter Kafka prints only the matching partition lines.
  bool filtered = any_report_filter(a);
  for (auto& t : topics) {
    if (a.topics_with_overrides && t.configs.empty()) continue;
    if (!filtered) {
      std::string cfg;
      for (size_t j = 0; j < t.configs.size(); ++j)
        cfg += (j ? "," : "") + t.configs[j].first + "=" + t.configs[j].second;
      size_t rf = t.partitions.empty() ? 0 : t.partitions[0].replicas.size();
      std::printf("Topic: %s\tTopicId: %s\tPartitionCount: %zu\tReplicationFactor: %zu\tConfigs: %s\n",
                  t.name.c_str(), t.id.c_str(), t.partitions.size(), rf, cfg.c_str());
      if (a.topics_with_overrides) continue;
    }
    for (auto& p : t.partitions) {
      if (!partition_selected(a, t, p, live)) continue;
      std::string leader = p.leader < 0 ? "none" : std::to_string(p.leader);
      std::printf("\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s\n", t.name.c_str(),
                  p.id, leader.c_str(), join_ids(p.replicas).c_str(), join_ids(p.isr).c_str());
    }
  }
  return 0;
}

// "0:1,1:2" -> one replica list per partition (Kafka's --replica-assignment).
bool parse_assignment(const std::string& s, std::vector<std::vector<int32_t>>& out, std::string& err) {
  for (auto& part : split(s, ',')) {
    std::vector<int32_t> ids;
    for (auto& id : split(part, ':')) {
      try {
        size_t used = 0;
        int v = std::stoi(id, &used);
        if (used != id.size() || v < 0) throw std::invalid_argument(id);
        ids.push_back(v);
      } catch (const std::exception&) {
        err = "Invalid --replica-assignment '" + s + "': broker ids must be integers";
        return false;
      }
    }
    if (ids.empty()) { err = "Invalid --replica-assignment '" + s + "'"; return false; }
    out.push_back(std::move(ids));
  }
  return !out.empty();
}

int do_create(const TopicsArgs& a, const Properties& props) {
  std::string err;
  std::vector<std::vector<int32_t>> assignment;
  if (!a.replica_assignment.empty()) {
    if (!parse_assignment(a.replica_assignment, assignment, err)) return fail(err);
    if (a.partitions != -1 || a.replication_factor != -1)
      return fail("Option \"[replica-assignment]\" can't be used with option \"[partitions]\" or \"[replication-factor]\"");
  }
  auto rk = make_handle(RD_KAFKA_PRODUCER, props, err);
  if (!rk) return fail(err);
  char errstr[512];
  int np = assignment.empty() ? a.partitions : static_cast<int>(assignment.size());
  int rf = assignment.empty() ? a.replication_factor : -1;
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(a.topic.c_str(), np, rf, errstr, sizeof errstr);
  if (!nt) return fail(errstr);
  for (size_t i = 0; i < assignment.size(); ++i) {
    if (rd_kafka_NewTopic_set_replica_assignment(nt, static_cast<int32_t>(i), assignment[i].data(),
                                                 assignment[i].size(), errstr, sizeof errstr)) {
      rd_kafka_NewTopic_destroy(nt);
      return fail(errstr);
    }
  }
  for (auto& c : a.configs) {
    std::string k, v;
    if (!parse_kv(c, k, v)) {
      rd_kafka_NewTopic_destroy(nt);
      return fail("Invalid topic config: all configs to be added must be in the format \"key=val\": " + c);
    }
    rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  }
  AdminCall call(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, a.timeout_ms);
  rd_kafka_CreateTopics(rk.get(), &nt, 1, call.options(), call.queue());
  rd_kafka_NewTopic_destroy(nt);
  auto ev = call.wait(err);
  if (!ev) return fail(err);
  size_t n = 0;
  const rd_kafka_topic_result_t** rs =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    auto code = rd_kafka_topic_result_error(rs[i]);
    if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && a.if_not_exists) return 0;
    if (code) {
      const char* msg = rd_kafka_topic_result_error_string(rs[i]);
      return fail(std::string("Error while executing topic command : ") +
                  (msg && *msg ? msg : rd_kafka_err2str(code)));
    }
  }
  std::printf("Created topic %s.\n", a.topic.c_str());
  return 0;
}

int do_delete(const TopicsArgs& a, const Properties& props) {
  std::vector<TopicInfo> topics;
  std::string err;
  if (!fetch_metadata(a, props, topics, err) || !select_topics(a, topics, err)) return fail(err);
  if (topics.empty()) return 0;
  auto rk = make_handle(RD_KAFKA_PRODUCER, props, err);
  if (!rk) return fail(err);
  std::vector<rd_kafka_DeleteTopic_t*> dts;
  for (auto& t : topics) dts.push_back(rd_kafka_DeleteTopic_new(t.name.c_str()));
  AdminCall call(rk.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, a.timeout_ms);
  rd_kafka_DeleteTopics(rk.get(), dts.data(), dts.size(), call.options(), call.queue());
  rd_kafka_DeleteTopic_destroy_array(dts.data(), dts.size());
  auto ev = call.wait(err);
  if (!ev) return fail(err);
  size_t n = 0;
  const rd_kafka_topic_result_t** rs =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
  int rc = 0;
  for (size_t i = 0; i < n; ++i) {
    auto code = rd_kafka_topic_result_error(rs[i]);
    if (code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && a.if_exists) continue;
    if (code) rc = fail(std::string("Error while executing topic command : ") + rd_kafka_err2str(code));
  }
  return rc;
}

int do_alter(const TopicsArgs& a, const Properties& props) {
  if (a.partitions <= 0) return fail("Missing required argument \"[partitions]\" for --alter");
  if (!a.configs.empty())
    return fail("Option \"[config]\" can't be used with option \"[alter]\": use `samsa configs --alter`");
  std::vector<TopicInfo> topics;
  std::string err;
  if (!fetch_metadata(a, props, topics, err) || !select_topics(a, topics, err)) return fail(err);
  if (topics.empty()) return 0;
  auto rk = make_handle(RD_KAFKA_PRODUCER, props, err);
  if (!rk) return fail(err);
  std::vector<rd_kafka_NewPartitions_t*> nps;
  char errstr[512];
  for (auto& t : topics)
    nps.push_back(rd_kafka_NewPartitions_new(t.name.c_str(), a.partitions, errstr, sizeof errstr));
  AdminCall call(rk.get(), RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, a.timeout_ms);
  rd_kafka_CreatePartitions(rk.get(), nps.data(), nps.size(), call.options(), call.queue());
  rd_kafka_NewPartitions_destroy_array(nps.data(), nps.size());
  auto ev = call.wait(err);
  if (!ev) return fail(err);
  size_t n = 0;
  const rd_kafka_topic_result_t** rs = rd_kafka_CreatePartitions_result_topics(
      rd_kafka_event_CreatePartitions_result(ev.get()), &n);
  int rc = 0;
  for (size_t i = 0; i < n; ++i) {
    auto code = rd_kafka_topic_result_error(rs[i]);
    if (code) {
      const char* msg = rd_kafka_topic_result_error_string(rs[i]);
      rc = fail(std::string("Error while executing topic command : ") +
                (msg && *msg ? msg : rd_kafka_err2str(code)));
    }
  }
  return rc;
}

}  // namespace

int topics_main(int argc, char** argv) {
  CLI::App app{"Create, delete, describe, or change a topic (like kafka-topics.sh)", "samsa topics"};
  app.footer(
      "Examples:\n"
      "  samsa topics --bootstrap-server localhost:9092 --list\n"
      "  samsa topics --bootstrap-server localhost:9092 --create --topic t1 --partitions 3 "
      "--replication-factor 1 --config retention.ms=60000\n"
      "  samsa topics --bootstrap-server localhost:9092 --describe --topic 't.*'\n"
      "  samsa topics --bootstrap-server localhost:9092 --alter --topic t1 --partitions 6\n"
      "  samsa topics --bootstrap-server localhost:9092 --delete --topic t1");
  TopicsArgs a;
  app.add_option("--bootstrap-server", a.bootstrap, "REQUIRED: the Kafka server to connect to");
  app.add_option("--command-config", a.command_config, "Property file with client configs");
  app.add_flag("--create", a.create, "Create a new topic");
  app.add_flag("--list", a.list, "List all available topics");
  app.add_flag("--describe", a.describe, "List details for the given topics");
  app.add_flag("--alter", a.alter, "Alter the number of partitions");
  app.add_flag("--delete", a.del, "Delete a topic");
  app.add_option("--topic", a.topic, "The topic to create, alter, describe or delete (a regular expression except for --create)");
  app.add_option("--partitions", a.partitions, "The number of partitions for the topic");
  app.add_option("--replication-factor", a.replication_factor, "The replication factor for each partition");
  app.add_option("--replica-assignment", a.replica_assignment, "broker_id_for_part1_replica1:broker_id_for_part1_replica2,...");
  app.add_option("--config", a.configs, "A topic configuration override (name=value), repeatable")->allow_extra_args(false);
  app.add_flag("--if-exists", a.if_exists, "Only act if the topic exists");
  app.add_flag("--if-not-exists", a.if_not_exists, "Create only if the topic does not exist");
  app.add_flag("--under-replicated-partitions", a.under_replicated, "Only show under-replicated partitions");
  app.add_flag("--unavailable-partitions", a.unavailable,
               "Only show partitions whose leader is not available (none, or not a live broker)");
  app.add_flag("--under-min-isr-partitions", a.under_min_isr,
               "Only show partitions whose ISR is smaller than the topic's min.insync.replicas");
  app.add_flag("--at-min-isr-partitions", a.at_min_isr,
               "Only show partitions whose ISR is exactly the topic's min.insync.replicas");
  app.add_flag("--exclude-internal", a.exclude_internal, "Exclude internal topics from list/describe");
  app.add_flag("--topics-with-overrides", a.topics_with_overrides, "Only show topics with config overrides");
  app.add_option("--timeout-ms", a.timeout_ms, "Give up after this many milliseconds (default 30000)");
  app.add_option("--output", a.output, "Output format: text (default) or json")->check(CLI::IsMember({"text", "json"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  int actions = a.create + a.list + a.describe + a.alter + a.del;
  if (actions != 1)
    return fail("Command must include exactly one action: --list, --describe, --create, --alter or --delete");
  if ((a.create || a.alter) && a.topic.empty())
    return fail("Missing required argument \"[topic]\"");
  if (a.del && a.topic.empty()) return fail("Missing required argument \"[topic]\"");
  if (a.create && a.partitions == 0) return fail("The partitions must be greater than 0");
  {
    // Kafka: the report options go with --describe only, one at a time.
    std::vector<std::string> reports;
    if (a.under_replicated) reports.push_back("under-replicated-partitions");
    if (a.under_min_isr) reports.push_back("under-min-isr-partitions");
    if (a.at_min_isr) reports.push_back("at-min-isr-partitions");
    if (a.unavailable) reports.push_back("unavailable-partitions");
    if (!reports.empty() && !a.describe)
      return fail("Option \"[" + reports[0] + "]\" can't be used with option \"[" +
                  (a.create ? "create" : a.list ? "list" : a.alter ? "alter" : "delete") + "]\"");
    if (reports.size() > 1)
      return fail("Option \"[" + reports[0] + "]\" can't be used with option \"[" + reports[1] + "]\"");
  }
  if (a.create && a.replication_factor == 0) return fail("The replication factor must be greater than 0");
  Properties props;
  std::string err;
  if (!base_properties(a.bootstrap, a.command_config, props, err)) return fail(err);
  if (a.list) return do_list(a, props);
  if (a.describe) return do_describe(a, props);
  if (a.create) return do_create(a, props);
  if (a.alter) return do_alter(a, props);
  return do_delete(a, props);
}

}  // namespace samsa::cli
