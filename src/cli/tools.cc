#include "cli/tools.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/dump_log_segments.h"

namespace samsa::cli {

namespace {

struct Tool {
  const char* name;
  int (*main)(int, char**);
  const char* help;
};

// Tools not written yet are absent rather than stubbed.
const Tool kTools[] = {
    {"topics", topics_main, "create, delete, describe, or change a topic (kafka-topics.sh)"},
    {"console-producer", console_producer_main, "publish lines from stdin (kafka-console-producer.sh)"},
    {"console-consumer", console_consumer_main, "print records of a topic (kafka-console-consumer.sh)"},
    {"producer-perf-test", producer_perf_main, "producer throughput/latency test (kafka-producer-perf-test.sh)"},
    {"consumer-perf-test", consumer_perf_main, "consumer throughput test (kafka-consumer-perf-test.sh)"},
    {"configs", configs_main, "describe or change topic/broker configs (kafka-configs.sh)"},
    {"leader-election", leader_election_main, "elect partition leaders (kafka-leader-election.sh)"},
    {"reassign-partitions", reassign_partitions_main, "move partitions between brokers (kafka-reassign-partitions.sh)"},
    {"cluster", cluster_main, "cluster id, unregister a broker (kafka-cluster.sh); drain a broker, balance the cluster"},
    {"consumer-groups", consumer_groups_main, "list, describe, reset and delete consumer groups (kafka-consumer-groups.sh)"},
    {"acls", acls_main, "add, remove and list ACLs (kafka-acls.sh)"},
    {"delete-records", delete_records_main, "delete records below given offsets (kafka-delete-records.sh)"},
    {"log-dirs", log_dirs_main, "describe brokers' log directories and the replicas in them (kafka-log-dirs.sh)"},
    {"get-offsets", get_offsets_main, "print partition offsets (kafka-get-offsets.sh)"},
    {"broker-api-versions", broker_api_versions_main, "print supported API versions (kafka-broker-api-versions.sh)"},
    {"features", features_main, "describe or change the cluster's feature levels (kafka-features.sh)"},
    {"metadata-quorum", metadata_quorum_main, "describe the KRaft metadata quorum (kafka-metadata-quorum.sh)"},
    {"dump-log-segments", dump_log_segments_main, "print the batches of .log/.index/.timeindex files (kafka-dump-log.sh)"},
};

void usage() {
  std::fprintf(stderr,
               "Usage: samsa <command> [options]\n\n"
               "Commands:\n"
               "  %-22s run a broker in the foreground (like kafka-server-start.sh)\n"
               "  %-22s stop running brokers with SIGTERM (like kafka-server-stop.sh)\n"
               "  %-22s random-uuid, format and info of log dirs (like kafka-storage.sh)\n"
               "  %-22s run a local cluster of N broker+controller nodes (Ctrl-C stops it)\n",
               "start", "stop", "storage", "dev-cluster");
  for (const auto& t : kTools) std::fprintf(stderr, "  %-22s %s\n", t.name, t.help);
  std::fprintf(stderr, "\nRun 'samsa <command> --help' for the options of a command.\n");
}

}  // namespace

// Kafka's tools (joptsimple) also take long options with one dash, e.g.
// `kafka-topics.sh --list -bootstrap-server ...`: such an argument (a dash,
// then a lower-case word of two or more characters) becomes `--word`.
// Negative numbers and one-letter options (-h, -t, -c) are left alone.
void accept_single_dash_long_options(int argc, char** argv, std::vector<std::string>& storage) {
  storage.reserve(static_cast<size_t>(argc));
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string_view name = a.substr(0, a.find('='));
    if (name.size() < 3 || name[0] != '-' || name[1] == '-' || !std::islower(static_cast<unsigned char>(name[1])))
      continue;
    bool word = std::all_of(name.begin() + 1, name.end(), [](char c) {
      return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
             c == '.';
    });
    if (!word) continue;
    storage.push_back("-" + std::string(a));
    argv[i] = storage.back().data();
  }
}

int run_tool(int argc, char** argv) {
  std::vector<std::string> rewritten;
  accept_single_dash_long_options(argc, argv, rewritten);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  for (const auto& t : kTools)
    if (std::strcmp(argv[1], t.name) == 0) return t.main(argc - 1, argv + 1);
  std::fprintf(stderr, "samsa: unknown command '%s'\n\n", argv[1]);
  usage();
  return 2;
}

}  // namespace samsa::cli
