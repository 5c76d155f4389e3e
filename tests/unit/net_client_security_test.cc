// The client side of inter-broker security: the SCRAM client (RFC 5802 /
// RFC 7677) against the broker's own ScramServer, the SASL exchange
// (SaslHandshake v1 + SaslAuthenticate v2) against an in-memory broker, and
// which ClientSecurity server.properties makes for the inter-broker and
// controller listeners.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <deque>

#include "base/error_code.h"
#include "config/broker_config.h"
#include "net/client_security.h"
#include "net/sasl.h"
#include "net/scram.h"
#include "protocol/batch_header.h"
#include "protocol/messages/sasl_authenticate.h"
#include "protocol/messages/sasl_handshake.h"
#include "server/inter_broker_security.h"

namespace samsa::net {
namespace {

std::shared_ptr<StaticScramStore> one_user(ScramHash h, const std::string& user, const std::string& pw) {
  auto s = std::make_shared<StaticScramStore>();
  s->add(h, user, scram_credential(h, pw, secure_random_bytes(16), kScramMinIterations));
  return s;
}

TEST(ClientSecurity, ScramClientRfc7677Vector) {
  ScramClient c(ScramHash::kSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(c.first_message(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  std::string err;
  auto final_msg =
      c.final_message("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", err);
  ASSERT_TRUE(final_msg) << err;
  EXPECT_EQ(*final_msg,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_TRUE(c.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", err)) << err;
  EXPECT_FALSE(c.verify_server_final("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", err));
  EXPECT_NE(err.find("does not verify"), std::string::npos);
}

TEST(ClientSecurity, ScramClientAgainstTheBrokersServer) {
  for (auto h : {ScramHash::kSha256, ScramHash::kSha512}) {
    ScramServer server(h, one_user(h, "broker", "right"));
    ScramClient client(h, "broker", "right");
    auto first = server.step(client.first_message());
    ASSERT_EQ(first.kind, SaslStep::Kind::kContinue) << first.error;
    std::string err;
    auto fin = client.final_message(first.response, err);
    ASSERT_TRUE(fin) << err;
    auto last = server.step(*fin);
    ASSERT_EQ(last.kind, SaslStep::Kind::kDone) << last.error;
    EXPECT_TRUE(client.verify_server_final(last.response, err)) << err;
  }
  ScramServer server(ScramHash::kSha512, one_user(ScramHash::kSha512, "broker", "right"));
  ScramClient wrong(ScramHash::kSha512, "broker", "wrong");
  auto first = server.step(wrong.first_message());
  std::string err;
  auto fin = wrong.final_message(first.response, err);
  ASSERT_TRUE(fin);
  EXPECT_EQ(server.step(*fin).kind, SaslStep::Kind::kFailed);
}

TEST(ClientSecurity, ScramClientRefusesHostileServerFirst) {
  std::string err;
  ScramClient c(ScramHash::kSha512, "u", "p", "abc");
  c.first_message();
  EXPECT_FALSE(c.final_message("r=xyz123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", err));  // not our nonce
  EXPECT_FALSE(c.final_message("r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100000000", err));  // CPU burn
  EXPECT_NE(err.find("iteration count"), std::string::npos);
  EXPECT_FALSE(c.final_message("r=abc123,s=!!,i=4096", err));
  EXPECT_FALSE(c.final_message("garbage", err));
  EXPECT_FALSE(c.final_message("e=other-error", err));
  EXPECT_FALSE(c.verify_server_final("v=AAAA", err));  // before any final message
}

// A broker that answers SaslHandshake and SaslAuthenticate from memory.
class FakeBroker final : public Stream {
 public:
  explicit FakeBroker(SaslConfig cfg) : cfg_(std::move(cfg)) {}
  asio::awaitable<asio::error_code> write_all(std::span<const uint8_t> bytes) override {
    protocol::Reader r(bytes);
    r.i32();
    int16_t key = r.i16(), version = r.i16();
    int32_t corr = r.i32();
    r.skip(static_cast<size_t>(r.i16()));  // client id
    if (version >= 2) r.uvarint();         // SaslAuthenticate v2: tagged fields
    protocol::Writer w;
    w.i32(0);
    w.i32(corr);
    if (key == 17) {
      protocol::SaslHandshakeRequest req;
      req.decode(r, version);
      protocol::SaslHandshakeResponse resp;
      resp.mechanisms = cfg_.mechanisms;
      server_ = cfg_.make_server(req.mechanism);
      if (!server_) resp.error_code = 33;  // UNSUPPORTED_SASL_MECHANISM
      resp.encode(w, version);
    } else {
      w.uvarint(0);
      protocol::SaslAuthenticateRequest req;
      req.decode(r, version);
      auto step = server_->step(std::string_view(reinterpret_cast<const char*>(req.auth_bytes.data()),
                                                 req.auth_bytes.size()));
      protocol::SaslAuthenticateResponse resp;
      if (step.kind == SaslStep::Kind::kFailed) {
        resp.error_code = static_cast<int16_t>(ErrorCode::SASL_AUTHENTICATION_FAILED);
        resp.error_message = step.error;
      }
      resp.auth_bytes.assign(step.response.begin(), step.response.end());
      resp.encode(w, version);
    }
    w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
    out_.insert(out_.end(), w.buffer().begin(), w.buffer().end());
    co_return asio::error_code{};
  }
  asio::awaitable<asio::error_code> read_exact(std::span<uint8_t> bytes) override {
    if (out_.size() < bytes.size()) co_return asio::error::eof;
    std::copy_n(out_.begin(), bytes.size(), bytes.begin());
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(bytes.size()));
    co_return asio::error_code{};
  }
  void close() override {}

 private:
  SaslConfig cfg_;
  std::unique_ptr<SaslServer> server_;
  std::deque<uint8_t> out_;
};

std::pair<asio::error_code, std::string> login(FakeBroker& broker, const ClientSecurity& sec) {
  asio::io_context io;
  std::pair<asio::error_code, std::string> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await sasl_login(broker, sec); }, asio::detached);
  io.run();
  return out;
}

SaslConfig broker_sasl() {
  SaslConfig cfg;
  cfg.mechanisms = {"PLAIN", "SCRAM-SHA-512"};
  cfg.plain_users = std::make_shared<const PlainUsers>(PlainUsers{{"broker", "right"}});
  cfg.scram = one_user(ScramHash::kSha512, "broker", "right");
  return cfg;
}

TEST(ClientSecurity, SaslLoginPlainAndScramOverTheWire) {
  for (std::string mech : {"PLAIN", "SCRAM-SHA-512"}) {
    ClientSecurity sec;
    sec.protocol = "SASL_PLAINTEXT";
    sec.sasl_mechanism = mech;
    sec.username = "broker";
    sec.password = "right";
    FakeBroker ok(broker_sasl());
    auto [ec, why] = login(ok, sec);
    EXPECT_FALSE(ec) << mech << ": " << why;
    sec.password = "wrong";
    FakeBroker refused(broker_sasl());
    std::tie(ec, why) = login(refused, sec);
    EXPECT_EQ(ec, make_error_code(ClientSecurityError::kAuthenticationFailed)) << mech;
    EXPECT_FALSE(why.empty());
  }
  ClientSecurity sha256;
  sha256.protocol = "SASL_PLAINTEXT";
  sha256.sasl_mechanism = "SCRAM-SHA-256";
  FakeBroker broker(broker_sasl());
  auto [ec, why] = login(broker, sha256);
  EXPECT_EQ(ec, make_error_code(ClientSecurityError::kMechanismNotEnabled));
  EXPECT_NE(why.find("PLAIN, SCRAM-SHA-512"), std::string::npos) << why;
}

// A self-signed certificate for `san` and its key, both PEM.
struct PemPair {
  std::string cert, key;
};
PemPair self_signed(const std::string& cn, const std::string& san) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x, key, EVP_sha256());
  auto pem = [](auto write) {
    BIO* b = BIO_new(BIO_s_mem());
    write(b);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(b);
    return out;
  };
  PemPair out{pem([&](BIO* b) { PEM_write_bio_X509(b, x); }),
              pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); })};
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

