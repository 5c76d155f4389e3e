// What every connection of one listener shares: its name and security
// protocol, the address clients are told to use, the TLS context and the SASL
// configuration. Built once at start-up by the server, then read-only but for
// the TLS context, which a dynamic config change or a changed key store file
// replaces (certificate reload, server/listener_security.h).
//
// Ownership: shared by the listener's acceptors on every shard and by their
// connections. A connection takes the TLS context current when it starts and
// keeps it (a reload affects new connections only, as in Kafka).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "net/sasl.h"

namespace asio::ssl {
class context;
}

namespace samsa::net {

class PrincipalMapper;

// The listener's current TLS context; swapped by one thread, read by every shard.
class TlsContextSlot {
 public:
  std::shared_ptr<asio::ssl::context> get() const {
    std::lock_guard lock(mu_);
    return ctx_;
  }
  void set(std::shared_ptr<asio::ssl::context> ctx) {
    std::lock_guard lock(mu_);
    ctx_ = std::move(ctx);
  }
  explicit operator bool() const { return get() != nullptr; }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<asio::ssl::context> ctx_;
};

struct ListenerContext {
  std::string name = "PLAINTEXT";      // listener name, upper case
  std::string protocol = "PLAINTEXT";  // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
  // advertised.listeners' entry for this listener (the bound address if none).
  std::string advertised_host;
  int32_t advertised_port = 0;
  TlsContextSlot tls;  // empty: no TLS
  // ssl.principal.mapping.rules for TLS client certificates; null: DEFAULT (the subject DN).
  std::shared_ptr<const PrincipalMapper> principal_mapper;
  std::shared_ptr<const SaslConfig> sasl;   // null: no SASL (every connection is authenticated)
  // sasl.server.max.receive.size: the largest frame read before authentication.
  int32_t max_unauthenticated_bytes = 524288;
};

}  // namespace samsa::net
