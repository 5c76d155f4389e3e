#include "server/listener_security.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "base/jaas.h"
#include "net/jwt_validator.h"
#include "net/oauthbearer.h"
#include "net/principal_mapping.h"
#include "net/scram.h"
#include "net/tls.h"

namespace samsa::server {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> list_of(const std::optional<std::string>& v) {
  std::vector<std::string> out;
  if (!v) return out;
  size_t start = 0;
  while (start <= v->size()) {
    size_t comma = v->find(',', start);
    std::string item = v->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::variant<net::TlsSettings, std::string> tls_settings(const config::BrokerConfig& cfg, const std::string& l) {
  net::TlsSettings t;
  auto get = [&](const char* key) { return cfg.listener_value(l, key).value_or(""); };
  t.keystore_certificate_chain = get("ssl.keystore.certificate.chain");
  t.keystore_key = get("ssl.keystore.key");
  t.keystore_location = get("ssl.keystore.location");
  t.keystore_password = get("ssl.keystore.password");
  t.key_password = get("ssl.key.password");
  t.keystore_type = get("ssl.keystore.type");
  t.truststore_location = get("ssl.truststore.location");
  t.truststore_password = get("ssl.truststore.password");
  t.truststore_certificates = get("ssl.truststore.certificates");
  t.truststore_type = get("ssl.truststore.type");
  // JKS (Kafka's default type) is a Java format: make_server_tls refuses a JKS file, naming PEM and PKCS12.
  t.client_auth = lower(get("ssl.client.auth"));
  if (t.client_auth.empty()) t.client_auth = "none";
  t.enabled_protocols = list_of(cfg.listener_value(l, "ssl.enabled.protocols"));
  t.cipher_suites = list_of(cfg.listener_value(l, "ssl.cipher.suites"));
  return t;
}

TlsSource tls_source(const net::TlsSettings& settings) {
  TlsSource out;
  out.settings = settings;
  for (const std::string* path : {&settings.keystore_location, &settings.truststore_location}) {
    if (path->empty()) continue;
    struct stat st {};
    int64_t mtime = -1;
    if (::stat(path->c_str(), &st) == 0)
      mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    out.file_mtimes.emplace_back(*path, mtime);
  }
  return out;
}

TlsReload reload_listener_tls(ReloadableTls& listener, const config::BrokerConfig& cfg) {
  TlsReload out;
  auto settings = tls_settings(cfg, listener.listener);
  if (auto* err = std::get_if<std::string>(&settings)) {
    out.error = *err;
    return out;
  }
  auto source = tls_source(std::get<net::TlsSettings>(settings));
  if (source == listener.source) return out;
  listener.source = source;  // a broken new file is reported once, not at every image
  auto made = net::make_server_tls(source.settings);
  if (auto* err = std::get_if<std::string>(&made)) {
    out.error = *err;
    return out;
  }
  listener.context->tls.set(std::get<net::TlsContextPtr>(std::move(made)));
  out.reloaded = true;
  return out;
}

std::optional<std::string> validate_tls_change(const config::BrokerConfig& before, const config::BrokerConfig& after,
                                               const std::vector<ListenerSpec>& listeners) {
  for (const auto& spec : listeners) {
    if (spec.security_protocol != "SSL" && spec.security_protocol != "SASL_SSL") continue;
    auto was = tls_settings(before, spec.name);
    auto now = tls_settings(after, spec.name);
    if (auto* err = std::get_if<std::string>(&now)) return "listener " + spec.name + ": " + *err;
    if (std::holds_alternative<net::TlsSettings>(was) &&
        std::get<net::TlsSettings>(was) == std::get<net::TlsSettings>(now))
      continue;
    auto made = net::make_server_tls(std::get<net::TlsSettings>(now));
    if (auto* err = std::get_if<std::string>(&made))
      return "Validation of dynamic config update of SSLFactory failed for listener " + spec.name + ": " + *err;
  }
  return std::nullopt;
}

std::variant<std::optional<JaasConfig>, std::string> jaas_for(const config::BrokerConfig& cfg, const std::string& l,
                                                              const std::string& mechanism) {
  auto text = cfg.value("listener.name." + lower(l) + "." + lower(mechanism) + ".sasl.jaas.config");
  const std::string key = text ? "listener.name." + lower(l) + "." + lower(mechanism) + ".sasl.jaas.config"
                               : std::string("sasl.jaas.config");
  if (!text) text = cfg.value("sasl.jaas.config");
  if (!text) return std::optional<JaasConfig>{};
  auto parsed = parse_jaas_config(*text);
  if (auto* err = std::get_if<std::string>(&parsed)) return "Invalid " + key + ": " + *err;
  return std::optional<JaasConfig>(std::get<JaasConfig>(std::move(parsed)));
}

namespace {

// Kafka's validator of signed tokens, by its names before and since Kafka 3.4.
bool is_kafka_jwt_validator(const std::string& handler) {
  return handler == "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler" ||
         handler == "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler";
}

// OAuthBearerValidatorCallbackHandler's settings: sasl.oauthbearer.* read as Kafka reads a SASL
// callback handler's configs (listener.name.<l>.oauthbearer.<key>, listener.name.<l>.<key>, <key>).
std::variant<std::shared_ptr<const net::OAuthBearerOptions>, std::string> jwt_validator_options(
    const config::BrokerConfig& cfg, const std::string& l) {
  auto get = [&](const std::string& key) -> std::optional<std::string> {
    if (auto v = cfg.value("listener.name." + lower(l) + ".oauthbearer." + key)) return v;
    return cfg.listener_value(l, key);
  };
  auto number = [&](const std::string& key, int64_t fallback) -> int64_t {
    auto v = get(key);
    if (!v || v->empty() || v->size() > 15 || v->find_first_not_of("0123456789") != std::string::npos) return fallback;
    return std::stoll(*v);
  };
  auto url = get("sasl.oauthbearer.jwks.endpoint.url");
  if (!url || url->empty())
    return std::string("OAuthBearerValidatorCallbackHandler needs sasl.oauthbearer.jwks.endpoint.url");
  net::JwksSource::Options so;
  so.url = *url;
  so.refresh_ms = std::max<int64_t>(number("sasl.oauthbearer.jwks.endpoint.refresh.ms", 3600000), 1000);
  so.retry_backoff_ms = std::max<int64_t>(number("sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", 100), 1);
  so.retry_backoff_max_ms =
      std::max<int64_t>(number("sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", 10000), so.retry_backoff_ms);
  auto source = net::JwksSource::open(so);
  if (auto* err = std::get_if<std::string>(&source)) return *err;
  auto v = std::make_shared<net::JwtValidation>();
  if (auto s = get("sasl.oauthbearer.sub.claim.name"); s && !s->empty()) v->sub_claim = *s;
  if (auto s = get("sasl.oauthbearer.scope.claim.name"); s && !s->empty()) v->scope_claim = *s;
  if (auto s = get("sasl.oauthbearer.expected.issuer")) v->expected_issuer = *s;
  v->expected_audience = list_of(get("sasl.oauthbearer.expected.audience"));
  v->clock_skew_ms = number("sasl.oauthbearer.clock.skew.seconds", 30) * 1000;
  auto o = std::make_shared<net::OAuthBearerOptions>();
  o->principal_claim = v->sub_claim;
  o->scope_claim = v->scope_claim;
  o->jwks = std::get<std::shared_ptr<net::JwksSource>>(std::move(source));
  o->jwt = std::move(v);
  return std::shared_ptr<const net::OAuthBearerOptions>(std::move(o));
}

// OAUTHBEARER with Kafka's default validator (unsecured JWS): its options are the JAAS options
// of OAuthBearerLoginModule. With Kafka's OAuthBearerValidatorCallbackHandler as the server
// callback handler, signed tokens checked against a JWKS instead; any other class is refused.
std::variant<std::shared_ptr<const net::OAuthBearerOptions>, std::string> oauthbearer_options(
    const config::BrokerConfig& cfg, const std::string& l, const std::optional<JaasConfig>& jaas) {
  const std::string handler_key = "listener.name." + lower(l) + ".oauthbearer.sasl.server.callback.handler.class";
  auto handler = cfg.value(handler_key);
  if (!handler) handler = cfg.value("sasl.server.callback.handler.class");
  if (handler && is_kafka_jwt_validator(*handler)) return jwt_validator_options(cfg, l);
  if (handler && !handler->empty())
    return "OAUTHBEARER with the server callback handler " + *handler +
           " is not supported (Kafka's OAuthBearerValidatorCallbackHandler and unsecured tokens are)";
  auto o = std::make_shared<net::OAuthBearerOptions>();
  if (!jaas) return std::shared_ptr<const net::OAuthBearerOptions>(std::move(o));
  auto opt = [&](const char* name) -> std::optional<std::string> {
    auto it = jaas->options.find(name);
    return it == jaas->options.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  if (auto v = opt("unsecuredValidatorPrincipalClaimName"); v && !v->empty()) o->principal_claim = *v;
  if (auto v = opt("unsecuredValidatorScopeClaimName"); v && !v->empty()) o->scope_claim = *v;
  if (auto v = opt("unsecuredValidatorRequiredScope")) {
    size_t pos = 0;
    while (pos < v->size()) {
      size_t end = v->find_first_of(" \t", pos);
      if (end == std::string::npos) end = v->size();
      if (end > pos) o->required_scope.push_back(v->substr(pos, end - pos));
      pos = end + 1;
    }
  }
  if (auto v = opt("unsecuredValidatorAllowableClockSkewMs")) {
    if (v->empty() || v->size() > 12 || v->find_first_not_of("0123456789") != std::string::npos)
      return "unsecuredValidatorAllowableClockSkewMs must be a non-negative number of ms, got '" + *v + "'";
    o->clock_skew_ms = std::stoll(*v);
  }
  return std::shared_ptr<const net::OAuthBearerOptions>(std::move(o));
}

}  // namespace

std::variant<std::shared_ptr<const net::SaslConfig>, std::string> sasl_config(
    const config::BrokerConfig& cfg, const std::string& l,
    std::shared_ptr<const net::ScramCredentialStore> metadata_scram) {
  auto sasl = std::make_shared<net::SaslConfig>();
  sasl->mechanisms = list_of(cfg.listener_value(l, "sasl.enabled.mechanisms"));
  if (sasl->mechanisms.empty()) return "listener " + l + ": sasl.enabled.mechanisms is empty";
  auto scram = std::make_shared<net::StaticScramStore>();
  for (auto& mech : sasl->mechanisms) {
    auto hash = net::scram_hash_of(mech);
    if (mech != "PLAIN" && mech != "OAUTHBEARER" && !hash)
      return "listener " + l + ": SASL mechanism " + mech +
             " is not supported (supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)";
    auto jaas = jaas_for(cfg, l, mech);
    if (auto* err = std::get_if<std::string>(&jaas)) return "listener " + l + ": " + *err;
    auto& entry = std::get<std::optional<JaasConfig>>(jaas);
    if (mech == "OAUTHBEARER") {
      auto made = oauthbearer_options(cfg, l, entry);
      if (auto* err = std::get_if<std::string>(&made)) return "listener " + l + ": " + *err;
      sasl->oauthbearer = std::get<std::shared_ptr<const net::OAuthBearerOptions>>(std::move(made));
      continue;
    }
    auto users = entry ? jaas_users(*entry) : std::map<std::string, std::string, std::less<>>{};
    if (mech == "PLAIN") {
      if (users.empty())
        return "listener " + l + ": PLAIN needs users: set listener.name." + lower(l) +
               ".plain.sasl.jaas.config with user_<name>=\"<password>\" entries";
      sasl->plain_users = std::make_shared<const net::PlainUsers>(users.begin(), users.end());
      continue;
    }
    // The user_<name> entries of the mechanism's JAAS entry are salted here;
    // the metadata log's credentials (KIP-554) are looked up before them.
    for (auto& [name, password] : users)
      scram->add(*hash, name,
                 net::scram_credential(*hash, password, net::secure_random_bytes(32), kScramBootstrapIterations));
  }
  if (metadata_scram) sasl->scram = std::make_shared<net::LayeredScramStore>(std::move(metadata_scram), scram);
  else sasl->scram = scram;
  sasl->max_reauth_ms = cfg.get_long("connections.max.reauth.ms").value_or(0);
  return std::shared_ptr<const net::SaslConfig>(std::move(sasl));
}

std::variant<std::shared_ptr<net::ListenerContext>, std::string> make_listener_context(
    const config::BrokerConfig* cfg, const ListenerSpec& spec,
    std::shared_ptr<const net::ScramCredentialStore> metadata_scram) {
  auto ctx = std::make_shared<net::ListenerContext>();
  ctx->name = spec.name;
  ctx->protocol = spec.security_protocol;
  ctx->advertised_host = spec.advertised_host;
  ctx->advertised_port = spec.advertised_port;
  const bool tls = spec.security_protocol == "SSL" || spec.security_protocol == "SASL_SSL";
  const bool sasl = spec.security_protocol == "SASL_PLAINTEXT" || spec.security_protocol == "SASL_SSL";
  if (!tls && !sasl) return ctx;
  if (cfg == nullptr) return "listener " + spec.name + ": " + spec.security_protocol + " needs a broker config";
  if (tls) {
    auto settings = tls_settings(*cfg, spec.name);
    if (auto* err = std::get_if<std::string>(&settings)) return "listener " + spec.name + ": " + *err;
    auto made = net::make_server_tls(std::get<net::TlsSettings>(settings));
    if (auto* err = std::get_if<std::string>(&made)) return "listener " + spec.name + ": " + *err;
    ctx->tls.set(std::get<net::TlsContextPtr>(made));
    const std::string rules = cfg->listener_value(spec.name, "ssl.principal.mapping.rules").value_or("DEFAULT");
    if (rules != "DEFAULT") {
      auto mapper = net::PrincipalMapper::parse(rules);
      if (auto* err = std::get_if<std::string>(&mapper)) return "listener " + spec.name + ": " + *err;
      ctx->principal_mapper = std::make_shared<const net::PrincipalMapper>(std::get<net::PrincipalMapper>(mapper));
    }
  }
  if (sasl) {
    auto made = sasl_config(*cfg, spec.name, std::move(metadata_scram));
    if (auto* err = std::get_if<std::string>(&made)) return *err;
    ctx->sasl = std::get<std::shared_ptr<const net::SaslConfig>>(made);
    ctx->max_unauthenticated_bytes = cfg->get_int("sasl.server.max.receive.size").value_or(524288);
  }
  return ctx;
}

}  // namespace samsa::server
