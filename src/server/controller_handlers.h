// The controller's side of the broker lifecycle APIs: BrokerRegistration (62),
// BrokerHeartbeat (63), UnregisterBroker (64) (KIP-631).
//
// 62 and 63 are CONTROLLER-listener APIs (`listeners controller` in their
// schemas): Kafka's brokers do not serve them, so they are not in the broker
// listener's table (handlers.cc) and ApiVersions on a broker listener does not
// list them; the CONTROLLER listener's dispatch serves
// controller_listener_handlers(). 64 is served on both (admin clients send it
// to a broker, which hands it to the controller).
//
// The serve_* functions are the whole of each API on a decoded request: they
// run the controller operation and fill the response body. They run on the
// controller's thread (shard 0). The handle_* functions decode, call them
// there through Broker::on_controller, and encode.
#pragma once
#include <asio.hpp>
#include <span>

#include "cluster/controller.h"
#include "protocol/messages/broker_heartbeat.h"
#include "protocol/messages/broker_registration.h"
#include "protocol/messages/unregister_broker.h"
#include "server/handlers.h"

namespace samsa::server {

// Bounds on what one registration may carry (a record of the metadata log).
inline constexpr size_t kMaxBrokerListeners = 64;
inline constexpr size_t kMaxBrokerFeatures = 256;

asio::awaitable<protocol::BrokerRegistrationResponse> serve_broker_registration(
    cluster::Controller& controller, protocol::BrokerRegistrationRequest req);
asio::awaitable<protocol::BrokerHeartbeatResponse> serve_broker_heartbeat(cluster::Controller& controller,
                                                                          protocol::BrokerHeartbeatRequest req);
asio::awaitable<protocol::UnregisterBrokerResponse> serve_unregister_broker(cluster::Controller& controller,
                                                                            protocol::UnregisterBrokerRequest req);

asio::awaitable<net::Response> handle_broker_registration(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_broker_heartbeat(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_unregister_broker(RequestContext&, protocol::Reader&);

// The APIs a CONTROLLER listener serves besides the quorum's: 62, 63, 64 of
// this file, AllocateProducerIds (67, producer_ids_handler.cc), and the
// metadata changes brokers forward (19, 20, 30, 31, 33, 37, 44), served only
// while this node is the active controller (NOT_CONTROLLER otherwise).
std::span<const HandlerEntry> controller_listener_handlers();

}  // namespace samsa::server
