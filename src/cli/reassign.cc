// `samsa reassign-partitions` (kafka-reassign-partitions.sh): --generate a
// plan, --execute it (AlterPartitionReassignments), --verify it, --cancel it,
// --list what is moving (ListPartitionReassignments). Kafka's flags, JSON
// files and output lines. --throttle sets Kafka's replication throttles for
// the move (the brokers' leader/follower.replication.throttled.rate, the
// topics' leader/follower.replication.throttled.replicas) and --verify clears
// them once every partition is done. "log_dirs" other than "any" move
// replicas between the log dirs of their broker (AlterReplicaLogDirs after the
// reassignment; --verify and --cancel cover them too), at most
// --replica-alter-log-dirs-throttle bytes/s per broker
// (replica.alter.log.dirs.io.max.bytes.per.second, cleared by --verify).
#include "cli/reassign.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "base/cli_exit.h"
#include "base/error_code.h"
#include "cli/commands.h"
#include "cli/reassign_client.h"
#include "cli/common.h"
#include "base/json_value.h"

namespace samsa::cli {

namespace {

bool parse_document(const std::string& text, JsonValue& doc, std::string& err) {
  if (text.size() > kMaxJsonBytes) {
    err = "the JSON file is too large";
    return false;
  }
  if (!parse_json(text, doc, err)) {
    err = "invalid JSON: " + err;
    return false;
  }
  return true;
}

bool as_int32(const JsonValue* v, int32_t& out) {
  if (!v || v->kind != JsonValue::Kind::Number || !v->integral || v->integer < INT32_MIN || v->integer > INT32_MAX)
    return false;
  out = static_cast<int32_t>(v->integer);
  return true;
}

}  // namespace

bool parse_reassignment_json(const std::string& text, Assignment& out, std::string& err, ReplicaDirs* replica_dirs) {
  JsonValue doc;
  if (!parse_document(text, doc, err)) return false;
  const JsonValue* parts = doc.get("partitions");
  if (!parts || parts->kind != JsonValue::Kind::Array) {
    err = "Partition reassignment list cannot be empty";
    return false;
  }
  for (const auto& p : parts->array) {
    const JsonValue* topic = p.get("topic");
    const JsonValue* replicas = p.get("replicas");
    int32_t partition = -1;
    if (!topic || topic->kind != JsonValue::Kind::String || !as_int32(p.get("partition"), partition) ||
        partition < 0 || !replicas || replicas->kind != JsonValue::Kind::Array) {
      err = "Each partition needs \"topic\" (string), \"partition\" (int >= 0) and \"replicas\" (array of ints)";
      return false;
    }
    std::vector<int32_t> ids;
    for (const auto& r : replicas->array) {
      int32_t id = -1;
      if (!as_int32(&r, id)) {
        err = "Replicas of " + topic->string + "-" + std::to_string(partition) + " must be integers";
        return false;
      }
      ids.push_back(id);
    }
    PartitionKey key{topic->string, partition};
    if (const JsonValue* dirs = p.get("log_dirs")) {
      if (dirs->kind != JsonValue::Kind::Array || dirs->array.size() != ids.size()) {
        err = "Size of replicas list " + join_ids(ids) + " is different from size of log dirs list for partition " +
              tp_name(key);
        return false;
      }
      for (size_t i = 0; i < ids.size(); ++i) {
        const JsonValue& d = dirs->array[i];
        if (d.kind != JsonValue::Kind::String || (d.string != "any" && (d.string.empty() || d.string[0] != '/'))) {
          err = "Log dirs of " + tp_name(key) + " must be \"any\" or absolute paths";
          return false;
        }
        if (d.string != "any" && replica_dirs) (*replica_dirs)[{key, ids[i]}] = d.string;
      }
    }
    std::set<int32_t> seen(ids.begin(), ids.end());
    if (seen.size() != ids.size()) {
      err = "Partition replica lists may not contain duplicate entries: " + tp_name(key) + " contains " + join_ids(ids);
      return false;
    }
    if (!out.emplace(key, std::move(ids)).second) {
      err = "Partition reassignment contains duplicate topic partitions: " + tp_name(key);
      return false;
    }
  }
  if (out.empty()) {
    err = "Partition reassignment list cannot be empty";
    return false;
  }
  return true;
}

bool parse_topics_to_move_json(const std::string& text, std::vector<std::string>& out, std::string& err) {
  JsonValue doc;
  if (!parse_document(text, doc, err)) return false;
  const JsonValue* topics = doc.get("topics");
  if (!topics || topics->kind != JsonValue::Kind::Array) {
    err = "The topics-to-move JSON needs a \"topics\" array";
    return false;
  }
  std::set<std::string> seen;
  for (const auto& t : topics->array) {
    const JsonValue* name = t.get("topic");
    if (!name || name->kind != JsonValue::Kind::String) {
      err = "Each entry of \"topics\" needs a \"topic\" (string)";
      return false;
    }
    if (!seen.insert(name->string).second) {
      err = "List of topics to reassign contains duplicate entries: " + name->string;
      return false;
    }
    out.push_back(name->string);
  }
  if (out.empty()) {
    err = "List of topics to reassign cannot be empty";
    return false;
  }
  return true;
}

std::string reassignment_json(const Assignment& a) {
  std::string s = "{\"version\":1,\"partitions\":[";
  bool first = true;
  for (const auto& [key, replicas] : a) {
    s += first ? "" : ",";
    first = false;
    s += "{\"topic\":" + json_escape(key.first) + ",\"partition\":" + std::to_string(key.second) +
         ",\"replicas\":[" + join_ids(replicas) + "],\"log_dirs\":[";
    for (size_t i = 0; i < replicas.size(); ++i) s += i ? ",\"any\"" : "\"any\"";
    s += "]}";
  }
  return s + "]}";
}

bool propose_assignment(const Assignment& current, const std::vector<int32_t>& brokers, Assignment& out,
                        std::string& err) {
  const size_t n = brokers.size();
  if (n == 0) {
    err = "The broker list cannot be empty";
    return false;
  }
  // Each topic on its own, partitions in order (Kafka's assignReplicasToBrokers).
  std::map<std::string, std::vector<std::pair<int32_t, size_t>>> topics;  // partition, replication factor
  for (const auto& [key, replicas] : current) topics[key.first].push_back({key.second, replicas.size()});
  for (const auto& [topic, parts] : topics) {
    size_t shift = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const auto [partition, rf] = parts[i];
      if (rf > n) {
        err = "Replication factor: " + std::to_string(rf) + " larger than available brokers: " + std::to_string(n) + ".";
        return false;
      }
      if (i > 0 && i % n == 0) ++shift;
      const size_t first = i % n;
      std::vector<int32_t> replicas{brokers[first]};
      for (size_t j = 0; j + 1 < rf; ++j) replicas.push_back(brokers[(first + 1 + (shift + j) % (n - 1)) % n]);
      out[{topic, partition}] = std::move(replicas);
    }
  }
  return true;
}

