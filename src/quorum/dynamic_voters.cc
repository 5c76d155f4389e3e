#include "quorum/dynamic_voters.h"

#include "raft/bootstrap_checkpoint.h"

namespace samsa::quorum {

std::vector<config::QuorumVoter> voters_from_record(const protocol::kraft::VotersRecord& record,
                                                    const std::string& controller_listener) {
  std::vector<config::QuorumVoter> out;
  for (const auto& v : record.voters) {
    if (v.endpoints.empty()) continue;  // no address to reach it: it cannot be a peer
    const auto* ep = &v.endpoints.front();
    for (const auto& e : v.endpoints)
      if (e.name == controller_listener) ep = &e;
    out.push_back(config::QuorumVoter{v.voter_id, ep->host, ep->port});
  }
  return out;
}

std::variant<std::optional<protocol::kraft::VotersRecord>, std::string> recorded_voters(
    const config::BrokerConfig& cfg, storage::Env* env) {
  auto dir = storage::join_path(cfg.metadata_log_dir(), "__cluster_metadata-0");
  auto newest = raft::read_newest_voters(env, dir);
  if (!newest.is_ok()) return "cannot read the voter set in " + dir + ": " + newest.status().to_string();
  if (!newest.value()) return std::optional<protocol::kraft::VotersRecord>{};
  const auto& names = cfg.controller_listener_names();
  if (voters_from_record(*newest.value(), names.empty() ? std::string("CONTROLLER") : names.front()).empty())
    return "the voter set in " + dir + " has no voter with an endpoint";
  return std::move(newest).value();
}

std::variant<std::vector<config::QuorumVoter>, std::string> bootstrap_servers(const config::BrokerConfig& cfg) {
  std::vector<config::QuorumVoter> out;
  for (const std::string& entry : cfg.get_list("controller.quorum.bootstrap.servers")) {
    auto colon = entry.rfind(':');
    std::string host = colon == std::string::npos ? std::string() : entry.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    int port = 0;
    if (colon != std::string::npos && colon + 1 < entry.size() && entry.size() - colon <= 6) {
      for (size_t i = colon + 1; i < entry.size() && port >= 0; ++i)
        port = entry[i] >= '0' && entry[i] <= '9' ? port * 10 + (entry[i] - '0') : -1;
    }
    if (host.empty() || port <= 0 || port > 65535)
      return "controller.quorum.bootstrap.servers: '" + entry + "' is not host:port";
    out.push_back(config::QuorumVoter{-2 - static_cast<int32_t>(out.size()), host, port});
  }
  return out;
}

}  // namespace samsa::quorum
