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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_value.h"
#include "net/sasl.h"

namespace samsa::net {

class JwksSource;
struct JwtValidation;

struct OAuthBearerOptions {
  std::string principal_claim = "sub";     // unsecuredValidatorPrincipalClaimName
  std::string scope_claim = "scope";       // unsecuredValidatorScopeClaimName
  std::vector<std::string> required_scope;  // unsecuredValidatorRequiredScope (space-separated in JAAS)
  int64_t clock_skew_ms = 0;                // unsecuredValidatorAllowableClockSkewMs
  // Signed tokens instead (Kafka's OAuthBearerValidatorCallbackHandler, net/jwt_validator.h):
  // the key set and the claim rules; null: unsecured tokens as above.
  std::shared_ptr<JwksSource> jwks;
  std::shared_ptr<const JwtValidation> jwt;
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

// Pieces of a compact JWS that both validators read.
namespace jws {
// The three '.'-separated parts; false unless there are exactly three.
bool split(std::string_view token, std::string_view& header, std::string_view& payload, std::string_view& signature);
std::optional<std::string> base64url_decode(std::string_view in);
std::string base64url_encode(std::string_view bytes);  // without padding
// A base64url part holding a JSON object; `what` names it in `err`.
bool json_part(std::string_view base64url, JsonValue& out, std::string& err, const char* what);
// The principal (string claim `principal_claim`), `exp` ahead, `iat` and `nbf` not ahead, within
// `skew_ms`: fills out.principal and out.expires_at_ms, or out.error.
bool check_time_and_principal(const JsonValue& payload, const std::string& principal_claim, int64_t skew_ms,
                              int64_t now_ms, OAuthBearerToken& out);
}  // namespace jws

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
