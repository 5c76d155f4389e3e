// The console's login: when a Kafka listener of this broker uses SASL, every
// admin endpoint wants HTTP Basic credentials of a user that listener accepts
// (its PLAIN users, or its SCRAM credentials — the metadata log's first, as
// the listener looks them up, then the JAAS config's: the password is salted
// with the stored salt and iterations and compared with StoredKey, as a SCRAM
// exchange would prove it). The principal is then User:<name>, and every Kafka request
// the console makes for it is authorized as that user's would be.
//
// Threads: the SASL configuration is built once at start (Observability) and
// only read; the cache of verified logins is per shard thread.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <list>
#include <optional>

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
    auto made = sasl_config(*s.config, l.name, broker.metadata_scram());
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

// How a login was proven: PLAIN (no hash), or the SCRAM credential whose StoredKey the password gave.
struct Proof {
  std::optional<net::ScramHash> hash;
  protocol::Bytes stored_key;
};

std::string_view as_view(const protocol::Bytes& b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

bool plain_ok(const net::SaslConfig& cfg, const std::string& user, const std::string& password) {
  if (!cfg.plain_users) return false;
  auto it = cfg.plain_users->find(user);
  return it != cfg.plain_users->end() && net::secure_equals(it->second, password);
}

std::optional<Proof> verify(const net::SaslConfig& cfg, const std::string& user, const std::string& password) {
  if (plain_ok(cfg, user, password)) return Proof{};
  if (cfg.scram)
    for (auto& mech : cfg.mechanisms) {
      auto hash = net::scram_hash_of(mech);
      if (!hash) continue;
      auto cred = cfg.scram->find(*hash, user);
      if (!cred) continue;
      auto mine = net::scram_credential(*hash, password, cred->salt, cred->iterations);
      if (net::secure_equals(as_view(mine.stored_key), as_view(cred->stored_key))) return Proof{hash, cred->stored_key};
    }
  return std::nullopt;
}

// A cached login still holds while its proof does: the PLAIN user still has that password, or the
// SCRAM credential it matched is still there unchanged (the metadata log's can be altered or
// deleted while the broker runs). No salting: the polling pages stay cheap.
bool still_valid(const net::SaslConfig& cfg, const std::string& user, const std::string& password, const Proof& p) {
  if (!p.hash) return plain_ok(cfg, user, password);
  auto cred = cfg.scram ? cfg.scram->find(*p.hash, user) : std::nullopt;
  return cred && net::secure_equals(as_view(cred->stored_key), as_view(p.stored_key));
}

// Logins verified on this shard (a digest of "user:password" and its proof), so the polling
// pages do not salt a SCRAM password thousands of times. Bounded, oldest out.
constexpr size_t kLoginCache = 32;
thread_local std::list<std::pair<std::string, Proof>> verified_logins;

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
  auto hit = std::find_if(verified_logins.begin(), verified_logins.end(),
                         [&](const auto& entry) { return entry.first == digest; });
  if (hit != verified_logins.end() && !still_valid(*sasl, user, password, hit->second)) {
    verified_logins.erase(hit);
    hit = verified_logins.end();
  }
  if (hit == verified_logins.end()) {
    auto proof = verify(*sasl, user, password);
    if (!proof) {
      spdlog::info("web console: failed login of user {}", user);
      return std::nullopt;
    }
    verified_logins.emplace_front(digest, std::move(*proof));
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
