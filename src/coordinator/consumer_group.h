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
// Ownership: owned by a GroupCoordinator (one shard); every method runs on
// that shard's thread.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "coordinator/assignors.h"

namespace samsa::coordinator {

struct ConsumerGroupConfig {
  int32_t session_timeout_ms = 45000;     // group.consumer.session.timeout.ms
  int32_t heartbeat_interval_ms = 5000;   // group.consumer.heartbeat.interval.ms
  int32_t max_size = INT32_MAX;           // group.consumer.max.size
  std::string default_assignor = kDefaultAssignor;  // first of group.consumer.assignors
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
};

// Kafka's rule for subscribed_topic_regex is RE2 syntax, full match; Samsa
// evaluates it with std::regex (ECMAScript), full match, so RE2-only
// constructs (\C, \pN classes, (?P<name>...), possessive/Unicode classes) are
// refused as invalid. Internal topics (names starting with "__") never match.
// nullopt: the pattern does not compile (or is longer than 4096 bytes).
std::optional<std::vector<std::string>> match_topic_regex(const std::string& pattern, const TopicCatalog& topics);

}  // namespace samsa::coordinator
