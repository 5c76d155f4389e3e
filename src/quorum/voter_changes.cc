// AddRaftVoter / RemoveRaftVoter / UpdateRaftVoter on the leader (KIP-853), as
// Kafka's leader answers them: the checks of
// RaftCore::voter_change_error (leader, kraft.version 1, committed in its
// epoch, no change pending), then the new voter must have caught up as an
// observer, then the new VotersRecord is appended and the answer waits for it
// to commit. Kafka's error codes DUPLICATE_VOTER (126) and VOTER_NOT_FOUND (127).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "quorum/quorum_metadata_log.h"

namespace samsa::quorum {

namespace {

constexpr auto kCatchUpPoll = std::chrono::milliseconds(50);

std::string replica_key(NodeId id, const protocol::Uuid& dir) {
  return "ReplicaKey(id=" + std::to_string(id.value) + ", directoryId=" + protocol::to_base64url(dir) + ")";
}

using VoterChangeAnswer = QuorumMetadataLog::VoterChangeAnswer;

// Why no voter change can start now (not running, or RaftCore::voter_change_error); nullopt: it can.
std::optional<VoterChangeAnswer> refusal(const raft::RaftCore* core, bool stopped) {
  if (!core || stopped) return VoterChangeAnswer{ErrorCode::NOT_LEADER_OR_FOLLOWER, "the quorum is not running"};
  std::string why;
  if (ErrorCode e = core->voter_change_error(&why); e != ErrorCode::NONE) return VoterChangeAnswer{e, why};
  return std::nullopt;
}

auto find_voter(protocol::kraft::VotersRecord& record, NodeId id, const protocol::Uuid& directory_id) {
  return std::find_if(record.voters.begin(), record.voters.end(), [&](const auto& v) {
    return v.voter_id == id.value && v.voter_directory_id == directory_id;
  });
}

}  // namespace

asio::awaitable<QuorumMetadataLog::VoterChangeAnswer> QuorumMetadataLog::add_voter(
    protocol::kraft::VotersRecord::Voter voter, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  NodeId id(voter.voter_id);
  if (auto refused = refusal(core_.get(), stopped_)) co_return *refused;
  if (core_->voter_set().contains(id))
    co_return VoterChangeAnswer{ErrorCode::DUPLICATE_VOTER, "The voter id for " +
                                                               replica_key(id, voter.voter_directory_id) +
                                                               " is already part of the set of voters"};
  // The new voter must hold the committed log before it counts towards majorities.
  auto alive = alive_;
  asio::steady_timer poll(ex_);
  while (*alive && !stopped_ && !core_->replica_caught_up(id, voter.voter_directory_id)) {
    if (std::chrono::steady_clock::now() + kCatchUpPoll >= deadline)
      co_return VoterChangeAnswer{ErrorCode::REQUEST_TIMED_OUT,
                                  "Timed out while waiting for " + replica_key(id, voter.voter_directory_id) +
                                      " to catch up (it must fetch from the leader as an observer)"};
    poll.expires_after(kCatchUpPoll);
    asio::error_code ec;
    co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!*alive || stopped_) co_return VoterChangeAnswer{ErrorCode::NOT_LEADER_OR_FOLLOWER, "shutting down"};
  // Checked again: leadership or the voter set may have changed meanwhile.
  if (auto refused = refusal(core_.get(), stopped_)) co_return *refused;
  if (core_->voter_set().contains(id))
    co_return VoterChangeAnswer{ErrorCode::DUPLICATE_VOTER,
                                "The voter id " + std::to_string(id.value) + " was added meanwhile"};
  protocol::kraft::VotersRecord record = *core_->voter_set().record;
  record.voters.push_back(std::move(voter));
  co_return co_await commit_voters(std::move(record), deadline);
}

asio::awaitable<QuorumMetadataLog::VoterChangeAnswer> QuorumMetadataLog::remove_voter(
    NodeId id, protocol::Uuid directory_id, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (auto refused = refusal(core_.get(), stopped_)) co_return *refused;
  protocol::kraft::VotersRecord record = *core_->voter_set().record;
  auto it = find_voter(record, id, directory_id);
  if (it == record.voters.end())
    co_return VoterChangeAnswer{ErrorCode::VOTER_NOT_FOUND, "Cannot remove voter " + replica_key(id, directory_id) +
                                                                " because it is not part of the set of voters"};
  if (record.voters.size() == 1)
    co_return VoterChangeAnswer{ErrorCode::INVALID_REQUEST, "Cannot remove the last voter of the quorum"};
  record.voters.erase(it);
  co_return co_await commit_voters(std::move(record), deadline);
}

asio::awaitable<QuorumMetadataLog::VoterChangeAnswer> QuorumMetadataLog::update_voter(
    protocol::kraft::VotersRecord::Voter voter, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (auto refused = refusal(core_.get(), stopped_)) co_return *refused;
  protocol::kraft::VotersRecord record = *core_->voter_set().record;
  auto it = find_voter(record, NodeId(voter.voter_id), voter.voter_directory_id);
  if (it == record.voters.end())
    co_return VoterChangeAnswer{ErrorCode::VOTER_NOT_FOUND,
                                "Updated voter " + replica_key(NodeId(voter.voter_id), voter.voter_directory_id) +
                                    " is not a voter"};
  // A dynamic quorum runs kraft.version 1: the voter must keep supporting it.
  const auto& range = voter.k_raft_version_feature;
  if (range.min_supported_version > 1 || range.max_supported_version < 1)
    co_return VoterChangeAnswer{ErrorCode::INVALID_REQUEST,
                                "Updated voter " + replica_key(NodeId(voter.voter_id), voter.voter_directory_id) +
                                    " does not support the current kraft.version 1"};
  if (it->endpoints == voter.endpoints && it->k_raft_version_feature == range) co_return VoterChangeAnswer{};
  it->endpoints = std::move(voter.endpoints);
  it->k_raft_version_feature = range;
  co_return co_await commit_voters(std::move(record), deadline);
}

asio::awaitable<QuorumMetadataLog::VoterChangeAnswer> QuorumMetadataLog::commit_voters(
    protocol::kraft::VotersRecord record, std::chrono::steady_clock::time_point deadline) {
  std::string ids;
  for (auto& v : record.voters) ids += (ids.empty() ? "" : ",") + std::to_string(v.voter_id);
  auto r = core_->propose_voters(std::move(record), now());
  collect();
  if (r.error != ErrorCode::NONE) co_return VoterChangeAnswer{r.error, "the leader refused the new voter set"};
  spdlog::info("metadata quorum: node {} appended the voter set [{}] at offset {}", config_.local_id.value, ids,
               r.base_offset.value);
  auto result = co_await await_commit(r.last_offset.value, deadline);
  if (!result)
    co_return VoterChangeAnswer{ErrorCode::REQUEST_TIMED_OUT, "Timed out waiting for the new voter set to commit"};
  co_return VoterChangeAnswer{result->error, result->message};
}

}  // namespace samsa::quorum
