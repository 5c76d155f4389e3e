// One consumer group under the KIP-848 protocol ("consumer" group type): the
// broker computes the assignment (assignors.h) and every member reconciles
// towards it through ConsumerGroupHeartbeat, incrementally — a partition is
// given to a member only once its previous owner has revoked it.
//
//   group epoch      bumped when membership, subscriptions or the subscribed
//                    topics' partition counts change;
//   assignment epoch the group epoch the target assignment was computed at;
//   member epoch     the assignment epoch a member has reconciled to.
//
// A member joins with epoch 0, leaves with -1; a static member
// (`group.instance.id`) leaves with -2 and keeps its assignment for the
// session timeout: rejoining with the same instance id within it takes the
// assignment back with no group epoch bump (no rebalance for the others).
// Session expiry and the rebalance timeout (a member that does not revoke in
// time) remove a member. No I/O, no timers: the owner calls tick(now).
//
// Online migration (KIP-848): a member may also speak the classic protocol
// (ConsumerMember::classic). It joins through JoinGroup and is answered at once
// with generation = its member epoch as a follower; SyncGroup hands it its
// assigned partitions; its Heartbeat answers REBALANCE_IN_PROGRESS when it must
// rejoin to revoke or take partitions (it reconciles only when it joins, with
// the owned partitions of its subscription). Its session timeout is its
// JoinGroup's; it must rejoin within its rebalance timeout once told to, and
// sync within it once joined. from_classic() / to_classic_record() convert
// between a classic group and a consumer group (the coordinator decides when).
//
// Ownership: owned by a GroupCoordinator (one shard); every method runs on
// that shard's thread.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error_code.h"
#include "coordinator/assignors.h"
#include "coordinator/classic_member.h"
#include "coordinator/offset_records.h"

namespace samsa::coordinator {

struct ConsumerGroupConfig {
  int32_t session_timeout_ms = 45000;     // group.consumer.session.timeout.ms
  int32_t heartbeat_interval_ms = 5000;   // group.consumer.heartbeat.interval.ms
  int32_t max_size = INT32_MAX;           // group.consumer.max.size
  std::string default_assignor = kDefaultAssignor;  // first of group.consumer.assignors
};

// What a consumer group keeps of a member that speaks the classic protocol
// (Kafka's ClassicMemberMetadata, written in its member record).
struct ClassicMemberMetadata {
  int32_t session_timeout_ms = 0;
  ClassicProtocols protocols;  // its JoinGroup's, in preference order (never empty)
  bool operator==(const ClassicMemberMetadata&) const = default;
};

// JoinGroup of a classic member in a consumer group.
struct ClassicJoinAnswer {
  ErrorCode error = ErrorCode::NONE;
  std::string member_id;
  int32_t generation = -1;    // the member epoch
  std::string protocol_name;  // the member's first protocol
};

// Kafka's MemberState (the value written in the current assignment record).
enum class MemberState : int8_t { Stable = 0, UnrevokedPartitions = 1, UnreleasedPartitions = 2, Unknown = 127 };

struct ConsumerHeartbeat {
  std::string member_id;  // v0 joins with "" (the coordinator names it), v1 with the client's own id
  int32_t member_epoch = 0;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::vector<std::string>> subscribed_topic_names;  // null: unchanged
  std::optional<std::string> subscribed_topic_regex;               // null: unchanged, "": none
  std::optional<std::string> server_assignor;
  std::optional<Assignment> owned;  // the member's partitions (null: unchanged since the last heartbeat)
  std::string client_id;
  std::string client_host;
};

struct ConsumerHeartbeatResult {
  ErrorCode error = ErrorCode::NONE;
  std::optional<std::string> message;
  std::string member_id;
  int32_t member_epoch = 0;
  int32_t heartbeat_interval_ms = 0;
  std::optional<Assignment> assignment;  // null: unchanged
};

struct ConsumerMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  std::optional<std::string> server_assignor;
  int32_t rebalance_timeout_ms = -1;
  int32_t member_epoch = 0;
  int32_t previous_member_epoch = -1;
  MemberState state = MemberState::Stable;
  Assignment assigned;
  Assignment pending_revocation;
  int64_t session_deadline = 0;
  int64_t revocation_deadline = 0;  // 0: not revoking
  std::optional<ClassicMemberMetadata> classic;  // set: the member speaks the classic protocol
  int64_t join_deadline = 0;  // classic: told to rejoin, it must by then (0: not told)
  int64_t sync_deadline = 0;  // classic: joined, it must sync by then (0: synced)
  bool operator==(const ConsumerMember&) const = default;
};

// The broker's topics (name -> id and partition count), for subscriptions.
using TopicCatalog = std::map<std::string, TopicMeta>;

class ConsumerGroup {
 public:
  ConsumerGroup(std::string id, ConsumerGroupConfig config);

  const std::string& id() const { return id_; }
  int32_t group_epoch() const { return group_epoch_; }
  int32_t assignment_epoch() const { return assignment_epoch_; }
  // Empty, Assigning, Reconciling or Stable (Kafka's names).
  const char* state_name() const;
  bool empty() const { return members_.empty(); }
  const std::map<std::string, ConsumerMember>& members() const { return members_; }
  const ConsumerMember* member(const std::string& id) const;
  const GroupAssignment& target() const { return target_; }
  // The assignor the group uses now: the one most members asked for, else the default.
  std::string assignor() const;
  const TopicCatalog& subscribed_topics() const { return subscribed_meta_; }
  bool subscribed_to(const std::string& topic) const { return subscribed_meta_.count(topic) != 0; }

