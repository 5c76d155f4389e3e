// The quorum-state file: what a voter must remember across restarts before it
// acts on an election (its epoch, whom it voted for, the leader it knows), in
// Kafka's format — one JSON object in <metadata.log.dir>/__cluster_metadata-0/quorum-state:
//
//   {"clusterId":"","leaderId":1,"leaderEpoch":5,"votedId":-1,"appliedOffset":0,
//    "currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}
//
// Version 0 (written here: a static voter set, kraft.version 0) as above;
// version 1 (KIP-853) drops currentVoters and adds votedDirectoryId, and is
// read too. -1 means "none" for leaderId and votedId. The reader is bounded:
// at most kMaxFileBytes of input, kMaxVoters voters, a fixed nesting depth;
// anything else is Corruption, never a crash.
//
// Threads: QuorumStateStore is called by the thread that drives the RaftCore
// (its write is a blocking fsync: the broker runs it on the flush thread and
// waits before sending anything the new state allows).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/types.h"
#include "storage/status.h"

namespace samsa::storage {
class Env;
}

namespace samsa::raft {

struct QuorumStateData {
  Epoch leader_epoch{0};
  std::optional<NodeId> leader_id;
  std::optional<NodeId> voted_id;
  std::vector<NodeId> current_voters;  // version 0 only
  std::string cluster_id;              // version 0; Kafka writes "" (the cluster id lives in meta.properties)
  int64_t applied_offset = 0;          // version 0; unused, as in Kafka
  int16_t data_version = 0;
  bool operator==(const QuorumStateData&) const = default;
};

inline constexpr size_t kQuorumStateMaxFileBytes = 64 * 1024;
inline constexpr size_t kQuorumStateMaxVoters = 1024;
inline constexpr const char* kQuorumStateFileName = "quorum-state";

std::string encode_quorum_state(const QuorumStateData& state);
storage::Result<QuorumStateData> decode_quorum_state(std::string_view json);

class QuorumStateStore {
 public:
  virtual ~QuorumStateStore() = default;
  // nullopt when nothing was ever written (a fresh node).
  virtual storage::Result<std::optional<QuorumStateData>> read() = 0;
  // Durable when it returns ok (written, synced, renamed into place).
  virtual storage::Status write(const QuorumStateData& state) = 0;
};

// The file in `dir` through storage::Env (fault injection reaches it).
class FileQuorumStateStore final : public QuorumStateStore {
 public:
  FileQuorumStateStore(storage::Env* env, std::string dir);
  storage::Result<std::optional<QuorumStateData>> read() override;
  storage::Status write(const QuorumStateData& state) override;

 private:
  storage::Env* env_;
  std::string path_;
};

}  // namespace samsa::raft
