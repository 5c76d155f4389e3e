// `samsa storage` (kafka-storage.sh): random-uuid, format and info. format
// writes the same meta.properties the broker writes at its first start
// (storage/meta_properties.h), so a formatted dir starts with that cluster id;
// for a dynamic quorum (KIP-853: --standalone, --initial-controllers,
// --no-initial-controllers) each dir also gets a directory.id, and the
// metadata log dir of an initial controller the bootstrap checkpoint
// (raft/bootstrap_checkpoint.h) with the initial voter set.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "config/broker_config.h"
#include "app/bootstrap_scram.h"
#include "app/initial_controllers.h"
#include "app/tool_commands.h"
#include "base/random.h"
#include "cluster/bootstrap_records.h"
#include "cluster/features.h"
#include "raft/bootstrap_checkpoint.h"
#include "storage/env.h"
#include "storage/meta_properties.h"

namespace samsa::app {

namespace {

std::optional<cluster::BrokerConfig> load_config(const std::string& path) {
  std::vector<std::string> warnings;
  auto loaded = cluster::load_broker_config(path, {}, warnings);
  if (auto* err = std::get_if<std::string>(&loaded)) {
    std::fprintf(stderr, "ERROR: %s\n", err->c_str());
    return std::nullopt;
  }
  return std::get<cluster::BrokerConfig>(std::move(loaded));
}

// The dirs a config names: log.dirs and metadata.log.dir, as Kafka formats them.
std::vector<std::string> config_dirs(const cluster::BrokerConfig& cfg) {
  std::vector<std::string> dirs = cfg.log_dirs();
  if (std::find(dirs.begin(), dirs.end(), cfg.metadata_log_dir()) == dirs.end()) dirs.push_back(cfg.metadata_log_dir());
  return dirs;
}

std::optional<std::vector<std::string>> config_dirs(const std::string& path, int32_t& node_id) {
  auto cfg = load_config(path);
  if (!cfg) return std::nullopt;
  node_id = cfg->node_id();
  return config_dirs(*cfg);
}

std::string now_comment() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S %Z %Y", std::gmtime(&t));
  return std::string("Written by samsa storage format on ") + buf;
}

struct FormatOptions {
  std::string config;
  std::string cluster_id;
  bool ignore_formatted = false;
  bool standalone = false;
  std::string initial_controllers;  // empty: not given
  bool no_initial_controllers = false;
  std::vector<std::string> add_scram;  // --add-scram, KIP-900
  std::vector<std::string> features;   // --feature NAME=LEVEL
  bool dynamic() const { return standalone || !initial_controllers.empty() || no_initial_controllers; }
};

// --feature NAME=LEVEL, checked against what this build supports (Kafka's messages).
std::variant<cluster::FeatureLevelRecord, std::string> feature_level_record(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    return "Can't parse feature=level string " + spec + ": equals sign not found.";
  const std::string name = spec.substr(0, eq);
  const std::string value = spec.substr(eq + 1);
  const auto* f = cluster::find_supported_feature(name);
  if (!f) return "Unsupported feature: " + name + ".";
  int level = -1;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), level);
  if (ec != std::errc() || end != value.data() + value.size())
    return "Can't parse feature=level string " + spec + ": unable to parse " + value + " as a short.";
  if (level < f->min || level > f->max)
    return "No feature:" + name + " with feature level " + value + ".";
  cluster::FeatureLevelRecord r;
  r.name = name;
  r.feature_level = static_cast<int16_t>(level);
  return r;
}

