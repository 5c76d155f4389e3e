// `samsa leader-election` (kafka-leader-election.sh). The broker has no
// ElectLeaders handler yet: on a cluster where every selected partition
// already has its preferred (first) replica as leader, nothing needs electing
// and the tool reports so, as Kafka does; any other case is reported as
// unsupported rather than guessed.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "protocol/messages/metadata.h"

namespace samsa::cli {

int leader_election_main(int argc, char** argv) {
  CLI::App app{"Run leader elections (like kafka-leader-election.sh)", "samsa leader-election"};
  app.footer(
      "Examples:\n"
      "  samsa leader-election --bootstrap-server localhost:9092 --topic t1 --partition 2 --election-type preferred\n"
      "  samsa leader-election --bootstrap-server localhost:9092 --all-topic-partitions --election-type preferred");
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
  app.add_option("--path-to-json-file", json_file, "JSON file of partitions (not supported yet)");
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
  if (!json_file.empty()) return fail("--path-to-json-file is not supported yet");
  if (!topic.empty() && partition < 0) return fail("Missing required option(s) [partition]");
  std::string err;
  Properties props;
  if (!base_properties(bootstrap, command_config, props, err)) return fail(err);
  RawClient client;
  if (!client.connect(props["bootstrap.servers"], timeout_ms, err)) return fail(err);
  protocol::MetadataRequest req;
  req.allow_auto_topic_creation = false;
  protocol::MetadataResponse resp;
  if (!client.call(req, 12, resp, err)) return fail(err);
  std::vector<std::string> not_needed, failed;
  bool found = false;
  for (auto& t : resp.topics) {
    if (!t.name || (!all && *t.name != topic)) continue;
    for (auto& p : t.partitions) {
      if (!all && p.partition_index != partition) continue;
      found = true;
      std::string tp = *t.name + "-" + std::to_string(p.partition_index);
      bool preferred_leads = !p.replica_nodes.empty() && p.leader_id == p.replica_nodes[0];
      bool unclean_ok = p.leader_id >= 0;
      if (election_type == "preferred" || election_type == "PREFERRED" ? preferred_leads : unclean_ok)
        not_needed.push_back(tp);
      else
        failed.push_back(tp);
    }
  }
  if (!all && !found) return fail("Partition " + topic + "-" + std::to_string(partition) + " does not exist");
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s;
  };
  if (not_needed.empty() && failed.empty()) {
    std::printf("Successfully completed leader election (%s) for partitions \n", election_type.c_str());
    return 0;
  }
  if (!not_needed.empty()) std::printf("Valid replica already elected for partitions %s\n", join(not_needed).c_str());
  if (!failed.empty())
    return fail("Leader election is not supported by this broker yet for partitions " + join(failed));
  return 0;
}

}  // namespace samsa::cli
