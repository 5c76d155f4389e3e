// `samsa acls`: kafka-acls.sh. --add, --remove and --list of ACL bindings
// through CreateAcls / DeleteAcls / DescribeAcls (v1: pattern types), with
// the script's flags (--allow-principal, --deny-host, --operation,
// --producer / --consumer, --resource-pattern-type, --force) and its output
// ("Current ACLs for resource `ResourcePattern(...)`: ..."). librdkafka
// 2.0.2 has no transactional-id resource, so the tool speaks the protocol
// itself (RawClient, with --command-config's TLS and SASL).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/cli_exit.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "protocol/acl_codes.h"
#include "protocol/messages/create_acls.h"
#include "protocol/messages/delete_acls.h"
#include "protocol/messages/describe_acls.h"

namespace samsa::cli {

namespace {

using protocol::AclOperation;
using protocol::AclPermission;
using protocol::PatternType;
using protocol::ResourceType;
constexpr int16_t kAclsVersion = 1;  // the first version with pattern types; every broker since Kafka 2.0

struct Pattern {  // a resource pattern, or a pattern filter (ANY / MATCH)
  ResourceType type;
  std::string name;
  PatternType pattern;
  auto operator<=>(const Pattern&) const = default;
};
struct Entry {  // an access control entry
  std::string principal, host;
  AclOperation op;
  AclPermission permission;
  auto operator<=>(const Entry&) const = default;
};

std::string to_string(const Pattern& p) {
  return "ResourcePattern(resourceType=" + std::string(protocol::name_of(p.type)) + ", name=" + p.name +
         ", patternType=" + std::string(protocol::name_of(p.pattern)) + ")";
}
std::string to_string(const Entry& e) {
  return "(principal=" + e.principal + ", host=" + e.host + ", operation=" + std::string(protocol::name_of(e.op)) +
         ", permissionType=" + std::string(protocol::name_of(e.permission)) + ")";
}
// kafka-acls.sh's block: a header line, then one tab-indented entry per line.
void print_block(const std::string& header, const std::set<Entry>& entries) {
  std::string s = header + " \n ";
  bool first = true;
  for (auto& e : entries) {
    s += (first ? "\t" : "\n\t") + to_string(e);
    first = false;
  }
  std::printf("%s \n\n", s.c_str());
}

std::string acl_error_text(int16_t code, const std::optional<std::string>& message) {
  if (message && !message->empty()) return *message;
  switch (code) {
    case 31: return "Cluster authorization failed.";
    case 54: return "No Authorizer is configured.";
    case 42: return "Invalid request.";
    default: return "error code " + std::to_string(code);
  }
}

struct Options {
  std::string bootstrap, command_config, pattern_type = "LITERAL";
  bool add = false, remove = false, list = false, cluster = false, producer = false, consumer = false,
       idempotent = false, force = false;
  std::vector<std::string> topics, groups, txn_ids, allow_principals, deny_principals, allow_hosts, deny_hosts,
      operations, list_principals;
  int timeout_ms = 30000;
};

std::optional<PatternType> parse_pattern_type(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (auto p : {PatternType::ANY, PatternType::MATCH, PatternType::LITERAL, PatternType::PREFIXED})
    if (protocol::name_of(p) == s) return p;
  return std::nullopt;
}

std::vector<Pattern> resources(const Options& o, PatternType pattern) {
  std::vector<Pattern> out;
  for (auto& t : o.topics) out.push_back({ResourceType::TOPIC, t, pattern});
  for (auto& g : o.groups) out.push_back({ResourceType::GROUP, g, pattern});
  for (auto& t : o.txn_ids) out.push_back({ResourceType::TRANSACTIONAL_ID, t, pattern});
  if (o.cluster) out.push_back({ResourceType::CLUSTER, std::string(protocol::kClusterResourceName), pattern});
  return out;
}

// The entries of --allow-principal/--deny-principal x hosts x operations
// (All by default), per resource; --producer / --consumer expand as Kafka's.
bool entries_for(const Options& o, PatternType pattern, std::map<Pattern, std::set<Entry>>& out, std::string& err) {
  auto make = [&](const std::vector<AclOperation>& ops) {
    std::set<Entry> es;
    auto hosts = [](const std::vector<std::string>& h) { return h.empty() ? std::vector<std::string>{"*"} : h; };
    for (auto& p : o.allow_principals)
      for (auto& h : hosts(o.allow_hosts))
        for (auto op : ops) es.insert({p, h, op, AclPermission::ALLOW});
    for (auto& p : o.deny_principals)
      for (auto& h : hosts(o.deny_hosts))
        for (auto op : ops) es.insert({p, h, op, AclPermission::DENY});
    return es;
  };
  if (o.producer || o.consumer) {
    if (o.producer) {
      for (auto& t : o.topics)
        out[{ResourceType::TOPIC, t, pattern}] = make({AclOperation::WRITE, AclOperation::DESCRIBE, AclOperation::CREATE});
      for (auto& t : o.txn_ids)
        out[{ResourceType::TRANSACTIONAL_ID, t, pattern}] = make({AclOperation::WRITE, AclOperation::DESCRIBE});
      if (o.idempotent)
        out[{ResourceType::CLUSTER, std::string(protocol::kClusterResourceName), PatternType::LITERAL}] =
            make({AclOperation::IDEMPOTENT_WRITE});
    }
    if (o.consumer) {
      for (auto& t : o.topics) {
        auto& es = out[{ResourceType::TOPIC, t, pattern}];
        for (auto& e : make({AclOperation::READ, AclOperation::DESCRIBE})) es.insert(e);
      }
      for (auto& g : o.groups) out[{ResourceType::GROUP, g, pattern}] = make({AclOperation::READ});
    }
    return true;
  }
  std::vector<AclOperation> ops;
  for (auto& name : o.operations) {
    auto op = protocol::parse_operation(name);
    if (!op) {
      err = "Invalid operation: " + name;
      return false;
    }
    ops.push_back(*op);
  }
  if (ops.empty()) ops.push_back(AclOperation::ALL);
  for (auto& r : resources(o, pattern)) {
    auto supported = protocol::operations_of(r.type);
    for (auto op : ops) {
      if (op == AclOperation::ALL || std::find(supported.begin(), supported.end(), op) != supported.end()) continue;
      err = "ResourceType " + std::string(protocol::name_of(r.type)) + " only supports operations ";
      for (auto s : supported) err += std::string(protocol::name_of(s)) + ", ";
      err += "ALL";
      return false;
    }
    out[r] = make(ops);
  }
  return true;
}

// DescribeAcls for one filter (null name: any); bindings by resource pattern.
bool describe(RawClient& c, const std::optional<Pattern>& filter, std::map<Pattern, std::set<Entry>>& out,
              std::string& err) {
  protocol::DescribeAclsRequest req;
  req.resource_type_filter = static_cast<int8_t>(filter ? filter->type : ResourceType::ANY);
  if (filter) req.resource_name_filter = filter->name;
  req.pattern_type_filter = static_cast<int8_t>(filter ? filter->pattern : PatternType::ANY);
  req.operation = static_cast<int8_t>(AclOperation::ANY);
  req.permission_type = static_cast<int8_t>(AclPermission::ANY);
  protocol::DescribeAclsResponse resp;
  if (!c.call(req, kAclsVersion, resp, err)) return false;
  if (resp.error_code != 0) {
    err = acl_error_text(resp.error_code, resp.error_message);
    return false;
  }
  for (auto& r : resp.resources) {
    Pattern p{protocol::resource_type_of(r.resource_type), r.resource_name, protocol::pattern_type_of(r.pattern_type)};
    for (auto& a : r.acls)
      out[p].insert({a.principal, a.host, protocol::operation_of(a.operation), protocol::permission_of(a.permission_type)});
  }
  return true;
}

bool list(RawClient& c, const Options& o, PatternType pattern, std::string& err) {
  std::map<Pattern, std::set<Entry>> found;
  auto filters = resources(o, pattern);
  if (filters.empty()) {
    if (!describe(c, std::nullopt, found, err)) return false;
  }
  for (auto& f : filters)
    if (!describe(c, f, found, err)) return false;
  auto print_all = [&](const std::optional<std::string>& principal) {
    for (auto& [p, entries] : found) {
      std::set<Entry> shown;
      for (auto& e : entries)
        if (!principal || e.principal == *principal) shown.insert(e);
      if (!shown.empty()) print_block("Current ACLs for resource `" + to_string(p) + "`:", shown);
    }
  };
  if (o.list_principals.empty()) print_all(std::nullopt);
  for (auto& principal : o.list_principals) {
    std::printf("ACLs for principal `%s`\n", principal.c_str());
    print_all(principal);
  }
  return true;
}

bool add(RawClient& c, const std::map<Pattern, std::set<Entry>>& acls, std::string& err) {
  protocol::CreateAclsRequest req;
  for (auto& [p, entries] : acls) {
    print_block("Adding ACLs for resource `" + to_string(p) + "`:", entries);
    for (auto& e : entries) {
      auto& cr = req.creations.emplace_back();
      cr.resource_type = static_cast<int8_t>(p.type);
      cr.resource_name = p.name;
      cr.resource_pattern_type = static_cast<int8_t>(p.pattern);
      cr.principal = e.principal;
      cr.host = e.host;
      cr.operation = static_cast<int8_t>(e.op);
      cr.permission_type = static_cast<int8_t>(e.permission);
    }
  }
  protocol::CreateAclsResponse resp;
  if (!c.call(req, kAclsVersion, resp, err)) return false;
  for (auto& r : resp.results)
    if (r.error_code != 0) {
      err = acl_error_text(r.error_code, r.error_message);
      return false;
    }
  return true;
}

bool confirm(const Options& o, const std::string& question) {
  if (o.force) return true;
  std::printf("%s\n", question.c_str());
  std::fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y";
}

bool remove(RawClient& c, const Options& o, PatternType pattern, std::string& err) {
  std::map<Pattern, std::set<Entry>> acls;
  // Without principals every ACL of the resource goes (after a confirmation).
  if (o.allow_principals.empty() && o.deny_principals.empty()) {
    for (auto& r : resources(o, pattern)) acls[r];
  } else if (!entries_for(o, pattern, acls, err)) {
    return false;
  }
  protocol::DeleteAclsRequest req;
  for (auto& [p, entries] : acls) {
    std::string question;
    if (entries.empty()) {
      question = "Are you sure you want to delete all ACLs for resource filter `" + to_string(p) + "`? (y/n)";
    } else {
      question = "Are you sure you want to remove ACLs: \n ";
      bool first = true;
      for (auto& e : entries) {
        question += (first ? "\t" : "\n\t") + to_string(e);
        first = false;
      }
      question += " \n from resource filter `" + to_string(p) + "`? (y/n)";
    }
    if (!confirm(o, question)) continue;
    auto filter = [&](const Entry* e) {
      auto& f = req.filters.emplace_back();
      f.resource_type_filter = static_cast<int8_t>(p.type);
      f.resource_name_filter = p.name;
      f.pattern_type_filter = static_cast<int8_t>(p.pattern);
      f.operation = static_cast<int8_t>(e ? e->op : AclOperation::ANY);
      f.permission_type = static_cast<int8_t>(e ? e->permission : AclPermission::ANY);
      if (e) {
        f.principal_filter = e->principal;
        f.host_filter = e->host;
      }
    };
    if (entries.empty()) filter(nullptr);
    for (auto& e : entries) filter(&e);
  }
  if (req.filters.empty()) return true;
  protocol::DeleteAclsResponse resp;
  if (!c.call(req, kAclsVersion, resp, err)) return false;
  for (auto& r : resp.filter_results)
    if (r.error_code != 0) {
      err = acl_error_text(r.error_code, r.error_message);
      return false;
    }
  return true;
}

}  // namespace

int acls_main(int argc, char** argv) {
  CLI::App app{"Add, remove and list ACLs (like kafka-acls.sh)", "samsa acls"};
  app.footer(
      "Examples:\n"
      "  samsa acls --bootstrap-server localhost:9092 --add --allow-principal User:alice --operation Read "
      "--topic orders\n"
      "  samsa acls --bootstrap-server localhost:9092 --add --allow-principal User:bob --producer --topic logs- "
      "--resource-pattern-type prefixed\n"
      "  samsa acls --bootstrap-server localhost:9092 --list --topic orders\n"
      "  samsa acls --bootstrap-server localhost:9092 --remove --allow-principal User:alice --operation Read "
      "--topic orders --force");
  Options o;
  app.add_option("--bootstrap-server", o.bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--command-config", o.command_config, "Client config properties file (security settings)");
  app.add_flag("--add", o.add, "Add ACLs");
  app.add_flag("--remove", o.remove, "Remove ACLs");
  app.add_flag("--list", o.list, "List ACLs for the given resources (all with none)");
  app.add_option("--topic", o.topics, "A topic (repeatable); '*' is every topic")->allow_extra_args(false);
  app.add_option("--group", o.groups, "A consumer group (repeatable)")->allow_extra_args(false);
  app.add_option("--transactional-id", o.txn_ids, "A transactional id (repeatable)")->allow_extra_args(false);
  app.add_flag("--cluster", o.cluster, "The cluster resource");
  app.add_option("--resource-pattern-type", o.pattern_type,
                 "LITERAL (default), PREFIXED; for --list and --remove also ANY or MATCH");
  app.add_option("--allow-principal", o.allow_principals, "Principal to allow, e.g. User:alice (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--deny-principal", o.deny_principals, "Principal to deny (repeatable)")->allow_extra_args(false);
  app.add_option("--allow-host", o.allow_hosts, "Host the allowed principals may come from (default *)")
      ->allow_extra_args(false);
  app.add_option("--deny-host", o.deny_hosts, "Host the denied principals are denied from (default *)")
      ->allow_extra_args(false);
  app.add_option("--operation", o.operations, "Read, Write, Create, Delete, Alter, Describe, ClusterAction, "
                                             "DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--principal", o.list_principals, "With --list: only this principal's ACLs (repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--producer", o.producer, "Producer ACLs: WRITE, DESCRIBE, CREATE on topics, WRITE, DESCRIBE on "
                                         "transactional ids");
  app.add_flag("--consumer", o.consumer, "Consumer ACLs: READ, DESCRIBE on topics, READ on groups");
  app.add_flag("--idempotent", o.idempotent, "With --producer: IDEMPOTENT_WRITE on the cluster");
  app.add_flag("--force", o.force, "Assume yes to every prompt");
  app.add_option("--timeout-ms", o.timeout_ms, "Give up after this many milliseconds (default 30000)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (o.add + o.remove + o.list != 1) return fail("Command must include exactly one action: --list, --add, --remove.");
  if (o.bootstrap.empty()) return fail("Missing required argument \"[bootstrap-server]\"");
  auto pattern = parse_pattern_type(o.pattern_type);
  if (!pattern) return fail("Invalid --resource-pattern-type: " + o.pattern_type);
  bool has_resource = !o.topics.empty() || !o.groups.empty() || !o.txn_ids.empty() || o.cluster;
  bool has_principal = !o.allow_principals.empty() || !o.deny_principals.empty();
  if ((o.add || o.remove) && !has_resource)
    return fail("You must provide at least one resource: --topic <topic> or --cluster or --group <group> or "
                "--transactional-id <id>");
  if (o.add && (*pattern == PatternType::ANY || *pattern == PatternType::MATCH))
    return fail("A '--resource-pattern-type' value of '" + std::string(protocol::name_of(*pattern)) +
                "' is not valid when adding acls.");
  if (o.add && !has_principal)
    return fail("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.");
  if ((o.producer || o.consumer) && !o.operations.empty())
    return fail("Option \"[producer]\" / \"[consumer]\" can't be used with option \"[operation]\"");
  if (o.consumer && o.groups.empty() && o.add) return fail("With --consumer you must specify a --group");
  if ((o.producer || o.consumer) && o.topics.empty() && o.txn_ids.empty() && o.groups.empty())
    return fail("With --producer you must specify a --topic or --transactional-id; with --consumer a --topic");
  for (auto* list : {&o.allow_principals, &o.deny_principals, &o.list_principals})
    for (auto& p : *list)
      if (p.find(':') == std::string::npos)
        return fail("Could not parse principal from `" + p + "` (no colon is present separating the principal "
                    "type from the principal name)");
  std::string err;
  std::map<Pattern, std::set<Entry>> acls;
  if (o.add && !entries_for(o, *pattern, acls, err)) return fail(err);
  Properties props;
  RawClient client;
  if (!client.open(o.bootstrap, o.command_config, o.timeout_ms, props, err)) return fail(err);
  bool ok = o.add ? add(client, acls, err) : o.remove ? remove(client, o, *pattern, err) : true;
  // As kafka-acls.sh, --add and --remove end by listing the resources' ACLs.
  if (ok) ok = list(client, o, *pattern, err);
  if (!ok) return fail("Error while executing ACL command: " + err);
  return 0;
}

}  // namespace samsa::cli