// kafka-storage.sh's checks of the dynamic quorum flags; fills `initial`
// (empty for a static quorum or --no-initial-controllers). False after
// printing the error.
bool initial_voters(const FormatOptions& o, const cluster::BrokerConfig& cfg, std::vector<InitialController>& initial) {
  const std::pair<bool, const char*> flags[] = {{o.standalone, "--standalone/-s"},
                                                {!o.initial_controllers.empty(), "--initial-controllers/-I"},
                                                {o.no_initial_controllers, "--no-initial-controllers/-N"}};
  const char* first = nullptr;
  for (auto& [set, name] : flags) {
    if (!set) continue;
    if (first) {
      std::fprintf(stderr, "argument %s: not allowed with argument %s\n", name, first);
      return false;
    }
    first = name;
  }
  if (o.standalone) {
    auto v = standalone_voter(cfg);
    if (auto* err = std::get_if<std::string>(&v)) {
      std::fprintf(stderr, "%s\n", err->c_str());
      return false;
    }
    initial.push_back(std::get<InitialController>(v));
  } else if (!o.initial_controllers.empty()) {
    auto v = parse_initial_controllers(o.initial_controllers);
    if (auto* err = std::get_if<std::string>(&v)) {
      std::fprintf(stderr, "Invalid --initial-controllers: %s\n", err->c_str());
      return false;
    }
    initial = std::get<std::vector<InitialController>>(std::move(v));
  }
  bool voters_set = !cfg.quorum_voters().empty();
  if (!initial.empty() && voters_set) {
    std::fprintf(stderr, "You cannot specify controller.quorum.voters and format the node with --initial-controllers "
                 "or --standalone. If you want to use dynamic quorum, please remove controller.quorum.voters and "
                 "specify controller.quorum.bootstrap.servers instead.\n");
    return false;
  }
  // An unset process.roles is Samsa's single node (no quorum to form), so
  // only a configured controller must say how its quorum starts.
  bool roles_set = cfg.static_values().count("process.roles") > 0;
  if (!o.no_initial_controllers && initial.empty() && !voters_set && roles_set && cfg.is_controller()) {
    std::fprintf(stderr, "Because controller.quorum.voters is not set on this controller, you must specify one of the "
                 "following: --standalone, --initial-controllers, or --no-initial-controllers.\n");
    return false;
  }
  if (!initial.empty() && cfg.controller_listener_names().empty()) {
    std::fprintf(stderr, "controller.listener.names must be set to write the initial voters' endpoints.\n");
    return false;
  }
  return true;
}

// The directory id of a dir being formatted: the metadata log dir of an
// initial controller keeps the one the voter set names (as Kafka's Formatter).
std::string directory_id_for(const std::string& dir, const cluster::BrokerConfig& cfg,
                             const std::vector<InitialController>& initial) {
  if (dir == cfg.metadata_log_dir())
    for (auto& c : initial)
      if (c.id == cfg.node_id()) return protocol::to_base64url(c.directory_id);
  return protocol::to_base64url(random_uuid(unique_ids()));
}

