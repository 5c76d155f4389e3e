// The console's login: when a Kafka listener of this broker uses SASL, every
// admin endpoint wants HTTP Basic credentials of a user that listener accepts
// (its PLAIN users, or its SCRAM credentials: the password is salted with the
// stored salt and iterations and compared with StoredKey, as a SCRAM exchange
// would prove it). The principal is then User:<name>, and every Kafka request
// the console makes for it is authorized as that user's would be.
//
// Threads: the SASL configuration is built once at start (Observability) and
// only read; the cache of verified logins is per shard thread.
#include <spdlog/spdlog.h>

#include <list>

#include "net/sasl.h"
#include "net/scram.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/console_api.h"
#include "server/listener_security.h"
#include "server/observability.h"

namespace samsa::server::console {

// The first SASL listener's mechanisms and users (brokers configure the same
// users on every SASL listener in practice; the log says which one is used).
std::shared_ptr<const net::SaslConfig> login_config(Broker& broker) {
  const auto& s = broker.settings();
  if (!s.config) return nullptr;
  for (auto& l : s.listeners) {
    if (l.controller || l.security_protocol.find("SASL") == std::string::npos) continue;
    auto made = sasl_config(*s.config, l.name);
    if (auto* err = std::get_if<std::string>(&made)) {
      spdlog::warn("web console: no login possible, listener {}: {}", l.name, *err);
      // Still require one: an open console on a SASL broker would bypass its authentication.
      return std::make_shared<const net::SaslConfig>();
    }
    spdlog::info("web console: logins are checked against the SASL users of listener {}", l.name);
    return std::get<std::shared_ptr<const net::SaslConfig>>(std::move(made));
  }
  return nullptr;
}

namespace {

bool verify(const net::SaslConfig& cfg, const std::string& user, const std::string& password) {
  if (cfg.plain_users) {
    auto it = cfg.plain_users->find(user);
    if (it != cfg.plain_users->end() && net::secure_equals(it->second, password)) return true;
  }
  if (cfg.scram)
    for (auto& mech : cfg.mechanisms) {
      auto hash = net::scram_hash_of(mech);
      if (!hash) continue;
      auto cred = cfg.scram->find(*hash, user);
      if (!cred) continue;
      auto mine = net::scram_credential(*hash, password, cred->salt, cred->iterations);
      auto as_view = [](const protocol::Bytes& b) { return std::string_view(reinterpret_cast<const char*>(b.data()), b.size()); };
      if (net::secure_equals(as_view(mine.stored_key), as_view(cred->stored_key))) return true;
    }
  return false;
}

// Logins verified on this shard (a digest of "user:password"), so the polling
// pages do not salt a SCRAM password thousands of times. Bounded, oldest out.
constexpr size_t kLoginCache = 32;
thread_local std::list<std::string> verified_logins;

}  // namespace

bool login_required(Broker& broker) { return broker.observability().console_login() != nullptr; }

std::optional<ConsoleCaller> authenticate(Broker& broker, const net::HttpRequest& req) {
  const auto* sasl = broker.observability().console_login();
  ConsoleCaller caller;
  if (!sasl) return caller;
  auto header = req.header("authorization");
  constexpr std::string_view kBasic = "Basic ";
  if (!header || header->size() <= kBasic.size() || header->substr(0, kBasic.size()) != kBasic) return std::nullopt;
  auto decoded = net::base64_decode(header->substr(kBasic.size()));
  if (!decoded) return std::nullopt;
  std::string text(decoded->begin(), decoded->end());
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string user = text.substr(0, colon);
  std::string password = text.substr(colon + 1);
  auto digest_bytes = net::scram_digest(net::ScramHash::kSha256, protocol::Bytes(text.begin(), text.end()));
  // Keyed by the configuration too: a test process may run several brokers on one thread.
  std::string digest = std::to_string(reinterpret_cast<uintptr_t>(sasl)) + ":" +
                       std::string(digest_bytes.begin(), digest_bytes.end());
  auto hit = std::find(verified_logins.begin(), verified_logins.end(), digest);
  if (hit == verified_logins.end()) {
    if (!verify(*sasl, user, password)) {
      spdlog::info("web console: failed login of user {}", user);
      return std::nullopt;
    }
    verified_logins.push_front(digest);
    if (verified_logins.size() > kLoginCache) verified_logins.pop_back();
  }
  caller.principal = "User:" + user;
  return caller;
}

Visibility::Visibility(Broker& broker, Shard& here, const ConsoleCaller& caller) {
  conn_.peer_host = caller.peer_host;
  conn_.shard = here.id;
  conn_.session = std::make_shared<net::Session>();
  conn_.session->principal = caller.principal;
  ctx_.conn = &conn_;
  ctx_.broker = &broker;
  ctx_.shard = &here;
}

bool Visibility::topic(std::string_view name) const {
  if (!authorizer_enabled(ctx_)) return true;
  return ctx_.shard->image && authorized_topic(ctx_, AclOperation::DESCRIBE, name);
}

bool Visibility::group(std::string_view name) const {
  if (!authorizer_enabled(ctx_)) return true;
  return ctx_.shard->image && authorized_group(ctx_, AclOperation::DESCRIBE, name);
}

}  // namespace samsa::server::console
