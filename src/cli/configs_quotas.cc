// `samsa configs --entity-type users|clients`: kafka-configs.sh for client
// quotas (KIP-546) over the tools' own protocol client, since librdkafka 2.0.2
// has no quota admin calls. As Kafka's ConfigCommand: --entity-type may be
// repeated (users and clients together name a user + client-id entity), each
// paired in order with an --entity-name or --entity-default; --describe sends
// a strict DescribeClientQuotas filter (a type without a name matches every
// named entity of that type), --alter one AlterClientQuotas entry.
// SCRAM credentials of users (KIP-554) ride along as Kafka's tool does:
// `--add-config 'SCRAM-SHA-256=[iterations=8192,password=secret]'` salts the
// password here (a random salt, Hi() of RFC 5802) and sends
// AlterUserScramCredentials; `--delete-config SCRAM-SHA-256` deletes it;
// --describe of users also prints their mechanisms and iteration counts.
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "net/scram.h"
#include "protocol/messages/alter_client_quotas.h"
#include "protocol/messages/alter_user_scram_credentials.h"
#include "protocol/messages/describe_client_quotas.h"
#include "protocol/messages/describe_user_scram_credentials.h"

namespace samsa::cli {

namespace {

constexpr int16_t kQuotasVersion = 1;
const char* const kQuotaKeys[] = {"producer_byte_rate", "consumer_byte_rate", "request_percentage",
                                  "controller_mutation_rate"};

struct Args {
  std::string bootstrap, command_config, add_config, delete_config;
  std::vector<std::string> types;                  // "users" / "clients", in order
  std::vector<std::optional<std::string>> names;   // in order; nullopt = --entity-default
  bool describe = false, alter = false, help = false;
  int timeout_ms = 30000;
};

const char* kUsage =
    "Usage: samsa configs --bootstrap-server HOST:PORT --entity-type users|clients\n"
    "         [--entity-name NAME | --entity-default] [--entity-type ... ]\n"
    "         (--describe | --alter [--add-config k1=v1,k2=v2] [--delete-config k1,k2])\n"
    "         [--command-config FILE] [--timeout-ms MS]\n"
    "Quota keys: producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate.\n"
    "Users' SCRAM credentials: SCRAM-SHA-256=[iterations=8192,password=SECRET] or SCRAM-SHA-512=[password=SECRET]\n"
    "(--add-config; iterations default to 4096), SCRAM-SHA-256 / SCRAM-SHA-512 (--delete-config).\n"
    "Examples:\n"
    "  samsa configs --bootstrap-server localhost:9092 --alter --entity-type users --entity-name alice "
    "--add-config producer_byte_rate=1048576,consumer_byte_rate=2097152\n"
    "  samsa configs --bootstrap-server localhost:9092 --alter --entity-type clients --entity-default "
    "--add-config producer_byte_rate=1024\n"
    "  samsa configs --bootstrap-server localhost:9092 --alter --entity-type users --entity-name alice "
    "--add-config 'SCRAM-SHA-256=[iterations=8192,password=alice-secret]'\n"
    "  samsa configs --bootstrap-server localhost:9092 --describe --entity-type users --entity-name alice "
    "--entity-type clients --entity-name app1\n";

// Options in command-line order, so names pair with types as Kafka pairs them.
bool parse(int argc, char** argv, Args& a, std::string& err) {
  for (int i = 1; i < argc; ++i) {
    std::string opt = argv[i], value;
    bool has_value = false;
    if (auto eq = opt.find('='); opt.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = opt.substr(eq + 1);
      opt = opt.substr(0, eq);
      has_value = true;
    }
    auto take = [&](std::string& out) {
      if (has_value) out = value;
      else if (i + 1 < argc) out = argv[++i];
      else return false;
      return true;
    };
    std::string v;
    if (opt == "--describe") a.describe = true;
    else if (opt == "--alter") a.alter = true;
    else if (opt == "--entity-default") a.names.emplace_back(std::nullopt);
    else if (opt == "-h" || opt == "--help") a.help = true;
    else if (opt == "--bootstrap-server" && take(v)) a.bootstrap = v;
    else if (opt == "--command-config" && take(v)) a.command_config = v;
    else if (opt == "--add-config" && take(v)) a.add_config = v;
    else if (opt == "--delete-config" && take(v)) a.delete_config = v;
    else if (opt == "--entity-type" && take(v)) a.types.push_back(v);
    else if (opt == "--entity-name" && take(v)) a.names.emplace_back(v);
    else if (opt == "--timeout-ms" && take(v)) {
      char* end = nullptr;
      long ms = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end || ms <= 0 || ms > 3600000) {
        err = "--timeout-ms must be a positive number of milliseconds";
        return false;
      }
      a.timeout_ms = static_cast<int>(ms);
    } else {
      err = "unknown or incomplete option " + std::string(argv[i]);
      return false;
    }
  }
  return true;
}

std::string entity_type_of(const std::string& t) { return t == "users" ? "user" : "client-id"; }

// Java's Double.toString, as kafka-configs.sh prints quota values: 1024.0,
// 0.5, 1.048576E7 (scientific from 10^7 and below 10^-3).
std::string java_double(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x == 0) return "0.0";
  char buf[64];
  int precision = 1;
  for (; precision < 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
  std::string s(buf);
  const bool negative = s[0] == '-';
  if (negative) s.erase(0, 1);
  auto e = s.find('e');
  int exponent = std::atoi(s.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (s[i] != '.') digits += s[i];
  std::string out;
  const double ax = std::fabs(x);
  if (ax >= 1e-3 && ax < 1e7) {
    if (exponent >= 0) {
      while (static_cast<int>(digits.size()) < exponent + 2) digits += '0';
      out = digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    } else {
      out = "0." + std::string(-exponent - 1, '0') + digits;
    }
    while (out.size() > 2 && out.back() == '0' && out[out.size() - 2] != '.') out.pop_back();
  } else {
    out = digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E" + std::to_string(exponent);
  }
  return (negative ? "-" : "") + out;
}

std::string quota_error_text(int16_t code, const std::optional<std::string>& message) {
  if (message && !message->empty()) return *message;
  return std::string(error_name(static_cast<ErrorCode>(code)));
}

// "user-principal 'alice', client-id 'app1'" or "the default user-principal".
template <typename Entity>
std::string entity_text(const std::vector<Entity>& entity) {
  std::map<std::string, std::optional<std::string>> parts;
  for (auto& c : entity) parts[c.entity_type] = c.entity_name;
  std::string out;
  static const std::pair<const char*, const char*> kLabels[] = {
      {"user", "user-principal"}, {"client-id", "client-id"}, {"ip", "ip"}};
  for (auto [type, label] : kLabels) {
    auto it = parts.find(type);
    if (it == parts.end()) continue;
    if (!out.empty()) out += ", ";
    out += it->second ? std::string(label) + " '" + *it->second + "'" : std::string("the default ") + label;
  }
  return out;
}

constexpr int16_t kScramVersion = 0;
constexpr int32_t kDefaultScramIterations = 4096;  // Kafka's tool default

int8_t scram_type(const std::string& key) {
  if (key == "SCRAM-SHA-256") return 1;
  if (key == "SCRAM-SHA-512") return 2;
  return 0;
}
const char* scram_name(int8_t type) { return type == 1 ? "SCRAM-SHA-256" : type == 2 ? "SCRAM-SHA-512" : "UNKNOWN"; }

// --add-config entries: commas separate them except inside [...] (a SCRAM value).
std::vector<std::string> split_configs(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '[') ++depth;
    if (c == ']' && depth > 0) --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// "[iterations=8192,password=secret]" -> an upsertion with a fresh salt and
// the salted password; an error text for anything else.
std::optional<std::string> scram_upsertion(const std::string& user, int8_t type, const std::string& value,
                                           protocol::AlterUserScramCredentialsRequest::ScramCredentialUpsertion& u) {
  if (value.size() < 2 || value.front() != '[' || value.back() != ']')
    return "Invalid SCRAM credential config " + std::string(scram_name(type)) + "=" + value +
           ": expected [iterations=N,password=SECRET]";
  int32_t iterations = kDefaultScramIterations;
  std::optional<std::string> password;
  for (auto& kv : split(value.substr(1, value.size() - 2), ',')) {
    std::string k, v;
    if (!parse_kv(kv, k, v)) return "Invalid SCRAM credential property " + kv;
    if (k == "password") password = v;
    else if (k == "iterations") {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n <= 0 || n > INT32_MAX) return "Invalid iterations " + v;
      iterations = static_cast<int32_t>(n);
    } else {
      return "Invalid SCRAM credential property " + k + " (iterations and password are known)";
    }
  }
  if (!password) return "A password must be given for " + std::string(scram_name(type));
  auto hash = net::scram_hash_of(scram_name(type));
  u.name = user;
  u.mechanism = type;
  u.iterations = iterations;
  u.salt = net::secure_random_bytes(32);
  // Hi() bounds nothing: refuse what the broker would refuse before burning CPU on it.
  if (iterations >= 4096 && iterations <= 16384) u.salted_password = net::scram_hi(*hash, *password, u.salt, iterations);
  else u.salted_password = u.salt;
  return std::nullopt;
}

int alter_scram(RawClient& c, const protocol::AlterUserScramCredentialsRequest& req) {
  protocol::AlterUserScramCredentialsResponse resp;
  std::string err;
  if (!c.call(req, kScramVersion, resp, err)) return fail(err);
  for (auto& r : resp.results)
    if (r.error_code != 0) return fail("Error while executing config command : " + quota_error_text(r.error_code, r.error_message));
  return 0;
}

// Kafka's lines: "SCRAM credential configs for user-principal 'alice' are
// SCRAM-SHA-256=iterations=8192"; a named user without one prints nothing.
int describe_scram(RawClient& c, const Args& a) {
  protocol::DescribeUserScramCredentialsRequest req;
  if (!a.names.empty() && a.names.front()) req.users.emplace().emplace_back().name = *a.names.front();
  protocol::DescribeUserScramCredentialsResponse resp;
  std::string err;
  if (!c.call(req, kScramVersion, resp, err)) return fail(err);
  if (resp.error_code != 0) return fail("Error while executing config command : " + quota_error_text(resp.error_code, resp.error_message));
  for (auto& r : resp.results) {
    if (r.error_code == static_cast<int16_t>(ErrorCode::RESOURCE_NOT_FOUND)) continue;
    if (r.error_code != 0) return fail("Error while executing config command : " + quota_error_text(r.error_code, r.error_message));
    std::string infos;
    for (auto& i : r.credential_infos)
      infos += (infos.empty() ? "" : ", ") + std::string(scram_name(i.mechanism)) + "=iterations=" + std::to_string(i.iterations);
    std::printf("SCRAM credential configs for user-principal '%s' are %s\n", r.user.c_str(), infos.c_str());
  }
  return 0;
}

int describe(RawClient& c, const Args& a) {
  protocol::DescribeClientQuotasRequest req;
  req.strict = true;
  for (size_t i = 0; i < a.types.size(); ++i) {
    auto& comp = req.components.emplace_back();
    comp.entity_type = entity_type_of(a.types[i]);
    if (i >= a.names.size()) comp.match_type = 2;  // SPECIFIED: every named entity
    else if (!a.names[i]) comp.match_type = 1;     // DEFAULT
    else {
      comp.match_type = 0;  // EXACT
      comp.match = a.names[i];
    }
  }
  protocol::DescribeClientQuotasResponse resp;
  std::string err;
  if (!c.call(req, kQuotasVersion, resp, err)) return fail(err);
  if (resp.error_code != 0) return fail("Error while executing config command : " + quota_error_text(resp.error_code, resp.error_message));
  if (!resp.entries) return 0;
  for (auto& e : *resp.entries) {
    std::string values;
    for (auto& v : e.values) values += (values.empty() ? "" : ", ") + v.key + "=" + java_double(v.value);
    std::printf("Quota configs for %s are %s\n", entity_text(e.entity).c_str(), values.c_str());
  }
  // Kafka describes SCRAM credentials for users alone (not users + clients, not the default user).
  if (a.types.size() == 1 && a.types.front() == "users" && (a.names.empty() || a.names.front()))
    return describe_scram(c, a);
  return 0;
}

int alter(RawClient& c, const Args& a) {
  protocol::AlterClientQuotasRequest req;
  auto& entry = req.entries.emplace_back();
  for (size_t i = 0; i < a.types.size(); ++i) {
    auto& comp = entry.entity.emplace_back();
    comp.entity_type = entity_type_of(a.types[i]);
    comp.entity_name = a.names[i];
  }
  std::vector<std::string> unknown;
  auto known = [](const std::string& k) {
    for (auto* q : kQuotaKeys)
      if (k == q) return true;
    return false;
  };
  protocol::AlterUserScramCredentialsRequest scram;
  const bool one_user = a.types.size() == 1 && a.types.front() == "users" && a.names.front();
  for (auto& kv : split_configs(a.add_config)) {
    if (kv.empty()) continue;
    std::string k, v;
    if (!parse_kv(kv, k, v))
      return fail("Invalid entity config: all configs to be added must be in the format \"key=val\".");
    if (int8_t t = scram_type(k); t != 0 && one_user) {
      if (auto bad = scram_upsertion(*a.names.front(), t, v, scram.upsertions.emplace_back())) return fail(*bad);
      continue;
    }
    if (!known(k)) {
      unknown.push_back(k);
      continue;
    }
    char* end = nullptr;
    double value = std::strtod(v.c_str(), &end);
    if (v.empty() || end == v.c_str() || *end) return fail("Invalid value " + v + " for quota config " + k);
    auto& op = entry.ops.emplace_back();
    op.key = k;
    op.value = value;
  }
  for (auto& k : split(a.delete_config, ',')) {
    if (k.empty()) continue;
    if (int8_t t = scram_type(k); t != 0 && one_user) {
      auto& d = scram.deletions.emplace_back();
      d.name = *a.names.front();
      d.mechanism = t;
      continue;
    }
    if (!known(k)) {
      unknown.push_back(k);
      continue;
    }
    auto& op = entry.ops.emplace_back();
    op.key = k;
    op.remove = true;
  }
  if (!unknown.empty()) {
    std::string names;
    for (auto& k : unknown) names += (names.empty() ? "" : ",") + k;
    if (one_user)
      return fail("Only quota and SCRAM credential configs can be added for 'users' using "
                  "--bootstrap-server. Unexpected config names: " + names);
    return fail("Only quota configs can be added for '" + a.types.front() +
                "' using --bootstrap-server. Unexpected config names: " + names);
  }
  if (!entry.ops.empty() || (scram.upsertions.empty() && scram.deletions.empty())) {
    protocol::AlterClientQuotasResponse resp;
    std::string err;
    if (!c.call(req, kQuotasVersion, resp, err)) return fail(err);
    for (auto& r : resp.entries)
      if (r.error_code != 0) return fail("Error while executing config command : " + quota_error_text(r.error_code, r.error_message));
  }
  if (!scram.upsertions.empty() || !scram.deletions.empty())
    if (int rc = alter_scram(c, scram); rc != 0) return rc;
  const std::string& type = a.types.front();
  if (a.names.front()) std::printf("Completed updating config for %s %s.\n", type.substr(0, type.size() - 1).c_str(), a.names.front()->c_str());
  else std::printf("Completed updating default config for %s in the cluster.\n", type.c_str());
  return 0;
}

}  // namespace

