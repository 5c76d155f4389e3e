#include "cli/client_security.h"

#include <algorithm>
#include <cctype>
#include <variant>

#include "base/jaas.h"
#include "cli/oauth_login.h"

namespace samsa::cli {

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Removes `key` and returns its value ("" when absent).
std::string take(Properties& p, const std::string& key) {
  auto it = p.find(key);
  if (it == p.end()) return {};
  std::string v = it->second;
  p.erase(it);
  return v;
}

std::string option(const JaasConfig& jaas, const std::string& name) {
  auto it = jaas.options.find(name);
  return it == jaas.options.end() ? std::string() : it->second;
}

// OAuthBearerLoginModule: the client credentials grant when a token endpoint is set (Kafka's
// OAuthBearerLoginCallbackHandler), else an unsecured token from the unsecuredLogin* options.
bool translate_oauthbearer(Properties& p, const JaasConfig& jaas, std::string& err) {
  const std::string handler = take(p, "sasl.login.callback.handler.class");
  const std::string endpoint = take(p, "sasl.oauthbearer.token.endpoint.url");
  for (const char* java_only : {"sasl.oauthbearer.scope.claim.name", "sasl.oauthbearer.sub.claim.name",
                                "sasl.login.connect.timeout.ms", "sasl.login.read.timeout.ms",
                                "sasl.login.retry.backoff.ms", "sasl.login.retry.backoff.max.ms"})
    p.erase(java_only);
  if (!endpoint.empty()) {
    const std::string id = option(jaas, "clientId"), secret = option(jaas, "clientSecret");
    if (id.empty() || secret.empty()) {
      err = "sasl.jaas.config: OAuthBearerLoginModule with a token endpoint needs clientId=\"...\" and "
            "clientSecret=\"...\"";
      return false;
    }
    p[kOAuthEndpointKey] = endpoint;
    p[kOAuthClientIdKey] = id;
    p[kOAuthClientSecretKey] = secret;
    if (auto scope = option(jaas, "scope"); !scope.empty()) p[kOAuthScopeKey] = scope;
    return true;
  }
  if (!handler.empty()) {
    err = "sasl.login.callback.handler.class " + handler + " needs sasl.oauthbearer.token.endpoint.url";
    return false;
  }
  // Unsecured: the principal claim's string value, the scope list (its first character is the
  // separator, as Kafka's unsecuredLoginListClaim_ options), the lifetime.
  std::string claim = option(jaas, "unsecuredLoginPrincipalClaimName");
  if (claim.empty()) claim = "sub";
  const std::string principal = option(jaas, "unsecuredLoginStringClaim_" + claim);
  if (principal.empty()) {
    err = "sasl.jaas.config: OAuthBearerLoginModule needs unsecuredLoginStringClaim_" + claim +
          "=\"<principal>\" (unsecured tokens) or sasl.oauthbearer.token.endpoint.url with clientId and "
          "clientSecret";
    return false;
  }
  std::string config = "principal=" + principal;
  std::string scope_claim = option(jaas, "unsecuredLoginScopeClaimName");
  if (scope_claim.empty()) scope_claim = "scope";
  if (auto list = option(jaas, "unsecuredLoginListClaim_" + scope_claim); list.size() > 1) {
    std::string scopes;
    const char sep = list[0];
    for (size_t i = 1; i < list.size(); ++i) scopes.push_back(list[i] == sep ? ',' : list[i]);
    config += " scope=" + scopes;
  }
  if (auto life = option(jaas, "unsecuredLoginLifetimeSeconds"); !life.empty()) config += " lifeSeconds=" + life;
  p["enable.sasl.oauthbearer.unsecure.jwt"] = "true";
  p["sasl.oauthbearer.config"] = config;
  return true;
}

bool translate_jaas(Properties& p, std::string& err) {
  std::string text = take(p, "sasl.jaas.config");
  if (text.empty()) return true;
  auto parsed = parse_jaas_config(text);
  if (auto* e = std::get_if<std::string>(&parsed)) {
    err = "invalid sasl.jaas.config: " + *e;
    return false;
  }
  auto& jaas = std::get<JaasConfig>(parsed);
  if (jaas.login_module.find("OAuthBearerLoginModule") != std::string::npos) return translate_oauthbearer(p, jaas, err);
  if (jaas.login_module.find("Krb5LoginModule") != std::string::npos) {
    err = "sasl.jaas.config: " + jaas.login_module + " is not supported by the samsa tools (PLAIN, SCRAM and "
          "OAUTHBEARER are)";
    return false;
  }
  auto user = jaas.options.find("username");
  auto pass = jaas.options.find("password");
  if (user == jaas.options.end() || pass == jaas.options.end()) {
    err = "sasl.jaas.config needs username=\"...\" and password=\"...\"";
    return false;
  }
  p.emplace("sasl.username", user->second);
  p.emplace("sasl.password", pass->second);
  return true;
}

bool translate_truststore(Properties& p, std::string& err) {
  std::string type = upper(take(p, "ssl.truststore.type"));
  std::string location = take(p, "ssl.truststore.location");
  take(p, "ssl.truststore.password");  // PEM trust stores have none; librdkafka has no such key
  std::string inline_pem = take(p, "ssl.truststore.certificates");
  if (!location.empty()) {
    if (!type.empty() && type != "PEM") {
      err = "ssl.truststore.type " + type + " is not supported by the samsa tools: convert it to PEM "
            "(openssl pkcs12 -in truststore.p12 -nokeys -out ca.pem) and set ssl.truststore.type=PEM";
      return false;
    }
    p.emplace("ssl.ca.location", location);
  }
  if (!inline_pem.empty()) p.emplace("ssl.ca.pem", inline_pem);
  return true;
}

bool translate_keystore(Properties& p, std::string& err) {
  std::string type = upper(take(p, "ssl.keystore.type"));
  std::string chain = take(p, "ssl.keystore.certificate.chain");
  std::string key = take(p, "ssl.keystore.key");
  if (!chain.empty()) p.emplace("ssl.certificate.pem", chain);
  if (!key.empty()) p.emplace("ssl.key.pem", key);
  auto it = p.find("ssl.keystore.location");
  if (it == p.end()) return true;
  if (type == "PEM") {
    std::string location = take(p, "ssl.keystore.location");
    take(p, "ssl.keystore.password");
    p.emplace("ssl.certificate.location", location);
    p.emplace("ssl.key.location", location);
    return true;
  }
  if (!type.empty() && type != "PKCS12") {
    err = "ssl.keystore.type " + type + " is not supported by the samsa tools (use PEM or PKCS12)";
    return false;
  }
  return true;  // PKCS12: librdkafka's own ssl.keystore.location / ssl.keystore.password
}

}  // namespace

bool translate_java_security(Properties& p, std::string& err) {
  if (auto m = take(p, "sasl.mechanism"); !m.empty()) p["sasl.mechanisms"] = m;
  if (auto it = p.find("security.protocol"); it != p.end()) it->second = upper(it->second);
  for (const char* java_only : {"ssl.protocol", "ssl.enabled.protocols", "ssl.keymanager.algorithm",
                                "ssl.trustmanager.algorithm", "ssl.secure.random.implementation"})
    p.erase(java_only);
  if (auto it = p.find("ssl.endpoint.identification.algorithm"); it != p.end() && it->second.empty())
    it->second = "none";
  return translate_jaas(p, err) && translate_truststore(p, err) && translate_keystore(p, err);
}

}  // namespace samsa::cli
