// `samsa features` (kafka-features.sh): `describe` lists each feature the broker supports
// with its range and the cluster's finalized level (ApiVersions v4, KIP-584); `upgrade`,
// `downgrade` and `disable` change finalized levels (UpdateFeatures v1, carried out by the
// active controller), with Kafka's --feature NAME=LEVEL, --unsafe and --dry-run, and Kafka's
// lines: "transaction.version was upgraded to 2." or "Could not upgrade transaction.version
// to 3. <reason>" (exit 1).
#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "base/error_code.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "protocol/messages/api_versions.h"
#include "protocol/messages/update_features.h"

namespace samsa::cli {

namespace {

constexpr int16_t kApiVersionsVersion = 4;  // lists supported features whose minimum is 0
constexpr int16_t kUpdateFeaturesVersion = 1;

int describe_features(RawClient& client) {
  protocol::ApiVersionsRequest req;
  req.client_software_name = "samsa-features";
  req.client_software_version = "1.0";
  protocol::ApiVersionsResponse resp;
  std::string err;
  if (!client.call(req, kApiVersionsVersion, resp, err)) return fail(err);
  std::map<std::string, int16_t> finalized;
  for (auto& f : resp.finalized_features) finalized[f.name] = f.max_version_level;
  const std::string epoch = resp.finalized_features_epoch >= 0 ? std::to_string(resp.finalized_features_epoch) : "-";
  for (auto& f : resp.supported_features) {
    auto level = finalized.find(f.name);
    std::printf("Feature: %s\tSupportedMinVersion: %d\tSupportedMaxVersion: %d\tFinalizedVersionLevel: %s\tEpoch: %s\n",
                f.name.c_str(), f.min_version, f.max_version,
                level == finalized.end() ? "0" : std::to_string(level->second).c_str(), epoch.c_str());
  }
  return 0;
}

struct Change {
  std::string name;
  int16_t level = 0;
};

// "name=level" (upgrade, downgrade) or "name" (disable: level 0).
bool parse_change(const std::string& spec, bool with_level, Change& out, std::string& err) {
  if (!with_level) {
    out = {spec, 0};
    return !spec.empty();
  }
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    err = "Can't parse feature=level string " + spec + ": equals sign not found.";
    return false;
  }
  int level = -1;
  const std::string value = spec.substr(eq + 1);
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), level);
  if (ec != std::errc() || end != value.data() + value.size() || level < 0 || level > INT16_MAX) {
    err = "Can't parse feature=level string " + spec + ": unable to parse " + value + " as a short.";
    return false;
  }
  out = {spec.substr(0, eq), static_cast<int16_t>(level)};
  return true;
}

// One UpdateFeatures with every change; Kafka's per-feature lines.
int update_features(RawClient& client, const std::vector<Change>& changes, const char* verb, int8_t type,
                    bool dry_run) {
  protocol::UpdateFeaturesRequest req;
  req.validate_only = dry_run;
  for (auto& c : changes) {
    auto& u = req.feature_updates.emplace_back();
    u.feature = c.name;
    u.max_version_level = c.level;
    u.upgrade_type = type;
  }
  protocol::UpdateFeaturesResponse resp;
  std::string err;
  if (!client.call(req, kUpdateFeaturesVersion, resp, err)) return fail(err);
  int failed = 0;
  for (auto& c : changes) {
    ErrorCode e = static_cast<ErrorCode>(resp.error_code);
    std::string message = resp.error_message.value_or("");
    for (auto& r : resp.results)
      if (r.feature == c.name) {
        e = static_cast<ErrorCode>(r.error_code);
        message = r.error_message.value_or(message);
      }
    const bool disable = std::string(verb) == "disable";
    const std::string what = disable ? c.name : c.name + " to " + std::to_string(c.level);
    const std::string done = disable ? "disabled" : std::string(verb) + "d to " + std::to_string(c.level);
    if (e != ErrorCode::NONE) {
      ++failed;
      std::printf("Could not %s %s. %s\n", verb, what.c_str(),
                  message.empty() ? std::string(error_name(e)).c_str() : message.c_str());
    } else {
      std::printf("%s %s %s.\n", c.name.c_str(), dry_run ? "can be" : "was", done.c_str());
    }
  }
  if (failed == 0) return 0;
  std::fprintf(stderr, "%d out of %zu operation(s) failed.\n", failed, changes.size());
  return 1;
}

}  // namespace

int features_main(int argc, char** argv) {
  CLI::App app{"Describe or change the cluster's feature levels (like kafka-features.sh)", "samsa features"};
  app.footer("Examples:\n  samsa features --bootstrap-server localhost:9092 describe\n"
             "  samsa features --bootstrap-server localhost:9092 upgrade --feature transaction.version=2\n"
             "  samsa features --bootstrap-server localhost:9092 downgrade --feature transaction.version=1 --dry-run");
  std::string bootstrap, command_config;
  std::vector<std::string> specs;
  bool dry_run = false, unsafe = false;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--command-config", command_config, "Client config properties file");
  auto* desc = app.add_subcommand("describe", "Describe the supported and finalized feature levels");
  auto* up = app.add_subcommand("upgrade", "Upgrade one or more feature levels");
  auto* down = app.add_subcommand("downgrade", "Downgrade one or more feature levels");
  auto* dis = app.add_subcommand("disable", "Disable one or more features (level 0)");
  for (auto* sub : {up, down, dis}) {
    sub->add_option("--feature", specs, sub == dis ? "A feature to disable (repeatable)"
                                                    : "A feature and its new level, NAME=LEVEL (repeatable)")
        ->required();
    sub->add_flag("--dry-run", dry_run, "Validate the change without making it");
  }
  for (auto* sub : {down, dis}) sub->add_flag("--unsafe", unsafe, "Allow a downgrade that may lose metadata");
  for (auto* sub : {desc, up, down, dis}) {
    sub->add_option("--bootstrap-server", bootstrap, "REQUIRED: the server(s) to connect to");
    sub->add_option("--command-config", command_config, "Client config properties file");
  }
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  std::string err;
  Properties props;
  RawClient client;
  if (!client.open(bootstrap, command_config, 30000, props, err)) return fail(err);
  if (desc->parsed()) return describe_features(client);
  std::vector<Change> changes;
  for (auto& s : specs) {
    Change c;
    if (!parse_change(s, !dis->parsed(), c, err)) return fail(err);
    changes.push_back(c);
  }
  if (up->parsed()) return update_features(client, changes, "upgrade", 1, dry_run);
  return update_features(client, changes, dis->parsed() ? "disable" : "downgrade", unsafe ? 3 : 2, dry_run);
}

}  // namespace samsa::cli
