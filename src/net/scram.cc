#include "net/scram.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace samsa::net {

namespace {
const EVP_MD* md_of(ScramHash h) { return h == ScramHash::kSha256 ? EVP_sha256() : EVP_sha512(); }

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// "k=v,k=v,..." attributes of a SCRAM message, in order. Values may contain '='.
std::vector<std::pair<char, std::string_view>> attributes(std::string_view msg, bool& ok) {
  std::vector<std::pair<char, std::string_view>> out;
  ok = true;
  size_t start = 0;
  while (start <= msg.size()) {
    size_t comma = msg.find(',', start);
    std::string_view item = msg.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.size() < 2 || item[1] != '=') {
      ok = false;
      return out;
    }
    out.emplace_back(item[0], item.substr(2));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string_view as_view(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
}  // namespace

std::optional<ScramHash> scram_hash_of(std::string_view mechanism) {
  if (mechanism == "SCRAM-SHA-256") return ScramHash::kSha256;
  if (mechanism == "SCRAM-SHA-512") return ScramHash::kSha512;
  return std::nullopt;
}

std::string_view scram_mechanism_name(ScramHash h) {
  return h == ScramHash::kSha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

Bytes scram_hi(ScramHash h, std::string_view password, const Bytes& salt, int32_t iterations) {
  Bytes out(static_cast<size_t>(EVP_MD_get_size(md_of(h))));
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(), static_cast<int>(salt.size()),
                    iterations, md_of(h), static_cast<int>(out.size()), out.data());
  return out;
}

Bytes scram_hmac(ScramHash h, const Bytes& key, std::string_view data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  HMAC(md_of(h), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

Bytes scram_digest(ScramHash h, const Bytes& data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, md_of(h), nullptr);
  out.resize(len);
  return out;
}

ScramCredential scram_credential(ScramHash h, std::string_view password, Bytes salt, int32_t iterations) {
  ScramCredential c;
  Bytes salted = scram_hi(h, password, salt, iterations);
  c.stored_key = scram_digest(h, scram_hmac(h, salted, "Client Key"));
  c.server_key = scram_hmac(h, salted, "Server Key");
  c.salt = std::move(salt);
  c.iterations = iterations;
  return c;
}

Bytes secure_random_bytes(size_t n) {
  Bytes out(n);
  if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) std::abort();  // no entropy: never continue insecurely
  return out;
}

std::string base64_encode(const Bytes& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (i + 1 < in.size()) v |= uint32_t{in[i + 1]} << 8;
    if (i + 2 < in.size()) v |= in[i + 2];
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kB64[v & 63] : '=');
  }
  return out;
}

std::optional<Bytes> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  Bytes out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    int pad = 0;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      int d = b64_value(c);
      if (d < 0 || pad > 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    // Canonical only (RFC 4648 3.5): the bits a padded group leaves unused are zero, so
    // one value has one text and a tampered proof cannot decode to the original.
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) return std::nullopt;
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(v >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

std::optional<std::string> scram_decode_name(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',') return std::nullopt;
    if (s[i] != '=') {
      out.push_back(s[i]);
      continue;
    }
    if (s.substr(i, 3) == "=2C") out.push_back(',');
    else if (s.substr(i, 3) == "=3D") out.push_back('=');
    else return std::nullopt;
    i += 2;
  }
  return out;
}

void StaticScramStore::add(ScramHash h, const std::string& user, ScramCredential c) {
  for (auto& [key, cred] : users_)
    if (key.first == h && key.second == user) {
      cred = std::move(c);
      return;
    }
  users_.push_back({{h, user}, std::move(c)});
}

std::optional<ScramCredential> StaticScramStore::find(ScramHash h, const std::string& user) const {
  for (auto& [key, cred] : users_)
    if (key.first == h && key.second == user) return cred;
  return std::nullopt;
}

void DynamicScramStore::set(std::shared_ptr<const Map> credentials) {
  std::lock_guard lock(mu_);
  map_ = std::move(credentials);
}

std::optional<ScramCredential> DynamicScramStore::find(ScramHash h, const std::string& user) const {
  std::shared_ptr<const Map> m;
  {
    std::lock_guard lock(mu_);
    m = map_;
  }
  if (!m) return std::nullopt;
  auto it = m->find({user, h});
  if (it == m->end()) return std::nullopt;
  return it->second;
}

