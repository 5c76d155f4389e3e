// `samsa metadata-quorum` (kafka-metadata-quorum.sh): describe the KRaft
// metadata quorum with DescribeQuorum on __cluster_metadata-0, sent to a broker
// (--bootstrap-server) or a controller (--bootstrap-controller), in Kafka's
// output: `describe --status` (ClusterId, LeaderId, ... CurrentObservers) and
// `describe --replication` (a table of the leader, followers and observers);
// `add-controller` / `remove-controller` change a dynamic quorum's voters
// (metadata_quorum_voters.cc). The hosts of the bootstrap list are tried in
// turn until one answers for the quorum (a node that does not lead answers
// NOT_LEADER_OR_FOLLOWER).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "base/error_code.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/metadata_quorum_voters.h"
#include "protocol/messages/api_versions.h"
#include "protocol/messages/describe_cluster.h"
#include "protocol/messages/describe_quorum.h"

namespace samsa::cli {

namespace {

using Replica = protocol::DescribeQuorumResponse::ReplicaState;
using Partition = protocol::DescribeQuorumResponse::PartitionData;
using Nodes = std::vector<protocol::DescribeQuorumResponse::Node>;

constexpr int16_t kDescribeQuorumMax = 2;
constexpr int16_t kDescribeClusterMax = 1;

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The highest version of `key` both this tool (up to `ours`) and the server know; -1 if none.
int16_t negotiate(const protocol::ApiVersionsResponse& versions, int16_t key, int16_t ours) {
  for (auto& k : versions.api_keys)
    if (k.api_key == key && k.min_version <= ours) return std::min(k.max_version, ours);
  return -1;
}

// Kafka's RaftVoterEndpoint: NAME://host:port, an IPv6 host in brackets.
std::string endpoint_text(const protocol::DescribeQuorumResponse::Listener& l) {
  std::string host = l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host;
  return l.name + "://" + host + ":" + std::to_string(l.port);
}

// One replica of CurrentVoters / CurrentObservers, as MetadataQuorumCommand's Node prints it.
std::string replica_text(const Replica& r, const Nodes& nodes) {
  std::string s = "{\"id\": " + std::to_string(r.replica_id) + ", \"directoryId\": ";
  s += r.replica_directory_id == protocol::Uuid{} ? "null" : "\"" + protocol::to_base64url(r.replica_directory_id) + "\"";
  for (auto& n : nodes) {
    if (n.node_id != r.replica_id || n.listeners.empty()) continue;
    s += ", \"endpoints\": [";
    for (size_t i = 0; i < n.listeners.size(); ++i) s += (i ? ", \"" : "\"") + endpoint_text(n.listeners[i]) + "\"";
    s += "]";
    break;
  }
  return s + "}";
}

std::string replicas_text(const std::vector<Replica>& list, const Nodes& nodes) {
  std::string s = "[";
  for (size_t i = 0; i < list.size(); ++i) s += (i ? ", " : "") + replica_text(list[i], nodes);
  return s + "]";
}

const Replica* find_leader(const Partition& p) {
  for (auto& v : p.current_voters)
    if (v.replica_id == p.leader_id) return &v;
  return nullptr;
}

void print_status(const std::string& cluster_id, const Partition& p, const Replica& leader, const Nodes& nodes) {
  // The voter with the lowest log end offset (the first of equals), as Kafka picks it.
  const Replica* slowest = &p.current_voters.front();
  for (auto& v : p.current_voters)
    if (v.log_end_offset < slowest->log_end_offset) slowest = &v;
  int64_t lag_time = -1;
  if (slowest == &leader) {
    lag_time = 0;
  } else if (leader.last_caught_up_timestamp >= 0 && slowest->last_caught_up_timestamp >= 0) {
    lag_time = leader.last_caught_up_timestamp - slowest->last_caught_up_timestamp;
  }
  std::printf("ClusterId:              %s\n", cluster_id.c_str());
  std::printf("LeaderId:               %d\n", p.leader_id);
  std::printf("LeaderEpoch:            %d\n", p.leader_epoch);
  std::printf("HighWatermark:          %lld\n", static_cast<long long>(p.high_watermark));
  std::printf("MaxFollowerLag:         %lld\n", static_cast<long long>(leader.log_end_offset - slowest->log_end_offset));
  std::printf("MaxFollowerLagTimeMs:   %lld\n", static_cast<long long>(lag_time));
  std::printf("CurrentVoters:          %s\n", replicas_text(p.current_voters, nodes).c_str());
  std::printf("CurrentObservers:       %s\n", replicas_text(p.observers, nodes).c_str());
}

// A timestamp column: -1 when unknown, else the time or (human readable) "N ms ago".
bool timestamp_text(int64_t ts, bool human, const char* what, std::string& out, std::string& err) {
  if (ts < 0) {
    out = "-1";
    return true;
  }
  if (!human) {
    out = std::to_string(ts);
    return true;
  }
  int64_t now = wall_now_ms();
  if (ts <= 0 || ts > now) {
    err = "Error while computing relative time, possible drift in system clock.\nCurrent timestamp is " +
          std::to_string(now) + ", " + what + " timestamp is " + std::to_string(ts);
    return false;
  }
  out = std::to_string(now - ts) + " ms ago";
  return true;
}

// ToolsUtils.prettyPrintTable: every cell padded to its column's width, then a tab.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(rows.front().size(), 0);
  for (auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) line += row[i] + std::string(width[i] - row[i].size(), ' ') + "\t";
    std::printf("%s\n", line.c_str());
  }
}

