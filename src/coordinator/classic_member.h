// What a classic-protocol member (JoinGroup / SyncGroup / Heartbeat) brings,
// shared by the classic group (group.h) and by consumer groups, which keep
// classic members during an online migration (consumer_group.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace samsa::coordinator {

using Bytes = std::vector<uint8_t>;
// JoinGroup's protocols: (name, metadata), in the member's preference order.
using ClassicProtocols = std::vector<std::pair<std::string, Bytes>>;

struct JoinParams {
  std::string member_id;  // empty: a new member
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;  // -1 (JoinGroup v0): the session timeout
  std::string protocol_type;
  ClassicProtocols protocols;
  bool require_known_member_id = false;  // JoinGroup v4+
};

// One member of a classic group as it is now, for an online upgrade to a consumer group.
struct ClassicMemberState {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  ClassicProtocols protocols;
  Bytes assignment;  // its last SyncGroup assignment (empty: none yet)
};

// group.consumer.migration.policy: which online conversions between a classic
// group and a consumer group are allowed (Kafka's ConsumerGroupMigrationPolicy).
enum class MigrationPolicy { Bidirectional, Upgrade, Downgrade, Disabled };
// Case-insensitive, as Kafka parses it; nullopt for an unknown name.
std::optional<MigrationPolicy> parse_migration_policy(const std::string& name);
inline bool upgrade_enabled(MigrationPolicy p) { return p == MigrationPolicy::Bidirectional || p == MigrationPolicy::Upgrade; }
inline bool downgrade_enabled(MigrationPolicy p) {
  return p == MigrationPolicy::Bidirectional || p == MigrationPolicy::Downgrade;
}

}  // namespace samsa::coordinator
