// What every connection of one listener shares: its name and security
// protocol, the address clients are told to use, the TLS context and the SASL
// configuration. Built once at start-up by the server, then read-only.
//
// Ownership: immutable after construction; shared by the listener's acceptors
// on every shard and by their connections.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "net/sasl.h"

namespace asio::ssl {
class context;
}

namespace samsa::net {

class PrincipalMapper;

struct ListenerContext {
  std::string name = "PLAINTEXT";      // listener name, upper case
  std::string protocol = "PLAINTEXT";  // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
  // advertised.listeners' entry for this listener (the bound address if none).
  std::string advertised_host;
  int32_t advertised_port = 0;
  std::shared_ptr<asio::ssl::context> tls;  // null: no TLS
  // ssl.principal.mapping.rules for TLS client certificates; null: DEFAULT (the subject DN).
  std::shared_ptr<const PrincipalMapper> principal_mapper;
  std::shared_ptr<const SaslConfig> sasl;   // null: no SASL (every connection is authenticated)
  // sasl.server.max.receive.size: the largest frame read before authentication.
  int32_t max_unauthenticated_bytes = 524288;
};

}  // namespace samsa::net
