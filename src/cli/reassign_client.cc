// The network half of partition reassignments, shared by `samsa
// reassign-partitions` (reassign.cc) and `samsa cluster` (cluster_tool.cc):
// Metadata and ListPartitionReassignments views, AlterPartitionReassignments,
// and Kafka's replication throttles set for a move and cleared after it.
#include "cli/reassign_client.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "base/error_code.h"
#include "protocol/messages/alter_partition_reassignments.h"
#include "protocol/messages/alter_replica_log_dirs.h"
#include "protocol/messages/describe_log_dirs.h"
#include "protocol/messages/describe_configs.h"
#include "protocol/messages/incremental_alter_configs.h"
#include "protocol/messages/metadata.h"

namespace samsa::cli {

namespace {

// ---- replication throttles ----
constexpr int8_t kTopicResource = 2, kBrokerResource = 4;
constexpr int8_t kSetOp = 0, kDeleteOp = 1;
const char* const kRateKeys[] = {"leader.replication.throttled.rate", "follower.replication.throttled.rate"};
const char* const kReplicaKeys[] = {"leader.replication.throttled.replicas", "follower.replication.throttled.replicas"};
using ConfigChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;  // nullopt: delete

// IncrementalAlterConfigs v0 of one resource through `client`.
bool alter_configs(RawClient& client, int8_t type, const std::string& name, const ConfigChanges& changes,
                   std::string& err) {
  protocol::IncrementalAlterConfigsRequest req;
  auto& res = req.resources.emplace_back();
  res.resource_type = type;
  res.resource_name = name;
  for (auto& [key, value] : changes) {
    auto& c = res.configs.emplace_back();
    c.name = key;
    c.config_operation = value ? kSetOp : kDeleteOp;
    c.value = value;
  }
  protocol::IncrementalAlterConfigsResponse resp;
  if (!client.call(req, 0, resp, err)) return false;
  for (auto& r : resp.responses)
    if (r.error_code != 0) {
      err = std::string(error_name(static_cast<ErrorCode>(r.error_code))) +
            (r.error_message ? ": " + *r.error_message : std::string());
      return false;
    }
  return true;
}

std::vector<int32_t> broker_ids(const std::vector<BrokerEndpoint>& brokers) {
  std::vector<int32_t> ids;
  for (auto& b : brokers) ids.push_back(b.id);
  return ids;
}

// A broker's own configs are altered through that broker (it takes only its id).
bool alter_broker_configs(const Properties& props, int timeout_ms, const std::vector<BrokerEndpoint>& brokers,
                          const std::set<int32_t>& ids, const ConfigChanges& changes, std::string& err) {
  for (auto& b : brokers) {
    if (!ids.count(b.id)) continue;
    RawClient c;
    if (!c.connect(b.host_port(), timeout_ms, err) || !c.secure(props, err) ||
        !alter_configs(c, kBrokerResource, std::to_string(b.id), changes, err)) {
      err = "broker " + std::to_string(b.id) + ": " + err;
      return false;
    }
  }
  return true;
}

// Whether any of `topics` has throttled replicas set (DescribeConfigs v1).
bool topics_throttled(RawClient& client, const std::set<std::string>& topics, bool& out, std::string& err) {
  protocol::DescribeConfigsRequest req;
  for (auto& t : topics) {
    auto& r = req.resources.emplace_back();
    r.resource_type = kTopicResource;
    r.resource_name = t;
    r.configuration_keys = std::vector<std::string>{kReplicaKeys[0], kReplicaKeys[1]};
  }
  protocol::DescribeConfigsResponse resp;
  if (!client.call(req, 1, resp, err)) return false;
  out = false;
  for (auto& r : resp.results)
    for (auto& c : r.configs) out |= c.value && !c.value->empty();
  return true;
}

}  // namespace

bool describe(RawClient& client, ClusterView& view, std::string& err) {
  protocol::MetadataRequest req;
  req.allow_auto_topic_creation = false;
  protocol::MetadataResponse resp;
  if (!client.call(req, 12, resp, err)) return false;
  for (auto& b : resp.brokers) view.brokers.insert(b.node_id);
  for (auto& t : resp.topics) {
    if (!t.name || t.error_code != 0) continue;
    for (auto& p : t.partitions) view.replicas[{*t.name, p.partition_index}] = p.replica_nodes;
  }
  return true;
}

bool list_ongoing(RawClient& client, int timeout_ms, Ongoing& out, std::string& err) {
  protocol::ListPartitionReassignmentsRequest req;
  req.timeout_ms = timeout_ms;
  protocol::ListPartitionReassignmentsResponse resp;
  if (!client.call(req, 0, resp, err)) return false;
  if (resp.error_code != 0) {
    err = resp.error_message.value_or(std::string(error_name(static_cast<ErrorCode>(resp.error_code))));
    return false;
  }
  for (auto& t : resp.topics)
    for (auto& p : t.partitions) out[{t.name, p.partition_index}] = p;
  return true;
}

// Sends the reassignments (nullopt replicas: cancel); per-partition errors in `errors`.
bool alter(RawClient& client, int timeout_ms, const std::map<PartitionKey, std::optional<std::vector<int32_t>>>& parts,
           std::map<PartitionKey, std::string>& errors, std::string& err, bool allow_rf_change) {
  protocol::AlterPartitionReassignmentsRequest req;
  req.timeout_ms = timeout_ms;
  req.allow_replication_factor_change = allow_rf_change;
  for (const auto& [key, replicas] : parts) {
    if (req.topics.empty() || req.topics.back().name != key.first) req.topics.emplace_back().name = key.first;
    auto& p = req.topics.back().partitions.emplace_back();
    p.partition_index = key.second;
    p.replicas = replicas;
  }
  protocol::AlterPartitionReassignmentsResponse resp;
  if (!client.call(req, allow_rf_change ? 0 : 1, resp, err)) return false;
  if (resp.error_code != 0) {
    err = resp.error_message.value_or(std::string(error_name(static_cast<ErrorCode>(resp.error_code))));
    return false;
  }
  for (auto& t : resp.responses)
    for (auto& p : t.partitions)
      if (p.error_code != 0)
        errors[{t.name, p.partition_index}] =
            p.error_message.value_or(std::string(error_name(static_cast<ErrorCode>(p.error_code))));
  return true;
}

// Kafka's report of refused partitions: the title, then "t-0: message" lines.
std::string errors_text(const std::string& title, const std::map<PartitionKey, std::string>& errors) {
  std::string msg = title;
  for (auto& [key, e] : errors) msg += "\n" + tp_name(key) + ": " + e;
  return msg;
}

// Kafka's throttles for a move: the rate on every broker that sends or
// receives, the leader side on the current replicas, the follower side on
// the replicas being added ("partition:broker,...").
bool set_throttles(RawClient& client, const Properties& props, int timeout_ms, const Assignment& current,
                   const Assignment& target, int64_t rate, std::string& err) {
  std::set<int32_t> involved;
  std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> lists;  // topic: leader, follower
  for (const auto& [key, replicas] : target) {
    const auto& now = current.at(key);
    if (now == replicas) continue;
    auto& [leader, follower] = lists[key.first];
    for (int32_t b : now) {
      involved.insert(b);
      leader.push_back(std::to_string(key.second) + ":" + std::to_string(b));
    }
    for (int32_t b : replicas) {
      involved.insert(b);
      if (std::find(now.begin(), now.end(), b) == now.end())
        follower.push_back(std::to_string(key.second) + ":" + std::to_string(b));
    }
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (auto& e : v) s += (s.empty() ? "" : ",") + e;
    return s;
  };
  for (auto& [topic, l] : lists)
    if (!alter_configs(client, kTopicResource, topic,
                       {{kReplicaKeys[0], join(l.first)}, {kReplicaKeys[1], join(l.second)}}, err))
      return false;
  std::vector<BrokerEndpoint> brokers;
  if (!list_brokers(client, brokers, err)) return false;
  const std::string value = std::to_string(rate);
  return alter_broker_configs(props, timeout_ms, brokers, involved, {{kRateKeys[0], value}, {kRateKeys[1], value}},
                              err);
}

// --verify once every partition is done: Kafka clears the rates on every
// broker and the replica lists of the plan's topics. Samsa does so only when
// the plan's topics still carry throttled replicas (a move executed with
// --throttle and not yet cleared), and a broker that does not answer is
// reported and skipped rather than failing the verification.
bool clear_throttles(RawClient& client, const Properties& props, int timeout_ms, const Assignment& target,
                     std::string& err) {
  std::set<std::string> topics;
  for (auto& [key, _] : target) topics.insert(key.first);
  bool throttled = false;
  if (!topics_throttled(client, topics, throttled, err)) return false;
  if (!throttled) return true;
  std::vector<BrokerEndpoint> brokers;
  if (!list_brokers(client, brokers, err)) return false;
  std::printf("\nClearing broker-level throttles on brokers %s\n", join_ids(broker_ids(brokers)).c_str());
  for (auto& b : brokers) {
    std::string why;
    if (!alter_broker_configs(props, timeout_ms, brokers, {b.id}, {{kRateKeys[0], std::nullopt}, {kRateKeys[1], std::nullopt}},
                              why))
      std::fprintf(stderr, "Warning: the throttles of broker %d were not cleared: %s\n", b.id, why.c_str());
  }
  for (auto& topic : topics) {
    std::printf("Clearing topic-level throttles on topic %s\n", topic.c_str());
    if (!alter_configs(client, kTopicResource, topic, {{kReplicaKeys[0], std::nullopt}, {kReplicaKeys[1], std::nullopt}},
                       err))
      return false;
  }
  return true;
}

// ---- replicas between log dirs ----

namespace {

constexpr int16_t kAlterReplicaLogDirsVersion = 2, kReplicaDirsDescribeVersion = 4;

// A connection to each broker named in `dirs`, by id.
bool connect_brokers(const Properties& props, int timeout_ms, const ReplicaDirs& dirs,
                     std::map<int32_t, RawClient>& out, std::string& err) {
  RawClient boot;
  if (!boot.connect(props.at("bootstrap.servers"), timeout_ms, err) || !boot.secure(props, err)) return false;
  std::vector<BrokerEndpoint> brokers;
  if (!list_brokers(boot, brokers, err)) return false;
  std::set<int32_t> wanted;
  for (auto& [replica, _] : dirs) wanted.insert(replica.second);
  for (auto& b : brokers) {
    if (!wanted.erase(b.id)) continue;
    RawClient& c = out[b.id];
    if (!c.connect(b.host_port(), timeout_ms, err) || !c.secure(props, err)) {
      err = "broker " + std::to_string(b.id) + " (" + b.host_port() + "): " + err;
      return false;
    }
  }
  if (!wanted.empty()) {
    err = "Unknown broker id " + std::to_string(*wanted.begin());
    return false;
  }
  return true;
}

}  // namespace

bool set_log_dir_throttle(RawClient& client, const Properties& props, int timeout_ms, const ReplicaDirs& dirs,
                          std::optional<int64_t> rate, std::string& err) {
  std::set<int32_t> ids;
  for (auto& [replica, _] : dirs) ids.insert(replica.second);
  std::vector<BrokerEndpoint> brokers;
  if (!list_brokers(client, brokers, err)) return false;
  const std::string key = "replica.alter.log.dirs.io.max.bytes.per.second";
  std::optional<std::string> value;
  if (rate) value = std::to_string(*rate);
  if (!alter_broker_configs(props, timeout_ms, brokers, ids, {{key, value}}, err)) return false;
  // Each broker applies it from the metadata log: the copies start only once
  // it has, or a small move would finish unthrottled.
  const std::string want = value.value_or(std::to_string(INT64_MAX));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (auto& b : brokers) {
    if (!ids.count(b.id)) continue;
    RawClient c;
    if (!c.connect(b.host_port(), timeout_ms, err) || !c.secure(props, err)) return false;
    for (;;) {
      protocol::DescribeConfigsRequest req;
      auto& r = req.resources.emplace_back();
      r.resource_type = kBrokerResource;
      r.resource_name = std::to_string(b.id);
      r.configuration_keys = std::vector<std::string>{key};
      protocol::DescribeConfigsResponse resp;
      if (!c.call(req, 1, resp, err)) return false;
      bool applied = false;
      for (auto& res : resp.results)
        for (auto& cfg : res.configs) applied |= cfg.name == key && cfg.value == want;
      if (applied) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        err = "broker " + std::to_string(b.id) + " did not apply " + key + "=" + want + " in time";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return true;
}

bool describe_replica_dirs(const Properties& props, int timeout_ms, const ReplicaDirs& dirs,
                           std::map<ReplicaKey, ReplicaDirState>& out, std::string& err) {
  std::map<int32_t, RawClient> clients;
  if (!connect_brokers(props, timeout_ms, dirs, clients, err)) return false;
  for (auto& [broker, client] : clients) {
    protocol::DescribeLogDirsRequest req;
    req.topics.emplace();
    std::map<std::string, size_t> index;
    for (auto& [replica, _] : dirs) {
      if (replica.second != broker) continue;
      auto [it, fresh] = index.try_emplace(replica.first.first, req.topics->size());
      if (fresh) req.topics->emplace_back().topic = replica.first.first;
      (*req.topics)[it->second].partitions.push_back(replica.first.second);
    }
    protocol::DescribeLogDirsResponse resp;
    if (!client.call(req, kReplicaDirsDescribeVersion, resp, err)) return false;
    for (auto& [replica, _] : dirs) {
      if (replica.second == broker) out[replica];  // not found unless a dir names it
    }
    for (auto& d : resp.results) {
      if (d.error_code != 0) continue;
      for (auto& t : d.topics) {
        for (auto& p : t.partitions) {
          auto it = out.find(ReplicaKey{{t.name, p.partition_index}, broker});
          if (it == out.end()) continue;
          if (p.is_future_key) {
            it->second.future = d.log_dir;
          } else {
            it->second.found = true;
            it->second.current = d.log_dir;
          }
        }
      }
    }
  }
  return true;
}

bool alter_replica_dirs(const Properties& props, int timeout_ms, const ReplicaDirs& dirs,
                        std::map<ReplicaKey, std::string>& errors, std::string& err) {
  std::map<int32_t, RawClient> clients;
  if (!connect_brokers(props, timeout_ms, dirs, clients, err)) return false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (auto& [broker, client] : clients) {
    ReplicaDirs pending;
    for (auto& [replica, dir] : dirs)
      if (replica.second == broker) pending[replica] = dir;
    while (!pending.empty()) {
      protocol::AlterReplicaLogDirsRequest req;
      std::map<std::string, size_t> index;
      for (auto& [replica, dir] : pending) {
        auto [it, fresh] = index.try_emplace(dir, req.dirs.size());
        if (fresh) req.dirs.emplace_back().path = dir;
        auto& topics = req.dirs[it->second].topics;
        if (topics.empty() || topics.back().name != replica.first.first) topics.emplace_back().name = replica.first.first;
        topics.back().partitions.push_back(replica.first.second);
      }
      protocol::AlterReplicaLogDirsResponse resp;
      if (!client.call(req, kAlterReplicaLogDirsVersion, resp, err)) return false;
      ReplicaDirs again;
      for (auto& t : resp.results) {
        for (auto& p : t.partitions) {
          ReplicaKey replica{{t.topic_name, p.partition_index}, broker};
          auto code = static_cast<ErrorCode>(p.error_code);
          if (code == ErrorCode::NONE || !pending.count(replica)) continue;
          if (code == ErrorCode::REPLICA_NOT_AVAILABLE && std::chrono::steady_clock::now() < deadline) {
            again[replica] = pending[replica];
          } else {
            errors[replica] = std::string(error_name(code));
          }
        }
      }
      pending = std::move(again);
      if (!pending.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  return true;
}

}  // namespace samsa::cli
