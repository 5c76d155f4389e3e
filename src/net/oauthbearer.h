// SASL/OAUTHBEARER on the server side (RFC 7628, KIP-255) with Kafka's
// default validation: unsecured JWS tokens (`{"alg":"none"}`, an empty
// signature), as Kafka's OAuthBearerUnsecuredValidatorCallbackHandler checks
// them when no `sasl.server.callback.handler.class` is set — the token's
// principal claim (`sub`) is the principal, `exp` must lie ahead and `iat`
// (when present) not ahead, both within the allowed clock skew, and every
// required scope must be in the scope claim. Options are the JAAS options of
// Kafka's OAuthBearerLoginModule: unsecuredValidatorPrincipalClaimName,
// unsecuredValidatorScopeClaimName, unsecuredValidatorRequiredScope,
// unsecuredValidatorAllowableClockSkewMs.
//
// A refused token is answered as RFC 7628 says: a JSON error challenge
// (`{"status":"invalid_token"}`), which the client acknowledges with a lone
// 0x01, and then the exchange fails with Kafka's message.
//
// Ownership: OAuthBearerOptions are built once per listener and shared
// read-only; a server belongs to one connection's exchange.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/sasl.h"

namespace samsa::net {

struct OAuthBearerOptions {
  std::string principal_claim = "sub";     // unsecuredValidatorPrincipalClaimName
  std::string scope_claim = "scope";       // unsecuredValidatorScopeClaimName
  std::vector<std::string> required_scope;  // unsecuredValidatorRequiredScope (space-separated in JAAS)
  int64_t clock_skew_ms = 0;                // unsecuredValidatorAllowableClockSkewMs
};

// What validate_unsecured_token() found: the principal and the token's
// expiry (ms since the epoch), or why the token is refused.
struct OAuthBearerToken {
  bool ok = false;
  std::string principal;
  int64_t expires_at_ms = 0;
  std::string error;
};

// Checks one compact-serialized unsecured JWS at wall-clock time `now_ms`.
OAuthBearerToken validate_unsecured_token(std::string_view token, const OAuthBearerOptions& options, int64_t now_ms);

class OAuthBearerServer : public SaslServer {
 public:
  // `now_ms`: wall-clock milliseconds since the epoch (tests pass a fixed clock).
  OAuthBearerServer(std::shared_ptr<const OAuthBearerOptions> options, std::function<int64_t()> now_ms = {});
  SaslStep step(std::string_view client_message) override;
  std::string_view mechanism() const override { return "OAUTHBEARER"; }

 private:
  std::shared_ptr<const OAuthBearerOptions> options_;
  std::function<int64_t()> now_ms_;
  enum class State { kInitial, kErrorSent, kDone } state_ = State::kInitial;
};

}  // namespace samsa::net
