// Signed OAUTHBEARER tokens, as Kafka's OAuthBearerValidatorCallbackHandler
// checks them (KIP-768): a JWS in compact form whose signature verifies with a
// key of the identity provider's JSON Web Key Set (RFC 7517, RFC 7518).
//
// - Keys: RSA ("kty":"RSA", n and e) for RS256/RS384/RS512, and EC
//   ("kty":"EC", P-256/P-384/P-521, x and y) for ES256/ES384/ES512; a key's
//   "alg", when given, must be the token's; "use", when given, must be "sig".
//   The token's "kid" picks the key; without one, every key of the right type
//   is tried. "alg":"none" and HMAC algorithms are refused.
// - Claims: `exp` required and ahead, `iat` and `nbf` (when present) not
//   ahead, all within sasl.oauthbearer.clock.skew.seconds; the principal is
//   the string claim sasl.oauthbearer.sub.claim.name; when set, `iss` must be
//   sasl.oauthbearer.expected.issuer and `aud` (a string or a list) must hold
//   one of sasl.oauthbearer.expected.audience.
// - The key set comes from sasl.oauthbearer.jwks.endpoint.url: a file: URL
//   (read again at every refresh) or an http:/https: one (GET; HTTPS verifies
//   the server against the system's trust store). It is refreshed every
//   sasl.oauthbearer.jwks.endpoint.refresh.ms, and at once (at most once a
//   second) when a token names a key id the set lacks, so a provider's
//   key rotation is picked up; a failed fetch keeps the previous set and is
//   retried with backoff between sasl.oauthbearer.jwks.endpoint.retry.backoff.ms
//   and .retry.backoff.max.ms.
//
// Ownership: a JwkSet is immutable and shared. A JwksSource owns one
// background thread that fetches; keys() and request_refresh() may be called
// from any thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "net/oauthbearer.h"

namespace samsa::net {

struct JwtValidation {
  std::string sub_claim = "sub";          // sasl.oauthbearer.sub.claim.name
  std::string scope_claim = "scope";      // sasl.oauthbearer.scope.claim.name
  std::vector<std::string> expected_audience;  // sasl.oauthbearer.expected.audience (empty: not checked)
  std::string expected_issuer;            // sasl.oauthbearer.expected.issuer (empty: not checked)
  int64_t clock_skew_ms = 30000;          // sasl.oauthbearer.clock.skew.seconds x 1000
};

class JwkSet {
 public:
  struct Key;
  // The keys of a JWKS document ({"keys":[...]}); keys of other types or
  // curves are skipped. An error when the document is not a JWKS at all.
  static std::variant<std::shared_ptr<const JwkSet>, std::string> parse(std::string_view json);
  ~JwkSet();
  size_t size() const { return keys_.size(); }
  bool has_kid(std::string_view kid) const;
  const std::vector<std::shared_ptr<const Key>>& keys() const { return keys_; }

 private:
  std::vector<std::shared_ptr<const Key>> keys_;
};

// Checks a compact JWS against `keys` at wall-clock `now_ms`. `unknown_kid`
// is set when the token names a key id the set does not have (a reason to
// refresh the set).
OAuthBearerToken validate_signed_token(std::string_view token, const JwkSet& keys, const JwtValidation& v,
                                       int64_t now_ms, bool* unknown_kid = nullptr);

class JwksSource {
 public:
  struct Options {
    std::string url;
    int64_t refresh_ms = 3600000;          // sasl.oauthbearer.jwks.endpoint.refresh.ms
    int64_t retry_backoff_ms = 100;        // ...retry.backoff.ms
    int64_t retry_backoff_max_ms = 10000;  // ...retry.backoff.max.ms
  };
  // Fetches the set once before returning (an error when that fails: a broker
  // must not start refusing every login), then keeps it fresh.
  static std::variant<std::shared_ptr<JwksSource>, std::string> open(Options o);
  ~JwksSource();
  std::shared_ptr<const JwkSet> keys() const;
  // Asks the thread to fetch now (a token named an unknown key id).
  void request_refresh();
  const std::string& url() const { return o_.url; }

 private:
  explicit JwksSource(Options o);
  void run();
  Options o_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const JwkSet> keys_;
  bool refresh_asked_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace samsa::net
