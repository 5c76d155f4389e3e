// Metadata images reaching the shards: every image the controller commits is
// posted to every shard with the delta it made (the topics it touched), and a
// shard opens, reconfigures or removes only the partitions of those topics, so
// a change costs what it touched, not the number of topics. The first image
// (replayed at start) and dynamic broker config changes are applied in full.
//
// Threads: apply_image and everything it calls run on the shard they are given;
// unopened_ is shared (unopened_mu_).
#include <spdlog/spdlog.h>

#include "coordinator/group_coordinator.h"
#include "coordinator/txn_state.h"
#include "server/broker.h"
#include "replication/flusher.h"
#include "server/handlers.h"
#include "server/log_maintenance.h"
#include "replication/open_partition.h"
#include "replication/partition.h"
#include "server/request_context.h"
#include "storage/log_manager.h"

namespace samsa::server {

void Broker::publish(cluster::ImagePtr image, cluster::DeltaPtr delta) {
  for (auto& s : shards_) {
    Shard* sp = s.get();
    asio::post(sp->io, [this, sp, image, delta] { apply_image(*sp, image, *delta); });
  }
}

void Broker::apply_image(Shard& s, cluster::ImagePtr image, const cluster::ImageDelta& delta) {
  auto old = s.image ? s.image : std::make_shared<const cluster::MetadataImage>();
  s.image = image;
  if (delta.full) {
    image->topics.for_each([&](const std::string&, const std::shared_ptr<const cluster::TopicInfo>& topic) {
      for (auto& p : topic->partitions) open_owned(s, *topic, p.partition);
    });
    // Deleted topics, and partitions beyond a topic's count.
    for (auto it = s.partitions.begin(); it != s.partitions.end();) {
      auto* t = image->find_topic(it->first.topic);
      bool keep = t && t->id == it->second->topic_id() && static_cast<size_t>(it->first.partition) < t->partitions.size();
      auto tp = it->first;
      ++it;
      if (!keep) remove_partition(s, tp);
    }
  } else {
    for (auto& name : delta.topics) sync_topic(s, *old, *image, name);
  }
  retry_unopened(s);
}

// One touched topic: partitions of the old topic that are gone (deleted, or
// the name now belongs to a new topic id) are removed, the others opened or
// given the topic's current config.
void Broker::sync_topic(Shard& s, const cluster::MetadataImage& old, const cluster::MetadataImage& image,
                        const std::string& name) {
  auto* before = old.find_topic(name);
  auto* now = image.find_topic(name);
  if (before) {
    for (auto& p : before->partitions) {
      TopicPartition tp{name, p.partition};
      if (owner_of(tp) != s.id) continue;
      auto* part = s.find(tp);
      if (part && (!now || now->id != part->topic_id() || static_cast<size_t>(p.partition) >= now->partitions.size()))
        remove_partition(s, tp);
    }
  }
  if (now)
    for (auto& p : now->partitions) open_owned(s, *now, p.partition);
}

// Opens (or reconfigures) one partition of `topic` if this shard owns it and
// this broker holds a replica. A failure is remembered in unopened_: Metadata
// then shows the partition without a leader instead of a leader that refuses
// every request.
void Broker::open_owned(Shard& s, const cluster::TopicInfo& topic, int32_t partition) {
  TopicPartition tp{topic.name, partition};
  if (owner_of(tp) != s.id) return;
  auto& replicas = topic.partitions[partition].replicas;
  if (std::find(replicas.begin(), replicas.end(), settings_.node_id) == replicas.end()) return;
  auto* existing = s.find(tp);
  if (existing && existing->topic_id() == topic.id) {
    existing->set_config(log_config_for(topic));
    return;
  }
  if (existing) remove_partition(s, tp);  // same name, new topic id: the old one was deleted
  std::string error;
  auto part = replication::open_partition(*log_manager_, SystemClock::instance(), tp, topic.id, log_config_for(topic), &error);
  {
    std::lock_guard lock(unopened_mu_);
    if (part) unopened_.erase(tp);
    else unopened_[tp] = error;
    unopened_count_.store(unopened_.size(), std::memory_order_release);
  }
  if (!part) return;
  auto* opened = part.get();
  s.partitions[tp] = std::move(part);
  if (tp.topic == coordinator::kOffsetsTopic) load_offsets_partition(*this, s, *opened);
  if (tp.topic == coordinator::kTransactionStateTopic) load_txn_partition(*this, s, *opened);
}

// Partitions of this shard that failed to open are tried again with every new
// image (descriptors may have been freed since); those no longer in the image
// are forgotten.
void Broker::retry_unopened(Shard& s) {
  if (unopened_count_.load(std::memory_order_acquire) == 0) return;
  std::vector<TopicPartition> mine;
  {
    std::lock_guard lock(unopened_mu_);
    for (auto& [tp, why] : unopened_)
      if (owner_of(tp) == s.id) mine.push_back(tp);
  }
  for (auto& tp : mine) {
    auto* t = s.image->find_topic(tp.topic);
    if (t && static_cast<size_t>(tp.partition) < t->partitions.size() && !s.find(tp)) {
      open_owned(s, *t, tp.partition);
      continue;
    }
    std::lock_guard lock(unopened_mu_);
    unopened_.erase(tp);
    unopened_count_.store(unopened_.size(), std::memory_order_release);
  }
}

std::vector<std::pair<std::string, std::string>> Broker::unopened_of(Shard& s,
                                                                    const std::vector<std::string>& topics) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (unopened_count_.load(std::memory_order_acquire) == 0) return out;
  std::lock_guard lock(unopened_mu_);
  for (auto& name : topics) {
    auto it = unopened_.lower_bound(TopicPartition{name, 0});
    for (; it != unopened_.end() && it->first.topic == name; ++it)
      if (owner_of(it->first) == s.id) out.emplace_back(name, it->first.to_string() + ": " + it->second);
  }
  return out;
}

