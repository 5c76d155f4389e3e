// Kafka connections from one shard to the other brokers' inter-broker
// listeners (with that listener's TLS/SASL), one per broker, made on first use
// and replaced when the broker registers a new address. What a shard sends to
// another broker outside replication goes through them: transaction markers
// (txn_marker_sender.h) and the console's requests for a partition led, a
// group coordinated or a quorum described elsewhere (Broker::call_broker).
//
// Threads: one PeerClients per shard, used only on that shard's thread (its
// clients live on the shard's executor).
#pragma once
#include <asio.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/types.h"
#include "cluster/metadata_image.h"
#include "net/transport.h"
#include "server/replica_fetcher_logic.h"

namespace samsa {
class Clock;
}
namespace samsa::net {
class KafkaClient;
}

namespace samsa::server {

struct PeerClientsConfig {
  NodeId node_id{-1};
  std::string listener;                        // inter.broker.listener.name
  std::vector<std::string> controller_listeners;
  std::shared_ptr<const net::ClientSecurity> security;  // the inter-broker listener's TLS/SASL; null for PLAINTEXT
};

class PeerClients {
 public:
  PeerClients(asio::any_io_executor ex, Clock& clock, PeerClientsConfig config, uint64_t seed);
  ~PeerClients();
  PeerClients(const PeerClients&) = delete;
  PeerClients& operator=(const PeerClients&) = delete;

  // The client of `broker` at the address `image` registers for the
  // inter-broker listener (into `*where` when given); null when it has none.
  std::shared_ptr<net::KafkaClient> client_for(const cluster::MetadataImage& image, NodeId broker,
                                               BrokerAddress* where = nullptr);
  void close();

 private:
  asio::any_io_executor ex_;
  Clock& clock_;
  PeerClientsConfig config_;
  net::TcpTransport transport_;
  Random rng_;
  struct Peer {
    BrokerAddress address;
    std::shared_ptr<net::KafkaClient> client;
  };
  std::map<int32_t, Peer> peers_;
};

}  // namespace samsa::server
