// `samsa log-dirs --describe` (kafka-log-dirs.sh): every broker's log
// directories with the replicas they hold, each replica's size and offset
// lag (DescribeLogDirs v4, asked of each broker in turn with the tools' own
// protocol client, as kafka-log-dirs.sh asks every broker it lists), printed
// as Kafka prints it: two status lines, then one line of JSON
// {"version":1,"brokers":[{"broker":1,"logDirs":[{"logDir":"/data",
// "error":null,"partitions":[{"partition":"t-0","size":0,"offsetLag":0,
// "isFuture":false}]}]}]}. A directory's error is its Kafka error name.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "base/error_code.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "protocol/messages/describe_log_dirs.h"

namespace samsa::cli {

namespace {

constexpr int16_t kDescribeLogDirsVersion = 4;

// "1,2,3" -> ids; false when an entry is not a broker id.
bool parse_broker_ids(const std::string& text, std::set<int32_t>& out) {
  for (auto& part : split(text, ',')) {
    if (part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos) return false;
    out.insert(std::stoi(part));
  }
  return !out.empty();
}

// One broker's directories as Kafka's JSON, keeping only the topics of `topics` (all when empty).
std::string log_dirs_json(int32_t broker, const protocol::DescribeLogDirsResponse& resp,
                          const std::set<std::string>& topics) {
  std::string out = "{\"broker\":" + std::to_string(broker) + ",\"logDirs\":[";
  for (size_t d = 0; d < resp.results.size(); ++d) {
    const auto& dir = resp.results[d];
    auto error = static_cast<ErrorCode>(dir.error_code);
    out += std::string(d ? "," : "") + "{\"logDir\":" + json_escape(dir.log_dir) + ",\"error\":" +
           (error == ErrorCode::NONE ? std::string("null") : json_escape(std::string(error_name(error)))) +
           ",\"partitions\":[";
    bool first = true;
    for (const auto& t : dir.topics) {
      if (!topics.empty() && !topics.count(t.name)) continue;
      for (const auto& p : t.partitions) {
        out += std::string(first ? "" : ",") + "{\"partition\":" +
               json_escape(t.name + "-" + std::to_string(p.partition_index)) + ",\"size\":" +
               std::to_string(p.partition_size) + ",\"offsetLag\":" + std::to_string(p.offset_lag) +
               ",\"isFuture\":" + (p.is_future_key ? "true" : "false") + "}";
        first = false;
      }
    }
    out += "]}";
  }
  return out + "]}";
}

}  // namespace

int log_dirs_main(int argc, char** argv) {
  CLI::App app{"Describe the log directories of brokers and the replicas in them (like kafka-log-dirs.sh)",
               "samsa log-dirs"};
  app.footer("Examples:\n  samsa log-dirs --bootstrap-server localhost:9092 --describe\n"
             "  samsa log-dirs --bootstrap-server localhost:9092 --describe --broker-list 1,2 --topic-list orders");
  std::string bootstrap, command_config, broker_list, topic_list;
  bool describe = false;
  int timeout_ms = 30000;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED: the server(s) to use for bootstrapping");
  app.add_flag("--describe", describe, "Describe the specified log directories on the specified brokers");
  app.add_option("--broker-list", broker_list, "The brokers to query, \"1,2\" (default: every broker)");
  app.add_option("--topic-list", topic_list, "The topics to show, \"t1,t2\" (default: every topic)");
  app.add_option("--command-config", command_config, "Client config properties file");
  app.add_option("--timeout-ms", timeout_ms, "Give up after this many milliseconds (default 30000)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (!describe) return fail("Command must include exactly one action: --describe");
  std::set<int32_t> wanted;
  if (!broker_list.empty() && !parse_broker_ids(broker_list, wanted))
    return fail("--broker-list must be a comma-separated list of broker ids, got '" + broker_list + "'");
  std::set<std::string> topics;
  for (auto& t : split(topic_list, ','))
    if (!t.empty()) topics.insert(t);
  std::string err;
  Properties props;
  RawClient boot;
  if (!boot.open(bootstrap, command_config, timeout_ms, props, err)) return fail(err);
  std::vector<BrokerEndpoint> brokers;
  if (!list_brokers(boot, brokers, err)) return fail(err);
  std::set<int32_t> known;
  for (auto& b : brokers) known.insert(b.id);
  std::vector<int32_t> missing;
  for (int32_t id : wanted)
    if (!known.count(id)) missing.push_back(id);
  if (!missing.empty())
    return fail("The given brokers do not exist from --broker-list: " + join_ids(missing) +
                ". Current existent brokers: " + join_ids(std::vector<int32_t>(known.begin(), known.end())));
  std::printf("Querying brokers for log directories information\n");
  std::vector<int32_t> answered;
  std::string json;
  for (auto& b : brokers) {
    if (!wanted.empty() && !wanted.count(b.id)) continue;
    std::string hp = b.host_port();
    RawClient c;
    protocol::DescribeLogDirsRequest req;  // no topics: every directory and replica
    protocol::DescribeLogDirsResponse resp;
    if (!c.connect(hp, timeout_ms, err) || !c.secure(props, err) || !c.call(req, kDescribeLogDirsVersion, resp, err))
      return fail("broker " + std::to_string(b.id) + " (" + hp + "): " + err);
    if (resp.error_code != 0)
      return fail("broker " + std::to_string(b.id) + ": " +
                  std::string(error_name(static_cast<ErrorCode>(resp.error_code))));
    answered.push_back(b.id);
    json += std::string(json.empty() ? "" : ",") + log_dirs_json(b.id, resp, topics);
  }
  std::printf("Received log directory information from brokers %s\n", join_ids(answered).c_str());
  std::printf("{\"version\":1,\"brokers\":[%s]}\n", json.c_str());
  return 0;
}

}  // namespace samsa::cli
