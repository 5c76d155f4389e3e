// SASL on the server side: SCRAM math and message flow (RFC 5802 / RFC 7677),
// PLAIN, the JAAS text of sasl.jaas.config, base64.
#include <gtest/gtest.h>

#include "base/jaas.h"
#include "net/sasl.h"
#include "net/scram.h"

namespace samsa::net {
namespace {

std::string str(const Bytes& b) { return std::string(b.begin(), b.end()); }

// A minimal SCRAM client, to drive the server the way a Kafka client does.
struct ScramClient {
  ScramHash h;
  std::string user, password, cnonce = "clientnonce123";
  std::string nonce_prefix = "";  // sent before the nonce in the final message (librdkafka's habit)
  std::string first_bare() const { return "n=" + user + ",r=" + cnonce; }
  std::string final_message(const std::string& server_first, std::string* expected_server_final) const {
    std::string nonce, salt64;
    int iterations = 0;
    size_t start = 0;
    while (start < server_first.size()) {
      size_t comma = server_first.find(',', start);
      std::string item = server_first.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (item.rfind("r=", 0) == 0) nonce = item.substr(2);
      if (item.rfind("s=", 0) == 0) salt64 = item.substr(2);
      if (item.rfind("i=", 0) == 0) iterations = std::stoi(item.substr(2));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    Bytes salted = scram_hi(h, password, *base64_decode(salt64), iterations);
    Bytes client_key = scram_hmac(h, salted, "Client Key");
    Bytes stored = scram_digest(h, client_key);
    std::string without_proof = "c=biws,r=" + nonce_prefix + nonce;
    std::string auth = first_bare() + "," + server_first + "," + without_proof;
    Bytes sig = scram_hmac(h, stored, auth);
    Bytes proof(client_key.size());
    for (size_t i = 0; i < proof.size(); ++i) proof[i] = client_key[i] ^ sig[i];
    if (expected_server_final)
      *expected_server_final = "v=" + base64_encode(scram_hmac(h, scram_hmac(h, salted, "Server Key"), auth));
    return without_proof + ",p=" + base64_encode(proof);
  }
};

std::shared_ptr<StaticScramStore> store_with(ScramHash h, const std::string& user, const std::string& pw) {
  auto s = std::make_shared<StaticScramStore>();
  s->add(h, user, scram_credential(h, pw, secure_random_bytes(16), kScramMinIterations));
  return s;
}

TEST(NetSasl, Base64RoundTripAndRejectsGarbage) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    Bytes b(s.begin(), s.end());
    auto enc = base64_encode(b);
    auto dec = base64_decode(enc);
    ASSERT_TRUE(dec) << enc;
    EXPECT_EQ(str(*dec), s);
  }
  EXPECT_EQ(base64_encode(Bytes{'f', 'o', 'o', 'b'}), "Zm9vYg==");
  EXPECT_FALSE(base64_decode("Zm9"));
  EXPECT_FALSE(base64_decode("Zm9v!g=="));
  EXPECT_FALSE(base64_decode("Zg==Zg=="));
  EXPECT_FALSE(base64_decode("=Zg="));
  EXPECT_FALSE(base64_decode("Zh=="));  // not canonical: unused bits set
  EXPECT_FALSE(base64_decode("Zm9="));
}

// RFC 7677 section 3: the SCRAM-SHA-256 example exchange, byte for byte.
TEST(NetSasl, ScramSha256Rfc7677TestVector) {
  auto store = std::make_shared<StaticScramStore>();
  store->add(ScramHash::kSha256, "user",
             scram_credential(ScramHash::kSha256, "pencil", *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096));
  ScramServer server(ScramHash::kSha256, store, [] { return std::string("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"); });
  auto first = server.step("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_EQ(first.kind, SaslStep::Kind::kContinue) << first.error;
  EXPECT_EQ(first.response, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  auto last = server.step(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_EQ(last.kind, SaslStep::Kind::kDone) << last.error;
  EXPECT_EQ(last.response, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  EXPECT_EQ(last.user, "user");
}

TEST(NetSasl, ScramSha512FullExchange) {
  ScramClient client{ScramHash::kSha512, "alice", "alice-secret"};
  ScramServer server(ScramHash::kSha512, store_with(ScramHash::kSha512, "alice", "alice-secret"));
  auto first = server.step("n,," + client.first_bare());
  ASSERT_EQ(first.kind, SaslStep::Kind::kContinue) << first.error;
  EXPECT_NE(first.response.find(",i=4096"), std::string::npos);
  std::string expected_final;
  auto last = server.step(client.final_message(first.response, &expected_final));
  ASSERT_EQ(last.kind, SaslStep::Kind::kDone) << last.error;
  EXPECT_EQ(last.response, expected_final);
  EXPECT_EQ(last.user, "alice");
  // Nothing more is accepted once done.
  EXPECT_EQ(server.step("c=biws").kind, SaslStep::Kind::kFailed);
}

TEST(NetSasl, ScramRefusesWrongPasswordUnknownUserAndTamperedNonce) {
  auto store = store_with(ScramHash::kSha512, "alice", "alice-secret");
  {
    ScramClient client{ScramHash::kSha512, "alice", "wrong"};
    ScramServer server(ScramHash::kSha512, store);
    auto first = server.step("n,," + client.first_bare());
    auto last = server.step(client.final_message(first.response, nullptr));
    EXPECT_EQ(last.kind, SaslStep::Kind::kFailed);
    EXPECT_EQ(last.error,
              "Authentication failed during authentication due to invalid credentials with SASL mechanism "
              "SCRAM-SHA-512");
  }
  {
    ScramServer server(ScramHash::kSha512, store);
    auto first = server.step("n,,n=bob,r=abc");
    EXPECT_EQ(first.kind, SaslStep::Kind::kFailed);
    EXPECT_EQ(first.error, "Authentication failed: Invalid user credentials");
  }
  {
    // A SHA-256 credential does not open the SHA-512 mechanism.
    ScramServer server(ScramHash::kSha256, store);
    EXPECT_EQ(server.step("n,,n=alice,r=abc").kind, SaslStep::Kind::kFailed);
  }
  {
    ScramClient client{ScramHash::kSha512, "alice", "alice-secret"};
    ScramServer server(ScramHash::kSha512, store);
    auto first = server.step("n,," + client.first_bare());
    std::string final_msg = client.final_message(first.response, nullptr);
    final_msg.replace(final_msg.find("r=") + 2, 1, "X");
    EXPECT_EQ(server.step(final_msg).kind, SaslStep::Kind::kFailed);
  }
}

TEST(NetSasl, ScramRejectsMalformedMessages) {
  auto store = store_with(ScramHash::kSha256, "alice", "pw");
  for (std::string bad : {"", "n", "p=tls-unique,,n=alice,r=x", "n,,r=x,n=alice", "n,,n=alice", "n,,n=al,ice,r=x",
                          "n,,n=alice,r=", "y", "n,x,n=alice,r=abc", "n,,n=alice,r=abc,m=ext"}) {
    ScramServer server(ScramHash::kSha256, store);
    EXPECT_EQ(server.step(bad).kind, SaslStep::Kind::kFailed) << bad;
  }
  for (std::string bad : {"", "c=biws", "c=biws,r=x,p=", "c=!!!!,r=x,p=AAAA", "p=AAAA"}) {
    ScramServer server(ScramHash::kSha256, store);
    ASSERT_EQ(server.step("n,,n=alice,r=abc").kind, SaslStep::Kind::kContinue);
    EXPECT_EQ(server.step(bad).kind, SaslStep::Kind::kFailed) << bad;
  }
  // authzid must name the user itself.
  ScramServer server(ScramHash::kSha256, store);
  EXPECT_EQ(server.step("n,a=bob,n=alice,r=abc").kind, SaslStep::Kind::kFailed);
  ScramServer same(ScramHash::kSha256, store);
  EXPECT_EQ(same.step("n,a=alice,n=alice,r=abc").kind, SaslStep::Kind::kContinue);
}

TEST(NetSasl, ScramSaslNameEscapes) {
  EXPECT_EQ(scram_decode_name("a=2Cb=3Dc"), "a,b=c");
  EXPECT_FALSE(scram_decode_name("a=2"));
  EXPECT_FALSE(scram_decode_name("a=41"));
}

TEST(NetSasl, PlainAcceptsKnownUserOnly) {
  auto users = std::make_shared<const PlainUsers>(PlainUsers{{"alice", "alice-secret"}});
  auto run = [&](std::string token) { return PlainServer(users).step(token); };
  using namespace std::string_literals;
  auto ok = run("\0alice\0alice-secret"s);
  EXPECT_EQ(ok.kind, SaslStep::Kind::kDone);
  EXPECT_EQ(ok.user, "alice");
  EXPECT_EQ(run("alice\0alice\0alice-secret"s).kind, SaslStep::Kind::kDone);
  EXPECT_EQ(run("\0alice\0wrong"s).error, "Authentication failed: Invalid username or password");
  EXPECT_EQ(run("\0bob\0alice-secret"s).error, "Authentication failed: Invalid username or password");
  EXPECT_EQ(run("\0\0pw"s).error, "Authentication failed: username not specified");
  EXPECT_EQ(run("\0alice\0"s).error, "Authentication failed: password not specified");
  EXPECT_EQ(run("alice"s).error, "Invalid SASL/PLAIN response: expected 3 tokens, got 1");
  EXPECT_EQ(run("bob\0alice\0alice-secret"s).error,
            "Authentication failed: Client requested an authorization id that is different from username");
}

TEST(NetSasl, ConfigMakesOnlyEnabledMechanisms) {
  SaslConfig cfg;
  cfg.mechanisms = {"PLAIN", "SCRAM-SHA-512"};
  cfg.plain_users = std::make_shared<const PlainUsers>();
  cfg.scram = std::make_shared<StaticScramStore>();
  EXPECT_NE(cfg.make_server("PLAIN"), nullptr);
  EXPECT_NE(cfg.make_server("SCRAM-SHA-512"), nullptr);
  EXPECT_EQ(cfg.make_server("SCRAM-SHA-256"), nullptr);
  EXPECT_EQ(cfg.make_server("GSSAPI"), nullptr);
}

TEST(NetSasl, JaasParsesKafkaEntries) {
  auto parsed = parse_jaas_config(
      "org.apache.kafka.common.security.plain.PlainLoginModule required\n"
      "  username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"a\\\"b\";");
  ASSERT_TRUE(std::holds_alternative<JaasConfig>(parsed)) << std::get<std::string>(parsed);
  auto& c = std::get<JaasConfig>(parsed);
  EXPECT_EQ(c.login_module, "org.apache.kafka.common.security.plain.PlainLoginModule");
  EXPECT_EQ(c.control_flag, "required");
  EXPECT_EQ(c.options.at("username"), "admin");
  auto users = jaas_users(c);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users.at("alice"), "a\"b");
  // Bare words are values too.
  auto bare = parse_jaas_config("x.Module optional debug=true ;");
  ASSERT_TRUE(std::holds_alternative<JaasConfig>(bare));
  EXPECT_EQ(std::get<JaasConfig>(bare).options.at("debug"), "true");
}

TEST(NetSasl, JaasRejectsMalformedEntries) {
  for (std::string bad : {"", "Module", "Module required", "Module maybe a=\"b\";", "Module required a=\"b\"",
                          "Module required a=\"b;", "Module required =b;", "M required a=b; N required c=d;"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_jaas_config(bad))) << bad;
  }
}

}  // namespace
}  // namespace samsa::net

// The mTLS principal: the subject in RFC 2253 order (most specific first), as
// Java's X500Principal.getName() prints it.
#include <openssl/x509.h>

#include "net/tls.h"

namespace samsa::net {
namespace {
TEST(NetTls, PrincipalIsSubjectInRfc2253Order) {
  X509* cert = X509_new();
  X509_NAME* name = X509_get_subject_name(cert);
  auto add = [&](const char* field, const char* value) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value), -1, -1, 0);
  };
  add("C", "US");
  add("O", "Samsa, Inc");
  add("CN", "client");
  EXPECT_EQ(certificate_principal(cert), "User:CN=client,O=Samsa\\, Inc,C=US");
  X509_free(cert);
}