std::string tp_name(const PartitionKey& k) { return k.first + "-" + std::to_string(k.second); }

std::string replica_name(const std::pair<PartitionKey, int32_t>& r) {
  return tp_name(r.first) + "-" + std::to_string(r.second);
}

std::string join_partitions(const std::vector<PartitionKey>& parts) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? "," : "") + tp_name(parts[i]);
  return s;
}

namespace {

bool read_file(const std::string& path, std::string& out, std::string& err) {
  std::ifstream in(path);
  if (!in) {
    err = "cannot read " + path;
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

int generate(RawClient& client, const std::string& topics_file, const std::string& broker_list) {
  std::string text, err;
  std::vector<std::string> topics;
  if (!read_file(topics_file, text, err) || !parse_topics_to_move_json(text, topics, err)) return kafka_error(err);
  std::vector<int32_t> brokers;
  std::set<int32_t> unique;
  for (auto& s : split(broker_list, ',')) {
    try {
      size_t used = 0;
      int v = std::stoi(s, &used);
      if (used != s.size()) throw std::invalid_argument(s);
      brokers.push_back(v);
      if (!unique.insert(v).second) return kafka_error("Duplicate broker ID in broker list " + broker_list);
    } catch (const std::exception&) {
      return kafka_error("Invalid broker list " + broker_list);
    }
  }
  ClusterView view;
  if (!describe(client, view, err)) return kafka_error(err);
  for (auto b : brokers)
    if (!view.brokers.count(b)) return kafka_error("Unknown broker id " + std::to_string(b));
  Assignment current, proposed;
  for (auto& t : topics) {
    bool found = false;
    for (auto& [key, replicas] : view.replicas)
      if (key.first == t) {
        current[key] = replicas;
        found = true;
      }
    if (!found) return kafka_error("Topic " + t + " not found");
  }
  if (!propose_assignment(current, brokers, proposed, err)) return kafka_error(err);
  std::printf("Current partition replica assignment\n%s\n\n", reassignment_json(current).c_str());
  std::printf("Proposed partition reassignment configuration\n%s\n", reassignment_json(proposed).c_str());
  return 0;
}

std::string join_replicas(const ReplicaDirs& dirs) {
  std::string s;
  for (auto& [replica, _] : dirs) s += (s.empty() ? "" : ",") + replica_name(replica);
  return s;
}

// --execute: after the reassignment, the replicas' log dirs.
int start_dir_moves(RawClient& client, const Properties& props, const ReplicaDirs& dirs, int64_t throttle,
                    int timeout_ms) {
  if (dirs.empty()) return 0;
  std::string err;
  if (throttle >= 0) {
    if (!set_log_dir_throttle(client, props, timeout_ms, dirs, throttle, err))
      return kafka_error("setting the throttle failed: " + err);
    std::printf("The replica-alter-dir throttle limit was set to %lld B/s\n", static_cast<long long>(throttle));
  }
  std::map<ReplicaKey, std::string> errors;
  if (!alter_replica_dirs(props, timeout_ms, dirs, errors, err)) return kafka_error(err);
  if (!errors.empty()) {
    std::string text = "Error moving replica(s) between log dirs:";
    for (auto& [replica, why] : errors) text += "\n" + replica_name(replica) + ": " + why;
    return kafka_error(text);
  }
  std::printf("Successfully started log directory move%s for: %s\n", dirs.size() == 1 ? "" : "s",
              join_replicas(dirs).c_str());
  return 0;
}

// --verify: where each replica of `dirs` is.
int verify_dir_moves(RawClient& client, const Properties& props, const ReplicaDirs& dirs, bool preserve_throttles,
                     int timeout_ms) {
  if (dirs.empty()) return 0;
  std::string err;
  std::map<ReplicaKey, ReplicaDirState> states;
  if (!describe_replica_dirs(props, timeout_ms, dirs, states, err)) return kafka_error(err);
  std::printf("\nStatus of replica log dir movement:\n");
  bool done = true;
  for (auto& [replica, target] : dirs) {
    const ReplicaDirState& st = states[replica];
    done &= !st.found || st.future.empty();
    const std::string tp = tp_name(replica.first), broker = std::to_string(replica.second);
    if (!st.found) {
      std::printf("Partition %s cannot be found in any live log directory on broker %s.\n", tp.c_str(), broker.c_str());
    } else if (st.current == target) {
      std::printf("Reassignment of replica %s completed successfully.\n", replica_name(replica).c_str());
    } else if (st.future == target) {
      std::printf("Reassignment of replica %s is still in progress.\n", replica_name(replica).c_str());
    } else if (!st.future.empty()) {
      std::printf("Partition %s on broker %s is being moved to log dir %s instead of %s.\n", tp.c_str(),
                  broker.c_str(), st.future.c_str(), target.c_str());
    } else {
      std::printf("Partition %s on broker %s is not being moved from log dir %s to %s.\n", tp.c_str(), broker.c_str(),
                  st.current.c_str(), target.c_str());
    }
  }
  if (done && !preserve_throttles && !set_log_dir_throttle(client, props, timeout_ms, dirs, std::nullopt, err))
    return kafka_error("clearing the replica-alter-dir throttle failed: " + err);
  return 0;
}

// --cancel: a replica still being copied stays where it is (asked to move to its current dir).
int cancel_dir_moves(const Properties& props, const ReplicaDirs& dirs, int timeout_ms) {
  std::string err;
  std::map<ReplicaKey, ReplicaDirState> states;
  if (!dirs.empty() && !describe_replica_dirs(props, timeout_ms, dirs, states, err)) return kafka_error(err);
  ReplicaDirs back;
  for (auto& [replica, st] : states)
    if (st.found && !st.future.empty()) back[replica] = st.current;
  if (back.empty()) {
    std::printf("None of the specified partition moves are active.\n");
    return 0;
  }
  std::map<ReplicaKey, std::string> errors;
  if (!alter_replica_dirs(props, timeout_ms, back, errors, err)) return kafka_error(err);
  if (!errors.empty()) return kafka_error("Error cancelling log directory moves of " + replica_name(errors.begin()->first));
  std::printf("Successfully cancelled log directory move%s for: %s\n", back.size() == 1 ? "" : "s",
              join_replicas(back).c_str());
  return 0;
}

int execute(RawClient& client, const Properties& props, const Assignment& target, bool additional, bool allow_rf_change,
            int64_t throttle, int timeout_ms) {
  std::string err;
  Ongoing ongoing;
  if (!list_ongoing(client, timeout_ms, ongoing, err)) return kafka_error(err);
  if (!ongoing.empty() && !additional)
    return kafka_error(
        "Cannot execute because there is an existing partition assignment.  Use --additional to override this and "
        "create a new partition assignment in addition to the existing one.");
  ClusterView view;
  if (!describe(client, view, err)) return kafka_error(err);
  Assignment current;
  for (const auto& [key, replicas] : target) {
    for (auto b : replicas)
      if (!view.brokers.count(b)) return kafka_error("Unknown broker id " + std::to_string(b));
    auto it = view.replicas.find(key);
    if (it == view.replicas.end()) return kafka_error("Unable to find partition: " + tp_name(key));
    current[key] = it->second;
  }
  std::printf("Current partition replica assignment\n\n%s\n\nSave this to use as the --reassignment-json-file option "
              "during rollback\n",
              reassignment_json(current).c_str());
  if (throttle >= 0) {
    std::printf("Warning: You must run --verify periodically, until the reassignment completes, to ensure the "
                "throttle is removed.\n");
    if (!set_throttles(client, props, timeout_ms, current, target, throttle, err))
      return kafka_error("setting the throttles failed: " + err);
    std::printf("The inter-broker throttle limit was set to %lld B/s\n", static_cast<long long>(throttle));
  }
  std::map<PartitionKey, std::optional<std::vector<int32_t>>> parts(target.begin(), target.end());
  std::map<PartitionKey, std::string> errors;
  if (!alter(client, timeout_ms, parts, errors, err, allow_rf_change)) return kafka_error(err);
  if (!errors.empty()) return kafka_error(errors_text("Error reassigning partition(s):", errors));
  std::vector<PartitionKey> keys;
  for (auto& [key, _] : target) keys.push_back(key);
  std::printf("Successfully started partition reassignment%s for %s\n", keys.size() == 1 ? "" : "s",
              join_partitions(keys).c_str());
  return 0;
}

int verify(RawClient& client, const Properties& props, const Assignment& target, bool preserve_throttles,
           int timeout_ms) {
  std::string err;
  Ongoing ongoing;
  if (!list_ongoing(client, timeout_ms, ongoing, err)) return kafka_error(err);
  ClusterView view;
  if (!describe(client, view, err)) return kafka_error(err);
  std::printf("Status of partition reassignment:\n");
  for (const auto& [key, replicas] : target) {
    if (ongoing.count(key)) {
      std::printf("Reassignment of partition %s is still in progress.\n", tp_name(key).c_str());
      continue;
    }
    auto it = view.replicas.find(key);
    const std::vector<int32_t> now = it == view.replicas.end() ? std::vector<int32_t>{} : it->second;
    if (now == replicas)
      std::printf("Reassignment of partition %s is completed.\n", tp_name(key).c_str());
    else
      std::printf("There is no active reassignment of partition %s, but replica set is %s rather than %s.\n",
                  tp_name(key).c_str(), join_ids(now).c_str(), join_ids(replicas).c_str());
  }
  bool done = true;
  for (const auto& [key, _] : target) done &= !ongoing.count(key);
  if (done && !preserve_throttles) {
    if (!clear_throttles(client, props, timeout_ms, target, err)) return kafka_error("clearing the throttles failed: " + err);
  }
  return 0;
}

int cancel(RawClient& client, const Assignment& target, int timeout_ms) {
  std::string err;
  Ongoing ongoing;
  if (!list_ongoing(client, timeout_ms, ongoing, err)) return kafka_error(err);
  std::map<PartitionKey, std::optional<std::vector<int32_t>>> parts;
  for (const auto& [key, _] : target)
    if (ongoing.count(key)) parts[key] = std::nullopt;
  if (parts.empty()) {
    std::printf("None of the specified partition reassignments are active.\n");
  } else {
    std::map<PartitionKey, std::string> errors;
    if (!alter(client, timeout_ms, parts, errors, err)) return kafka_error(err);
    if (!errors.empty()) return kafka_error(errors_text("Error cancelling partition reassignment(s):", errors));
    std::vector<PartitionKey> keys;
    for (auto& [key, _] : parts) keys.push_back(key);
    std::printf("Successfully cancelled partition reassignment%s for: %s\n", keys.size() == 1 ? "" : "s",
                join_partitions(keys).c_str());
  }
  return 0;
}

int list(RawClient& client, int timeout_ms) {
  std::string err;
  Ongoing ongoing;
  if (!list_ongoing(client, timeout_ms, ongoing, err)) return kafka_error(err);
  if (ongoing.empty()) {
    std::printf("No partition reassignments found.\n");
    return 0;
  }
  std::printf("Current partition reassignments:\n");
  for (auto& [key, p] : ongoing) {
    std::string line = tp_name(key) + ": replicas: " + join_ids(p.replicas) + ".";
    if (!p.adding_replicas.empty()) line += " adding: " + join_ids(p.adding_replicas) + ".";
    if (!p.removing_replicas.empty()) line += " removing: " + join_ids(p.removing_replicas) + ".";
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace

int reassign_partitions_main(int argc, char** argv) {
  CLI::App app{"Move partitions between brokers (like kafka-reassign-partitions.sh)", "samsa reassign-partitions"};
  app.footer(
      "Examples:\n"
      "  samsa reassign-partitions --bootstrap-server localhost:9092 --generate \\\n"
      "      --topics-to-move-json-file topics.json --broker-list 2,3,4\n"
      "    (topics.json: {\"version\":1,\"topics\":[{\"topic\":\"t\"}]})\n"
      "  samsa reassign-partitions --bootstrap-server localhost:9092 --execute --reassignment-json-file plan.json \\\n"
      "      --throttle 50000000\n"
      "    (plan.json: {\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[2,3,4]}]})\n"
      "  samsa reassign-partitions --bootstrap-server localhost:9092 --verify --reassignment-json-file plan.json\n"
      "  samsa reassign-partitions --bootstrap-server localhost:9092 --cancel --reassignment-json-file plan.json\n"
      "  samsa reassign-partitions --bootstrap-server localhost:9092 --list");
  std::string bootstrap, command_config, topics_file, broker_list, plan_file;
  bool gen = false, exec = false, ver = false, can = false, lst = false, additional = false, preserve = false;
  bool disallow_rf_change = false;
  int timeout_ms = 10000;
  int64_t throttle = -1, dir_throttle = -1;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--command-config", command_config, "Client config properties file");
  app.add_flag("--generate", gen, "Generate a candidate assignment moving the topics to the brokers");
  app.add_flag("--execute", exec, "Start the reassignment of --reassignment-json-file");
  app.add_flag("--verify", ver, "Check whether the reassignment of --reassignment-json-file is done");
  app.add_flag("--cancel", can, "Cancel the active reassignments of --reassignment-json-file");
  app.add_flag("--list", lst, "List the partitions being reassigned");
  app.add_option("--topics-to-move-json-file", topics_file, "Topics to move (with --generate)");
  app.add_option("--broker-list", broker_list, "Brokers to move them to, e.g. 1,2,3 (with --generate)");
  app.add_option("--reassignment-json-file", plan_file, "The reassignment (with --execute, --verify, --cancel)");
  app.add_flag("--additional", additional, "Execute even though other reassignments are in progress");
  app.add_flag("--disallow-replication-factor-change", disallow_rf_change,
               "With --execute: refuse moves that change a partition's replication factor (KIP-860)");
  app.add_flag("--preserve-throttles", preserve, "With --verify: keep the replication throttles after the move");
  app.add_option("--throttle", throttle,
                 "With --execute: bytes/s the move may copy (sets leader/follower.replication.throttled.rate and the "
                 "topics' throttled replicas; --verify clears them when done)");
  app.add_option("--replica-alter-log-dirs-throttle", dir_throttle,
                 "With --execute: bytes/s each broker may copy moving replicas between its log dirs (sets "
                 "replica.alter.log.dirs.io.max.bytes.per.second; --verify clears it when done)");
  app.add_option("--timeout", timeout_ms, "Milliseconds to wait for the cluster (default 10000)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (gen + exec + ver + can + lst != 1)
    return kafka_error("Command must include exactly one action: --generate, --execute, --verify, --cancel, or --list");
  if (throttle >= 0 && !exec) return kafka_error("--throttle is only for --execute");
  if (dir_throttle >= 0 && !exec) return kafka_error("--replica-alter-log-dirs-throttle is only for --execute");
  if (bootstrap.empty()) return kafka_error("Please specify --bootstrap-server");
  if (gen && (topics_file.empty() || broker_list.empty()))
    return kafka_error("Missing required argument(s): --topics-to-move-json-file and --broker-list");
  Assignment target;
  ReplicaDirs dirs;
  std::string err;
  if (exec || ver || can) {
    std::string text;
    if (plan_file.empty()) return kafka_error("Missing required argument --reassignment-json-file");
    if (!read_file(plan_file, text, err) || !parse_reassignment_json(text, target, err, &dirs)) return kafka_error(err);
  }
  Properties props;
  RawClient client;
  if (!client.open(bootstrap, command_config, timeout_ms, props, err)) return kafka_error(err);
  if (gen) return generate(client, topics_file, broker_list);
  if (exec) {
    int rc = execute(client, props, target, additional, !disallow_rf_change, throttle, timeout_ms);
    return rc != 0 ? rc : start_dir_moves(client, props, dirs, dir_throttle, timeout_ms);
  }
  if (ver) {
    int rc = verify(client, props, target, preserve, timeout_ms);
    return rc != 0 ? rc : verify_dir_moves(client, props, dirs, preserve, timeout_ms);
  }
  if (can) {
    int rc = cancel(client, target, timeout_ms);
    return rc != 0 ? rc : cancel_dir_moves(props, dirs, timeout_ms);
  }
  return list(client, timeout_ms);
}

}  // namespace samsa::cli