std::optional<ScramCredential> LayeredScramStore::find(ScramHash h, const std::string& user) const {
  if (first_)
    if (auto c = first_->find(h, user)) return c;
  return second_ ? second_->find(h, user) : std::nullopt;
}

ScramServer::ScramServer(ScramHash h, std::shared_ptr<const ScramCredentialStore> store,
                         std::function<std::string()> nonce)
    : hash_(h), store_(std::move(store)), make_nonce_(std::move(nonce)) {
  if (!make_nonce_) make_nonce_ = [] { return base64_encode(secure_random_bytes(24)); };
}

SaslStep ScramServer::fail(std::string why) {
  state_ = State::kDone;
  SaslStep s;
  s.error = std::move(why);
  return s;
}

SaslStep ScramServer::step(std::string_view msg) {
  switch (state_) {
    case State::kFirst:
      return client_first(msg);
    case State::kFinal:
      return client_final(msg);
    case State::kDone:
      break;
  }
  return fail("Authentication failed: unexpected SCRAM message after the exchange ended");
}

// client-first-message = gs2-header client-first-message-bare, where
// gs2-header = "n," [ "a=" authzid ] "," (no channel binding over Kafka).
SaslStep ScramServer::client_first(std::string_view msg) {
  const std::string invalid = "Authentication failed: Invalid SCRAM client first message";
  if (msg.size() < 3 || msg[0] != 'n' || msg[1] != ',') return fail(invalid);
  size_t comma = msg.find(',', 2);
  if (comma == std::string_view::npos) return fail(invalid);
  std::string_view authzid = msg.substr(2, comma - 2);
  if (!authzid.empty() && authzid.substr(0, 2) != "a=") return fail(invalid);
  client_first_bare_ = std::string(msg.substr(comma + 1));
  bool ok = false;
  auto attrs = attributes(client_first_bare_, ok);
  if (!ok || attrs.size() < 2 || attrs[0].first != 'n' || attrs[1].first != 'r' || attrs[1].second.empty())
    return fail(invalid);
  auto user = scram_decode_name(attrs[0].second);
  if (!user || user->empty()) return fail(invalid);
  for (size_t i = 2; i < attrs.size(); ++i) {
    // Kafka's only extension is tokenauth (delegation tokens), not supported here.
    if (attrs[i].first == 'm' || client_first_bare_.find("tokenauth=true") != std::string::npos)
      return fail("Authentication failed: unsupported SCRAM extension");
  }
  if (!authzid.empty()) {
    auto az = scram_decode_name(authzid.substr(2));
    if (!az || *az != *user)
      return fail("Authentication failed: Client requested an authorization id that is different from username");
  }
  auto cred = store_ ? store_->find(hash_, *user) : std::nullopt;
  if (!cred) return fail("Authentication failed: Invalid user credentials");
  user_ = *user;
  cred_ = std::move(*cred);
  nonce_ = std::string(attrs[1].second) + make_nonce_();
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(cred_.salt) + ",i=" + std::to_string(cred_.iterations);
  state_ = State::kFinal;
  SaslStep s;
  s.kind = SaslStep::Kind::kContinue;
  s.response = server_first_;
  return s;
}

