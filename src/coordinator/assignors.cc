#include "coordinator/assignors.h"

#include <algorithm>

namespace samsa::coordinator {

size_t partition_count(const Assignment& a) {
  size_t n = 0;
  for (auto& [_, ps] : a) n += ps.size();
  return n;
}

bool known_assignor(const std::string& name) { return name == "uniform" || name == "range"; }

GroupAssignment run_assignor(const std::string& name, const std::vector<AssignorMember>& members,
                             const std::map<TopicId, TopicMeta>& topics) {
  return name == "range" ? assign_range(members, topics) : assign_uniform(members, topics);
}

namespace {
using TP = std::pair<TopicId, int32_t>;
}

GroupAssignment assign_uniform(const std::vector<AssignorMember>& members, const std::map<TopicId, TopicMeta>& topics) {
  GroupAssignment out;
  if (members.empty()) return out;
  std::map<std::string, const AssignorMember*> by_id;
  for (auto& m : members) by_id[m.member_id] = &m;
  std::map<std::string, size_t> count;
  std::map<TP, std::string> owner;
  for (auto& [id, _] : by_id) out[id], count[id] = 0;
  auto eligible = [&](const std::string& id, const TopicId& t) { return by_id.at(id)->subscribed.count(t) != 0; };
  // Every member's fair share over the partitions it may get: a member whose
  // retained partitions exceed the ceiling of an even split gives the surplus back.
  std::map<std::string, size_t> ceiling;
  for (auto& [id, m] : by_id) {
    size_t total = 0, sharers = 0;
    for (auto& t : m->subscribed)
      if (auto it = topics.find(t); it != topics.end()) total += static_cast<size_t>(std::max(0, it->second.partitions));
    for (auto& [oid, o] : by_id)
      if (o->subscribed == m->subscribed) ++sharers;
    ceiling[id] = sharers ? (total + sharers - 1) / sharers : total;
  }
  // 1. Stickiness: keep previous partitions that still exist and are subscribed, up to the ceiling.
  for (auto& [id, m] : by_id) {
    for (auto& [t, ps] : m->current) {
      auto it = topics.find(t);
      if (it == topics.end() || !eligible(id, t)) continue;
      for (int32_t p : ps) {
        if (p < 0 || p >= it->second.partitions || owner.count({t, p}) || count[id] >= ceiling[id]) continue;
        owner[{t, p}] = id;
        out[id][t].insert(p);
        ++count[id];
      }
    }
  }
  // 2. Every unowned partition goes to the eligible member with the fewest.
  for (auto& [t, meta] : topics) {
    for (int32_t p = 0; p < meta.partitions; ++p) {
      if (owner.count({t, p})) continue;
      const std::string* best = nullptr;
      for (auto& [id, _] : by_id)
        if (eligible(id, t) && (!best || count[id] < count[*best])) best = &id;
      if (!best) continue;  // nobody subscribes
      owner[{t, p}] = *best;
      out[*best][t].insert(p);
      ++count[*best];
    }
  }
  // 3. Balance: move a partition from a member with two or more than an
  // eligible other, until none can move (bounded by the partition count).
  size_t moves_left = owner.size() * 2 + 1;
  bool moved = true;
  while (moved && moves_left-- > 0) {
    moved = false;
    for (auto& [tp, from] : owner) {
      const std::string* to = nullptr;
      for (auto& [id, _] : by_id)
        if (id != from && eligible(id, tp.first) && count[id] + 1 < count[from] && (!to || count[id] < count[*to]))
          to = &id;
      if (!to) continue;
      out[from][tp.first].erase(tp.second);
      if (out[from][tp.first].empty()) out[from].erase(tp.first);
      --count[from];
      out[*to][tp.first].insert(tp.second);
      ++count[*to];
      from = *to;
      moved = true;
      break;
    }
  }
  return out;
}

GroupAssignment assign_range(const std::vector<AssignorMember>& members, const std::map<TopicId, TopicMeta>& topics) {
  GroupAssignment out;
  std::vector<const AssignorMember*> sorted;
  for (auto& m : members) {
    out[m.member_id];
    sorted.push_back(&m);
  }
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->member_id < b->member_id; });
  for (auto& [t, meta] : topics) {
    std::vector<const AssignorMember*> subs;
    for (auto* m : sorted)
      if (m->subscribed.count(t)) subs.push_back(m);
    if (subs.empty() || meta.partitions <= 0) continue;
    int32_t n = static_cast<int32_t>(subs.size());
    int32_t per = meta.partitions / n, extra = meta.partitions % n, next = 0;
    for (int32_t i = 0; i < n; ++i) {
      int32_t take = per + (i < extra ? 1 : 0);
      for (int32_t k = 0; k < take; ++k) out[subs[static_cast<size_t>(i)]->member_id][t].insert(next++);
    }
  }
  return out;
}

}  // namespace samsa::coordinator
