#include "cluster/leader_balance.h"

#include <algorithm>
#include <map>

#include "cluster/reassignment.h"

namespace samsa::cluster {

std::vector<ImbalancedPartition> partitions_to_rebalance(const MetadataImage& image, int32_t imbalance_percentage,
                                                         const MayLead& may_lead) {
  struct Share {
    int64_t preferred = 0;  // partitions whose first replica is this broker
    std::vector<ImbalancedPartition> not_led;
  };
  std::map<int32_t, Share> by_broker;
  image.topics.for_each([&](const std::string&, const std::shared_ptr<const TopicInfo>& t) {
    for (auto& p : t->partitions) {
      if (p.replicas.empty()) continue;
      auto& share = by_broker[p.replicas.front()];
      ++share.preferred;
      if (p.leader != p.replicas.front()) share.not_led.push_back({t.get(), p.partition});
    }
  });
  std::vector<ImbalancedPartition> out;
  for (auto& [broker, share] : by_broker) {
    if (share.not_led.empty()) continue;
    // Above the allowed share: not_led / preferred > percentage / 100, in integers.
    if (static_cast<int64_t>(share.not_led.size()) * 100 <= share.preferred * imbalance_percentage) continue;
    if (!may_lead(broker)) continue;
    for (auto& c : share.not_led) {
      const PartitionInfo& p = c.topic->partitions[c.partition];
      if (reassigning(p)) continue;
      if (!p.in_isr(broker)) continue;
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace samsa::cluster
