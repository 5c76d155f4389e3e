// Listeners with security protocols: listeners / listener.security.protocol.map /
// advertised.listeners parsing, per-listener keys (listener.name.<l>.<key>),
// and the net::ListenerContext each listener gets (TLS, SASL mechanisms, users).
#include <gtest/gtest.h>

#include "config/broker_config.h"
#include "net/scram.h"
#include "server/listener_security.h"

namespace samsa::server {
namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

config::BrokerConfig load(Overrides o, std::vector<std::string>* warnings_out = nullptr) {
  o.emplace_back("log.dirs", "/tmp/unused");
  std::vector<std::string> warnings;
  auto r = config::load_broker_config(std::nullopt, o, warnings);
  if (warnings_out) *warnings_out = warnings;
  if (auto* err = std::get_if<std::string>(&r)) ADD_FAILURE() << *err;
  return std::get<config::BrokerConfig>(std::move(r));
}

std::string listener_load_error(Overrides o) {
  o.emplace_back("log.dirs", "/tmp/unused");
  std::vector<std::string> warnings;
  auto r = config::load_broker_config(std::nullopt, o, warnings);
  auto* err = std::get_if<std::string>(&r);
  return err ? *err : "";
}

TEST(ListenerSecurity, FourProtocolsByDefaultMap) {
  auto cfg = load({{"listeners", "PLAINTEXT://:9092,SSL://:9093,SASL_PLAINTEXT://:9094,SASL_SSL://:9095"}});
  ASSERT_EQ(cfg.listeners().size(), 4u);
  EXPECT_EQ(cfg.listeners()[1].security_protocol, "SSL");
  EXPECT_EQ(cfg.listeners()[2].security_protocol, "SASL_PLAINTEXT");
  EXPECT_EQ(cfg.listeners()[3].security_protocol, "SASL_SSL");
  EXPECT_EQ(cfg.listeners()[3].port, 9095);
}

TEST(ListenerSecurity, NamedListenersAndAdvertisedPerListener) {
  auto cfg = load({{"listeners", "INTERNAL://127.0.0.1:9092,EXTERNAL://0.0.0.0:9093"},
                   {"listener.security.protocol.map", "INTERNAL:SASL_PLAINTEXT,EXTERNAL:SSL"},
                   {"advertised.listeners", "INTERNAL://kafka-0.internal:9092,EXTERNAL://broker.example.com:19093"},
                   {"inter.broker.listener.name", "INTERNAL"}});
  EXPECT_EQ(cfg.listeners()[0].security_protocol, "SASL_PLAINTEXT");
  EXPECT_EQ(cfg.listeners()[1].security_protocol, "SSL");
  ASSERT_EQ(cfg.advertised_listeners().size(), 2u);
  EXPECT_EQ(cfg.advertised_listeners()[1].listener_name, "EXTERNAL");
  EXPECT_EQ(cfg.advertised_listeners()[1].host, "broker.example.com");
  EXPECT_EQ(cfg.advertised_listeners()[1].port, 19093);
  EXPECT_EQ(cfg.inter_broker_listener_name(), "INTERNAL");
}

TEST(ListenerSecurity, MapErrorsAreKafkas) {
  EXPECT_EQ(listener_load_error({{"listeners", "CLIENT://:9092"}}), "No security protocol defined for listener CLIENT");
  EXPECT_NE(listener_load_error({{"listeners", "CLIENT://:9092"}, {"listener.security.protocol.map", "CLIENT:TLS"}})
                .find("Unknown security protocol TLS"),
            std::string::npos);
  EXPECT_NE(listener_load_error({{"listeners", "A://:1,B://:2"}, {"listener.security.protocol.map", "A:SSL,B"}})
                .find("is not of the form LISTENER_NAME:SECURITY_PROTOCOL"),
            std::string::npos);
}

TEST(ListenerSecurity, PerListenerKeysOverrideGlobalOnesWithoutWarnings) {
  std::vector<std::string> warnings;
  auto cfg = load({{"listeners", "PLAINTEXT://:9092,SSL://:9093"},
                   {"ssl.client.auth", "none"},
                   {"listener.name.ssl.ssl.client.auth", "required"},
                   {"listener.name.sasl_ssl.plain.sasl.jaas.config", "x required;"}},
                  &warnings);
  EXPECT_EQ(cfg.listener_value("SSL", "ssl.client.auth"), "required");
  EXPECT_EQ(cfg.listener_value("PLAINTEXT", "ssl.client.auth"), "none");
  EXPECT_EQ(cfg.listener_value("SSL", "ssl.enabled.protocols"), "TLSv1.2,TLSv1.3");
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  // A per-listener value is checked like the key itself.
  EXPECT_NE(listener_load_error({{"listener.name.ssl.ssl.client.auth", "sometimes"}}).find("ssl.client.auth"),
            std::string::npos);
}

ListenerSpec spec(const std::string& name, const std::string& protocol) {
  ListenerSpec s;
  s.name = name;
  s.security_protocol = protocol;
  return s;
}

std::string context_error(const config::BrokerConfig& cfg, const ListenerSpec& s) {
  auto r = make_listener_context(&cfg, s);
  auto* err = std::get_if<std::string>(&r);
  return err ? *err : "";
}

TEST(ListenerSecurity, SaslListenerGetsUsersPerMechanism) {
  auto cfg = load({{"listeners", "SASL_PLAINTEXT://:9094"},
                   {"sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-512"},
                   {"listener.name.sasl_plaintext.plain.sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" "
                    "password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\";"},
                   {"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required user_bob=\"bob-secret\";"}});
  auto r = make_listener_context(&cfg, spec("SASL_PLAINTEXT", "SASL_PLAINTEXT"));
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<net::ListenerContext>>(r)) << std::get<std::string>(r);
  auto& ctx = *std::get<std::shared_ptr<net::ListenerContext>>(r);
  ASSERT_TRUE(ctx.sasl);
  EXPECT_FALSE(ctx.tls);
  EXPECT_EQ(ctx.sasl->plain_users->at("alice"), "alice-secret");
  auto bob = ctx.sasl->scram->find(net::ScramHash::kSha512, "bob");
  ASSERT_TRUE(bob);
  EXPECT_GE(bob->iterations, net::kScramMinIterations);
  EXPECT_EQ(bob->salt.size(), 32u);
  EXPECT_FALSE(ctx.sasl->scram->find(net::ScramHash::kSha256, "bob"));
  EXPECT_EQ(ctx.max_unauthenticated_bytes, 524288);
}