// A TLS server on 127.0.0.1 with `server` as its certificate; a TcpTransport with `trusted` as its
// trust store connects to `host`: the error of that connect (none when it succeeded).
asio::error_code tls_connect(const PemPair& server, const PemPair& trusted, const std::string& host,
                             bool verify_hostname) {
  TlsSettings st;
  st.keystore_certificate_chain = server.cert;
  st.keystore_key = server.key;
  auto made = make_server_tls(st);
  EXPECT_TRUE(std::holds_alternative<TlsContextPtr>(made)) << std::get<std::string>(made);
  auto server_ctx = std::get<TlsContextPtr>(made);
  TlsSettings ct;
  ct.truststore_certificates = trusted.cert;
  auto client = make_client_tls(ct);
  EXPECT_TRUE(std::holds_alternative<TlsContextPtr>(client)) << std::get<std::string>(client);
  auto sec = std::make_shared<ClientSecurity>();
  sec->protocol = "SSL";
  sec->listener = "INTERNAL";
  sec->tls = std::get<TlsContextPtr>(client);
  sec->verify_hostname = verify_hostname;

  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    asio::error_code ec;
    auto sock = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    asio::ssl::stream<asio::ip::tcp::socket> s(std::move(sock), *server_ctx);
    co_await s.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    uint8_t b[4];
    co_await asio::async_read(s, asio::buffer(b), asio::redirect_error(asio::use_awaitable, ec));
  }, asio::detached);
  TcpTransport transport(io.get_executor(), 5000, sec);
  asio::error_code result = asio::error::would_block;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto [ec, stream] = co_await transport.connect(host, port);
    result = ec;
    if (stream) {
      const uint8_t ping[4] = {1, 2, 3, 4};
      co_await stream->write_all(ping);
      stream->close();
    }
    acceptor.close();
  }, asio::detached);
  io.run_for(std::chrono::seconds(20));
  return result;
}