bool is_quota_entity_command(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--entity-type=users" || s == "--entity-type=clients") return true;
    if (s == "--entity-type" && i + 1 < argc && (std::string(argv[i + 1]) == "users" || std::string(argv[i + 1]) == "clients"))
      return true;
  }
  return false;
}

int quota_configs_main(int argc, char** argv) {
  Args a;
  std::string err;
  if (!parse(argc, argv, a, err)) {
    std::fprintf(stderr, "%s", kUsage);
    return fail(err);
  }
  if (a.help) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (a.describe == a.alter) return fail("Command must include exactly one action: --describe, --alter");
  for (auto& t : a.types)
    if (t != "users" && t != "clients")
      return fail("Invalid entity type " + t + ", the entity type must be one of users, clients with the "
                  "--bootstrap-server option");
  if (a.types.size() > 2 || (a.types.size() == 2 && a.types[0] == a.types[1]))
    return fail("Invalid entity type combination: give users and clients at most once each");
  if (a.names.size() > a.types.size())
    return fail("An --entity-name or --entity-default needs an --entity-type before it");
  if (a.alter && a.names.size() != a.types.size())
    return fail("an entity name must be specified with --alter of " + a.types.back());
  if (a.alter && a.add_config.empty() && a.delete_config.empty())
    return fail("At least one of --add-config or --delete-config must be specified with --alter");
  if (a.describe && (!a.add_config.empty() || !a.delete_config.empty()))
    return fail("--add-config and --delete-config go with --alter only");
  if (a.bootstrap.empty()) return fail("--bootstrap-server must be specified");
  Properties props;
  RawClient client;
  if (!client.open(a.bootstrap, a.command_config, a.timeout_ms, props, err)) return fail(err);
  return a.describe ? describe(client, a) : alter(client, a);
}

}  // namespace samsa::cli
