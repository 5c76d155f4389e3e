#include "cluster/partition_changes.h"

#include <algorithm>

namespace samsa::cluster {

namespace {

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The first replica, in replica order, that is in `isr` and may lead; -1 if none.
int32_t choose_leader(const PartitionInfo& p, const std::vector<int32_t>& isr, const MayLead& may_lead) {
  for (auto r : p.replicas)
    if (contains(isr, r) && may_lead(r)) return r;
  return -1;
}

// Calls fn(topic, partition) for every partition of the image.
template <typename F>
void for_each_partition(const MetadataImage& image, F&& fn) {
  image.topics.for_each([&](const std::string&, const std::shared_ptr<const TopicInfo>& t) {
    for (auto& p : t->partitions) fn(*t, p);
  });
}

PartitionChangeRecord change_of(const TopicInfo& t, const PartitionInfo& p) {
  PartitionChangeRecord c;
  c.topic_id = t.id;
  c.partition_id = p.partition;
  return c;
}

}  // namespace

MayLead may_lead_in(const MetadataImage& image, std::vector<int32_t> leaving) {
  return [&image, leaving = std::move(leaving)](int32_t id) {
    if (contains(leaving, id)) return false;
    auto it = image.brokers.find(id);
    return it != image.brokers.end() && !it->second.fenced && !it->second.in_controlled_shutdown;
  };
}

void move_away_from(const MetadataImage& image, const std::vector<int32_t>& leaving, const MayLead& may_lead,
                    std::vector<MetadataRecord>& out) {
  auto is_leaving = [&](int32_t b) { return contains(leaving, b); };
  for_each_partition(image, [&](const TopicInfo& t, const PartitionInfo& p) {
    if (std::none_of(p.isr.begin(), p.isr.end(), is_leaving) && !is_leaving(p.leader)) return;
    std::vector<int32_t> isr;
    for (auto r : p.isr)
      if (!is_leaving(r)) isr.push_back(r);
    if (isr.empty() && !p.isr.empty()) isr.push_back(*std::max_element(p.isr.begin(), p.isr.end()));
    int32_t leader = p.leader;
    if (leader == -1 || is_leaving(leader) || !contains(isr, leader)) leader = choose_leader(p, isr, may_lead);
    if (isr == p.isr && leader == p.leader) return;
    auto c = change_of(t, p);
    if (isr != p.isr) c.isr = std::move(isr);
    if (leader != p.leader) c.leader = leader;
    out.push_back(std::move(c));
  });
}

void elect_leaderless(const MetadataImage& image, int32_t broker, const MayLead& may_lead,
                      std::vector<MetadataRecord>& out) {
  for_each_partition(image, [&](const TopicInfo& t, const PartitionInfo& p) {
    if (p.leader != -1 || !contains(p.isr, broker)) return;
    int32_t leader = choose_leader(p, p.isr, may_lead);
    if (leader == -1) return;
    auto c = change_of(t, p);
    c.leader = leader;
    out.push_back(std::move(c));
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