TEST(ClientSecurity, TlsVerifiesTheBrokersCertificateAndHostName) {
  const PemPair broker = self_signed("broker", "IP:127.0.0.1");
  const PemPair rogue = self_signed("rogue", "IP:127.0.0.1");
  EXPECT_FALSE(tls_connect(broker, broker, "127.0.0.1", true));
  // Not in the trust store.
  EXPECT_EQ(tls_connect(rogue, broker, "127.0.0.1", true), make_error_code(ClientSecurityError::kTlsHandshakeFailed));
  // Trusted, but the certificate does not name "localhost": refused unless host names are not checked.
  EXPECT_EQ(tls_connect(broker, broker, "localhost", true), make_error_code(ClientSecurityError::kTlsHandshakeFailed));
  EXPECT_FALSE(tls_connect(broker, broker, "localhost", false));
}

}  // namespace
}  // namespace samsa::net

namespace samsa::server {
namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

std::variant<config::BrokerConfig, std::string> load(Overrides o) {
  o.emplace_back("log.dirs", "/tmp/unused");
  o.emplace_back("node.id", "2");
  std::vector<std::string> warnings;
  return config::load_broker_config(std::nullopt, o, warnings);
}

const Overrides kCluster = {{"listeners", "INTERNAL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,EXTERNAL://:9094"},
                            {"listener.security.protocol.map",
                             "INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,EXTERNAL:PLAINTEXT"},
                            {"inter.broker.listener.name", "INTERNAL"},
                            {"controller.listener.names", "CONTROLLER"}};

std::string error_of(const std::variant<std::shared_ptr<const net::ClientSecurity>, std::string>& r) {
  auto* e = std::get_if<std::string>(&r);
  return e ? *e : "";
}

TEST(InterBrokerSecurity, MechanismAndCredentialsPerListener) {
  Overrides o = kCluster;
  o.insert(o.end(), {{"sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512"},
                     {"sasl.mechanism.controller.protocol", "PLAIN"},
                     {"listener.name.internal.scram-sha-512.sasl.jaas.config",
                      "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" "
                      "password=\"b-secret\" user_broker=\"b-secret\";"},
                     {"listener.name.controller.plain.sasl.jaas.config",
                      "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"ctl\" "
                      "password=\"c-secret\" user_ctl=\"c-secret\";"}});
  auto cfg = load(o);
  ASSERT_TRUE(std::holds_alternative<config::BrokerConfig>(cfg)) << std::get<std::string>(cfg);
  auto& c = std::get<config::BrokerConfig>(cfg);
  auto ib = inter_broker_client_security(c);
  ASSERT_EQ(error_of(ib), "");
  auto& i = *std::get<std::shared_ptr<const net::ClientSecurity>>(ib);
  EXPECT_EQ(i.protocol, "SASL_PLAINTEXT");
  EXPECT_EQ(i.sasl_mechanism, "SCRAM-SHA-512");
  EXPECT_EQ(i.username, "broker");
  EXPECT_EQ(i.password, "b-secret");
  EXPECT_FALSE(i.tls);
  auto ctl = controller_client_security(c);
  ASSERT_EQ(error_of(ctl), "");
  auto& k = *std::get<std::shared_ptr<const net::ClientSecurity>>(ctl);
  EXPECT_EQ(k.sasl_mechanism, "PLAIN");
  EXPECT_EQ(k.username, "ctl");
  EXPECT_EQ(k.listener, "CONTROLLER");
  // A PLAINTEXT listener needs no client security.
  auto ext = listener_client_security(c, "EXTERNAL", "sasl.mechanism.inter.broker.protocol");
  ASSERT_EQ(error_of(ext), "");
  EXPECT_FALSE(std::get<std::shared_ptr<const net::ClientSecurity>>(ext));
}

TEST(InterBrokerSecurity, RefusesWhatCannotLogIn) {
  auto c = std::get<config::BrokerConfig>(load(kCluster));
  // Kafka's default mechanism is GSSAPI.
  EXPECT_NE(error_of(inter_broker_client_security(c)).find("GSSAPI is not supported"), std::string::npos);
  Overrides o = kCluster;
  o.emplace_back("sasl.mechanism.inter.broker.protocol", "PLAIN");
  o.emplace_back("listener.name.internal.plain.sasl.jaas.config",
                 "org.apache.kafka.common.security.plain.PlainLoginModule required user_broker=\"x\";");
  auto no_user = std::get<config::BrokerConfig>(load(o));
  EXPECT_NE(error_of(inter_broker_client_security(no_user)).find("username= and password="), std::string::npos);
  Overrides tls = {{"listeners", "INTERNAL://127.0.0.1:9092"},
                   {"listener.security.protocol.map", "INTERNAL:SSL"},
                   {"inter.broker.listener.name", "INTERNAL"},
                   {"ssl.truststore.type", "PEM"},
                   {"ssl.truststore.location", "/nonexistent/ca.pem"}};
  auto t = std::get<config::BrokerConfig>(load(tls));
  EXPECT_NE(error_of(inter_broker_client_security(t)).find("/nonexistent/ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace samsa::server
