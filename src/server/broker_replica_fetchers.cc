// The follower side of replication in the broker: one ReplicaFetcherManager
// per shard (server/replica_fetcher.h), reconciled after each image the shard
// applies and stopped at shutdown before the logs close. Only in a cluster: a
// node without a quorum leads everything and follows nothing.
//
// Threads: make_replica_fetchers on the main thread before the shards run;
// reconcile_replica_fetchers on the shard; stop_replica_fetchers on the main
// thread (it runs each stop on its shard).
#include <spdlog/spdlog.h>

#include "base/invoke_on.h"
#include "raft/flush_thread.h"
#include "server/broker.h"
#include "server/inter_broker_security.h"
#include "server/cluster_routing.h"
#include "server/replica_fetcher.h"
#include "server/replication_quota.h"
#include "server/peer_clients.h"
#include "server/txn_marker_sender.h"
#include "storage/log_manager.h"

namespace samsa::server {

namespace {
ReplicaFetcherConfig fetcher_config(const BrokerSettings& settings) {
  ReplicaFetcherConfig c;
  c.node_id = NodeId(settings.node_id);
  const auto* cfg = settings.config.get();
  if (!cfg) return c;
  c.max_wait_ms = cfg->replica_fetch_wait_max_ms();
  c.min_bytes = cfg->get_int("replica.fetch.min.bytes").value_or(c.min_bytes);
  c.response_max_bytes = cfg->get_int("replica.fetch.response.max.bytes").value_or(c.response_max_bytes);
  c.partition_max_bytes = cfg->replica_fetch_max_bytes();
  c.backoff_ms = cfg->get_long("replica.fetch.backoff.ms").value_or(c.backoff_ms);
  c.request_timeout_ms = cfg->get_long("replica.socket.timeout.ms").value_or(c.request_timeout_ms);
  c.listener = cfg->inter_broker_listener_name();
  c.controller_listeners = cfg->controller_listener_names();
  return c;
}
}  // namespace

std::string Broker::make_replica_fetchers() {
  if (single_node_) return {};
  ReplicaFetcherConfig config = fetcher_config(settings_);
  if (const auto* cfg = settings_.config.get()) {  // inter.broker.listener.name's TLS and SASL, as a client
    auto security = inter_broker_client_security(*cfg);
    if (auto* err = std::get_if<std::string>(&security)) return *err;
    config.security = std::get<std::shared_ptr<const net::ClientSecurity>>(std::move(security));
  }
  for (auto& s : shards_) {
    Shard* sp = s.get();
    ReplicaFetcherHooks hooks;
    hooks.find = [sp](const TopicPartition& tp) { return sp->find(tp); };
    hooks.quota = &replication_quotas().follower;
    hooks.throttled = [sp, node = settings_.node_id](const TopicPartition& tp) {
      if (!sp->image) return false;
      const auto* p = find_partition(*sp->image, tp);
      if (!p || p->in_isr(node)) return false;
      return replica_throttled(*sp->image, tp, kFollowerThrottledReplicas, node);
    };
    // Kafka writes the recovery-point checkpoint after a truncation; the files
    // are fsynced, so off the event loop.
    hooks.truncated = [this] {
      metadata_flush_->post([this] {
        if (auto st = log_manager_->write_checkpoints(); !st)
          spdlog::error("writing checkpoints after a truncation failed: {}", st.to_string());
      });
    };
    const uint64_t seed = (static_cast<uint64_t>(settings_.node_id) << 16) ^ static_cast<uint64_t>(sp->id);
    replica_fetchers_.push_back(
        std::make_unique<ReplicaFetcherManager>(sp->io.get_executor(), clock_, config, std::move(hooks), seed));
    PeerClientsConfig peers;
    peers.node_id = config.node_id;
    peers.listener = config.listener;
    peers.controller_listeners = config.controller_listeners;
    peers.security = config.security;
    peer_clients_.push_back(std::make_unique<PeerClients>(sp->io.get_executor(), clock_, peers, seed + 1));
    marker_senders_.push_back(std::make_unique<TxnMarkerSender>(*peer_clients_.back()));
  }
  return {};
}

void Broker::reconcile_replica_fetchers(Shard& s) {
  if (static_cast<size_t>(s.id) >= replica_fetchers_.size() || !s.image) return;
  replica_fetchers_[s.id]->reconcile(*s.image, s.partitions());
}

void Broker::stop_replica_fetchers() {
  for (size_t i = 0; i < replica_fetchers_.size() && i < shards_.size(); ++i) {
    auto* m = replica_fetchers_[i].get();
    invoke_on_blocking(shards_[i]->io, [m] { m->stop(); });
  }
  for (size_t i = 0; i < peer_clients_.size() && i < shards_.size(); ++i) {
    auto* m = peer_clients_[i].get();
    invoke_on_blocking(shards_[i]->io, [m] { m->close(); });
  }
}

}  // namespace samsa::server
