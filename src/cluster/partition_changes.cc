#include "cluster/partition_changes.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace samsa::cluster {

namespace {

constexpr const char* kUncleanKey = "unclean.leader.election.enable";

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Calls fn(topic, partition) for every partition of the image.
template <typename F>
void for_each_partition(const MetadataImage& image, F&& fn) {
  image.topics.for_each([&](const std::string&, const std::shared_ptr<const TopicInfo>& t) {
    for (auto& p : t->partitions) fn(*t, p);
  });
}

// Kafka parses a boolean config case-insensitively; a value that is not
// "true" counts as false (the controller only reads validated values).
bool is_true(const std::string& v) {
  if (v.size() != 4) return false;
  std::string lower(v);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "true";
}

struct Elected {
  int32_t leader = -1;
  bool unclean = false;
};

// Kafka's PartitionChangeBuilder.electLeader over the target ISR.
Elected elect(const PartitionInfo& p, const std::vector<int32_t>& isr, Election election, const MayLead& may_lead) {
  auto valid = [&](int32_t r) { return r >= 0 && contains(isr, r) && may_lead(r); };
  if (election == Election::preferred) {
    if (!p.replicas.empty() && valid(p.replicas.front())) return {p.replicas.front(), false};
    if (valid(p.leader)) return {p.leader, false};
    for (size_t i = 1; i < p.replicas.size(); ++i)
      if (valid(p.replicas[i])) return {p.replicas[i], false};
    return {p.leader, false};
  }
  if (valid(p.leader)) return {p.leader, false};
  for (auto r : p.replicas)
    if (valid(r)) return {r, false};
  if (election == Election::unclean)
    for (auto r : p.replicas)
      if (may_lead(r)) return {r, true};
  return {-1, false};
}

}  // namespace

MayLead may_lead_in(const MetadataImage& image, std::vector<int32_t> leaving) {
  return [&image, leaving = std::move(leaving)](int32_t id) {
    if (contains(leaving, id)) return false;
    auto it = image.brokers.find(id);
    return it != image.brokers.end() && !it->second.fenced && !it->second.in_controlled_shutdown;
  };
}

bool unclean_election_enabled(const MetadataImage& image, const TopicInfo& topic, int32_t node, bool static_default) {
  if (auto it = topic.configs.find(kUncleanKey); it != topic.configs.end()) return is_true(it->second);
  if (const std::string* v = image.dynamic_broker_config(node, kUncleanKey)) return is_true(*v);
  return static_default;
}

std::optional<PartitionChangeRecord> build_partition_change(const Uuid& topic_id, const PartitionInfo& p,
                                                            const PartitionTarget& target, const MayLead& may_lead) {
  // KIP-841: an empty target ISR keeps the current one.
  const std::vector<int32_t>& isr = target.isr && !target.isr->empty() ? *target.isr : p.isr;
  PartitionChangeRecord c;
  c.topic_id = topic_id;
  c.partition_id = p.partition;
  const Elected e = elect(p, isr, target.election, may_lead);
  if (e.leader != p.leader) {
    c.leader = e.leader;
    if (e.unclean) {
      c.isr = std::vector<int32_t>{e.leader};
      if (p.leader_recovery_state != kLeaderRecovering) c.leader_recovery_state = kLeaderRecovering;
    }
  }
  if (!c.isr && isr != p.isr) c.isr = isr;
  if (target.leader_recovery_state && c.leader_recovery_state == -1 &&
      *target.leader_recovery_state != p.leader_recovery_state)
    c.leader_recovery_state = *target.leader_recovery_state;
  if (c.leader == kNoLeaderChange && !c.isr && c.leader_recovery_state == -1) return std::nullopt;
  return c;
}

bool is_unclean_election(const PartitionChangeRecord& r) {
  return r.leader >= 0 && r.leader_recovery_state == kLeaderRecovering;
}

void move_away_from(const MetadataImage& image, const std::vector<int32_t>& leaving, const ElectionRules& rules,
                    std::vector<MetadataRecord>& out) {
  auto is_leaving = [&](int32_t b) { return contains(leaving, b); };
  for_each_partition(image, [&](const TopicInfo& t, const PartitionInfo& p) {
    if (std::none_of(p.isr.begin(), p.isr.end(), is_leaving) && !is_leaving(p.leader)) return;
    PartitionTarget target;
    target.isr.emplace();
    for (auto r : p.isr)
      if (!is_leaving(r)) target.isr->push_back(r);
    if (target.isr->empty() && !p.isr.empty()) target.isr->push_back(*std::max_element(p.isr.begin(), p.isr.end()));
    if (rules.unclean_allowed && rules.unclean_allowed(t)) target.election = Election::unclean;
    if (auto c = build_partition_change(t.id, p, target, rules.may_lead)) out.push_back(std::move(*c));
  });
}

void elect_leaderless(const MetadataImage& image, const ElectionRules& rules, std::vector<MetadataRecord>& out) {
  for_each_partition(image, [&](const TopicInfo& t, const PartitionInfo& p) {
    if (p.leader != -1) return;
    PartitionTarget target;
    if (rules.unclean_allowed && rules.unclean_allowed(t)) target.election = Election::unclean;
    if (auto c = build_partition_change(t.id, p, target, rules.may_lead)) out.push_back(std::move(*c));
  });
}

bool leads_any(const MetadataImage& image, int32_t broker) {
  bool found = false;
  image.topics.for_each([&](const std::string&, const std::shared_ptr<const TopicInfo>& t) {
    if (found) return;
    for (auto& p : t->partitions)
      if (p.leader == broker) {
        found = true;
        return;
      }
  });
  return found;
}

}  // namespace samsa::cluster
