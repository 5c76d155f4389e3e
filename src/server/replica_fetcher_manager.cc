// The fetchers of one shard and their reconciliation with each metadata image
// (replica_fetcher.h).
#include <spdlog/spdlog.h>

#include "server/replica_fetcher.h"

namespace samsa::server {

ReplicaFetcherManager::ReplicaFetcherManager(asio::any_io_executor ex, Clock& clock, ReplicaFetcherConfig config,
                                             ReplicaFetcherHooks hooks, uint64_t seed)
    : ex_(ex),
      clock_(clock),
      config_(std::move(config)),
      hooks_(std::move(hooks)),
      net_(std::make_shared<ReplicaFetcherNet>(ex, seed, config_.security)) {}

ReplicaFetcherManager::~ReplicaFetcherManager() { stop(); }

ReplicaFetcher* ReplicaFetcherManager::fetcher(NodeId source) {
  auto it = fetchers_.find(source);
  return it == fetchers_.end() ? nullptr : it->second.get();
}

void ReplicaFetcherManager::reconcile(const cluster::MetadataImage& image,
                                      const replication::ReplicaManager::PartitionMap& hosted) {
  if (stopped_) return;
  // What the image wants: each hosted follower under its live leader.
  struct Wanted {
    replication::Partition* part;
    Epoch epoch;
  };
  std::map<NodeId, std::vector<Wanted>> wanted;
  std::map<TopicPartition, NodeId> leader_of;
  for (auto& [tp, part] : hosted) {
    if (part->role() != replication::Role::kFollower || part->offline()) continue;
    auto target = follow_target(image, config_.node_id, tp, part->topic_id());
    if (!target) continue;
    wanted[target->leader].push_back({part.get(), target->leader_epoch});
    leader_of.emplace(tp, target->leader);
  }
  // Partitions fetched from a broker that no longer leads them (or that are
  // led here now, deleted, or whose leader was fenced) leave that fetcher.
  for (auto& [source, f] : fetchers_) {
    for (auto& tp : f->partitions()) {
      auto it = leader_of.find(tp);
      if (it == leader_of.end() || it->second != source) f->remove(tp);
    }
  }
  for (auto& [leader, parts] : wanted) {
    auto b = image.brokers.find(leader.value);
    if (b == image.brokers.end()) continue;  // follow_target saw it live: not reached
    auto address = inter_broker_address(b->second, config_.listener, config_.controller_listeners);
    if (!address) {
      spdlog::warn("replica fetcher: broker {} registered no {} (or other non-controller) listener; its {} "
                   "partition(s) are not followed",
                   leader.value, config_.listener, parts.size());
      if (auto* f = fetcher(leader))
        for (auto& w : parts) f->remove(w.part->tp());
      continue;
    }
    auto& f = fetchers_[leader];
    if (!f) {
      f = std::make_shared<ReplicaFetcher>(ex_, leader, *address, net_, clock_, config_, hooks_);
      f->start();
    } else {
      f->set_address(*address);
    }
    for (auto& w : parts) f->add_or_update(*w.part, w.epoch);
  }
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    if (it->second->empty()) {
      it->second->stop();
      it = fetchers_.erase(it);
    } else {
      ++it;
    }
  }
}

void ReplicaFetcherManager::stop() {
  stopped_ = true;
  for (auto& [source, f] : fetchers_) f->stop();
  fetchers_.clear();
}

}  // namespace samsa::server
