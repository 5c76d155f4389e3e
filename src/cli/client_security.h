// The Java client's security keys of a client.properties (--command-config,
// --producer.config, --consumer.config) translated into librdkafka's, so a
// Kafka user's existing file works unchanged:
//   sasl.mechanism            -> sasl.mechanisms
//   sasl.jaas.config          -> sasl.username / sasl.password (PlainLoginModule, ScramLoginModule);
//                                OAuthBearerLoginModule: enable.sasl.oauthbearer.unsecure.jwt +
//                                sasl.oauthbearer.config (unsecuredLogin* options), or, with
//                                sasl.oauthbearer.token.endpoint.url, the client credentials
//                                grant (cli/oauth_login.h)
//   ssl.truststore.location   -> ssl.ca.location (PEM; a PKCS12 trust store is refused with a hint)
//   ssl.truststore.certificates -> ssl.ca.pem
//   ssl.keystore.location     -> ssl.certificate.location + ssl.key.location (PEM) or
//                                ssl.keystore.location (PKCS12, librdkafka reads it itself)
//   ssl.keystore.certificate.chain / ssl.keystore.key -> ssl.certificate.pem / ssl.key.pem
//   ssl.endpoint.identification.algorithm= (empty) -> none
// Java-only keys with no librdkafka meaning (ssl.truststore.type, ssl.keystore.type,
// ssl.protocol, ssl.enabled.protocols, ssl.truststore.password) are dropped.
//
// Ownership: pure functions on values; the tool's thread.
#pragma once
#include <map>
#include <string>

namespace samsa::cli {

using Properties = std::map<std::string, std::string>;

// Rewrites `props` in place; false and err when a key cannot be honoured.
bool translate_java_security(Properties& props, std::string& err);

}  // namespace samsa::cli
