// One net::KafkaClient per voter of the quorum, to its CONTROLLER listener
// (the address in controller.quorum.voters), created on first use. Shared by
// the quorum's peers and the controller channel, each with its own set.
//
// Threads: lives on the quorum's executor (shard 0); every call runs there.
#pragma once
#include <asio.hpp>
#include <map>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/random.h"
#include "net/kafka_client.h"
#include "net/transport.h"
#include "quorum/quorum_config.h"

namespace samsa::quorum {

class VoterClients {
 public:
  VoterClients(asio::any_io_executor ex, net::Transport& transport, Clock& clock, uint64_t seed, VoterAddresses voters,
               std::string client_id, size_t max_in_flight)
      : ex_(std::move(ex)),
        transport_(transport),
        clock_(clock),
        rng_(seed),
        voters_(std::move(voters)),
        client_id_(std::move(client_id)),
        max_in_flight_(max_in_flight) {}
  ~VoterClients() { close(); }

  // The client of voter `id`; null for a node that is not a voter, or after close().
  std::shared_ptr<net::KafkaClient> client_for(NodeId id) {
    if (closed_) return nullptr;
    if (auto it = clients_.find(id); it != clients_.end()) return it->second;
    auto addr = voters_.find(id);
    if (addr == voters_.end()) return nullptr;
    net::KafkaClientOptions o;
    o.host = addr->second.host;
    o.port = addr->second.port;
    o.client_id = client_id_;
    o.max_in_flight = max_in_flight_;
    auto c = net::KafkaClient::create(ex_, transport_, clock_, rng_, o);
    clients_[id] = c;
    return c;
  }
  // The voters changed (a VotersRecord, an endpoint learned): clients of
  // nodes that left or moved are closed (what they had in flight fails).
  void set_addresses(VoterAddresses voters) {
    for (auto it = clients_.begin(); it != clients_.end();) {
      auto now = voters.find(it->first);
      auto was = voters_.find(it->first);
      if (now == voters.end() || was == voters_.end() || !(now->second == was->second)) {
        it->second->close();
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
    voters_ = std::move(voters);
  }
  // Fails what is in flight and refuses later calls.
  void close() {
    closed_ = true;
    for (auto& [id, c] : clients_) c->close();
    clients_.clear();
  }
  bool closed() const { return closed_; }
  const VoterAddresses& voters() const { return voters_; }
  const asio::any_io_executor& executor() const { return ex_; }

 private:
  asio::any_io_executor ex_;
  net::Transport& transport_;
  Clock& clock_;
  Random rng_;
  VoterAddresses voters_;
  std::string client_id_;
  size_t max_in_flight_;
  std::map<NodeId, std::shared_ptr<net::KafkaClient>> clients_;
  bool closed_ = false;
};

}  // namespace samsa::quorum
