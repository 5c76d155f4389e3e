// Signed OAUTHBEARER tokens against a JWKS (net/jwt_validator.h), under a fixed clock: keys made
// with OpenSSL here, tokens signed here, every claim rule and malformed input checked.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "net/http_fetch.h"
#include "net/jwt_validator.h"
#include "net/scram.h"

namespace samsa::net::jwt_test {
namespace {

constexpr int64_t kJwtNowMs = 1'800'000'000'000;

std::string b64url(const std::string& bytes) { return jws::base64url_encode(bytes); }

std::string bn_bytes(EVP_PKEY* key, const char* name, int size = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
  std::string out(size > 0 ? size : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

struct TestKey {
  EVP_PKEY* pkey = nullptr;
  bool rsa = true;
  std::string kid;
  explicit TestKey(bool is_rsa, std::string id) : rsa(is_rsa), kid(std::move(id)) {
    pkey = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  }
  ~TestKey() { EVP_PKEY_free(pkey); }
  std::string jwk() const {
    if (rsa)
      return R"({"kty":"RSA","kid":")" + kid + R"(","n":")" + b64url(bn_bytes(pkey, OSSL_PKEY_PARAM_RSA_N)) +
             R"(","e":")" + b64url(bn_bytes(pkey, OSSL_PKEY_PARAM_RSA_E)) + R"("})";
    return R"({"kty":"EC","kid":")" + kid + R"(","crv":"P-256","x":")" +
           b64url(bn_bytes(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32)) + R"(","y":")" +
           b64url(bn_bytes(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + R"("})";
  }
  std::string sign(const std::string& data) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t n = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey);
    EVP_DigestSign(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string sig(n, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &n,
                   reinterpret_cast<const unsigned char*>(data.data()), data.size());
    sig.resize(n);
    EVP_MD_CTX_free(ctx);
    if (rsa) return sig;
    // DER -> JOSE's r || s
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }
  std::string token(const std::string& payload, std::string header = "") const {
    if (header.empty()) header = std::string(R"({"alg":")") + (rsa ? "RS256" : "ES256") + R"(","kid":")" + kid + "\"}";
    std::string signed_part = b64url(header) + "." + b64url(payload);
    return signed_part + "." + b64url(sign(signed_part));
  }
};

std::string claims(const std::string& more = "", int64_t exp_s = kJwtNowMs / 1000 + 600) {
  return R"({"sub":"alice","iss":"https://idp","aud":["x","samsa"],"iat":)" + std::to_string(kJwtNowMs / 1000 - 5) +
         R"(,"exp":)" + std::to_string(exp_s) + more + "}";
}

std::shared_ptr<const JwkSet> set_of(const std::string& keys) {
  auto parsed = JwkSet::parse(R"({"keys":[)" + keys + "]}");
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const JwkSet>>(parsed));
  return std::get<std::shared_ptr<const JwkSet>>(parsed);
}

JwtValidation rules() {
  JwtValidation v;
  v.expected_issuer = "https://idp";
  v.expected_audience = {"samsa"};
  v.clock_skew_ms = 30000;
  return v;
}

TEST(JwtValidator, RsaAndEcTokensVerifyAndNameTheirSubject) {
  TestKey rsa(true, "r1"), ecdsa(false, "e1");
  auto keys = set_of(rsa.jwk() + "," + ecdsa.jwk());
  ASSERT_EQ(keys->size(), 2u);
  for (const TestKey* k : {&rsa, &ecdsa}) {
    auto t = validate_signed_token(k->token(claims()), *keys, rules(), kJwtNowMs);
    EXPECT_TRUE(t.ok) << t.error;
    EXPECT_EQ(t.principal, "alice");
    EXPECT_EQ(t.expires_at_ms, (kJwtNowMs / 1000 + 600) * 1000);
  }
  // No kid: every key of the algorithm's type is tried.
  auto t = validate_signed_token(rsa.token(claims(), R"({"alg":"RS256"})"), *keys, rules(), kJwtNowMs);
  EXPECT_TRUE(t.ok) << t.error;
}