  ConsumerHeartbeatResult heartbeat(const ConsumerHeartbeat& h, const TopicCatalog& topics, int64_t now);
  // OffsetCommit (v9+: generation is the member epoch) / OffsetFetch v9 checks.
  ErrorCode validate_commit(const std::string& member_id, int32_t member_epoch) const;
  ErrorCode validate_fetch(const std::optional<std::string>& member_id, int32_t member_epoch) const;
  // Expired sessions and revocations: those members are removed. True when something changed.
  bool tick(int64_t now);

  // Classic members (Kafka's rules for classic requests to a consumer group).
  ClassicJoinAnswer classic_join(const JoinParams& p, const TopicCatalog& topics, int64_t now);
  // NONE: the member may have its assigned partitions (member(id)->assigned) now.
  ErrorCode classic_sync(const std::string& member_id, const std::optional<std::string>& instance_id, int32_t generation,
                         const std::optional<std::string>& protocol_type, const std::optional<std::string>& protocol_name,
                         int64_t now);
  ErrorCode classic_heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id,
                              int32_t generation, int64_t now);
  // One member of a LeaveGroup (by member id, or by instance id for a static member).
  ErrorCode classic_leave(const std::string& member_id, const std::optional<std::string>& instance_id);
  // The group has members and all speak the classic protocol.
  bool all_classic() const;
  // A member speaking the consumer protocol was removed, or replaced by a
  // classic static member, since the last call (what may start a downgrade,
  // Kafka's rule).
  bool take_consumer_member_left() { return std::exchange(consumer_member_left_, false); }

  // Online upgrade: the consumer group a classic group becomes. Each member
  // keeps its id, subscription (decoded from its metadata for the group's
  // protocol) and last assignment, at member epoch = group epoch = the
  // classic generation, Stable. nullopt when a member's metadata or
  // assignment is malformed (the group stays classic).
  static std::optional<ConsumerGroup> from_classic(std::string id, ConsumerGroupConfig config, int32_t generation,
                                                   const std::optional<std::string>& protocol_name,
                                                   const std::vector<ClassicMemberState>& members,
                                                   const TopicCatalog& topics, int64_t now);
  // Online downgrade: the classic group's record (protocol type consumer,
  // generation = group epoch, no leader, each member with the protocol every
  // member supports and its current assignment). nullopt when some member does
  // not speak the classic protocol or they share no protocol.
  std::optional<GroupMetadataValue> to_classic_record(int64_t now) const;

  // Persistence (consumer_group_records.cc): a change counter the coordinator
  // compares with what it wrote, and replay.
  uint64_t change_seq() const { return change_seq_; }
  void restore_epochs(int32_t group_epoch, int32_t assignment_epoch);
  void restore_member(ConsumerMember m, int64_t now);
  void restore_target(const std::string& member_id, std::optional<Assignment> a);
  void restore_subscription_metadata(TopicCatalog meta) { subscribed_meta_ = std::move(meta); }
  void forget_member(const std::string& member_id);

 private:
  ConsumerHeartbeatResult leave(const ConsumerHeartbeat& h, int64_t now);
  ConsumerMember* join(const ConsumerHeartbeat& h, ConsumerHeartbeatResult& out, int64_t now);
  void remove_member(const std::string& member_id);
  // Recomputes what the members subscribe to; a change bumps the group epoch.
  void refresh_subscriptions(const TopicCatalog& topics);
  void maybe_compute_target();
  // Moves a member one step towards its target (Kafka's CurrentAssignmentBuilder).
  void reconcile(ConsumerMember& m, const std::optional<Assignment>& owned, int64_t now);
  bool owned_by_other(const std::string& member_id, const TopicId& t, int32_t p) const;
  ConsumerMember* find_classic(const std::string& member_id, const std::optional<std::string>& instance_id,
                               ErrorCode& error);
  bool supports_classic(const JoinParams& p) const;
  // Target partitions the member lacks that another member still holds.
  bool waiting_on_unreleased(const ConsumerMember& m) const;
  void expect_rejoin(ConsumerMember& m, int64_t now);
  void bump() { ++group_epoch_; ++change_seq_; }
  bool bump_due_ = false;  // a heartbeat changed membership/subscriptions: one bump for all of it

  std::string id_;
  ConsumerGroupConfig config_;
  int32_t group_epoch_ = 0;
  int32_t assignment_epoch_ = 0;
  std::map<std::string, ConsumerMember> members_;
  std::map<std::string, std::string> static_members_;  // instance id -> member id
  GroupAssignment target_;
  TopicCatalog subscribed_meta_;  // name -> metadata of every topic some member subscribes to
  uint64_t change_seq_ = 0;
  bool consumer_member_left_ = false;
};

// Kafka's rule for subscribed_topic_regex is RE2 syntax, full match; Samsa
// evaluates it with std::regex (ECMAScript), full match, so RE2-only
// constructs (\C, \pN classes, (?P<name>...), possessive/Unicode classes) are
// refused as invalid. Internal topics (names starting with "__") never match.
// nullopt: the pattern does not compile (or is longer than 4096 bytes).
std::optional<std::vector<std::string>> match_topic_regex(const std::string& pattern, const TopicCatalog& topics);

}  // namespace samsa::coordinator