bool Broker::partition_unavailable(const TopicPartition& tp) const {
  if (unopened_count_.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard lock(unopened_mu_);
  return unopened_.count(tp) != 0;
}

// A deleted partition: its directory is renamed for background deletion and
// nothing on this shard may keep a pointer to it.
void Broker::remove_partition(Shard& s, const TopicPartition& tp) {
  auto it = s.partitions.find(tp);
  if (it == s.partitions.end()) return;
  spdlog::info("deleting partition {}", tp.to_string());
  flushers_[s.id]->forget(*it->second);
  maintenance_[s.id]->forget(tp);  // no cleaning may still write into its directory
  // Renamed now (the name is free for a new topic at once); the files go in
  // the background after file.delete.delay.ms (LogMaintenance).
  auto& log = it->second->log();
  if (auto st = log_manager_->delete_log(tp, &log, now_ms(), log.config().file_delete_delay_ms); !st)
    spdlog::error("removing {} failed: {}", tp.to_string(), st.to_string());
  log_manager_->release(tp);
  s.partitions.erase(it);
}

asio::awaitable<std::vector<cluster::OpResult>> Broker::create_topics(std::vector<cluster::TopicSpec> specs,
                                                                      bool validate_only) {
  auto op = run_on(*shards_[0], [this, &specs, validate_only] { return controller_->create_topics(specs, validate_only); });
  auto results = co_await std::move(op);
  if (validate_only) co_return results;
  std::vector<std::string> created;
  for (size_t i = 0; i < specs.size(); ++i)
    if (results[i].error == ErrorCode::NONE) created.push_back(specs[i].name);
  if (created.empty()) co_return results;
  // Each shard applies images in order: a check posted after the publish runs
  // after the new partitions were opened (or failed to).
  std::vector<std::pair<std::string, std::string>> failed;  // topic, partition and reason
  for (auto& s : shards_) {
    Shard* sp = s.get();
    auto check = run_on(*sp, [this, sp, &created] { return unopened_of(*sp, created); });
    auto f = co_await std::move(check);
    failed.insert(failed.end(), f.begin(), f.end());
  }
  if (failed.empty()) co_return results;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (results[i].error != ErrorCode::NONE) continue;
    std::string reason;
    for (auto& [topic, why] : failed)
      if (topic == specs[i].name) reason = why;
    if (reason.empty()) continue;
    spdlog::error("creating topic {} failed, removing it again: cannot open partition {}", specs[i].name, reason);
    std::string name = specs[i].name;
    auto undo = run_on(*shards_[0], [this, name] { return controller_->delete_topic(name); });
    auto undone = co_await std::move(undo);
    results[i] = {ErrorCode::KAFKA_STORAGE_ERROR,
                  "The topic was not created: cannot open partition " + reason +
                      (undone.error == ErrorCode::NONE ? "" : " (removing it again failed: " + undone.message + ")"),
                  {}};
  }
  co_return results;
}

asio::awaitable<cluster::OpResult> Broker::create_topic(cluster::TopicSpec spec, bool validate_only) {
  std::vector<cluster::TopicSpec> specs;
  specs.push_back(std::move(spec));
  auto op = create_topics(std::move(specs), validate_only);
  auto results = co_await std::move(op);
  co_return results.front();
}

}  // namespace samsa::server