TEST(ListenerSecurity, RefusesWhatCannotServe) {
  auto cfg = load({{"listeners", "SASL_PLAINTEXT://:9094,SSL://:9093"}});
  // Kafka's default mechanism is GSSAPI (Kerberos), which Samsa does not have.
  EXPECT_NE(context_error(cfg, spec("SASL_PLAINTEXT", "SASL_PLAINTEXT")).find("GSSAPI is not supported"),
            std::string::npos);
  EXPECT_NE(context_error(cfg, spec("SSL", "SSL")).find("ssl.keystore.location is not set"), std::string::npos);
  auto jks = load({{"listeners", "SSL://:9093"}, {"ssl.keystore.location", "/etc/broker.jks"}});
  EXPECT_NE(context_error(jks, spec("SSL", "SSL")).find("ssl.keystore.type JKS is not supported"), std::string::npos);
  auto pem = load({{"listeners", "SSL://:9093"}, {"ssl.keystore.type", "PEM"},
                   {"ssl.keystore.location", "/nonexistent/broker.pem"}});
  EXPECT_NE(context_error(pem, spec("SSL", "SSL")).find("cannot read /nonexistent/broker.pem"), std::string::npos);
  auto plain = load({{"listeners", "SASL_PLAINTEXT://:9094"}, {"sasl.enabled.mechanisms", "PLAIN"}});
  EXPECT_NE(context_error(plain, spec("SASL_PLAINTEXT", "SASL_PLAINTEXT")).find("PLAIN needs users"),
            std::string::npos);
  auto bad_jaas = load({{"listeners", "SASL_PLAINTEXT://:9094"}, {"sasl.enabled.mechanisms", "PLAIN"},
                        {"sasl.jaas.config", "Module required user_a=\"x\""}});
  EXPECT_NE(context_error(bad_jaas, spec("SASL_PLAINTEXT", "SASL_PLAINTEXT")).find("semi-colon"), std::string::npos);
  // A plaintext listener needs nothing.
  EXPECT_EQ(context_error(cfg, spec("PLAINTEXT", "PLAINTEXT")), "");
}

}  // namespace
}  // namespace samsa::server