int format(const FormatOptions& o) {
  if (!storage::valid_cluster_id(o.cluster_id)) {
    std::fprintf(stderr, "Cluster ID string %s does not appear to be a valid UUID: expected 22 characters of "
                 "URL-safe base64 (see `samsa storage random-uuid`)\n", o.cluster_id.c_str());
    return 1;
  }
  auto cfg = load_config(o.config);
  if (!cfg) return 1;
  std::vector<InitialController> initial;
  if (!initial_voters(o, *cfg, initial)) return 1;
  auto scram = scram_bootstrap_records(o.add_scram);
  if (auto* err = std::get_if<std::string>(&scram)) {
    std::fprintf(stderr, "%s\n", err->c_str());
    return 1;
  }
  auto& boot_records = std::get<std::vector<cluster::MetadataRecord>>(scram);
  for (const auto& spec : o.features) {
    auto level = feature_level_record(spec);
    if (auto* err = std::get_if<std::string>(&level)) {
      std::fprintf(stderr, "%s\n", err->c_str());
      return 1;
    }
    boot_records.emplace_back(std::get<cluster::FeatureLevelRecord>(level));
  }
  int32_t node_id = cfg->node_id();
  auto* env = storage::posix_env();
  std::vector<std::string> todo;
  for (auto& d : config_dirs(*cfg)) {
    if (!env->exists(storage::join_path(d, storage::kMetaPropertiesFile))) {
      todo.push_back(d);
    } else if (!o.ignore_formatted) {
      std::fprintf(stderr, "Log directory %s is already formatted. Use --ignore-formatted to ignore this directory "
                   "and format the others.\n", d.c_str());
      return 1;
    }
  }
  if (todo.empty()) std::printf("All of the log directories are already formatted.\n");
  for (auto& d : todo) {
    if (auto st = storage::create_dirs(env, d); !st) {
      std::fprintf(stderr, "Unable to create storage directory %s: %s\n", d.c_str(), st.to_string().c_str());
      return 1;
    }
    bool voter_dir = !initial.empty() && d == cfg->metadata_log_dir();
    if (voter_dir) {
      // The bootstrap checkpoint goes in before meta.properties: a dir is
      // formatted only once everything in it is.
      auto voters = voters_record(initial, cfg->controller_listener_names().front());
      if (auto st = raft::write_bootstrap_checkpoint(env, storage::join_path(d, "__cluster_metadata-0"), voters,
                                                     static_cast<int64_t>(std::time(nullptr)) * 1000);
          !st) {
        std::fprintf(stderr, "Unable to write the bootstrap checkpoint in %s: %s\n", d.c_str(),
                     st.to_string().c_str());
        return 1;
      }
    }
    // Bootstrap records for the first active controller (bootstrap_records.h).
    const auto& boot = boot_records;
    if (!boot.empty() && d == cfg->metadata_log_dir())
      if (auto st = cluster::write_bootstrap_records(env, d, boot); !st) {
        std::fprintf(stderr, "Unable to write the bootstrap records in %s: %s\n", d.c_str(), st.to_string().c_str());
        return 1;
      }
    std::string directory_id = o.dynamic() ? directory_id_for(d, *cfg, initial) : std::string();
    if (auto st = storage::write_meta_properties(env, d, node_id, o.cluster_id, now_comment(), directory_id); !st) {
      std::fprintf(stderr, "Unable to write meta.properties in %s: %s\n", d.c_str(), st.to_string().c_str());
      return 1;
    }
    if (voter_dir)
      std::printf("Formatting dynamic metadata voter directory %s with cluster.id %s, node.id %d and "
                  "kraft.version %d.\n",
                  d.c_str(), o.cluster_id.c_str(), node_id, raft::kDynamicKRaftVersion);
    else
      std::printf("Formatting %s with cluster.id %s and node.id %d.\n", d.c_str(), o.cluster_id.c_str(), node_id);
  }
  return 0;
}

// Kafka's `kafka-storage.sh info` report: the dirs found, their (common)
// meta.properties and the problems; exit 1 when there is a problem.
int info(const std::string& config) {
  int32_t node_id = 1;
  auto dirs = config_dirs(config, node_id);
  if (!dirs) return 1;
  std::sort(dirs->begin(), dirs->end());
  auto* env = storage::posix_env();
  std::vector<std::string> found, problems;
  std::optional<storage::MetaProperties> prev;
  for (auto& d : *dirs) {
    if (!env->is_dir(d)) {
      problems.push_back(d + (env->exists(d) ? " is not a directory" : " does not exist"));
      continue;
    }
    found.push_back(d);
    auto meta = storage::read_meta_properties(env, d);
    if (!meta.is_ok()) {
      problems.push_back(meta.status().kind() == storage::Status::Kind::kNotFound
                             ? d + " is not formatted."
                             : "cannot read " + d + "/meta.properties: " + meta.status().to_string());
      continue;
    }
    auto& m = meta.value();
    if (m["version"] != "1") problems.push_back("Unsupported version for " + d + "/meta.properties: " + m["version"]);
    // directory.id differs per dir by design; the rest must agree.
    auto same = [](storage::MetaProperties a, storage::MetaProperties b) {
      a.erase("directory.id");
      b.erase("directory.id");
      return a == b;
    };
    if (!prev) prev = m;
    else if (!same(*prev, m))
      problems.push_back("Metadata for " + d + "/meta.properties was " + storage::to_string(m) +
                         ", but other directories featured " + storage::to_string(*prev));
  }
  if (dirs->empty()) {
    std::printf("No directories specified.\n");
    return 0;
  }
  if (!found.empty()) {
    std::printf("Found log director%s:\n", found.size() == 1 ? "y" : "ies");
    for (auto& d : found) std::printf("  %s\n", d.c_str());
    std::printf("\n");
  }
  if (prev) std::printf("Found metadata: %s\n\n", storage::to_string(*prev).c_str());
  if (problems.empty()) return 0;
  std::printf("Found problem%s:\n", problems.size() == 1 ? "" : "s");
  for (auto& p : problems) std::printf("  %s\n", p.c_str());
  std::printf("\n");
  return 1;
}

}  // namespace

