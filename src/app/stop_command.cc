// `samsa stop` (kafka-server-stop.sh): sends SIGTERM to the broker that owns
// the data dirs of a config (or one --data-dir), found through the pid file the
// broker keeps beside its lock (server::kPidFile); without arguments, to every
// `samsa start` process of this machine, as Kafka's script does with `ps`.
// A pid is signalled only if /proc shows it is a `samsa start` process, so a
// stale pid file never hits an unrelated process.
#include <CLI/CLI.hpp>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "config/broker_config.h"
#include "server/broker.h"
#include "app/tool_commands.h"
#include "storage/env.h"

namespace samsa::app {

namespace {

// argv of a process, from /proc/<pid>/cmdline (bounded read).
std::vector<std::string> process_args(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  for (int n = 0; n < 64 && std::getline(in, arg, '\0'); ++n) args.push_back(arg);
  return args;
}

bool is_samsa_broker(pid_t pid) {
  if (pid <= 0 || pid == ::getpid()) return false;
  auto args = process_args(pid);
  if (args.size() < 2 || args[1] != "start") return false;
  auto slash = args[0].rfind('/');
  return args[0].substr(slash == std::string::npos ? 0 : slash + 1) == "samsa";
}

std::set<pid_t> all_brokers() {
  std::set<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end == '\0' && pid > 0 && is_samsa_broker(static_cast<pid_t>(pid))) out.insert(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

std::set<pid_t> brokers_of(const std::vector<std::string>& dirs) {
  std::set<pid_t> out;
  for (auto& dir : dirs) {
    auto text = storage::read_file_to_string(storage::posix_env(), storage::join_path(dir, server::kPidFile), 64);
    if (!text.is_ok()) continue;
    long pid = std::strtol(text.value().c_str(), nullptr, 10);
    if (is_samsa_broker(static_cast<pid_t>(pid))) out.insert(static_cast<pid_t>(pid));
  }
  return out;
}

}  // namespace

int stop_command(int argc, char** argv) {
  CLI::App app{"Stop running brokers with SIGTERM (like kafka-server-stop.sh)", "samsa stop"};
  app.footer(
      "Without an option every `samsa start` process of this machine is stopped.\n"
      "Examples:\n"
      "  samsa stop --config config/server.properties\n"
      "  samsa stop --data-dir ./data\n"
      "  samsa stop");
  std::string config, data_dir;
  auto* c = app.add_option("--config,config", config, "Stop the broker using the log dirs of this server.properties");
  app.add_option("--data-dir", data_dir, "Stop the broker using this log dir")->excludes(c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  std::set<pid_t> pids;
  if (!config.empty()) {
    std::vector<std::string> warnings;
    auto loaded = cluster::load_broker_config(config, {}, warnings);
    if (auto* err = std::get_if<std::string>(&loaded)) {
      std::fprintf(stderr, "ERROR: %s\n", err->c_str());
      return 1;
    }
    pids = brokers_of(std::get<cluster::BrokerConfig>(loaded).log_dirs());
  } else if (!data_dir.empty()) {
    pids = brokers_of({data_dir});
  } else {
    pids = all_brokers();
  }
  if (pids.empty()) {
    std::printf("No kafka server to stop\n");
    return 1;
  }
  int rc = 0;
  for (pid_t p : pids) {
    if (::kill(p, SIGTERM) != 0) {
      std::fprintf(stderr, "ERROR: cannot signal process %d: %s\n", p, std::strerror(errno));
      rc = 1;
    }
  }
  return rc;
}

}  // namespace samsa::app
