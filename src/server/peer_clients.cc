#include "server/peer_clients.h"

#include "net/kafka_client.h"

namespace samsa::server {

PeerClients::PeerClients(asio::any_io_executor ex, Clock& clock, PeerClientsConfig config, uint64_t seed)
    : ex_(ex), clock_(clock), config_(std::move(config)), transport_(ex, 10000, config_.security), rng_(seed) {}

PeerClients::~PeerClients() { close(); }

void PeerClients::close() {
  for (auto& [id, peer] : peers_)
    if (peer.client) peer.client->close();
  peers_.clear();
}

std::shared_ptr<net::KafkaClient> PeerClients::client_for(const cluster::MetadataImage& image, NodeId broker,
                                                          BrokerAddress* where) {
  auto b = image.brokers.find(broker.value);
  if (b == image.brokers.end()) return nullptr;
  auto address = inter_broker_address(b->second, config_.listener, config_.controller_listeners);
  if (!address) return nullptr;
  if (where) *where = *address;
  auto it = peers_.find(broker.value);
  if (it != peers_.end() && it->second.address == *address) return it->second.client;
  if (it != peers_.end()) it->second.client->close();  // the broker registered a new address
  net::KafkaClientOptions o;
  o.host = address->host;
  o.port = address->port;
  o.client_id = "samsa-broker-" + std::to_string(config_.node_id.value);
  auto client = net::KafkaClient::create(ex_, transport_, clock_, rng_, o);
  peers_[broker.value] = Peer{*address, client};
  return client;
}

}  // namespace samsa::server
