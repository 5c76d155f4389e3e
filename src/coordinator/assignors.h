// Server-side partition assignors of KIP-848 consumer groups (the client picks
// one with `group.remote.assignor`, sent as ServerAssignor):
//   uniform (default) — every member gets as many partitions as the others
//                       (±1 among members with the same subscription), sticky:
//                       a member keeps what it had unless that unbalances it;
//   range             — per topic, the subscribed members in id order get
//                       contiguous ranges (the first P % M one more).
// Pure functions, no state: tests call them directly.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace samsa::coordinator {

using TopicId = protocol::Uuid;
// topic id -> partitions
using Assignment = std::map<TopicId, std::set<int32_t>>;

struct TopicMeta {
  TopicId id{};
  std::string name;
  int32_t partitions = 0;
  bool operator==(const TopicMeta&) const = default;
};

struct AssignorMember {
  std::string member_id;
  std::set<TopicId> subscribed;  // topics that exist, by id
  Assignment current;            // the member's previous target assignment
};

// member id -> its target assignment (every member appears, maybe empty)
using GroupAssignment = std::map<std::string, Assignment>;

GroupAssignment assign_uniform(const std::vector<AssignorMember>& members, const std::map<TopicId, TopicMeta>& topics);
GroupAssignment assign_range(const std::vector<AssignorMember>& members, const std::map<TopicId, TopicMeta>& topics);

constexpr const char* kDefaultAssignor = "uniform";
bool known_assignor(const std::string& name);
// By name; an unknown name uses the default (callers check known_assignor first).
GroupAssignment run_assignor(const std::string& name, const std::vector<AssignorMember>& members,
                             const std::map<TopicId, TopicMeta>& topics);

size_t partition_count(const Assignment& a);

}  // namespace samsa::coordinator