TEST(NetTls, ContextRefusesWhatItCannotUse) {
  TlsSettings s;
  auto err = [](const TlsSettings& t) {
    auto r = make_server_tls(t);
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
  };
  EXPECT_NE(err(s).find("ssl.keystore.location is not set"), std::string::npos);
  s.keystore_location = "/nonexistent.pem";
  EXPECT_NE(err(s).find("cannot read /nonexistent.pem"), std::string::npos);
  s.enabled_protocols = {"SSLv3"};
  EXPECT_NE(err(s).find("unsupported protocol SSLv3"), std::string::npos);
  s.enabled_protocols = {"TLSv1.3"};
  s.cipher_suites = {"TLS_NO_SUCH_SUITE"};
  EXPECT_NE(err(s).find("unknown cipher suite TLS_NO_SUCH_SUITE"), std::string::npos);
  s.cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"};
  EXPECT_NE(err(s).find("cannot read"), std::string::npos);  // the suites were understood
  s.keystore_certificate_chain = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  EXPECT_NE(err(s).find("must be set together"), std::string::npos);
}
}  // namespace
}  // namespace samsa::net

namespace samsa::net {
namespace {
// librdkafka 2.0 repeats its client nonce in front of the full nonce in the
// final message; Kafka checks only that the nonce ends with the full one.
TEST(NetSasl, ScramAcceptsFinalNonceEndingWithTheFullNonce) {
  ScramClient client{ScramHash::kSha512, "alice", "alice-secret"};
  ScramServer server(ScramHash::kSha512, store_with(ScramHash::kSha512, "alice", "alice-secret"));
  auto first = server.step("n,," + client.first_bare());
  ASSERT_EQ(first.kind, SaslStep::Kind::kContinue);
  client.nonce_prefix = client.cnonce;
  // The proof is computed over the message as sent, with the longer nonce.
  auto last = server.step(client.final_message(first.response, nullptr));
  EXPECT_EQ(last.kind, SaslStep::Kind::kDone) << last.error;
  // A nonce that does not end with the full nonce is still refused.
  ScramServer other(ScramHash::kSha512, store_with(ScramHash::kSha512, "alice", "alice-secret"));
  auto first2 = other.step("n,," + client.first_bare());
  std::string msg = client.final_message(first2.response, nullptr);
  msg.replace(msg.find(",p=") - 1, 1, "#");
  EXPECT_EQ(other.step(msg).kind, SaslStep::Kind::kFailed);
}
}  // namespace
}  // namespace samsa::net

