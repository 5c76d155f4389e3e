// The Java client's security keys of a client.properties, translated for librdkafka.
#include <gtest/gtest.h>

#include "cli/client_security.h"

namespace samsa::cli {
namespace {

TEST(CliClientSecurity, SaslSslWithScramAndPemTrustStore) {
  Properties p{{"security.protocol", "sasl_ssl"},
               {"sasl.mechanism", "SCRAM-SHA-512"},
               {"sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" "
                "password=\"a-secret\";"},
               {"ssl.truststore.location", "/etc/ca.pem"},
               {"ssl.truststore.type", "PEM"},
               {"ssl.endpoint.identification.algorithm", ""},
               {"ssl.enabled.protocols", "TLSv1.2"},
               {"bootstrap.servers", "b:9094"}};
  std::string err;
  ASSERT_TRUE(translate_java_security(p, err)) << err;
  EXPECT_EQ(p, (Properties{{"security.protocol", "SASL_SSL"},
                           {"sasl.mechanisms", "SCRAM-SHA-512"},
                           {"sasl.username", "alice"},
                           {"sasl.password", "a-secret"},
                           {"ssl.ca.location", "/etc/ca.pem"},
                           {"ssl.endpoint.identification.algorithm", "none"},
                           {"bootstrap.servers", "b:9094"}}));
}

TEST(CliClientSecurity, KeyStores) {
  Properties pem{{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", "/c.pem"}};
  std::string err;
  ASSERT_TRUE(translate_java_security(pem, err)) << err;
  EXPECT_EQ(pem, (Properties{{"ssl.certificate.location", "/c.pem"}, {"ssl.key.location", "/c.pem"}}));
  Properties p12{{"ssl.keystore.type", "PKCS12"}, {"ssl.keystore.location", "/c.p12"}, {"ssl.keystore.password", "x"}};
  ASSERT_TRUE(translate_java_security(p12, err)) << err;
  EXPECT_EQ(p12, (Properties{{"ssl.keystore.location", "/c.p12"}, {"ssl.keystore.password", "x"}}));
  Properties inline_pem{{"ssl.keystore.certificate.chain", "CERT"}, {"ssl.keystore.key", "KEY"},
                        {"ssl.truststore.certificates", "CA"}};
  ASSERT_TRUE(translate_java_security(inline_pem, err)) << err;
  EXPECT_EQ(inline_pem, (Properties{{"ssl.certificate.pem", "CERT"}, {"ssl.key.pem", "KEY"}, {"ssl.ca.pem", "CA"}}));
}

TEST(CliClientSecurity, RefusesWhatLibrdkafkaCannotDo) {
  std::string err;
  Properties jks{{"ssl.keystore.type", "JKS"}, {"ssl.keystore.location", "/k.jks"}};
  EXPECT_FALSE(translate_java_security(jks, err));
  Properties p12_trust{{"ssl.truststore.type", "PKCS12"}, {"ssl.truststore.location", "/t.p12"}};
  EXPECT_FALSE(translate_java_security(p12_trust, err));
  EXPECT_NE(err.find("openssl pkcs12"), std::string::npos);
  Properties no_password{{"sasl.jaas.config", "x.PlainLoginModule required username=\"a\";"}};
  EXPECT_FALSE(translate_java_security(no_password, err));
  Properties bad{{"sasl.jaas.config", "x.PlainLoginModule required username=\"a\""}};
  EXPECT_FALSE(translate_java_security(bad, err));
  EXPECT_NE(err.find("semi-colon"), std::string::npos);
}

}  // namespace
}  // namespace samsa::cli
