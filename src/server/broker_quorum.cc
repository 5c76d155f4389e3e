// The broker's part of the metadata quorum (issue 12): opening the QuorumNode
// when controller.quorum.voters is set, starting it on shard 0 after the
// loader's replay, and resigning a leadership at shutdown. Registration is the
// lifecycle's (broker_lifecycle_driver.cc), on every node of a quorum.
#include <spdlog/spdlog.h>

#include <future>

#include "base/random.h"
#include "quorum/quorum_node.h"
#include "server/broker.h"
#include "server/inter_broker_security.h"
#include "storage/env.h"

namespace samsa::server {

raft::MetadataLog& Broker::metadata_log() {
  if (quorum_) return quorum_->log();
  return *metadata_log_;
}

bool Broker::on_controller_listener(const net::ConnectionInfo& conn) const {
  if (controller_listeners_.empty() || !conn.listener) return false;
  for (auto& name : controller_listeners_)
    if (name == conn.listener->name) return true;
  return false;
}

std::string Broker::open_quorum(const std::string& metadata_dir) {
  quorum::QuorumNodeOptions o;
  o.settings = *settings_.quorum;
  o.metadata_log_dir = metadata_dir;
  o.cluster_id = cluster_id_;
  o.seed = unique_seed();
  if (const auto* cfg = settings_.config.get()) {  // the controller listener's TLS and SASL, as a client
    auto security = controller_client_security(*cfg);
    if (auto* err = std::get_if<std::string>(&security)) return *err;
    o.security = std::get<std::shared_ptr<const net::ClientSecurity>>(std::move(security));
  }
  auto opened =
      quorum::QuorumNode::open(shards_[0]->io.get_executor(), storage::posix_env(), clock_, *metadata_flush_, o);
  if (auto* err = std::get_if<std::string>(&opened)) return *err;
  quorum_ = std::get<std::unique_ptr<quorum::QuorumNode>>(std::move(opened));
  std::string voters;
  for (auto& [id, a] : o.settings.voters) voters += (voters.empty() ? "" : ",") + std::to_string(id.value) + "@" + a.host + ":" + std::to_string(a.port);
  spdlog::info("metadata quorum: node {} ({}{}), voters {}", settings_.node_id, o.settings.broker ? "broker" : "",
               o.settings.controller ? (o.settings.broker ? "+controller" : "controller") : "", voters);
  return {};
}

asio::awaitable<std::string> Broker::start_quorum() {
  if (auto err = quorum_->start(); !err.empty()) co_return err;
  co_return std::string();
}

void Broker::stop_quorum() {
  if (!quorum_ || shards_.empty()) return;
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  asio::co_spawn(shards_[0]->io, quorum_->stop(std::chrono::milliseconds(1000)),
                 [done](std::exception_ptr) { done->set_value(); });
  // Bounded: a shard that no longer runs must not hold the shutdown.
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
    spdlog::warn("metadata quorum: stopping did not finish in 5 s");
}

}  // namespace samsa::server
