// SASL on the server side: the mechanism interface, PLAIN, the per-listener
// SASL configuration and the per-connection session that carries the
// authenticated principal (for the authorizer to come).
//
// Ownership: a SaslConfig is built once at start-up and shared read-only by
// every shard; a Session (and the SaslServer inside it) belongs to one
// connection and is touched only on that connection's shard.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace samsa::net {

// The outcome of one client token.
struct SaslStep {
  enum class Kind { kContinue, kDone, kFailed };
  Kind kind = Kind::kFailed;
  std::string response;   // the server's token (kContinue, kDone)
  std::string error;      // Kafka's message for SASL_AUTHENTICATION_FAILED (kFailed)
  std::string user;       // the authenticated name (kDone)
  // kDone: when the credential itself expires (an OAUTHBEARER token's exp, wall-clock ms since the
  // epoch); 0: never. KIP-368 bounds the session by it when re-authentication is on.
  int64_t credential_expires_ms = 0;
};

class SaslServer {
 public:
  virtual ~SaslServer() = default;
  virtual SaslStep step(std::string_view client_token) = 0;
  virtual std::string_view mechanism() const = 0;
};

// Users and passwords of Kafka's PlainLoginModule (user_<name>="<password>").
using PlainUsers = std::map<std::string, std::string, std::less<>>;

// RFC 4616: "[authzid] NUL authcid NUL passwd" in one token.
class PlainServer : public SaslServer {
 public:
  explicit PlainServer(std::shared_ptr<const PlainUsers> users) : users_(std::move(users)) {}
  SaslStep step(std::string_view token) override;
  std::string_view mechanism() const override { return "PLAIN"; }

 private:
  std::shared_ptr<const PlainUsers> users_;
  bool done_ = false;
};

class ScramCredentialStore;
struct OAuthBearerOptions;

// What one SASL listener accepts.
struct SaslConfig {
  std::vector<std::string> mechanisms;  // sasl.enabled.mechanisms, in the configured order
  std::shared_ptr<const PlainUsers> plain_users;
  std::shared_ptr<const ScramCredentialStore> scram;
  std::shared_ptr<const OAuthBearerOptions> oauthbearer;  // OAUTHBEARER's unsecured-token validation
  int64_t max_reauth_ms = 0;            // connections.max.reauth.ms; 0: sessions never expire

  bool enabled(std::string_view mechanism) const;
  // A fresh server for an enabled mechanism; null for anything else.
  std::unique_ptr<SaslServer> make_server(std::string_view mechanism) const;
};

// The security state of one connection.
struct Session {
  // KafkaPrincipal text: "User:ANONYMOUS" until TLS or SASL says otherwise.
  std::string principal = "User:ANONYMOUS";
  // False on a SASL listener until SaslAuthenticate succeeds: only ApiVersions,
  // SaslHandshake and SaslAuthenticate are served meanwhile.
  bool authenticated = true;
  std::unique_ptr<SaslServer> sasl;  // the exchange in progress, after SaslHandshake
  bool raw_tokens = false;           // SaslHandshake v0: the tokens follow as bare frames
  int64_t expires_at_ms = 0;         // KIP-368 session end (steady clock ms); 0: never
};

// Constant-time comparison of secrets.
bool secure_equals(std::string_view a, std::string_view b);

}  // namespace samsa::net
