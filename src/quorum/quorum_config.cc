#include "quorum/quorum_config.h"

#include <algorithm>

#include "quorum/dynamic_voters.h"

namespace samsa::quorum {

std::variant<std::optional<QuorumSettings>, std::string> quorum_settings(const config::BrokerConfig& cfg,
                                                                        storage::Env* env) {
  QuorumSettings s;
  const auto& names = cfg.controller_listener_names();
  s.raft.listener_name = names.empty() ? std::string("CONTROLLER") : names.front();
  std::vector<config::QuorumVoter> recorded;
  bool dynamic = cfg.quorum_voters().empty();
  if (dynamic) {
    if (cfg.get_list("controller.quorum.bootstrap.servers").empty()) return std::optional<QuorumSettings>{};
    // The dynamic form (KIP-853): the voters are the newest VotersRecord on
    // disk, then those of the log (the Raft core follows them).
    auto r = recorded_voters(cfg, env ? env : storage::posix_env());
    if (auto* err = std::get_if<std::string>(&r)) return *err;
    s.raft.dynamic = true;
    s.raft.voters_record = std::get<std::optional<protocol::kraft::VotersRecord>>(std::move(r));
    if (s.raft.voters_record) recorded = voters_from_record(*s.raft.voters_record, s.raft.listener_name);
    auto b = bootstrap_servers(cfg);
    if (auto* err = std::get_if<std::string>(&b)) return *err;
    for (auto& server : std::get<std::vector<config::QuorumVoter>>(b)) {
      s.raft.bootstrap.push_back(NodeId(server.id));
      s.bootstrap[NodeId(server.id)] = PeerAddress{server.host, static_cast<uint16_t>(server.port)};
    }
  }
  const auto& voters = dynamic ? recorded : cfg.quorum_voters();
  s.raft.local_id = NodeId(cfg.node_id());
  for (auto& v : voters) {
    if (v.port <= 0 || v.port > 65535)
      return "controller.quorum.voters: voter " + std::to_string(v.id) + " has no valid port";
    if (s.voters.count(NodeId(v.id))) return "controller.quorum.voters: voter " + std::to_string(v.id) + " is listed twice";
    s.raft.voters.push_back(NodeId(v.id));
    s.voters[NodeId(v.id)] = PeerAddress{v.host.empty() ? std::string("localhost") : v.host, static_cast<uint16_t>(v.port)};
  }
  std::sort(s.raft.voters.begin(), s.raft.voters.end());
  for (const auto& name : names) {
    const config::Endpoint* found = nullptr;
    for (const auto* list : {&cfg.advertised_listeners(), &cfg.listeners()}) {
      for (const auto& l : *list)
        if (!found && l.listener_name == name) found = &l;
    }
    if (found && found->port > 0 && found->port <= 65535)
      s.local_endpoints.push_back(
          {name, found->host.empty() ? std::string("localhost") : found->host, static_cast<uint16_t>(found->port), {}});
  }
  s.controller = cfg.is_controller();
  s.broker = cfg.is_broker();
  bool voter = s.voters.count(s.raft.local_id) > 0;
  // A controller of a dynamic quorum may start as an observer (to be added
  // with AddRaftVoter, or just removed).
  if (s.controller && !voter && !dynamic)
    return "node.id " + std::to_string(cfg.node_id()) +
           " has the controller role but is not in controller.quorum.voters";
  if (!s.controller && voter)
    return "node.id " + std::to_string(cfg.node_id()) +
           " is in controller.quorum.voters but process.roles does not include controller";
  auto ms = [&](const char* key, int64_t fallback) { return cfg.get_long(key).value_or(fallback); };
  s.raft.election_timeout_ms = ms("controller.quorum.election.timeout.ms", 1000);
  s.raft.fetch_timeout_ms = ms("controller.quorum.fetch.timeout.ms", 2000);
  s.raft.election_backoff_max_ms = ms("controller.quorum.election.backoff.max.ms", 1000);
  s.raft.request_timeout_ms = ms("controller.quorum.request.timeout.ms", 2000);
  s.raft.retry_backoff_ms = ms("controller.quorum.retry.backoff.ms", 20);
  s.max_record_bytes_between_snapshots = ms("metadata.log.max.record.bytes.between.snapshots", 20971520);
  s.max_snapshot_interval_ms = ms("metadata.log.max.snapshot.interval.ms", 3600000);
  s.segment_bytes = cfg.get_int("metadata.log.segment.bytes").value_or(s.segment_bytes);
  s.segment_ms = ms("metadata.log.segment.ms", s.segment_ms);
  if (s.raft.election_timeout_ms <= 0 || s.raft.fetch_timeout_ms <= 0 || s.raft.request_timeout_ms <= 0)
    return std::string("controller.quorum.election.timeout.ms, fetch.timeout.ms and request.timeout.ms must be positive");
  return std::optional<QuorumSettings>(std::move(s));
}

}  // namespace samsa::quorum
