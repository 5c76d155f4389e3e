// TLS for SSL and SASL_SSL listeners (OpenSSL through asio::ssl): the server
// context built from Kafka's ssl.* settings, and the mTLS principal.
//
// Fetch responses over TLS are copied through a buffer (pread + SSL_write):
// sendfile() over TLS needs kernel TLS, and while Debian's OpenSSL 3.0 is built
// with it, the kernels Samsa is tested on offer no `tls` ULP
// (/proc/sys/net/ipv4/tcp_available_ulp), and asio's ssl::stream gives
// OpenSSL memory buffers rather than the socket. Plaintext listeners keep zero
// copy; `bash bench/tls.sh` measures what TLS costs.
//
// Ownership: a server context is built once per key store (at start-up, and
// again when a listener's certificate is reloaded) and shared by the shards
// (OpenSSL contexts are thread-safe once configured); each connection makes
// its own SSL object from it and keeps the context it started with.
#pragma once
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace samsa::net {

// Kafka's ssl.* keys as one listener sees them (listener.name.<l>.ssl.* first).
struct TlsSettings {
  std::string keystore_type = "PEM";       // PEM or PKCS12 (JKS is refused: Java only)
  std::string keystore_location;           // PEM: certificate chain and private key in one file
  std::string keystore_password;           // PKCS12
  std::string key_password;                // ssl.key.password: an encrypted PEM key
  std::string keystore_certificate_chain;  // inline PEM instead of a file
  std::string keystore_key;                // inline PEM instead of a file
  std::string truststore_type = "PEM";     // PEM or PKCS12
  std::string truststore_location;
  std::string truststore_password;
  std::string truststore_certificates;     // inline PEM
  std::string client_auth = "none";        // none, requested, required
  std::vector<std::string> enabled_protocols{"TLSv1.2", "TLSv1.3"};
  std::vector<std::string> cipher_suites;  // IANA (Java) or OpenSSL names; empty: OpenSSL's defaults

  bool operator==(const TlsSettings&) const = default;
};

using TlsContextPtr = std::shared_ptr<asio::ssl::context>;

// A server context, or the reason it cannot be built (file missing, key not
// matching the certificate, unknown protocol or cipher suite, ...).
std::variant<TlsContextPtr, std::string> make_server_tls(const TlsSettings& s);

// A client context for broker-to-broker connections from the same settings:
// the peer's certificate must chain to the trust store (the system's
// certificates when none is set); the key store, when set, is presented as
// the client certificate (mTLS). Host names are checked per connection
// (net/client_security.h).
std::variant<TlsContextPtr, std::string> make_client_tls(const TlsSettings& s);

// The principal of a certificate as Kafka's DefaultKafkaPrincipalBuilder names it
// (with ssl.principal.mapping.rules=DEFAULT): "User:" + the subject in RFC 2253
// form, most specific first, e.g. "User:CN=client,O=Samsa,C=US". A TLS peer
// without a certificate stays "User:ANONYMOUS".
std::string certificate_principal(X509* cert);
// The peer certificate's subject in RFC 2253 form; nullopt without a certificate.
std::optional<std::string> tls_peer_subject(SSL* ssl);

}  // namespace samsa::net
