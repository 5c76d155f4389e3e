#include "cli/client_security.h"

#include <algorithm>
#include <cctype>
#include <variant>

#include "base/jaas.h"

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

bool translate_jaas(Properties& p, std::string& err) {
  std::string text = take(p, "sasl.jaas.config");
  if (text.empty()) return true;
  auto parsed = parse_jaas_config(text);
  if (auto* e = std::get_if<std::string>(&parsed)) {
    err = "invalid sasl.jaas.config: " + *e;
    return false;
  }
  auto& jaas = std::get<JaasConfig>(parsed);
  if (jaas.login_module.find("OAuthBearerLoginModule") != std::string::npos ||
      jaas.login_module.find("Krb5LoginModule") != std::string::npos) {
    err = "sasl.jaas.config: " + jaas.login_module + " is not supported by the samsa tools (PLAIN and SCRAM are)";
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