#include "base/random.h"

namespace samsa::net {
namespace {
// Hostile tokens: random bytes and single-byte mutations of a valid exchange
// never crash a mechanism and never authenticate (a mutated SCRAM proof or
// nonce must fail; a mutated PLAIN token passes only if it still names the
// user and password exactly).
TEST(NetSasl, HostileTokensNeverCrashOrAuthenticate) {
  const uint64_t seed = random_seed();
  SCOPED_TRACE("SAMSA_SEED=" + std::to_string(seed));
  Random rng(seed);
  auto store = store_with(ScramHash::kSha256, "alice", "alice-secret");
  auto users = std::make_shared<const PlainUsers>(PlainUsers{{"alice", "alice-secret"}});
  auto random_bytes = [&](size_t max) {
    std::string s(static_cast<size_t>(rng.uniform(0, static_cast<int64_t>(max))), '\0');
    for (auto& c : s) c = static_cast<char>(rng.uniform(0, 255));
    return s;
  };
  ScramClient client{ScramHash::kSha256, "alice", "alice-secret"};
  for (int i = 0; i < 300; ++i) {
    ScramServer server(ScramHash::kSha256, store);
    auto first = server.step(i % 2 ? random_bytes(200) : "n,," + client.first_bare());
    if (first.kind != SaslStep::Kind::kContinue) continue;
    std::string final_msg = client.final_message(first.response, nullptr);
    if (i % 4 == 0) {
      final_msg = random_bytes(300);
    } else {
      size_t at = static_cast<size_t>(rng.uniform(0, static_cast<int64_t>(final_msg.size()) - 1));
      char replacement = static_cast<char>(rng.uniform(1, 255));
      if (replacement == final_msg[at]) replacement ^= 0x40;
      final_msg[at] = replacement;
    }
    EXPECT_NE(server.step(final_msg).kind, SaslStep::Kind::kDone) << final_msg;
    EXPECT_EQ(server.step(random_bytes(50)).kind, SaslStep::Kind::kFailed);
    PlainServer plain(users);
    auto r = plain.step(random_bytes(100));
    EXPECT_NE(r.kind, SaslStep::Kind::kDone);
  }
}
}  // namespace
}  // namespace samsa::net