// client-final-message = "c=" base64(gs2-header) ",r=" nonce [extensions] ",p=" proof
SaslStep ScramServer::client_final(std::string_view msg) {
  const std::string invalid = "Authentication failed: Invalid client final message";
  size_t p = msg.rfind(",p=");
  if (p == std::string_view::npos) return fail(invalid);
  std::string_view without_proof = msg.substr(0, p);
  bool ok = false;
  auto attrs = attributes(without_proof, ok);
  if (!ok || attrs.size() < 2 || attrs[0].first != 'c' || attrs[1].first != 'r') return fail(invalid);
  auto binding = base64_decode(attrs[0].second);
  if (!binding || binding->size() < 2 || (*binding)[0] != 'n') return fail(invalid);
  // Kafka accepts a final nonce that ends with the full nonce (endsWith), and
  // librdkafka 2.0 depends on it: it sends its client nonce again in front.
  // The proof still covers the message as sent, so this weakens nothing.
  std::string_view final_nonce = attrs[1].second;
  if (final_nonce.size() < nonce_.size() || final_nonce.substr(final_nonce.size() - nonce_.size()) != nonce_)
    return fail("Authentication failed: Invalid client nonce in the final client message.");
  auto proof = base64_decode(msg.substr(p + 3));
  if (!proof || proof->size() != cred_.stored_key.size()) return fail(invalid);
  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  Bytes signature = scram_hmac(hash_, cred_.stored_key, auth_message);
  Bytes client_key(proof->size());
  for (size_t i = 0; i < client_key.size(); ++i) client_key[i] = (*proof)[i] ^ signature[i];
  if (!secure_equals(as_view(scram_digest(hash_, client_key)), as_view(cred_.stored_key)))
    return fail("Authentication failed during authentication due to invalid credentials with SASL mechanism " +
                std::string(mechanism()));
  state_ = State::kDone;
  SaslStep s;
  s.kind = SaslStep::Kind::kDone;
  s.user = user_;
  s.response = "v=" + base64_encode(scram_hmac(hash_, cred_.server_key, auth_message));
  return s;
}

ScramClient::ScramClient(ScramHash h, std::string user, std::string password, std::string nonce)
    : hash_(h), user_(std::move(user)), password_(std::move(password)), client_nonce_(std::move(nonce)) {
  if (client_nonce_.empty()) client_nonce_ = base64_encode(secure_random_bytes(24));
}

std::string ScramClient::first_message() {
  std::string name;  // saslname: ',' and '=' escaped
  for (char c : user_) name += c == ',' ? "=2C" : c == '=' ? "=3D" : std::string(1, c);
  client_first_bare_ = "n=" + name + ",r=" + client_nonce_;
  return "n,," + client_first_bare_;
}

std::optional<std::string> ScramClient::final_message(std::string_view server_first, std::string& err) {
  bool ok = false;
  auto attrs = attributes(server_first, ok);
  std::string_view nonce, salt_text, iter_text;
  for (auto& [k, v] : attrs) {
    if (k == 'r') nonce = v;
    else if (k == 's') salt_text = v;
    else if (k == 'i') iter_text = v;
    else if (k == 'e') {
      err = "the server refused the login: " + std::string(v);
      return std::nullopt;
    }
  }
  auto salt = base64_decode(salt_text);
  char* end = nullptr;
  std::string iters(iter_text);
  long iterations = std::strtol(iters.c_str(), &end, 10);
  if (!ok || nonce.size() <= client_nonce_.size() || nonce.substr(0, client_nonce_.size()) != client_nonce_ ||
      !salt || salt->empty() || iters.empty() || *end != '\0') {
    err = "malformed SCRAM server-first message";
    return std::nullopt;
  }
  if (iterations < kScramMinIterations || iterations > kScramMaxIterations) {
    err = "SCRAM iteration count " + iters + " is outside [" + std::to_string(kScramMinIterations) + ", " +
          std::to_string(kScramMaxIterations) + "]";
    return std::nullopt;
  }
  salted_ = scram_hi(hash_, password_, *salt, static_cast<int32_t>(iterations));
  const Bytes client_key = scram_hmac(hash_, salted_, "Client Key");
  const Bytes stored_key = scram_digest(hash_, client_key);
  const std::string without_proof = "c=biws,r=" + std::string(nonce);
  auth_message_ = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  const Bytes signature = scram_hmac(hash_, stored_key, auth_message_);
  Bytes proof(client_key.size());
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = client_key[i] ^ signature[i];
  return without_proof + ",p=" + base64_encode(proof);
}

bool ScramClient::verify_server_final(std::string_view server_final, std::string& err) const {
  bool ok = false;
  auto attrs = attributes(server_final, ok);
  for (auto& [k, v] : attrs) {
    if (k == 'e') {
      err = "the server refused the login: " + std::string(v);
      return false;
    }
    if (k == 'v' && ok && !auth_message_.empty()) {
      const Bytes server_key = scram_hmac(hash_, salted_, "Server Key");
      if (v == base64_encode(scram_hmac(hash_, server_key, auth_message_))) return true;
      err = "the server's SCRAM signature does not verify (it does not hold this user's credential)";
      return false;
    }
  }
  err = "malformed SCRAM server-final message";
  return false;
}

}  // namespace samsa::net
