// `samsa leader-election` (kafka-leader-election.sh): one ElectLeaders (v2)
// to the bootstrap broker, which relays it to the active controller; the
// results printed as Kafka's tool prints them (elected, already elected,
// failed with the error), exit 1 when any partition could not be elected.
#include <CLI/CLI.hpp>

#include <climits>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "cli/commands.h"
#include "cli/client_security.h"
#include "cli/common.h"
#include "base/json_value.h"
#include "base/error_code.h"
#include "protocol/messages/elect_leaders.h"

namespace samsa::cli {

namespace {

using TopicPartitionSet = std::set<std::pair<std::string, int>>;

// kafka-leader-election.sh's --path-to-json-file: {"partitions": [{"topic": "t", "partition": 0}, ...]}.
bool read_partitions_file(const std::string& path, TopicPartitionSet& out, std::string& err) {
  std::ifstream in(path);
  if (!in) {
    err = "cannot read " + path;
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxJsonBytes) {
    err = path + " is too large";
    return false;
  }
  JsonValue doc;
  if (!parse_json(text.str(), doc, err)) {
    err = path + ": invalid JSON: " + err;
    return false;
  }
  const JsonValue* parts = doc.get("partitions");
  if (!parts || parts->kind != JsonValue::Kind::Array) {
    err = "Partitions json file doesn't contain a \"partitions\" array";
    return false;
  }
  for (const auto& p : parts->array) {
    const JsonValue *t = p.get("topic"), *n = p.get("partition");
    if (!t || t->kind != JsonValue::Kind::String || !n || !n->integral || n->integer < 0 || n->integer > INT32_MAX) {
      err = "Partitions json file entries need \"topic\" (string) and \"partition\" (int >= 0)";
      return false;
    }
    if (!out.emplace(t->string, static_cast<int>(n->integer)).second) {
      err = "Replica election data contains duplicate partitions: " + t->string + "-" + std::to_string(n->integer);
      return false;
    }
  }
  if (out.empty()) {
    err = "Partitions json file contains no partitions";
    return false;
  }
  return true;
}

}  // namespace

int leader_election_main(int argc, char** argv) {
  CLI::App app{"Run leader elections (like kafka-leader-election.sh)", "samsa leader-election"};
  app.footer(
      "Examples:\n"
      "  samsa leader-election --bootstrap-server localhost:9092 --topic t1 --partition 2 --election-type preferred\n"
      "  samsa leader-election --bootstrap-server localhost:9092 --all-topic-partitions --election-type preferred\n"
      "  samsa leader-election --bootstrap-server localhost:9092 --path-to-json-file partitions.json "
      "--election-type preferred\n"
      "    (partitions.json: {\"partitions\": [{\"topic\": \"t1\", \"partition\": 0}]})");
  std::string bootstrap, command_config, election_type, topic, json_file;
  int partition = -1, timeout_ms = 30000;
  bool all = false;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--command-config", command_config, "Client config properties file");
  app.add_option("--election-type", election_type, "REQUIRED: preferred or unclean")
      ->check(CLI::IsMember({"preferred", "unclean", "PREFERRED", "UNCLEAN"}));
  app.add_option("--topic", topic, "Topic of the partition (with --partition)");
  app.add_option("--partition", partition, "Partition to elect (with --topic)");
  app.add_flag("--all-topic-partitions", all, "Elect leaders of all partitions");
  app.add_option("--path-to-json-file", json_file, "JSON file of the partitions to elect");
  app.add_option("--timeout-ms", timeout_ms, "Give up after this many milliseconds (default 30000)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (election_type.empty()) return fail("Missing required option(s) [election-type]");
  int sources = (!topic.empty() || partition >= 0) + all + !json_file.empty();
  if (sources != 1)
    return fail("One and only one of the following options is required: all-topic-partitions, topic, path-to-json-file");
  TopicPartitionSet wanted;  // from --topic/--partition or the JSON file; empty with --all-topic-partitions
  std::string err;
  if (!json_file.empty() && !read_partitions_file(json_file, wanted, err)) return fail(err);
  if (!topic.empty() && partition < 0) return fail("Missing required option(s) [partition]");
  if (!topic.empty()) wanted.emplace(topic, partition);
  Properties props;
  RawClient client;
  if (!client.open(bootstrap, command_config, timeout_ms, props, err)) return fail(err);
  const bool unclean = election_type == "unclean" || election_type == "UNCLEAN";
  const char* type_name = unclean ? "UNCLEAN" : "PREFERRED";
  protocol::ElectLeadersRequest req;
  req.election_type = unclean ? 1 : 0;
  req.timeout_ms = timeout_ms;
  if (!all) {
    req.topic_partitions.emplace();
    for (const auto& [t, p] : wanted) {
      if (req.topic_partitions->empty() || req.topic_partitions->back().topic != t)
        req.topic_partitions->emplace_back().topic = t;
      req.topic_partitions->back().partitions.push_back(p);
    }
  }
  protocol::ElectLeadersResponse resp;
  if (!client.call(req, 2, resp, err)) return fail(err);
  if (resp.error_code != 0)
    return fail(std::string(error_name(static_cast<ErrorCode>(resp.error_code))) + ": the election request was refused");
  // As kafka-leader-election.sh: elected, already elected, failed (with why).
  std::vector<std::string> succeeded, not_needed, failed;
  for (auto& t : resp.replica_election_results) {
    for (auto& p : t.partition_result) {
      std::string tp = t.topic + "-" + std::to_string(p.partition_id);
      auto e = static_cast<ErrorCode>(p.error_code);
      if (e == ErrorCode::NONE) succeeded.push_back(tp);
      else if (e == ErrorCode::ELECTION_NOT_NEEDED) not_needed.push_back(tp);
      else
        failed.push_back(tp + ": " + std::string(error_name(e)) + (p.error_message ? ": " + *p.error_message : ""));
    }
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s;
  };
  if (!succeeded.empty())
    std::printf("Successfully completed leader election (%s) for partitions %s\n", type_name, join(succeeded).c_str());
  if (!not_needed.empty()) std::printf("Valid replica already elected for partitions %s\n", join(not_needed).c_str());
  if (!failed.empty()) {
    for (auto& f : failed) std::printf("Error completing leader election (%s) for partition: %s\n", type_name, f.c_str());
    return fail(std::to_string(failed.size()) + " replica(s) could not be elected");
  }
  return 0;
}

}  // namespace samsa::cli
