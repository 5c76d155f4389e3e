// Metadata images reaching the shards: every image the metadata loader builds
// from a committed batch is posted to every shard with the delta it made (the topics it touched), and the
// shard's replica manager opens, reconfigures or removes only the partitions of
// those topics, so a change costs what it touched, not the number of topics.
// The first image (replayed at start) and dynamic broker config changes are
// applied in full.
//
// Threads: apply_image runs on the shard it is given.
#include <spdlog/spdlog.h>

#include "coordinator/group_coordinator.h"
#include "coordinator/txn_state.h"
#include "server/broker.h"
#include "replication/partition.h"
#include "replication/replica_manager.h"
#include "server/coordinator_shard.h"
#include "server/handlers.h"
#include "server/image_waiter.h"
#include "server/log_maintenance.h"
#include "server/replication_quota.h"

namespace samsa::server {

void Broker::publish(cluster::ImagePtr image, cluster::DeltaPtr delta) {
  image_waiter_->on_image(image);  // shard 0, where the loader publishes
  publish_scram_credentials(*image);
  // A broker config changed (the loader marks those deltas full), or a whole image: the TLS
  // listeners' stores may have moved or been rewritten in place.
  if (!delta || delta->full) reload_listener_tls(*image);
  replication_quotas_->apply(*image, settings_.node_id);  // the throttled rates may have changed
  for (auto& s : shards_) {
    Shard* sp = s.get();
    asio::post(sp->io, [this, sp, image, delta] { apply_image(*sp, image, *delta); });
  }
}

config::BrokerConfig Broker::effective_config(const cluster::MetadataImage& image, const std::string& node) const {
  config::BrokerConfig cfg = *settings_.config;
  // A layer is applied whole (it was validated whole); key by key only if the
  // whole no longer passes, so one stale value does not hide the others.
  auto apply = [&](const std::string& resource, config::ConfigSource layer) {
    auto it = image.broker_configs.find(resource);
    if (it == image.broker_configs.end()) return;
    config::BrokerConfig::DynamicChanges all(it->second.begin(), it->second.end());
    if (!cfg.set_dynamic(layer, all)) return;
    for (auto& [k, v] : it->second) (void)cfg.set_dynamic(layer, k, v);
  };
  apply("", config::ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG);
  apply(node.empty() ? std::to_string(settings_.node_id) : node, config::ConfigSource::DYNAMIC_BROKER_CONFIG);
  return cfg;
}

void Broker::reload_listener_tls(const cluster::MetadataImage& image) {
  if (reloadable_tls_.empty()) return;
  const auto cfg = effective_config(image);
  for (auto& l : reloadable_tls_) {
    auto r = server::reload_listener_tls(l, cfg);
    if (r.reloaded) spdlog::info("listener {}: TLS key and trust stores reloaded; new connections use them", l.listener);
    if (!r.error.empty())
      spdlog::warn("listener {}: the changed TLS configuration cannot be used, connections keep the previous "
                   "certificate: {}", l.listener, r.error);
  }
}

// What happens on a shard when an image arrives is the replica manager's
// (replication/replica_manager.h); the broker only hands it over.
void Broker::apply_image(Shard& s, cluster::ImagePtr image, const cluster::ImageDelta& delta) {
  s.image = image;
  s.replicas->apply(std::move(image), delta);
  reconcile_replica_fetchers(s);  // followers fetch from the leaders this image names
}

// The shard's replica manager, and what the layers above do when one of its
// partitions comes or goes or changes leader: the coordinators load their
// state when this broker leads their internal topics' partitions and drop it
// when it stops, log maintenance forgets a deleted one.
void Broker::make_replica_manager(Shard& s) {
  replication::ReplicaManagerOptions o;
  o.shard = s.id;
  o.node_id = NodeId(settings_.node_id);
  o.owner_of = [this](const TopicPartition& tp) { return owner_of(tp); };
  o.log_config_for = [this](const cluster::TopicInfo& t) { return log_config_for(t); };
  o.broker_epoch = [this] { return broker_epoch(); };
  o.replica_lag_time_max_ms = settings_.replica_lag_time_max_ms;
  ReplicationQuota* dir_quota = &replication_quotas().alter_log_dirs;
  o.log_dir_copy_quota.exceeded = [dir_quota](int64_t now_ms) { return dir_quota->exceeded(now_ms); };
  o.log_dir_copy_quota.record = [dir_quota](int64_t bytes, int64_t now_ms) { dir_quota->record(bytes, now_ms); };
  Shard* shard = &s;
  o.isr_sink = [this, shard](Partition& p, const replication::IsrProposal& proposal) {
    send_isr_proposal(*shard, p, proposal);
  };
  s.replicas = std::make_unique<replication::ReplicaManager>(std::move(o), *log_manager_, *flushers_[s.id],
                                                             clock_, unopened_);
  Shard* sp = &s;
  replication::PartitionHooks hooks;
  hooks.became_leader = [this, sp](Partition& p, Epoch epoch) { coordinator_became_leader(*this, *sp, p, epoch); };
  hooks.became_follower = [this, sp](Partition& p) { coordinator_lost(*this, *sp, p.tp()); };
  hooks.removing = [this, sp](const TopicPartition& tp) {
    coordinator_lost(*this, *sp, tp);
    maintenance_[sp->id]->forget(tp);
  };
  s.replicas->set_hooks(std::move(hooks));
}

asio::awaitable<std::vector<cluster::OpResult>> Broker::create_topics(std::vector<cluster::TopicSpec> specs,
                                                                      bool validate_only) {
  auto op = on_controller(create_topics_at_controller(specs, validate_only));
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
    auto check = invoke_on(*sp, [sp, &created] { return sp->replicas->unopened_of(created); });
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
    auto undo = delete_topic(name);
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
