#include "net/jwt_validator.h"

#include "base/clock.h"
#include "net/http_fetch.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace samsa::net {

struct JwkSet::Key {
  std::string kid;
  std::string kty;  // RSA or EC
  std::string alg;  // empty: any of its type
  std::string curve;
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

JwkSet::~JwkSet() = default;

namespace {

constexpr size_t kMaxJwksBytes = 1u << 20;
constexpr size_t kMaxTokenBytes = 64 * 1024;
constexpr int64_t kMinUnknownKidGapMs = 1000;

struct BnFree { void operator()(BIGNUM* b) const { BN_free(b); } };
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

BnPtr bn_of(const std::string& bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

std::string string_member(const JsonValue& o, const char* name) {
  const JsonValue* v = o.get(name);
  return v && v->kind == JsonValue::Kind::String ? v->string : std::string();
}

EVP_PKEY* from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  ERR_clear_error();
  return key;
}

EVP_PKEY* rsa_key(const JsonValue& jwk) {
  auto n = jws::base64url_decode(string_member(jwk, "n"));
  auto e = jws::base64url_decode(string_member(jwk, "e"));
  if (!n || !e || n->empty() || e->empty() || n->size() > 2048) return nullptr;  // up to 16384-bit moduli
  BnPtr bn_n = bn_of(*n), bn_e = bn_of(*e);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* key = nullptr;
  if (bld && bn_n && bn_e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get()) == 1)
    key = from_params("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  return key;
}

// The OpenSSL group and coordinate size of a JOSE curve name.
bool curve_of(const std::string& crv, const char*& group, size_t& size) {
  if (crv == "P-256") group = "prime256v1", size = 32;
  else if (crv == "P-384") group = "secp384r1", size = 48;
  else if (crv == "P-521") group = "secp521r1", size = 66;
  else return false;
  return true;
}

EVP_PKEY* ec_key(const JsonValue& jwk) {
  const char* group = nullptr;
  size_t size = 0;
  if (!curve_of(string_member(jwk, "crv"), group, size)) return nullptr;
  auto x = jws::base64url_decode(string_member(jwk, "x"));
  auto y = jws::base64url_decode(string_member(jwk, "y"));
  if (!x || !y || x->size() != size || y->size() != size) return nullptr;
  std::string point = "\x04" + *x + *y;  // an uncompressed point
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* key = nullptr;
  if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1)
    key = from_params("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  return key;
}

// The digest of a JWS algorithm and its key type; false for any other (none, HS*, PS*...).
bool algorithm(const std::string& alg, const EVP_MD*& md, std::string& kty) {
  if (alg == "RS256" || alg == "ES256") md = EVP_sha256();
  else if (alg == "RS384" || alg == "ES384") md = EVP_sha384();
  else if (alg == "RS512" || alg == "ES512") md = EVP_sha512();
  else return false;
  kty = alg[0] == 'R' ? "RSA" : "EC";
  return true;
}

// JOSE's ECDSA signature is r || s, each the curve's size; OpenSSL wants DER.
std::optional<std::string> ecdsa_der(const std::string& raw, size_t size) {
  if (raw.size() != 2 * size) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(size), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + size), static_cast<int>(size), nullptr);
  std::optional<std::string> out;
  if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = nullptr;  // owned by sig now
    unsigned char* der = nullptr;
    int n = i2d_ECDSA_SIG(sig, &der);
    if (n > 0) out = std::string(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return out;
}

bool verify(const JwkSet::Key& key, const EVP_MD* md, std::string_view signed_part, const std::string& signature) {
  std::string sig = signature;
  if (key.kty == "EC") {
    const char* group = nullptr;
    size_t size = 0;
    if (!curve_of(key.curve, group, size)) return false;
    auto der = ecdsa_der(signature, size);
    if (!der) return false;
    sig = *der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key.pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

}  // namespace

std::variant<std::shared_ptr<const JwkSet>, std::string> JwkSet::parse(std::string_view json) {
  if (json.size() > kMaxJwksBytes) return std::string("the JWKS is larger than 1 MiB");
  JsonValue doc;
  std::string err;
  if (!parse_json(std::string(json), doc, err)) return "the JWKS is not JSON: " + err;
  const JsonValue* keys = doc.get("keys");
  if (!keys || keys->kind != JsonValue::Kind::Array) return std::string("the JWKS has no \"keys\" array");
  auto set = std::make_shared<JwkSet>();
  for (const JsonValue& jwk : keys->array) {
    if (jwk.kind != JsonValue::Kind::Object) continue;
    const std::string use = string_member(jwk, "use");
    if (!use.empty() && use != "sig") continue;
    auto k = std::make_shared<Key>();
    k->kid = string_member(jwk, "kid");
    k->kty = string_member(jwk, "kty");
    k->alg = string_member(jwk, "alg");
    k->curve = string_member(jwk, "crv");
    if (k->kty == "RSA") k->pkey = rsa_key(jwk);
    else if (k->kty == "EC") k->pkey = ec_key(jwk);
    if (k->pkey) set->keys_.push_back(std::move(k));
  }
  return std::shared_ptr<const JwkSet>(std::move(set));
}

bool JwkSet::has_kid(std::string_view kid) const {
  return std::any_of(keys_.begin(), keys_.end(), [&](const auto& k) { return k->kid == kid; });
}

OAuthBearerToken validate_signed_token(std::string_view token, const JwkSet& keys, const JwtValidation& v,
                                       int64_t now_ms, bool* unknown_kid) {
  OAuthBearerToken out;
  std::string_view header_part, payload_part, signature_part;
  if (token.size() > kMaxTokenBytes || !jws::split(token, header_part, payload_part, signature_part)) {
    out.error = "a JWS has three parts separated by '.'";
    return out;
  }
  JsonValue header, payload;
  if (!jws::json_part(header_part, header, out.error, "header") ||
      !jws::json_part(payload_part, payload, out.error, "payload"))
    return out;
  const std::string alg = string_member(header, "alg");
  const EVP_MD* md = nullptr;
  std::string kty;
  if (!algorithm(alg, md, kty)) {
    out.error = "the token's algorithm '" + alg + "' is not accepted (RS256/384/512, ES256/384/512)";
    return out;
  }
  auto signature = jws::base64url_decode(signature_part);
  if (!signature || signature->empty()) {
    out.error = "the token's signature is not base64url";
    return out;
  }
  const std::string kid = string_member(header, "kid");
  if (!kid.empty() && !keys.has_kid(kid)) {
    if (unknown_kid) *unknown_kid = true;
    out.error = "no key with id '" + kid + "' in the JWKS";
    return out;
  }
  const std::string_view signed_part = token.substr(0, header_part.size() + 1 + payload_part.size());
  bool verified = false;
  for (const auto& key : keys.keys()) {
    if ((!kid.empty() && key->kid != kid) || key->kty != kty || (!key->alg.empty() && key->alg != alg)) continue;
    if (verify(*key, md, signed_part, *signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) {
    out.error = "the token's signature does not verify with the JWKS";
    return out;
  }
  if (!jws::check_time_and_principal(payload, v.sub_claim, v.clock_skew_ms, now_ms, out)) return out;
  if (!v.expected_issuer.empty() && string_member(payload, "iss") != v.expected_issuer) {
    out.error = "the token's issuer ('iss') is not " + v.expected_issuer;
    out.principal.clear();
    return out;
  }
  if (!v.expected_audience.empty()) {
    std::vector<std::string> aud;
    if (const JsonValue* a = payload.get("aud")) {
      if (a->kind == JsonValue::Kind::String) aud.push_back(a->string);
      for (const JsonValue& e : a->array)
        if (e.kind == JsonValue::Kind::String) aud.push_back(e.string);
    }
    bool match = std::any_of(aud.begin(), aud.end(), [&](const std::string& x) {
      return std::find(v.expected_audience.begin(), v.expected_audience.end(), x) != v.expected_audience.end();
    });
    if (!match) {
      out.error = "the token's audience ('aud') holds none of sasl.oauthbearer.expected.audience";
      out.principal.clear();
      return out;
    }
  }
  out.ok = true;
  return out;
}

// ---- the key set, kept fresh ----------------------------------------------------------------

namespace {
std::variant<std::shared_ptr<const JwkSet>, std::string> load(const std::string& url) {
  auto got = fetch_url(url, kMaxJwksBytes, 10000);
  if (!got.ok) return "JWKS " + url + ": " + got.error;
  auto set = JwkSet::parse(got.body);
  if (auto* err = std::get_if<std::string>(&set)) return "JWKS " + url + ": " + *err;
  return set;
}
}  // namespace

JwksSource::JwksSource(Options o) : o_(std::move(o)) {}

std::variant<std::shared_ptr<JwksSource>, std::string> JwksSource::open(Options o) {
  auto first = load(o.url);
  if (auto* err = std::get_if<std::string>(&first)) return *err;
  std::shared_ptr<JwksSource> src(new JwksSource(std::move(o)));
  src->keys_ = std::get<std::shared_ptr<const JwkSet>>(std::move(first));
  spdlog::info("OAUTHBEARER: {} key(s) from {}", src->keys_->size(), src->o_.url);
  src->thread_ = std::thread([raw = src.get()] { raw->run(); });
  return src;
}

JwksSource::~JwksSource() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const JwkSet> JwksSource::keys() const {
  std::lock_guard lock(mu_);
  return keys_;
}

void JwksSource::request_refresh() {
  {
    std::lock_guard lock(mu_);
    refresh_asked_ = true;
  }
  cv_.notify_all();
}

void JwksSource::run() {
  int64_t backoff = 0;  // after a failure: the wait before the next try
  int64_t last_fetch = SystemClock::instance().now_ms();
  std::unique_lock lock(mu_);
  while (!stop_) {
    const int64_t wait = backoff > 0 ? backoff : std::max<int64_t>(o_.refresh_ms - (SystemClock::instance().now_ms() - last_fetch), 0);
    cv_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stop_ || (refresh_asked_ && backoff == 0); });
    if (stop_) break;
    // An unknown key id asks at most once a second (never sooner than the retry backoff):
    // tokens naming made-up key ids must not turn into a flood of fetches at the provider.
    if (refresh_asked_) {
      const int64_t gap = std::max<int64_t>(o_.retry_backoff_ms, kMinUnknownKidGapMs);
      const int64_t since = SystemClock::instance().now_ms() - last_fetch;
      if (since < gap) {
        cv_.wait_for(lock, std::chrono::milliseconds(gap - since), [&] { return stop_; });
        if (stop_) break;
      }
    }
    refresh_asked_ = false;
    lock.unlock();
    auto got = load(o_.url);
    lock.lock();
    last_fetch = SystemClock::instance().now_ms();
    if (auto* err = std::get_if<std::string>(&got)) {
      backoff = std::min(std::max<int64_t>(backoff * 2, o_.retry_backoff_ms), o_.retry_backoff_max_ms);
      spdlog::warn("OAUTHBEARER: refreshing the key set failed (keeping the previous one, retry in {} ms): {}",
                   backoff, *err);
      continue;
    }
    backoff = 0;
    auto& set = std::get<std::shared_ptr<const JwkSet>>(got);
    if (set->size() != keys_->size()) spdlog::info("OAUTHBEARER: {} key(s) from {}", set->size(), o_.url);
    keys_ = std::move(set);
  }
}

}  // namespace samsa::net
