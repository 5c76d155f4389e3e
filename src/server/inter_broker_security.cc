#include "server/inter_broker_security.h"

#include <cctype>

#include "server/listener_security.h"

namespace samsa::server {

using Result = std::variant<std::shared_ptr<const net::ClientSecurity>, std::string>;

Result listener_client_security(const config::BrokerConfig& cfg, const std::string& listener,
                                const std::string& mechanism_key) {
  std::string name = listener;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // The protocol the listener resolved to on this node; else the map's; else a name that is itself a
  // protocol (security.inter.broker.protocol=SSL); else PLAINTEXT, as KRaft maps a controller
  // listener without an entry when no map is configured.
  std::string protocol;
  for (const auto& e : cfg.listeners())
    if (e.listener_name == name) protocol = e.security_protocol;
  const auto& map = cfg.listener_security_protocols();
  if (auto it = map.find(name); protocol.empty() && it != map.end()) protocol = it->second;
  if (protocol.empty())
    protocol = name == "SSL" || name == "SASL_SSL" || name == "SASL_PLAINTEXT" ? name : "PLAINTEXT";
  if (protocol == "PLAINTEXT") return std::shared_ptr<const net::ClientSecurity>();
  auto sec = std::make_shared<net::ClientSecurity>();
  sec->listener = name;
  sec->protocol = protocol;
  sec->client_id = "samsa-broker-" + std::to_string(cfg.node_id());
  const std::string where = "listener " + name + " (" + protocol + "), as a client: ";
  if (!sec->uses_tls() && !sec->uses_sasl()) return where + "unknown security protocol";
  if (sec->uses_tls()) {
    auto settings = tls_settings(cfg, name);
    if (auto* err = std::get_if<std::string>(&settings)) return where + *err;
    auto made = net::make_client_tls(std::get<net::TlsSettings>(settings));
    if (auto* err = std::get_if<std::string>(&made)) return where + *err;
    sec->tls = std::get<net::TlsContextPtr>(made);
    std::string algorithm = cfg.listener_value(name, "ssl.endpoint.identification.algorithm").value_or("https");
    for (auto& c : algorithm) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (algorithm != "https" && !algorithm.empty())
      return where + "ssl.endpoint.identification.algorithm must be https or empty, not " + algorithm;
    sec->verify_hostname = algorithm == "https";
  }
  if (sec->uses_sasl()) {
    sec->sasl_mechanism = cfg.value(mechanism_key).value_or("GSSAPI");
    if (sec->sasl_mechanism != "PLAIN" && sec->sasl_mechanism != "SCRAM-SHA-256" &&
        sec->sasl_mechanism != "SCRAM-SHA-512")
      return where + mechanism_key + "=" + sec->sasl_mechanism +
             " is not supported (set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)";
    auto jaas = jaas_for(cfg, name, sec->sasl_mechanism);
    if (auto* err = std::get_if<std::string>(&jaas)) return where + *err;
    const auto& entry = std::get<std::optional<JaasConfig>>(jaas);
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string mech = sec->sasl_mechanism;
    for (auto& c : mech) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto user = entry ? entry->options.find("username") : decltype(entry->options.end()){};
    auto pass = entry ? entry->options.find("password") : decltype(entry->options.end()){};
    if (!entry || user == entry->options.end() || pass == entry->options.end())
      return where + "the broker logs in to other brokers with username= and password= of listener.name." + lower +
             "." + mech + ".sasl.jaas.config (or sasl.jaas.config); they are not set";
    sec->username = user->second;
    sec->password = pass->second;
  }
  return std::shared_ptr<const net::ClientSecurity>(std::move(sec));
}

Result inter_broker_client_security(const config::BrokerConfig& cfg) {
  return listener_client_security(cfg, cfg.inter_broker_listener_name(), "sasl.mechanism.inter.broker.protocol");
}

Result controller_client_security(const config::BrokerConfig& cfg) {
  const auto& names = cfg.controller_listener_names();
  if (names.empty()) return std::shared_ptr<const net::ClientSecurity>();
  return listener_client_security(cfg, names.front(), "sasl.mechanism.controller.protocol");
}

}  // namespace samsa::server