TEST(JwtValidator, EachBrokenRuleIsRefused) {
  TestKey rsa(true, "r1"), other(true, "r1");
  auto keys = set_of(rsa.jwk());
  auto refused = [&](const std::string& token) { return !validate_signed_token(token, *keys, rules(), kJwtNowMs).ok; };
  EXPECT_TRUE(refused(other.token(claims())));                                      // another key
  EXPECT_TRUE(refused(rsa.token(claims("", kJwtNowMs / 1000 - 31))));                  // expired past the skew
  EXPECT_FALSE(refused(rsa.token(claims("", kJwtNowMs / 1000 - 29))));                 // within the skew
  EXPECT_TRUE(refused(rsa.token(claims(R"(,"nbf":)" + std::to_string(kJwtNowMs / 1000 + 60)))));
  EXPECT_TRUE(refused(rsa.token(R"({"iss":"https://idp","aud":"samsa","exp":1900000000})")));  // no sub
  EXPECT_TRUE(refused(rsa.token(R"({"sub":"a","iss":"https://other","aud":"samsa","exp":1900000000})")));
  EXPECT_TRUE(refused(rsa.token(R"({"sub":"a","iss":"https://idp","aud":"else","exp":1900000000})")));
  EXPECT_FALSE(refused(rsa.token(R"({"sub":"a","iss":"https://idp","aud":"samsa","exp":1900000000})")));
  EXPECT_TRUE(refused(rsa.token(claims(), R"({"alg":"none","kid":"r1"})")));
  EXPECT_TRUE(refused(rsa.token(claims(), R"({"alg":"HS256","kid":"r1"})")));
  EXPECT_TRUE(refused(rsa.token(claims(), R"({"alg":"ES256","kid":"r1"})")));  // an RSA key for ES256
  // A flipped signature byte.
  std::string t = rsa.token(claims());
  t[t.size() - 3] = t[t.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(refused(t));
}

TEST(JwtValidator, UnknownKeyIdAsksForARefresh) {
  TestKey rsa(true, "r1"), newer(true, "r2");
  auto keys = set_of(rsa.jwk());
  bool unknown = false;
  EXPECT_FALSE(validate_signed_token(newer.token(claims()), *keys, rules(), kJwtNowMs, &unknown).ok);
  EXPECT_TRUE(unknown);
  unknown = false;
  EXPECT_TRUE(validate_signed_token(rsa.token(claims()), *keys, rules(), kJwtNowMs, &unknown).ok);
  EXPECT_FALSE(unknown);
}

TEST(JwtValidator, MalformedInputIsRefusedNotCrashed) {
  TestKey rsa(true, "r1");
  auto keys = set_of(rsa.jwk());
  for (const std::string& t : {std::string(), std::string(".."), std::string("a.b"), std::string("a.b.c.d"),
                               std::string("!!.??.**"), b64url("{") + "." + b64url("{}") + ".x",
                               b64url(R"({"alg":"RS256"})") + "." + b64url("[]") + "." + b64url("sig"),
                               std::string(70000, 'a')})
    EXPECT_FALSE(validate_signed_token(t, *keys, rules(), kJwtNowMs).ok) << t.substr(0, 40);
  // Key sets: not JSON, no keys array, and keys that are skipped (bad numbers, other types, curves, use).
  EXPECT_TRUE(std::holds_alternative<std::string>(JwkSet::parse("nope")));
  EXPECT_TRUE(std::holds_alternative<std::string>(JwkSet::parse(R"({"k":[]})")));
  auto skipped = set_of(R"({"kty":"RSA","n":"!!","e":"AQAB"},{"kty":"oct","k":"c2VjcmV0"},)"
                        R"({"kty":"EC","crv":"P-192","x":"AA","y":"AA"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},)" +
                        rsa.jwk().substr(0, rsa.jwk().size() - 1) + R"(,"use":"enc"})");
  EXPECT_EQ(skipped->size(), 0u);
}

TEST(JwtValidator, FetchUrlReadsFilesAndRefusesOtherSchemes) {
  EXPECT_FALSE(fetch_url("ftp://example/jwks", 1024, 1000).ok);
  EXPECT_FALSE(fetch_url("file:///nonexistent/jwks.json", 1024, 1000).ok);
  auto got = fetch_url("file:///proc/self/status", 1 << 20, 1000);
  EXPECT_TRUE(got.ok) << got.error;
  EXPECT_NE(got.body.find("Name:"), std::string::npos);
}

// A server that answers, then drips one byte every 50 ms forever: each read is within the socket
// timeout, but the whole answer is bounded (three timeouts), so the caller is not held.
TEST(JwtValidator, FetchUrlGivesUpOnADrippingServer) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::atomic<bool> done{false};
  std::thread server([&] {
    int c = ::accept(listener, nullptr, nullptr);
    if (c < 0) return;
    const char head[] = "HTTP/1.0 200 OK\r\n";
    (void)::send(c, head, sizeof head - 1, MSG_NOSIGNAL);
    for (int i = 0; i < 200 && !done; ++i) {  // at most 10 s
      (void)::send(c, "x", 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::close(c);
  });
  auto got = fetch_url("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/jwks", 1 << 20, 200);
  done = true;
  server.join();
  ::close(listener);
  EXPECT_FALSE(got.ok);
  EXPECT_EQ(got.error, "the response took too long");  // before the server's 10 s of drips end
}

}  // namespace
}  // namespace samsa::net::jwt_test
