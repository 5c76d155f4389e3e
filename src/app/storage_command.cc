// `samsa storage` (kafka-storage.sh): random-uuid, format and info. format
// writes the same meta.properties the broker writes at its first start
// (storage/meta_properties.h), so a formatted dir starts with that cluster id.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "config/broker_config.h"
#include "app/tool_commands.h"
#include "storage/env.h"
#include "storage/meta_properties.h"

namespace samsa::app {

namespace {

// The dirs a config names: log.dirs and metadata.log.dir, as Kafka formats them.
std::optional<std::vector<std::string>> config_dirs(const std::string& path, int32_t& node_id) {
  std::vector<std::string> warnings;
  auto loaded = cluster::load_broker_config(path, {}, warnings);
  if (auto* err = std::get_if<std::string>(&loaded)) {
    std::fprintf(stderr, "ERROR: %s\n", err->c_str());
    return std::nullopt;
  }
  auto& cfg = std::get<cluster::BrokerConfig>(loaded);
  node_id = cfg.node_id();
  std::vector<std::string> dirs = cfg.log_dirs();
  if (std::find(dirs.begin(), dirs.end(), cfg.metadata_log_dir()) == dirs.end()) dirs.push_back(cfg.metadata_log_dir());
  return dirs;
}

std::string now_comment() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S %Z %Y", std::gmtime(&t));
  return std::string("Written by samsa storage format on ") + buf;
}

int format(const std::string& config, const std::string& cluster_id, bool ignore_formatted) {
  if (!storage::valid_cluster_id(cluster_id)) {
    std::fprintf(stderr, "Cluster ID string %s does not appear to be a valid UUID: expected 22 characters of "
                 "URL-safe base64 (see `samsa storage random-uuid`)\n", cluster_id.c_str());
    return 1;
  }
  int32_t node_id = 1;
  auto dirs = config_dirs(config, node_id);
  if (!dirs) return 1;
  auto* env = storage::posix_env();
  std::vector<std::string> todo;
  for (auto& d : *dirs) {
    if (!env->exists(storage::join_path(d, storage::kMetaPropertiesFile))) {
      todo.push_back(d);
    } else if (!ignore_formatted) {
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
    if (auto st = storage::write_meta_properties(env, d, node_id, cluster_id, now_comment()); !st) {
      std::fprintf(stderr, "Unable to write meta.properties in %s: %s\n", d.c_str(), st.to_string().c_str());
      return 1;
    }
    std::printf("Formatting %s with cluster.id %s and node.id %d.\n", d.c_str(), cluster_id.c_str(), node_id);
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
    if (!prev) prev = m;
    else if (*prev != m)
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
      "  samsa storage info -c config/server.properties");
  app.require_subcommand(1);
  auto* uuid = app.add_subcommand("random-uuid", "Print a random cluster id (base64url, 22 chars)");
  auto* fmt = app.add_subcommand("format", "Write meta.properties (version, node.id, cluster.id) into each log dir");
  std::string fmt_config, cluster_id, info_config;
  bool ignore_formatted = false;
  fmt->add_option("-c,--config", fmt_config, "REQUIRED: the server.properties file")->required();
  fmt->add_option("-t,--cluster-id", cluster_id, "REQUIRED: the cluster id (see random-uuid)")->required();
  fmt->add_flag("-g,--ignore-formatted", ignore_formatted, "Skip dirs that are already formatted instead of failing");
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
  if (fmt->parsed()) return format(fmt_config, cluster_id, ignore_formatted);
  return info(info_config);
}

}  // namespace samsa::app
