// One node's membership in the metadata quorum, as the broker process holds
// it: the log on disk (raft::DiskRaftLog in <metadata.log.dir>/__cluster_metadata-0),
// its quorum-state file, the network to the other voters, the driver
// (QuorumMetadataLog, which the metadata loader and the controller use as
// their raft::MetadataLog) and the channel to the active controller.
//
// handle_request() answers the quorum RPCs that arrive on the CONTROLLER
// listener (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch and FetchSnapshot
// on __cluster_metadata-0), decoded and encoded with raft/raft_wire.h.
//
// Threads: built on any thread before shard 0 runs; everything else on the
// executor given to open() (shard 0's event loop). Syncs and quorum-state
// writes run on the FlushThread.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "net/transport.h"
#include "quorum/network_controller_channel.h"
#include "quorum/metadata_snapshots.h"
#include "quorum/network_peers.h"
#include "quorum/quorum_config.h"
#include "quorum/quorum_metadata_log.h"
#include "quorum/voter_clients.h"
#include "raft/disk_raft_log.h"
#include "raft/flush_thread.h"
#include "raft/quorum_state.h"
#include "raft/raft_wire.h"

namespace samsa::storage {
class Env;
}

namespace samsa::quorum {

// DiskRaftLog's split fsync behind LogSyncer.
class DiskLogSyncer final : public LogSyncer {
 public:
  explicit DiskLogSyncer(raft::DiskRaftLog& log) : log_(log) {}
  std::function<storage::Status()> prepare() override;
  void complete(const storage::Status& status) override;

 private:
  raft::DiskRaftLog& log_;
  std::optional<raft::DiskRaftLog::SyncJob> job_;
};

struct QuorumNodeOptions {
  QuorumSettings settings;
  std::string metadata_log_dir;  // metadata.log.dir (else the first log dir)
  std::string cluster_id;
  std::string controller_listener = "CONTROLLER";  // the name DescribeQuorum gives the voters' endpoints
  std::shared_ptr<const net::ClientSecurity> security;  // the controller listener's TLS/SASL; null for PLAINTEXT
  uint64_t seed = 0;
};

class QuorumNode {
 public:
  // Opens the log and the quorum-state store; nothing runs yet.
  static std::variant<std::unique_ptr<QuorumNode>, std::string> open(asio::any_io_executor ex, storage::Env* env,
                                                                     Clock& clock, raft::FlushThread& flush,
                                                                     QuorumNodeOptions options);
  ~QuorumNode();

  QuorumMetadataLog& log() { return *mlog_; }
  const QuorumMetadataLog& log() const { return *mlog_; }
  NetworkControllerChannel& channel() { return *channel_; }
  const QuorumSettings& settings() const { return options_.settings; }

  // Metadata snapshots (KIP-630) for `loader`, the state machine this node's
  // log feeds: loads the newest snapshot into it and takes, serves and
  // installs snapshots from then on. Call before start() and loader.load().
  // "" or an error.
  std::string attach_loader(cluster::MetadataLoader& loader);
  raft::FileSnapshotStore& snapshot_store() { return *snapshot_store_; }
  MetadataSnapshots* snapshots() { return snapshots_.get(); }

  // Starts the core (reads quorum-state) on the node's executor, and the
  // watch over this voter's own endpoints (below). "" or an error.
  std::string start();
  // Resigns a leadership (graceful), stops the driver and the channel, closes the log.
  asio::awaitable<void> stop(std::chrono::milliseconds grace);

