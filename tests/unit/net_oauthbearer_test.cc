// SASL/OAUTHBEARER with unsecured JWS tokens (Kafka's default validator), under a fixed clock.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "net/oauthbearer.h"
#include "net/scram.h"

namespace samsa::net {
namespace {

constexpr int64_t kNowMs = 1'800'000'000'000;  // the fixed wall clock of these tests

std::string b64url(const std::string& bytes) { return jws::base64url_encode(bytes); }

std::string unsecured(const std::string& payload, const std::string& header = R"({"alg":"none"})") {
  return b64url(header) + "." + b64url(payload) + ".";
}

std::string first_message(const std::string& token, const std::string& authzid = "") {
  return "n," + (authzid.empty() ? std::string() : "a=" + authzid) + ",\x01host=localhost\x01" + "auth=Bearer " + token +
         "\x01\x01";
}

std::string claims(const std::string& sub, int64_t exp_s, const std::string& more = "") {
  return R"({"sub":")" + sub + R"(","iat":)" + std::to_string(kNowMs / 1000 - 10) + R"(,"exp":)" +
         std::to_string(exp_s) + more + "}";
}

SaslStep run(const std::string& message, OAuthBearerOptions options = {}) {
  OAuthBearerServer server(std::make_shared<OAuthBearerOptions>(std::move(options)), [] { return kNowMs; });
  return server.step(message);
}

TEST(OAuthBearer, AValidUnsecuredTokenAuthenticatesItsSubject) {
  auto step = run(first_message(unsecured(claims("alice", kNowMs / 1000 + 3600))));
  ASSERT_EQ(step.kind, SaslStep::Kind::kDone) << step.error;
  EXPECT_EQ(step.user, "alice");
  EXPECT_TRUE(step.response.empty());
  // The authorization id may repeat the subject, not name another.
  EXPECT_EQ(run(first_message(unsecured(claims("alice", kNowMs / 1000 + 60)), "alice")).kind, SaslStep::Kind::kDone);
  auto other = run(first_message(unsecured(claims("alice", kNowMs / 1000 + 60)), "bob"));
  EXPECT_EQ(other.kind, SaslStep::Kind::kFailed);
  EXPECT_NE(other.error.find("authorization id"), std::string::npos);
}

TEST(OAuthBearer, ABadTokenGetsTheErrorChallengeThenFails) {
  OAuthBearerServer server(std::make_shared<OAuthBearerOptions>(), [] { return kNowMs; });
  auto step = server.step(first_message(unsecured(claims("alice", kNowMs / 1000 - 1))));  // expired
  ASSERT_EQ(step.kind, SaslStep::Kind::kContinue);
  EXPECT_EQ(step.response, R"({"status":"invalid_token"})");
  EXPECT_NE(step.error.find("expired"), std::string::npos);
  auto ack = server.step("\x01");
  EXPECT_EQ(ack.kind, SaslStep::Kind::kFailed);
  EXPECT_EQ(ack.error,
            "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER");
  EXPECT_EQ(server.step("\x01").kind, SaslStep::Kind::kFailed);
}

TEST(OAuthBearer, TokensAreValidatedAsKafkasUnsecuredValidatorDoes) {
  OAuthBearerOptions o;
  auto refused = [&](const std::string& token, const char* why) {
    auto v = validate_unsecured_token(token, o, kNowMs);
    EXPECT_FALSE(v.ok) << token;
    EXPECT_NE(v.error.find(why), std::string::npos) << v.error;
  };
  int64_t later = kNowMs / 1000 + 600;
  refused(unsecured(claims("a", later), R"({"alg":"RS256"})"), "alg");
  refused(b64url(R"({"alg":"none"})") + "." + b64url(claims("a", later)) + ".c2ln", "empty signature");
  refused(b64url(R"({"alg":"none"})") + "." + b64url(claims("a", later)), "three parts");
  refused(unsecured(R"({"exp":)" + std::to_string(later) + "}"), "'sub'");
  refused(unsecured(R"({"sub":"a"})"), "'exp'");
  refused(unsecured(R"({"sub":"a","exp":"soon"})"), "'exp'");
  refused(unsecured(R"({"sub":"a","exp":)" + std::to_string(later) + R"(,"iat":)" +
                    std::to_string(kNowMs / 1000 + 100) + "}"),
          "future");
  refused(unsecured("not json"), "JSON");
  refused("%%%." + b64url(claims("a", later)) + ".", "base64url");
  auto ok = validate_unsecured_token(unsecured(claims("a", later)), o, kNowMs);
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.expires_at_ms, later * 1000);
  // Clock skew lets a just-expired token through; another principal claim and required scopes.
  o.clock_skew_ms = 5000;
  EXPECT_TRUE(validate_unsecured_token(unsecured(claims("a", kNowMs / 1000 - 2)), o, kNowMs).ok);
  o.principal_claim = "client_id";
  o.required_scope = {"kafka", "write"};
  auto scoped = validate_unsecured_token(
      unsecured(R"({"client_id":"svc","exp":)" + std::to_string(later) + R"(,"scope":"read kafka write"})"), o, kNowMs);
  ASSERT_TRUE(scoped.ok) << scoped.error;
  EXPECT_EQ(scoped.principal, "svc");
  refused(unsecured(R"({"client_id":"svc","exp":)" + std::to_string(later) + R"(,"scope":["kafka"]})"), "write");
}

TEST(OAuthBearer, MalformedFirstMessagesAreRefused) {
  std::string token = unsecured(claims("alice", kNowMs / 1000 + 60));
  for (const std::string& bad : {std::string("p=x,,\x01" "auth=Bearer ") + token + "\x01\x01",
                                 std::string("n,,auth=Bearer ") + token + "\x01\x01",
                                 std::string("n,,\x01" "auth=Bearer ") + token + "\x01",
                                 std::string("n,,\x01" "auth=Basic abc\x01\x01"),
                                 std::string("n,,\x01\x01"), std::string("n,x=y,\x01" "auth=Bearer ") + token + "\x01\x01",
                                 std::string("n,,\x01=v\x01" "auth=Bearer ") + token + "\x01\x01", std::string(),
                                 std::string(70000, 'n')}) {
    auto step = run(bad);
    EXPECT_EQ(step.kind, SaslStep::Kind::kFailed) << bad.substr(0, 40);
    EXPECT_FALSE(step.error.empty());
  }
  // The scheme is case-insensitive.
  EXPECT_EQ(run(std::string("n,,\x01" "auth=bearer ") + token + "\x01\x01").kind, SaslStep::Kind::kDone);
}

}  // namespace
}  // namespace samsa::net