#include "net/principal_mapping.h"

namespace samsa::net {
namespace {
// ssl.principal.mapping.rules with Kafka's documented examples.
TEST(NetTls, PrincipalMappingRules) {
  auto parsed = PrincipalMapper::parse(
      "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L, "
      "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, DEFAULT");
  ASSERT_TRUE(std::holds_alternative<PrincipalMapper>(parsed)) << std::get<std::string>(parsed);
  auto& m = std::get<PrincipalMapper>(parsed);
  EXPECT_EQ(m.map("CN=kafka-svc,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown"), "kafka-svc");
  EXPECT_EQ(m.map("CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Palo Alto,ST=CA,C=US"), "duke@javasoft");
  EXPECT_EQ(m.map("OU=x,cn=client.one,O=y"), "CLIENT.ONE");
  EXPECT_EQ(m.map("O=no common name"), "O=no common name");  // DEFAULT
  auto strict = std::get<PrincipalMapper>(PrincipalMapper::parse("RULE:^CN=(a\\/b)$/$1/"));
  EXPECT_EQ(strict.map("CN=a/b"), "a/b");
  EXPECT_EQ(strict.map("CN=other"), std::nullopt);  // no rule applies: refused
  for (std::string bad : {"", "RULE:x", "RULE:x/y", "NOPE", "RULE:(/x/", "DEFAULT RULE:a/b/"})
    EXPECT_TRUE(std::holds_alternative<std::string>(PrincipalMapper::parse(bad))) << bad;
}
}  // namespace
}  // namespace samsa::net
