// One consumer group under the classic protocol: Kafka's group state machine
// (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead) driven by
// calls and an explicit clock. No I/O and no timers: the owner calls tick(now)
// regularly and the group fires session, join and sync deadlines from there,
// so tests drive it with a fake clock.
//
// Ownership: owned by one GroupCoordinator (one shard); every method runs on
// that shard's thread. Callbacks given to join()/sync() are invoked exactly
// once, from inside a later call on the same thread (or before join/sync
// returns), never concurrently; a callback must not call back into the group.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "coordinator/classic_member.h"
#include "coordinator/consumer_group.h"
#include "coordinator/offset_records.h"

namespace samsa::coordinator {

enum class GroupState { Empty, PreparingRebalance, CompletingRebalance, Stable, Dead };
const char* state_name(GroupState s);

struct GroupConfig {
  int64_t initial_rebalance_delay_ms = 3000;
  int32_t min_session_timeout_ms = 6000;
  int32_t max_session_timeout_ms = 1800000;
  int32_t max_size = INT32_MAX;
  ConsumerGroupConfig consumer;  // KIP-848 groups (group.consumer.*)
  MigrationPolicy migration = MigrationPolicy::Bidirectional;  // group.consumer.migration.policy
};


struct JoinMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  Bytes metadata;
};

struct JoinResult {
  ErrorCode error = ErrorCode::NONE;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<JoinMember> members;  // only for the leader
};

struct SyncResult {
  ErrorCode error = ErrorCode::NONE;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  Bytes assignment;
};

using JoinCallback = std::function<void(JoinResult)>;
using SyncCallback = std::function<void(SyncResult)>;

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  Bytes metadata;  // for the selected protocol
  Bytes assignment;
};

struct LeaveOutcome {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  ErrorCode error = ErrorCode::NONE;
};

class Group {
 public:
  Group(std::string id, GroupConfig config);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const std::string& id() const { return id_; }
  GroupState state() const { return state_; }
  int32_t generation() const { return generation_; }
  const std::string& leader() const { return leader_; }
  const std::optional<std::string>& protocol_type() const { return protocol_type_; }
  const std::optional<std::string>& protocol_name() const { return protocol_name_; }
  size_t member_count() const { return members_.size(); }
  bool has_member(const std::string& member_id) const { return members_.count(member_id) != 0; }
  std::vector<MemberDescription> describe() const;
  // Whether a member's subscription (consumer protocol metadata) names `topic`;
  // true when it cannot tell (another protocol type, unreadable metadata).
  bool subscribed_to(const std::string& topic) const;

