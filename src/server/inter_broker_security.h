// The client side of the inter-broker and controller listeners' security,
// read from server.properties as Kafka's brokers read it:
//  - the listener: inter.broker.listener.name (replica fetchers, transaction
//    markers), the first of controller.listener.names (Raft RPCs, the
//    controller channel: forwarded requests, registration, heartbeats);
//  - its protocol from listener.security.protocol.map;
//  - TLS: the listener's ssl.truststore.* (else the system's CAs) and
//    ssl.keystore.* (presented as the client certificate, for mTLS);
//    ssl.endpoint.identification.algorithm=https (default) checks the host name;
//  - SASL: sasl.mechanism.inter.broker.protocol / sasl.mechanism.controller.protocol
//    (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; Kafka's default GSSAPI is refused),
//    username= and password= of listener.name.<l>.<mechanism>.sasl.jaas.config
//    (else sasl.jaas.config).
//
// Ownership: called on the main thread at start-up.
#pragma once
#include <memory>
#include <string>
#include <variant>

#include "config/broker_config.h"
#include "net/client_security.h"

namespace samsa::server {

// null for a PLAINTEXT listener; the reason when the settings cannot make a client.
std::variant<std::shared_ptr<const net::ClientSecurity>, std::string> listener_client_security(
    const config::BrokerConfig& cfg, const std::string& listener, const std::string& mechanism_key);

// The two uses above.
std::variant<std::shared_ptr<const net::ClientSecurity>, std::string> inter_broker_client_security(
    const config::BrokerConfig& cfg);
std::variant<std::shared_ptr<const net::ClientSecurity>, std::string> controller_client_security(
    const config::BrokerConfig& cfg);

}  // namespace samsa::server
