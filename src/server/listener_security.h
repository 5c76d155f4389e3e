// Turns one listener of server.properties into the net::ListenerContext its
// connections share: TLS context (ssl.*), SASL mechanisms and their users
// (sasl.enabled.mechanisms, <mechanism>.sasl.jaas.config), each read per
// listener first (listener.name.<listener>.<key>), as Kafka does.
//
// Ownership: called once per listener at start-up, on the starting thread.
#pragma once
#include <memory>
#include <string>
#include <variant>

#include "config/broker_config.h"
#include "net/listener_context.h"
#include "server/settings.h"

namespace samsa::server {

inline constexpr int32_t kScramBootstrapIterations = 4096;

// The context of `spec`, or the reason it cannot serve (a missing key store,
// an unsupported mechanism, a malformed JAAS entry...). Without a config (unit
// tests) only PLAINTEXT listeners can be made.
std::variant<std::shared_ptr<net::ListenerContext>, std::string> make_listener_context(
    const config::BrokerConfig* cfg, const ListenerSpec& spec);

// The SASL mechanisms and users of listener `l` (as its connections get them);
// also what the web console checks an HTTP login against (console_auth.cc).
std::variant<std::shared_ptr<const net::SaslConfig>, std::string> sasl_config(const config::BrokerConfig& cfg,
                                                                               const std::string& l);

}  // namespace samsa::server