int print_replication(const Partition& p, const Replica& leader, bool human) {
  std::vector<std::vector<std::string>> rows = {
      {"NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"}};
  std::string err;
  auto add = [&](const Replica& r, const char* status) {
    std::string fetch, caught_up;
    if (!timestamp_text(r.last_fetch_timestamp, human, "last fetch", fetch, err) ||
        !timestamp_text(r.last_caught_up_timestamp, human, "last caught up", caught_up, err))
      return false;
    rows.push_back({std::to_string(r.replica_id), protocol::to_base64url(r.replica_directory_id),
                    std::to_string(r.log_end_offset), std::to_string(leader.log_end_offset - r.log_end_offset), fetch,
                    caught_up, status});
    return true;
  };
  bool ok = add(leader, "Leader");
  for (auto& v : p.current_voters)
    if (ok && v.replica_id != leader.replica_id) ok = add(v, "Follower");
  for (auto& o : p.observers)
    if (ok) ok = add(o, "Observer");
  if (!ok) return fail(err);
  print_table(rows);
  return 0;
}

struct DescribeOptions {
  bool brokers = false;  // --bootstrap-server (else --bootstrap-controller)
  bool status = false;
  bool human = false;
};

// One host's answer; false (not_leader set) when it does not lead the quorum.
bool describe_on(RawClient& c, const DescribeOptions& o, bool& not_leader, std::string& err, int& rc) {
  protocol::ApiVersionsRequest vreq;
  vreq.client_software_name = "samsa-cli";
  vreq.client_software_version = "1.0";
  protocol::ApiVersionsResponse versions;
  if (!c.call(vreq, 3, versions, err)) return false;
  int16_t quorum_v = negotiate(versions, 55, kDescribeQuorumMax);
  if (quorum_v < 0) {
    err = c.peer() + " does not support DescribeQuorum (is it running in KRaft mode?)";
    return true;
  }
  protocol::DescribeQuorumRequest qreq;
  auto& t = qreq.topics.emplace_back();
  t.topic_name = "__cluster_metadata";
  t.partitions.emplace_back().partition_index = 0;
  protocol::DescribeQuorumResponse qresp;
  if (!c.call(qreq, quorum_v, qresp, err)) return false;
  int16_t code = qresp.error_code;
  std::string message = qresp.error_message.value_or("");
  if (code == 0 && (qresp.topics.size() != 1 || qresp.topics[0].partitions.size() != 1)) {
    err = "the DescribeQuorum answer does not describe __cluster_metadata-0";
    return true;
  }
  if (code == 0) {
    code = qresp.topics[0].partitions[0].error_code;
    message = qresp.topics[0].partitions[0].error_message.value_or("");
  }
  if (code == to_int(ErrorCode::NOT_LEADER_OR_FOLLOWER)) {
    not_leader = true;
    return false;
  }
  if (code != 0) {
    err = std::string(error_name(static_cast<ErrorCode>(code))) + (message.empty() ? "" : ": " + message);
    return true;
  }
  auto& p = qresp.topics[0].partitions[0];
  const Replica* leader = find_leader(p);
  if (!leader) {
    err = "the quorum's leader " + std::to_string(p.leader_id) + " is not among its voters";
    return true;
  }
  if (!o.status) {
    rc = print_replication(p, *leader, o.human);
    return true;
  }
  // Kafka reads the cluster id with DescribeCluster; a controller listener
  // without it (this project's) gives the cluster id of the quorum's leader: none.
  std::string cluster_id;
  if (int16_t cluster_v = negotiate(versions, 60, kDescribeClusterMax); cluster_v >= 0) {
    protocol::DescribeClusterRequest creq;
    creq.endpoint_type = o.brokers ? 1 : 2;  // brokers or controllers (v1+)
    protocol::DescribeClusterResponse cresp;
    if (!c.call(creq, cluster_v, cresp, err)) return false;
    if (cresp.error_code != 0) {
      err = std::string(error_name(static_cast<ErrorCode>(cresp.error_code))) + ": " + cresp.error_message.value_or("");
      return true;
    }
    cluster_id = cresp.cluster_id;
  }
  print_status(cluster_id, p, *leader, qresp.nodes);
  rc = 0;
  return true;
}

}  // namespace

