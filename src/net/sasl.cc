#include "net/sasl.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "net/oauthbearer.h"
#include "net/scram.h"

namespace samsa::net {

bool secure_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The messages are Kafka's (PlainSaslServer), so a client sees the same text.
SaslStep PlainServer::step(std::string_view token) {
  SaslStep out;
  if (done_) {
    out.error = "Authentication failed: SASL/PLAIN exchange already completed";
    return out;
  }
  done_ = true;
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= token.size(); ++i) {
    if (i == token.size() || token[i] == '\0') {
      parts.push_back(token.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() != 3) {
    out.error = "Invalid SASL/PLAIN response: expected 3 tokens, got " + std::to_string(parts.size());
    return out;
  }
  std::string_view authzid = parts[0], user = parts[1], password = parts[2];
  if (user.empty()) {
    out.error = "Authentication failed: username not specified";
    return out;
  }
  if (password.empty()) {
    out.error = "Authentication failed: password not specified";
    return out;
  }
  std::string_view expected;
  bool known = false;
  if (users_) {
    if (auto it = users_->find(user); it != users_->end()) {
      expected = it->second;
      known = true;
    }
  }
  if (!known || !secure_equals(expected, password)) {
    out.error = "Authentication failed: Invalid username or password";
    return out;
  }
  if (!authzid.empty() && authzid != user) {
    out.error = "Authentication failed: Client requested an authorization id that is different from username";
    return out;
  }
  out.kind = SaslStep::Kind::kDone;
  out.user = std::string(user);
  return out;
}

bool SaslConfig::enabled(std::string_view mechanism) const {
  return std::find(mechanisms.begin(), mechanisms.end(), mechanism) != mechanisms.end();
}

std::unique_ptr<SaslServer> SaslConfig::make_server(std::string_view mechanism) const {
  if (!enabled(mechanism)) return nullptr;
  if (mechanism == "PLAIN") return std::make_unique<PlainServer>(plain_users);
  if (auto h = scram_hash_of(mechanism); h && scram) return std::make_unique<ScramServer>(*h, scram);
  if (mechanism == "OAUTHBEARER" && oauthbearer) return std::make_unique<OAuthBearerServer>(oauthbearer);
  return nullptr;
}

}  // namespace samsa::net
