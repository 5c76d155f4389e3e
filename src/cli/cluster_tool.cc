// `samsa cluster`: Kafka's kafka-cluster.sh (cluster-id, unregister) and what
// Kafka leaves to manual JSON files and outside tools: `drain` moves every
// replica off a broker before it is decommissioned, `balance` evens out
// replicas and preferred leaders over the brokers and racks. Both compute a
// plan (cluster_plan.h), show it, and run it as reassignments (optionally
// throttled), waiting until the moves are done, clearing the throttles and
// electing the preferred leaders of the partitions whose first replica
// changed.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/cli_exit.h"
#include "base/error_code.h"
#include "cli/cluster_plan.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/reassign_client.h"
#include "protocol/messages/elect_leaders.h"
#include "protocol/messages/metadata.h"
#include "protocol/messages/unregister_broker.h"

namespace samsa::cli {

namespace {

struct ClusterOptions {
  std::string bootstrap, command_config;
  int timeout_ms = 10000;
};

struct ClusterSession {
  Properties props;
  RawClient client;
};

bool open_session(const ClusterOptions& o, ClusterSession& s, std::string& err) {
  if (o.bootstrap.empty()) {
    err = "Please specify --bootstrap-server";
    return false;
  }
  return base_properties(o.bootstrap, o.command_config, s.props, err) &&
         s.client.connect(s.props["bootstrap.servers"], o.timeout_ms, err) && s.client.secure(s.props, err);
}

int cluster_id(ClusterSession& s) {
  protocol::MetadataRequest req;
  req.topics = std::vector<protocol::MetadataRequest::MetadataRequestTopic>{};
  protocol::MetadataResponse resp;
  std::string err;
  if (!s.client.call(req, 12, resp, err)) return kafka_error(err);
  std::printf("Cluster ID: %s\n", resp.cluster_id.value_or("").c_str());
  return 0;
}

int unregister(ClusterSession& s, int32_t id) {
  protocol::UnregisterBrokerRequest req;
  req.broker_id = id;
  protocol::UnregisterBrokerResponse resp;
  std::string err;
  if (!s.client.call(req, 0, resp, err)) return kafka_error(err);
  if (resp.error_code != 0)
    return kafka_error("Error while unregistering broker " + std::to_string(id) + ": " +
                       resp.error_message.value_or(std::string(error_name(static_cast<ErrorCode>(resp.error_code)))));
  std::printf("Broker %d is no longer registered.\n", id);
  return 0;
}

// The live brokers with their racks, and every partition's replicas.
bool load_cluster(ClusterSession& s, std::vector<PlanBroker>& brokers, ClusterView& view, std::string& err) {
  std::vector<BrokerEndpoint> endpoints;
  if (!list_brokers(s.client, endpoints, err) || !describe(s.client, view, err)) return false;
  for (auto& b : endpoints) brokers.push_back({b.id, b.rack.value_or("")});
  return true;
}

void print_plan(const Assignment& current, const Assignment& plan) {
  for (auto& [key, replicas] : plan)
    std::printf("  %s: %s -> %s\n", tp_name(key).c_str(), join_ids(current.at(key)).c_str(),
                join_ids(replicas).c_str());
}

// ElectLeaders PREFERRED for `parts` (v2); the ones that could not be elected are reported.
void elect_preferred(ClusterSession& s, const std::vector<PartitionKey>& parts, int timeout_ms) {
  if (parts.empty()) return;
  protocol::ElectLeadersRequest req;
  req.election_type = 0;
  req.timeout_ms = timeout_ms;
  req.topic_partitions.emplace();
  for (auto& [t, p] : parts) {
    if (req.topic_partitions->empty() || req.topic_partitions->back().topic != t)
      req.topic_partitions->emplace_back().topic = t;
    req.topic_partitions->back().partitions.push_back(p);
  }
  protocol::ElectLeadersResponse resp;
  std::string err;
  if (!s.client.call(req, 2, resp, err)) {
    std::fprintf(stderr, "Warning: electing the preferred leaders failed: %s\n", err.c_str());
    return;
  }
  size_t elected = 0;
  for (auto& t : resp.replica_election_results)
    for (auto& p : t.partition_result) {
      auto e = static_cast<ErrorCode>(p.error_code);
      if (e == ErrorCode::NONE) ++elected;
      else if (e != ErrorCode::ELECTION_NOT_NEEDED)
        std::fprintf(stderr, "Warning: preferred leader of %s-%d not elected: %s\n", t.topic.c_str(), p.partition_id,
                     std::string(error_name(e)).c_str());
    }
  std::printf("Preferred leaders elected for %zu partition(s)\n", elected);
}

// Runs `plan`: throttles, AlterPartitionReassignments, a bounded wait for the
// moves, throttles cleared, preferred leaders elected.
int run_plan(ClusterSession& s, const ClusterOptions& o, const Assignment& current, const Assignment& plan, int64_t throttle,
             int wait_s) {
  std::string err;
  Ongoing ongoing;
  if (!list_ongoing(s.client, o.timeout_ms, ongoing, err)) return kafka_error(err);
  if (!ongoing.empty())
    return kafka_error("Cannot run the plan: " + std::to_string(ongoing.size()) +
                       " partition reassignment(s) are in progress (see samsa reassign-partitions --list)");
  if (throttle >= 0) {
    if (!set_throttles(s.client, s.props, o.timeout_ms, current, plan, throttle, err))
      return kafka_error("setting the throttles failed: " + err);
    std::printf("The inter-broker throttle limit was set to %lld B/s\n", static_cast<long long>(throttle));
  }
  std::map<PartitionKey, std::optional<std::vector<int32_t>>> parts(plan.begin(), plan.end());
  std::map<PartitionKey, std::string> errors;
  if (!alter(s.client, o.timeout_ms, parts, errors, err)) return kafka_error(err);
  if (!errors.empty()) return kafka_error(errors_text("Error reassigning partition(s):", errors));
  std::printf("Moving %zu partition(s)...\n", plan.size());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  size_t left = plan.size();
  for (;;) {
    ongoing.clear();
    if (!list_ongoing(s.client, o.timeout_ms, ongoing, err)) return kafka_error(err);
    size_t now_left = 0;
    for (auto& [key, _] : plan) now_left += ongoing.count(key);
    if (now_left != left) std::printf("%zu of %zu partition(s) moved\n", plan.size() - now_left, plan.size());
    left = now_left;
    if (left == 0) break;
    if (std::chrono::steady_clock::now() >= deadline)
      return kafka_error(std::to_string(left) + " partition(s) still moving after " + std::to_string(wait_s) +
                         " s; they go on (follow them with samsa reassign-partitions --list)");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (throttle >= 0 && !clear_throttles(s.client, s.props, o.timeout_ms, plan, err))
    return kafka_error("clearing the throttles failed: " + err);
  std::vector<PartitionKey> new_first;
  for (auto& [key, replicas] : plan)
    if (!replicas.empty() && current.at(key).front() != replicas.front()) new_first.push_back(key);
  elect_preferred(s, new_first, o.timeout_ms);
  return 0;
}

int drain(ClusterSession& s, const ClusterOptions& o, int32_t broker, bool dry_run, int64_t throttle, int wait_s) {
  std::vector<PlanBroker> brokers;
  ClusterView view;
  std::string err;
  if (!load_cluster(s, brokers, view, err)) return kafka_error(err);
  std::vector<PartitionKey> stuck;
  Assignment plan = drain_plan(view.replicas, brokers, broker, stuck);
  if (!stuck.empty())
    return kafka_error("Cannot move " + join_partitions(stuck) + " off broker " + std::to_string(broker) +
                       ": no other live broker can take a replica");
  std::printf("Draining broker %d: %zu partition(s) to move\n", broker, plan.size());
  print_plan(view.replicas, plan);
  if (dry_run || plan.empty()) {
    if (!plan.empty()) std::printf("%s\n", reassignment_json(plan).c_str());
  } else if (int rc = run_plan(s, o, view.replicas, plan, throttle, wait_s); rc != 0) {
    return rc;
  }
  if (!dry_run)
    std::printf("Broker %d holds no replicas. Stop it, then: samsa cluster unregister --bootstrap-server %s --id %d\n",
                broker, o.bootstrap.c_str(), broker);
  return 0;
}

int balance(ClusterSession& s, const ClusterOptions& o, bool execute, int64_t throttle, int wait_s) {
  std::vector<PlanBroker> brokers;
  ClusterView view;
  std::string err;
  if (!load_cluster(s, brokers, view, err)) return kafka_error(err);
  Assignment plan = balance_plan(view.replicas, brokers);
  std::map<int32_t, std::pair<int, int>> before, after;  // broker: replicas, preferred leaderships
  Assignment result = view.replicas;
  for (auto& [key, replicas] : plan) result[key] = replicas;
  for (auto& b : brokers) before[b.id] = after[b.id] = {0, 0};
  for (auto* side : {&before, &after}) {
    const Assignment& a = side == &before ? view.replicas : result;
    for (auto& [key, replicas] : a)
      for (size_t i = 0; i < replicas.size(); ++i)
        if (side->count(replicas[i])) {
          ++(*side)[replicas[i]].first;
          if (i == 0) ++(*side)[replicas[i]].second;
        }
  }
  std::printf("Broker  Rack        Replicas  Preferred leaders\n");
  for (auto& b : brokers)
    std::printf("%-7d %-11s %3d -> %-3d %3d -> %d\n", b.id, b.rack.empty() ? "-" : b.rack.c_str(), before[b.id].first,
                after[b.id].first, before[b.id].second, after[b.id].second);
  if (plan.empty()) {
    std::printf("The cluster is balanced: nothing to move.\n");
    return 0;
  }
  std::printf("Plan: %zu partition(s)\n", plan.size());
  print_plan(view.replicas, plan);
  if (!execute) {
    std::printf("%s\nRun with --execute to apply it.\n", reassignment_json(plan).c_str());
    return 0;
  }
  return run_plan(s, o, view.replicas, plan, throttle, wait_s);
}

}  // namespace

int cluster_main(int argc, char** argv) {
  CLI::App app{"Cluster-wide operations (kafka-cluster.sh, plus drain and balance)", "samsa cluster"};
  app.footer(
      "Examples:\n"
      "  samsa cluster cluster-id --bootstrap-server localhost:9092\n"
      "  samsa cluster drain --bootstrap-server localhost:9092 --broker 4 --throttle 50000000\n"
      "  samsa cluster unregister --bootstrap-server localhost:9092 --id 4\n"
      "  samsa cluster balance --bootstrap-server localhost:9092                # shows the plan\n"
      "  samsa cluster balance --bootstrap-server localhost:9092 --execute --throttle 50000000");
  ClusterOptions o;
  int32_t broker = -1, id = -1;
  bool dry_run = false, execute = false;
  int64_t throttle = -1;
  int wait_s = 3600;
  app.add_option("--bootstrap-server", o.bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--command-config", o.command_config, "Client config properties file");
  app.add_option("--timeout", o.timeout_ms, "Milliseconds to wait for each answer (default 10000)");
  auto* cid = app.add_subcommand("cluster-id", "Print the cluster id");
  auto* unreg = app.add_subcommand("unregister", "Unregister a broker that is stopped (UnregisterBroker)");
  unreg->add_option("--id", id, "The broker to unregister")->required();
  auto* dr = app.add_subcommand("drain", "Move every replica off a broker (before it is decommissioned)");
  dr->add_option("--broker", broker, "The broker to drain")->required();
  dr->add_flag("--dry-run", dry_run, "Show the plan (and its reassignment JSON) only");
  auto* bal = app.add_subcommand("balance", "Even out replicas and preferred leaders over brokers and racks");
  bal->add_flag("--execute", execute, "Run the plan (without it: show the plan and its reassignment JSON)");
  for (auto* sub : {dr, bal}) {
    sub->add_option("--throttle", throttle, "Bytes/s the moves may copy (Kafka's replication throttles)");
    sub->add_option("--wait-s", wait_s, "Seconds to wait for the moves to finish (default 3600)");
  }
  for (auto* sub : {cid, unreg, dr, bal}) {
    sub->add_option("--bootstrap-server", o.bootstrap, "REQUIRED: the server(s) to connect to");
    sub->add_option("--command-config", o.command_config, "Client config properties file");
  }
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  ClusterSession s;
  std::string err;
  if (!open_session(o, s, err)) return kafka_error(err);
  if (cid->parsed()) return cluster_id(s);
  if (unreg->parsed()) return unregister(s, id);
  if (dr->parsed()) return drain(s, o, broker, dry_run, throttle, wait_s);
  return balance(s, o, execute, throttle, wait_s);
}

}  // namespace samsa::cli