  void join(const JoinParams& p, int64_t now, JoinCallback cb);
  void sync(const std::string& member_id, const std::optional<std::string>& instance_id, int32_t generation,
            const std::optional<std::string>& protocol_type, const std::optional<std::string>& protocol_name,
            std::map<std::string, Bytes> assignments, int64_t now, SyncCallback cb);
  ErrorCode heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id, int32_t generation,
                      int64_t now);
  // One member of a LeaveGroup request (member id, or instance id for static members).
  ErrorCode leave(const std::string& member_id, const std::optional<std::string>& instance_id, int64_t now);
  // Offset commits: NONE if this member/generation may commit now. A
  // transactional commit (TxnOffsetCommit) is checked only when it names a
  // member or generation (older versions name neither), and not refused while
  // the group completes a rebalance.
  ErrorCode validate_commit(const std::string& member_id, const std::optional<std::string>& instance_id,
                            int32_t generation, bool transactional = false) const;
  // Kafka's validateCurrentMember: with an instance id, that static member must
  // exist and still be `member_id` (FENCED_INSTANCE_ID once a newer member with
  // the same instance id replaced it); without one, the member id must exist.
  // The static mapping is checked first, so a replaced member learns it was
  // fenced (fatal for it) instead of UNKNOWN_MEMBER_ID (it would rejoin and
  // take the instance back).
  ErrorCode validate_member(const std::string& member_id, const std::optional<std::string>& instance_id) const;
  // Fires expired deadlines (sessions, the join phase, the sync phase).
  void tick(int64_t now);
  // DeleteGroups: only an empty group can be deleted; it becomes Dead.
  ErrorCode mark_dead();
  // The coordinator stops serving the group (its partition's leadership
  // moved): members waiting in JoinGroup or SyncGroup are answered
  // NOT_COORDINATOR (they find the new coordinator) and the group is Dead.
  void unload();
  bool has_pending_members() const { return !pending_members_.empty(); }

  // Online migration (KIP-848). The members as they are now (for an upgrade).
  std::vector<ClassicMemberState> member_states() const;
  // The group becomes a consumer group: members waiting in JoinGroup or
  // SyncGroup are answered REBALANCE_IN_PROGRESS (they join the consumer group
  // anew) and the group is Dead.
  void close_for_upgrade();
  // A rebalance starts now (a downgraded group: its members rejoin as a classic group).
  void begin_rebalance(int64_t now);

  // Kafka's currentStateTimestamp: when the group last changed state; nullopt
  // for a group that never did (e.g. a simple consumer's offsets holder).
  std::optional<int64_t> state_timestamp() const { return state_timestamp_; }
  // Bumped each time the group reaches a state Kafka records in
  // __consumer_offsets (Stable after a rebalance, Empty): the coordinator
  // writes a group metadata record whenever it moved since the last one.
  uint64_t record_seq() const { return record_seq_; }
  // The group metadata record of the current state.
  GroupMetadataValue to_record() const;
  // Replay: the group as recorded. Members come back with fresh session
  // deadlines (from `now`), so they can go on heartbeating without rejoining;
  // a group with members is Stable, one without is Empty.
  void restore(const GroupMetadataValue& v, int64_t now);

 private:
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::string protocol_type;
    std::vector<std::pair<std::string, Bytes>> protocols;
    Bytes assignment;
    int64_t session_deadline = 0;
    JoinCallback awaiting_join;
    SyncCallback awaiting_sync;
  };

  std::string new_member_id(const std::string& client_id);
  ErrorCode check_join(const JoinParams& p) const;
  bool supports_protocols(const JoinParams& p) const;
  void join_new_member(const JoinParams& p, int64_t now, JoinCallback cb);
  void join_known_member(const JoinParams& p, int64_t now, JoinCallback cb);
  Member& add_member(const JoinParams& p, const std::string& member_id, int64_t now, JoinCallback cb);
  void update_member(Member& m, const JoinParams& p, int64_t now, JoinCallback cb);
  void remove_member(const std::string& member_id, int64_t now);
  void prepare_rebalance(int64_t now);
  void maybe_complete_join(int64_t now);
  void complete_join(int64_t now);
  std::string select_protocol() const;
  JoinResult join_result_for(const Member& m) const;
  void complete_syncs_with_error(ErrorCode err);
  void transition(GroupState to, int64_t now);
  int32_t max_rebalance_timeout() const;
  const Member* find_static(const std::string& instance_id) const;
  void forget_static(const Member& m);
  void close_with(ErrorCode err);  // drops the instance id's mapping if it still names m

  std::string id_;
  GroupConfig config_;
  GroupState state_ = GroupState::Empty;
  int32_t generation_ = 0;
  std::string leader_;
  std::optional<std::string> protocol_type_;
  std::optional<std::string> protocol_name_;
  std::map<std::string, Member> members_;          // by member id
  std::map<std::string, int64_t> pending_members_;  // MEMBER_ID_REQUIRED given, not joined yet: deadline
  std::map<std::string, std::string> static_members_;  // instance id -> member id
  bool initial_delay_ = false;     // the first join phase of an empty group waits for more members
  int64_t join_deadline_ = 0;      // PreparingRebalance ends by then
  int64_t initial_delay_limit_ = 0;
  int64_t sync_deadline_ = 0;      // CompletingRebalance: members that did not sync by then are removed
  uint64_t next_member_seq_ = 0;
  std::optional<int64_t> state_timestamp_;
  uint64_t record_seq_ = 0;
};

}  // namespace samsa::coordinator
