// SCRAM (RFC 5802) with SHA-256 and SHA-512 (RFC 7677), the server side of
// Kafka's SCRAM-SHA-256 / SCRAM-SHA-512 SASL mechanisms: the salted
// credential math, the message syntax, and a ScramServer that walks one
// client through client-first -> server-first -> client-final -> server-final.
//
// The broker never keeps passwords for SCRAM: a ScramCredential holds the salt,
// the iteration count, StoredKey and ServerKey, exactly what Kafka stores.
//
// Ownership: values and per-connection objects; a ScramServer lives in one
// connection's session on that connection's shard.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/sasl.h"

namespace samsa::net {

enum class ScramHash { kSha256, kSha512 };

// "SCRAM-SHA-256" -> kSha256, ...; nullopt for other names.
std::optional<ScramHash> scram_hash_of(std::string_view mechanism);
std::string_view scram_mechanism_name(ScramHash h);

// Kafka's lower bound on iterations for both SCRAM mechanisms (ScramMechanism.minIterations).
inline constexpr int32_t kScramMinIterations = 4096;
// An upper bound so a stored credential cannot make one login burn minutes of CPU.
inline constexpr int32_t kScramMaxIterations = 16384;

using Bytes = std::vector<uint8_t>;

struct ScramCredential {
  Bytes salt;
  Bytes stored_key;
  Bytes server_key;
  int32_t iterations = kScramMinIterations;
};

// The RFC 5802 primitives.
Bytes scram_hi(ScramHash h, std::string_view password, const Bytes& salt, int32_t iterations);
Bytes scram_hmac(ScramHash h, const Bytes& key, std::string_view data);
Bytes scram_digest(ScramHash h, const Bytes& data);
// SaltedPassword -> (StoredKey, ServerKey) for the given salt and iterations.
ScramCredential scram_credential(ScramHash h, std::string_view password, Bytes salt, int32_t iterations);
// Cryptographically random bytes (OpenSSL RAND_bytes); aborts if the RNG fails.
Bytes secure_random_bytes(size_t n);

std::string base64_encode(const Bytes& in);
std::optional<Bytes> base64_decode(std::string_view in);

// Where the server looks up SCRAM credentials: the metadata log's
// (UserScramCredentialRecord, kept current in a DynamicScramStore), then the
// JAAS config's users salted at start-up (StaticScramStore), chained by a
// LayeredScramStore. Implementations must be safe to call from any shard.
class ScramCredentialStore {
 public:
  virtual ~ScramCredentialStore() = default;
  virtual std::optional<ScramCredential> find(ScramHash h, const std::string& user) const = 0;
};

// An immutable map built once at start-up and then shared read-only.
class StaticScramStore : public ScramCredentialStore {
 public:
  void add(ScramHash h, const std::string& user, ScramCredential c);
  std::optional<ScramCredential> find(ScramHash h, const std::string& user) const override;
  bool empty() const { return users_.empty(); }

 private:
  std::vector<std::pair<std::pair<ScramHash, std::string>, ScramCredential>> users_;
};

// Credentials that change while the broker runs (the metadata image's):
// replaced whole by set() on one thread, read by find() on any.
class DynamicScramStore : public ScramCredentialStore {
 public:
  using Map = std::map<std::pair<std::string, ScramHash>, ScramCredential>;
  void set(std::shared_ptr<const Map> credentials);
  std::optional<ScramCredential> find(ScramHash h, const std::string& user) const override;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Map> map_;
};

// Looks in `first`, then in `second`; either may be null.
class LayeredScramStore : public ScramCredentialStore {
 public:
  LayeredScramStore(std::shared_ptr<const ScramCredentialStore> first, std::shared_ptr<const ScramCredentialStore> second)
      : first_(std::move(first)), second_(std::move(second)) {}
  std::optional<ScramCredential> find(ScramHash h, const std::string& user) const override;

 private:
  std::shared_ptr<const ScramCredentialStore> first_, second_;
};

// One SCRAM exchange. `nonce` makes the server's part of the nonce (printable
// ASCII without ','); tests inject a fixed one to replay RFC 7677's vector.
class ScramServer : public SaslServer {
 public:
  ScramServer(ScramHash h, std::shared_ptr<const ScramCredentialStore> store,
              std::function<std::string()> nonce = {});
  SaslStep step(std::string_view client_message) override;
  std::string_view mechanism() const override { return scram_mechanism_name(hash_); }

 private:
  SaslStep client_first(std::string_view msg);
  SaslStep client_final(std::string_view msg);
  SaslStep fail(std::string why);

  enum class State { kFirst, kFinal, kDone };
  ScramHash hash_;
  std::shared_ptr<const ScramCredentialStore> store_;
  std::function<std::string()> make_nonce_;
  State state_ = State::kFirst;
  std::string user_;
  std::string nonce_;  // client nonce + server nonce
  std::string client_first_bare_;
  std::string server_first_;
  ScramCredential cred_;
};

// The client side of one exchange (what a broker uses toward another broker):
// client-first, then client-final from the server-first, then the server's
// signature checked. `nonce` (printable, no ',') is injectable for tests.
// The server's iteration count is bounded like a stored one, so a hostile
// peer cannot make a login burn minutes of CPU.
class ScramClient {
 public:
  ScramClient(ScramHash h, std::string user, std::string password, std::string nonce = {});
  std::string first_message();
  // The client-final message, or nullopt and `err` when server-first is malformed.
  std::optional<std::string> final_message(std::string_view server_first, std::string& err);
  // True when server-final carries the server signature this password expects.
  bool verify_server_final(std::string_view server_final, std::string& err) const;

 private:
  ScramHash hash_;
  std::string user_, password_, client_nonce_;
  std::string client_first_bare_, auth_message_;
  Bytes salted_;
};

// Decodes a SCRAM saslname ("=2C" -> ',', "=3D" -> '='); nullopt when malformed.
std::optional<std::string> scram_decode_name(std::string_view s);

}  // namespace samsa::net