  // A quorum request received on the CONTROLLER listener; the encoded answer,
  // or nullopt when it is malformed or unanswered (close the connection).
  asio::awaitable<std::optional<protocol::Bytes>> handle_request(int16_t api_key, int16_t api_version,
                                                                 std::vector<uint8_t> body);
  static bool is_quorum_api(int16_t api_key);
  // DescribeQuorum's answer: the leader's view of the replicas, or
  // NOT_LEADER_OR_FOLLOWER where this node is not the (ready) leader.
  raft::QuorumDescription describe() const;
  // AddRaftVoter / RemoveRaftVoter (KIP-853), answered by the leader
  // (QuorumMetadataLog::add_voter / remove_voter). On the node's executor.
  asio::awaitable<QuorumMetadataLog::VoterChangeAnswer> add_voter(protocol::kraft::VotersRecord::Voter voter,
                                                                  std::chrono::milliseconds timeout) {
    return mlog_->add_voter(std::move(voter), timeout);
  }
  asio::awaitable<QuorumMetadataLog::VoterChangeAnswer> remove_voter(NodeId id, protocol::Uuid directory_id,
                                                                     std::chrono::milliseconds timeout) {
    return mlog_->remove_voter(id, directory_id, timeout);
  }
  // UpdateRaftVoter (KIP-853) from a voter, with the leader epoch it believes
  // in: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH when that is not this
  // node's epoch, else QuorumMetadataLog::update_voter. The answer names the
  // leader as this node knows it and its CONTROLLER endpoint (when known).
  struct UpdateVoterAnswer {
    QuorumMetadataLog::VoterChangeAnswer answer;
    raft::LeaderAndEpoch leader;
    std::optional<PeerAddress> leader_address;
  };
  asio::awaitable<UpdateVoterAnswer> update_voter(protocol::kraft::VotersRecord::Voter voter,
                                                  int32_t current_leader_epoch, std::chrono::milliseconds timeout);
  // The entry this node's voter-set entry should become: its replica key with
  // settings().local_endpoints and kraft.version 0-1. nullopt when the entry
  // already says that, or this node is not a voter of a dynamic quorum.
  std::optional<protocol::kraft::VotersRecord::Voter> own_entry_update() const;
  // The CONTROLLER listener name of the voter sets (controller.listener.names' first).
  const std::string& controller_listener() const { return options_.controller_listener; }
  const std::string& cluster_id() const { return options_.cluster_id; }

 private:
  QuorumNode(asio::any_io_executor ex, Clock& clock, raft::FlushThread& flush, QuorumNodeOptions options);

  asio::any_io_executor ex_;
  Clock& clock_;
  raft::FlushThread& flush_;
  QuorumNodeOptions options_;
  raft::WireContext wire_;
  std::unique_ptr<raft::FileSnapshotStore> snapshot_store_;  // before disk_: the log continues its newest
  std::unique_ptr<raft::DiskRaftLog> disk_;
  std::unique_ptr<DiskLogSyncer> syncer_;
  std::unique_ptr<raft::FileQuorumStateStore> state_;
  std::unique_ptr<net::TcpTransport> transport_;
  std::unique_ptr<NetworkPeers> peers_;
  std::unique_ptr<QuorumMetadataLog> mlog_;
  std::unique_ptr<NetworkControllerChannel> channel_;
  std::unique_ptr<MetadataSnapshots> snapshots_;  // after mlog_: destroyed first
  bool stopped_ = false;
  // Where the peers are: the newest voter set's endpoints, the bootstrap
  // servers, and leaders learned from Fetch answers (an observer's first contact).
  void refresh_addresses();
  // A voter whose entry in the voter set does not name its endpoints (it
  // moved to another host or port) has the leader record them: UpdateRaftVoter
  // to the leader, or update_voter() here on the leader. Checked every
  // kOwnEntryCheck, retried after controller.quorum.request.timeout.ms.
  asio::awaitable<void> keep_own_entry(std::shared_ptr<bool> alive);
  asio::awaitable<ErrorCode> send_own_entry(protocol::kraft::VotersRecord::Voter want, raft::LeaderAndEpoch leader);
  std::optional<raft::VoterSet> voter_set_;
  VoterAddresses learned_;
  VoterAddresses addresses_;  // the voters' CONTROLLER endpoints, as refresh_addresses() last set them
  std::unique_ptr<VoterClients> leader_clients_;  // UpdateRaftVoter to the leader
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace samsa::quorum
