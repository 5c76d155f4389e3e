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

std::variant<std::vector<config::QuorumVoter>, std::string> recorded_voters(const config::BrokerConfig& cfg,
                                                                            storage::Env* env) {
  auto dir = storage::join_path(cfg.metadata_log_dir(), "__cluster_metadata-0");
  auto newest = raft::read_newest_voters(env, dir);
  if (!newest.is_ok()) return "cannot read the voter set in " + dir + ": " + newest.status().to_string();
  if (!newest.value())
    return "controller.quorum.voters is empty and " + dir +
           " holds no voter set (VotersRecord): format the controllers with `samsa storage format --standalone` or "
           "`--initial-controllers`, or list controller.quorum.voters (joining a dynamic quorum with "
           "--no-initial-controllers or as a broker-only observer is not supported yet)";
  const auto& names = cfg.controller_listener_names();
  auto voters = voters_from_record(*newest.value(), names.empty() ? std::string("CONTROLLER") : names.front());
  if (voters.empty()) return "the voter set in " + dir + " has no voter with an endpoint";
  return voters;
}

}  // namespace samsa::quorum