int metadata_quorum_main(int argc, char** argv) {
  CLI::App app{"Describe the KRaft metadata quorum (like kafka-metadata-quorum.sh)", "samsa metadata-quorum"};
  app.footer(
      "Examples:\n"
      "  samsa metadata-quorum --bootstrap-server localhost:9092 describe --status\n"
      "  samsa metadata-quorum --bootstrap-server localhost:9092 describe --replication --human-readable\n"
      "  samsa metadata-quorum --bootstrap-controller localhost:9093 describe --status\n"
      "  samsa metadata-quorum --bootstrap-controller localhost:9093 --command-config controller.properties "
      "add-controller\n"
      "  samsa metadata-quorum --bootstrap-controller localhost:9093 remove-controller --controller-id 2 "
      "--controller-directory-id <directory.id>");
  std::string bootstrap, controller, command_config;
  bool status = false, replication = false, human = false;
  int timeout_ms = 30000;
  auto* server_opt = app.add_option("--bootstrap-server", bootstrap,
                                    "A comma-separated list of host:port pairs of the Kafka cluster's brokers");
  auto* controller_opt = app.add_option("--bootstrap-controller", controller,
                                        "A comma-separated list of host:port pairs of the cluster's controllers");
  server_opt->excludes(controller_opt);
  app.add_option("--command-config", command_config, "Property file with configs for the admin client");
  app.add_option("--timeout-ms", timeout_ms, "Give up after this many milliseconds (default 30000)");
  auto* describe = app.add_subcommand("describe", "Describe the metadata quorum info");
  describe->add_flag("--status", status, "A short summary of the quorum status and the other information");
  describe->add_flag("--replication", replication, "Detailed information about the status of replication");
  describe->add_flag("--human-readable", human, "Print relative times instead of timestamps (with --replication)");
  std::string controller_properties, directory_id;
  int controller_id = -1;
  auto* add = app.add_subcommand("add-controller", "Add a controller to the KRaft controller cluster");
  add->add_option("--controller.properties", controller_properties,
                  "The new controller's server properties (default: the --command-config file, as Kafka)");
  auto* remove = app.add_subcommand("remove-controller", "Remove a controller from the KRaft controller cluster");
  remove->add_option("--controller-id", controller_id, "The id of the controller to remove")->required();
  remove->add_option("--controller-directory-id", directory_id, "The directory ID of the controller to remove")
      ->required();
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (bootstrap.empty() && controller.empty())
    return fail("one of the arguments --bootstrap-server --bootstrap-controller is required");
  std::string err;
  Properties props;
  const std::string& hosts = bootstrap.empty() ? controller : bootstrap;
  if (add->parsed() || remove->parsed()) {
    VoterCommand v;
    v.bootstrap = hosts;
    v.timeout_ms = timeout_ms;
    // Kafka's add-controller reads the new controller's properties from
    // --command-config; --controller.properties names them apart from the client's.
    v.controller_properties = controller_properties.empty() ? command_config : controller_properties;
    if (!base_properties(hosts, command_config, props, err)) return fail(err);
    v.client = props;
    v.controller_id = controller_id;
    v.directory_id = directory_id;
    if (add->parsed()) {
      if (v.controller_properties.empty())
        return fail("add-controller needs the new controller's properties (--command-config or --controller.properties)");
      return add_controller(v);
    }
    return remove_controller(v);
  }
  if (status && replication) return fail("Only one of --status or --replication should be specified with describe sub-command");
  if (!status && !replication) return fail("One of --status or --replication must be specified with describe sub-command");
  if (status && human) return fail("The option --human-readable is only supported along with --replication");
  if (!base_properties(hosts, command_config, props, err)) return fail(err);
  DescribeOptions o{!bootstrap.empty(), status, human};
  int rc = 1;
  if (!on_each_host(hosts, props, timeout_ms, err,
                    [&](RawClient& c, bool& not_leader, std::string& e) { return describe_on(c, o, not_leader, e, rc); }))
    return fail(err);
  return rc;
}

}  // namespace samsa::cli
