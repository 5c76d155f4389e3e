// Turns one listener of server.properties into the net::ListenerContext its
// connections share: TLS context (ssl.*), SASL mechanisms and their users
// (sasl.enabled.mechanisms, <mechanism>.sasl.jaas.config), each read per
// listener first (listener.name.<listener>.<key>), as Kafka does.
//
// Ownership: called once per listener at start-up, on the starting thread.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "base/jaas.h"
#include "config/broker_config.h"
#include "net/listener_context.h"
#include "net/scram.h"
#include "net/tls.h"
#include "server/settings.h"

namespace samsa::server {

inline constexpr int32_t kScramBootstrapIterations = 4096;

// The context of `spec`, or the reason it cannot serve (a missing key store,
// an unsupported mechanism, a malformed JAAS entry...). Without a config (unit
// tests) only PLAINTEXT listeners can be made.
// `metadata_scram`: the credentials of the metadata log, looked up before the
// JAAS config's SCRAM users (null: only those).
std::variant<std::shared_ptr<net::ListenerContext>, std::string> make_listener_context(
    const config::BrokerConfig* cfg, const ListenerSpec& spec,
    std::shared_ptr<const net::ScramCredentialStore> metadata_scram = nullptr);

// Kafka's ssl.* keys of listener `l` (listener.name.<l>.ssl.* first).
std::variant<net::TlsSettings, std::string> tls_settings(const config::BrokerConfig& cfg, const std::string& l);

// Certificate reload without a restart. What a TLS listener's context was
// built from: its settings and the modification times of the key and trust
// store files they name. A context is rebuilt when either differs: a dynamic
// change of a listener's ssl.* keys (AlterConfigs, as Kafka's KIP-226), or the
// same files rewritten in place (Kafka reloads a key store whose file changed
// when its config is set again; Samsa also notices at its next metadata image).
struct TlsSource {
  net::TlsSettings settings;
  std::vector<std::pair<std::string, int64_t>> file_mtimes;  // path, ns since the epoch (-1: missing)
  bool operator==(const TlsSource&) const = default;
};
TlsSource tls_source(const net::TlsSettings& settings);

// A TLS listener the broker keeps current: `source` is what `context->tls` was built from.
struct ReloadableTls {
  std::string listener;
  std::shared_ptr<net::ListenerContext> context;
  TlsSource source;
};
// Rebuilds the listener's server context when `cfg` (the effective config,
// dynamic layers included) or the files changed. On a failure the old context
// stays in use and `error` says why (once per change, not at every image).
struct TlsReload {
  bool reloaded = false;
  std::string error;
};
TlsReload reload_listener_tls(ReloadableTls& listener, const config::BrokerConfig& cfg);

// AlterConfigs' check of a dynamic change: every TLS listener whose settings
// differ between `before` and `after` must build a context from `after`
// (Kafka validates a new key store before it accepts it). The error, if any.
std::optional<std::string> validate_tls_change(const config::BrokerConfig& before, const config::BrokerConfig& after,
                                               const std::vector<ListenerSpec>& listeners);

// The JAAS entry of one mechanism on one listener: listener.name.<l>.<mech>.sasl.jaas.config,
// else sasl.jaas.config; nullopt when neither is set.
std::variant<std::optional<JaasConfig>, std::string> jaas_for(const config::BrokerConfig& cfg, const std::string& l,
                                                              const std::string& mechanism);

// The SASL mechanisms and users of listener `l` (as its connections get them);
// also what the web console checks an HTTP login against (console_auth.cc).
std::variant<std::shared_ptr<const net::SaslConfig>, std::string> sasl_config(
    const config::BrokerConfig& cfg, const std::string& l,
    std::shared_ptr<const net::ScramCredentialStore> metadata_scram = nullptr);

}  // namespace samsa::server
