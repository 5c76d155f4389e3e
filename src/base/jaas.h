// Parses the one-module JAAS text that Kafka's `sasl.jaas.config` holds, e.g.
//   org.apache.kafka.common.security.plain.PlainLoginModule required
//     username="admin" password="admin-secret" user_alice="alice-secret";
// Both the broker (PLAIN users, SCRAM bootstrap users) and the tools (the
// username and password of a client.properties) read it, hence base/.
//
// Ownership: pure functions on values; any thread.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace samsa {

struct JaasConfig {
  std::string login_module;  // fully qualified class name
  std::string control_flag;  // required, requisite, sufficient or optional
  std::map<std::string, std::string, std::less<>> options;
};

// One login module followed by ';' (Kafka refuses zero or several). Option
// values are "quoted" (with \" and \\ escapes) or bare words. Returns Kafka-like
// error text when malformed.
std::variant<JaasConfig, std::string> parse_jaas_config(std::string_view text);

// The user_<name>="<password>" options of a JaasConfig (PlainLoginModule's users).
std::map<std::string, std::string, std::less<>> jaas_users(const JaasConfig& c);

}  // namespace samsa
