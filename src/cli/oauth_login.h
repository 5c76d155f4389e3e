// OAUTHBEARER for the tools, from the Java client's keys (translate_java_security
// turns OAuthBearerLoginModule into these):
// - unsecured tokens (OAuthBearerLoginModule's unsecuredLogin* options):
//   librdkafka makes them itself (enable.sasl.oauthbearer.unsecure.jwt,
//   sasl.oauthbearer.config "principal=... scope=... lifeSeconds=..."), and
//   Samsa's own protocol client makes the same with unsecured_token();
// - the OAuth client credentials grant (Kafka's OAuthBearerLoginCallbackHandler,
//   KIP-768: sasl.oauthbearer.token.endpoint.url with clientId, clientSecret and
//   scope in the JAAS entry): the token is fetched from the endpoint
//   (fetch_token) and handed to librdkafka through its token refresh callback,
//   run on librdkafka's background thread, so a long-running tool refreshes it.
//
// Ownership: the tool's process; one login per process (the tools make every
// client from one properties file).
#pragma once
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>

#include "cli/client_security.h"

namespace samsa::cli {

// The internal keys translate_java_security leaves for a client credentials login.
inline constexpr const char* kOAuthEndpointKey = "samsa.oauthbearer.token.endpoint.url";
inline constexpr const char* kOAuthClientIdKey = "samsa.oauthbearer.client.id";
inline constexpr const char* kOAuthClientSecretKey = "samsa.oauthbearer.client.secret";
inline constexpr const char* kOAuthScopeKey = "samsa.oauthbearer.scope";

struct OAuthToken {
  std::string value;         // the compact JWS
  std::string principal;     // its sub claim
  int64_t expires_at_ms = 0;  // wall clock
};

// A token from the endpoint named in `props` (the kOAuth* keys); false and err on failure.
bool fetch_token(const Properties& props, OAuthToken& out, std::string& err);

// An unsecured token (alg none) from librdkafka's sasl.oauthbearer.config text.
OAuthToken unsecured_token(const std::string& oauthbearer_config);

// Takes the kOAuth* keys out of `props` and, when they were there, sets a
// token refresh callback on `conf` that fetches from the endpoint (and fetches
// once now, so a wrong endpoint or secret fails at once). When `props` had
// them, call enable_oauth_background(rk) once the handle exists.
bool install_oauth_login(Properties& props, rd_kafka_conf_t* conf, std::string& err);
void enable_oauth_background(rd_kafka_t* rk);

}  // namespace samsa::cli
