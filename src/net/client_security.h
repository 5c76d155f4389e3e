// The client side of a listener's security, for broker-to-broker and
// controller connections (replica fetchers, transaction markers, the quorum's
// Raft RPCs and the controller channel): TLS with the listener's trust and key
// stores, then SASL (SaslHandshake v1 + SaslAuthenticate v2, KIP-152) with
// PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, before the stream is handed to the
// KafkaClient above (net/transport.h's TcpTransport runs this after a connect).
//
// Host names: with ssl.endpoint.identification.algorithm=https (Kafka's
// default) the peer certificate must name the host connected to, as a DNS
// subjectAltName (or CN when there is none) or, for an IP address, an IP
// subjectAltName; an empty value checks only that the certificate chains to
// the trust store. SNI is sent for host names (not for IP addresses).
//
// Failures (TLS handshake refused, SASL mechanism not enabled, wrong
// credentials) come back as an error code of client_security_category() and a
// message; the transport logs the message and the client retries after its
// reconnect backoff, as Kafka's NetworkClient does after an authentication error.
//
// Ownership: a ClientSecurity is built once at start-up and shared read-only
// by every shard's transports; secure_connect runs on the connection's executor.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "net/tls.h"
#include "net/transport.h"

namespace samsa::net {

struct ClientSecurity {
  std::string listener;      // the listener name (for messages)
  std::string protocol;      // SSL, SASL_PLAINTEXT or SASL_SSL
  TlsContextPtr tls;         // set for SSL and SASL_SSL
  bool verify_hostname = true;
  std::string sasl_mechanism;  // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (SASL_* only)
  std::string username;
  std::string password;
  std::string client_id = "samsa-broker";

  bool uses_tls() const { return protocol == "SSL" || protocol == "SASL_SSL"; }
  bool uses_sasl() const { return protocol == "SASL_PLAINTEXT" || protocol == "SASL_SSL"; }
  // "SASL_SSL/SCRAM-SHA-512 as broker on listener INTERNAL"
  std::string describe() const;
};

enum class ClientSecurityError {
  kTlsHandshakeFailed = 1,
  kMechanismNotEnabled,
  kAuthenticationFailed,
  kBadResponse,
  kTimedOut,
};
const std::error_category& client_security_category();
std::error_code make_error_code(ClientSecurityError e);

struct SecureConnectResult {
  asio::error_code error;
  std::string message;  // why, when error is set
  std::unique_ptr<Stream> stream;
};

// TLS and/or SASL over a connected socket to `host`, all within `timeout`.
asio::awaitable<SecureConnectResult> secure_connect(asio::ip::tcp::socket socket, const ClientSecurity& security,
                                                    const std::string& host, std::chrono::milliseconds timeout);

// The SASL exchange over an already connected (and TLS-wrapped) stream; "" on success.
asio::awaitable<std::pair<asio::error_code, std::string>> sasl_login(Stream& stream, const ClientSecurity& security);

}  // namespace samsa::net

template <>
struct std::is_error_code_enum<samsa::net::ClientSecurityError> : std::true_type {};