int storage_command(int argc, char** argv) {
  CLI::App app{"Storage tool (like kafka-storage.sh): random-uuid, format, info", "samsa storage"};
  app.footer(
      "Examples:\n"
      "  samsa storage random-uuid\n"
      "  samsa storage format -t $(samsa storage random-uuid) -c config/server.properties\n"
      "  samsa storage format -t <cluster id> -c config/server.properties --ignore-formatted\n"
      "  samsa storage format -t <cluster id> -c controller.properties --standalone\n"
      "  samsa storage format -t <cluster id> -c controller.properties --initial-controllers "
      "1@host1:9093:<dir id>,2@host2:9093:<dir id>,3@host3:9093:<dir id>\n"
      "  samsa storage format -t <cluster id> -c config/server.properties "
      "--add-scram 'SCRAM-SHA-512=[name=admin,password=admin-secret]'\n"
      "  samsa storage info -c config/server.properties");
  app.require_subcommand(1);
  auto* uuid = app.add_subcommand("random-uuid", "Print a random cluster id (base64url, 22 chars)");
  auto* fmt = app.add_subcommand(
      "format", "Write meta.properties (version, node.id, cluster.id) into each log dir, and the initial voters of a "
                "dynamic quorum into the metadata log dir");
  FormatOptions fo;
  std::string info_config;
  fmt->add_option("-c,--config", fo.config, "REQUIRED: the server.properties file")->required();
  fmt->add_option("-t,--cluster-id", fo.cluster_id, "REQUIRED: the cluster id (see random-uuid)")->required();
  fmt->add_flag("-g,--ignore-formatted", fo.ignore_formatted, "Skip dirs that are already formatted instead of failing");
  fmt->add_flag("-s,--standalone", fo.standalone,
                "Dynamic quorum: this node (its CONTROLLER listener) is the only initial voter");
  fmt->add_option("-I,--initial-controllers", fo.initial_controllers,
                  "Dynamic quorum: the initial voters, id@host:port:directoryId,...");
  fmt->add_flag("-N,--no-initial-controllers", fo.no_initial_controllers,
                "Dynamic quorum: a controller that will join with add-controller later");
  fmt->add_option("-f,--feature", fo.features,
                  "A feature's level for the new cluster, e.g. transaction.version=1 (repeatable; "
                  "the default is each feature's newest level)");
  fmt->add_option("-S,--add-scram", fo.add_scram,
                  "A SCRAM credential for the bootstrap metadata, e.g. "
                  "'SCRAM-SHA-512=[name=admin,password=admin-secret]' (repeatable; iterations=N optional)");
  auto* inf = app.add_subcommand("info", "Print the meta.properties of each log dir");
  inf->add_option("-c,--config", info_config, "REQUIRED: the server.properties file")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (uuid->parsed()) {
    std::printf("%s\n", storage::random_cluster_id().c_str());
    return 0;
  }
  if (fmt->parsed()) return format(fo);
  return info(info_config);
}

}  // namespace samsa::app
