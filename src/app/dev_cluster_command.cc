// `samsa dev-cluster [--nodes N]`: a local cluster of N combined
// broker+controller processes for development. Node i (1..N) listens for
// clients on base + 2(i-1) (9092, 9094, 9096 …) and for the quorum on the port
// after it (9093, 9095, …), keeps its data in <data-dir>/node-i (formatted
// with one shared cluster id on first start) and its log in
// <data-dir>/node-i.log. The command prints the bootstrap string and waits;
// Ctrl-C (SIGINT) or SIGTERM stops every node (SIGTERM, then SIGKILL after a
// bound) and reaps them. A node that exits on its own is reported, not restarted.
//
// Threads: the main thread only; the nodes are child processes.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/tool_commands.h"
#include "base/cli_exit.h"
#include "storage/env.h"
#include "storage/meta_properties.h"

namespace samsa::app {

namespace {

constexpr int kMaxNodes = 9;
constexpr int kStopGraceSeconds = 30;  // then SIGKILL

struct NodePlan {
  int id = 0;
  int client_port = 0;
  int controller_port = 0;
  int http_port = 0;
  std::string dir;
  std::string config_path;
  std::string log_path;
};

std::string voters_of(const std::vector<NodePlan>& nodes) {
  std::string s;
  for (auto& n : nodes) {
    if (!s.empty()) s += ",";
    s += std::to_string(n.id) + "@localhost:" + std::to_string(n.controller_port);
  }
  return s;
}

// The cluster id the nodes already share, if any was formatted before.
std::string existing_cluster_id(storage::Env* env, const std::vector<NodePlan>& nodes) {
  for (auto& n : nodes) {
    auto props = storage::read_meta_properties(env, n.dir);
    if (props.is_ok() && props.value().count("cluster.id")) return props.value().at("cluster.id");
  }
  return {};
}

std::string write_node_files(storage::Env* env, const NodePlan& n, const std::string& voters,
                             const std::string& cluster_id) {
  if (auto st = storage::create_dirs(env, n.dir); !st) return "cannot create " + n.dir + ": " + st.to_string();
  std::string props =
      "# Written by `samsa dev-cluster`: node " + std::to_string(n.id) + " of a local development cluster.\n" +
      "process.roles=broker,controller\n" + "node.id=" + std::to_string(n.id) + "\n" +
      "listeners=PLAINTEXT://localhost:" + std::to_string(n.client_port) +
      ",CONTROLLER://localhost:" + std::to_string(n.controller_port) + "\n" +
      "advertised.listeners=PLAINTEXT://localhost:" + std::to_string(n.client_port) + "\n" +
      "controller.listener.names=CONTROLLER\n" + "inter.broker.listener.name=PLAINTEXT\n" +
      "controller.quorum.voters=" + voters + "\n" + "log.dirs=" + n.dir + "\n" +
      "http.listeners=http://localhost:" + std::to_string(n.http_port) + "\n";
  if (auto st = storage::write_file_atomically(env, n.config_path, props); !st)
    return "cannot write " + n.config_path + ": " + st.to_string();
  if (env->exists(storage::join_path(n.dir, storage::kMetaPropertiesFile))) return {};
  if (auto st = storage::write_meta_properties(env, n.dir, n.id, cluster_id, "Written by samsa dev-cluster"); !st)
    return "cannot format " + n.dir + ": " + st.to_string();
  return {};
}

pid_t spawn_node(const NodePlan& n, const sigset_t& old_mask) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Child: its own signal mask back, its output to the node's log file.
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  int fd = ::open(n.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
  }
  std::string exe = "/proc/self/exe";
  const char* argv[] = {"samsa", "start", "--config", n.config_path.c_str(), nullptr};
  ::execv(exe.c_str(), const_cast<char* const*>(argv));
  std::perror("samsa dev-cluster: exec");
  ::_exit(127);
}

}  // namespace

int dev_cluster_command(int argc, char** argv) {
  CLI::App app{"Run a local cluster of combined broker+controller nodes (Ctrl-C stops it)", "samsa dev-cluster"};
  int nodes = 3;
  int base_port = 9092;
  int http_base_port = 9644;
  std::string data_dir = "./data";
  app.add_option("--nodes,-n", nodes, "Number of nodes, 1-9 (default 3)")->check(CLI::Range(1, kMaxNodes));
  app.add_option("--base-port", base_port, "Client port of node 1; node i uses base + 2(i-1) and the port after it")
      ->check(CLI::Range(1, 65535 - 2 * kMaxNodes));
  app.add_option("--http-base-port", http_base_port, "HTTP port (metrics, health) of node 1; node i uses base + i - 1")
      ->check(CLI::Range(1, 65535 - kMaxNodes));
  app.add_option("--data-dir", data_dir, "Where node-<i>/ (data), node-<i>.properties and node-<i>.log go");
  app.footer("Example:\n  samsa dev-cluster --nodes 3\n  samsa topics --bootstrap-server localhost:9092 --create "
             "--topic t --partitions 6 --replication-factor 1");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  auto* env = storage::posix_env();
  if (auto st = storage::create_dirs(env, data_dir); !st) {
    std::fprintf(stderr, "cannot create %s: %s\n", data_dir.c_str(), st.to_string().c_str());
    return 1;
  }
  std::vector<NodePlan> plan;
  for (int i = 1; i <= nodes; ++i) {
    NodePlan n;
    n.id = i;
    n.client_port = base_port + 2 * (i - 1);
    n.controller_port = n.client_port + 1;
    n.http_port = http_base_port + (i - 1);
    n.dir = storage::join_path(data_dir, "node-" + std::to_string(i));
    n.config_path = storage::join_path(data_dir, "node-" + std::to_string(i) + ".properties");
    n.log_path = storage::join_path(data_dir, "node-" + std::to_string(i) + ".log");
    plan.push_back(n);
  }
  std::string cluster_id = existing_cluster_id(env, plan);
  if (cluster_id.empty()) cluster_id = storage::random_cluster_id();
  std::string voters = voters_of(plan);
  for (auto& n : plan) {
    if (auto err = write_node_files(env, n, voters, cluster_id); !err.empty()) {
      std::fprintf(stderr, "samsa dev-cluster: %s\n", err.c_str());
      return 1;
    }
  }
  // Signals are taken with sigtimedwait, never by a handler.
  sigset_t mask, old_mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, &old_mask);
  std::map<pid_t, int> running;  // pid -> node id
  for (auto& n : plan) {
    pid_t pid = spawn_node(n, old_mask);
    if (pid < 0) {
      std::perror("samsa dev-cluster: fork");
      break;
    }
    running[pid] = n.id;
  }
  std::string bootstrap;
  for (auto& n : plan) bootstrap += (bootstrap.empty() ? "" : ",") + std::string("localhost:") + std::to_string(n.client_port);
  std::printf("Started %zu node(s) of cluster %s (controller quorum %s).\n", running.size(), cluster_id.c_str(),
              voters.c_str());
  std::printf("Logs: %s/node-<i>.log. Bootstrap servers:\n%s\nPress Ctrl-C to stop every node.\n", data_dir.c_str(),
              bootstrap.c_str());
  std::fflush(stdout);

  auto reap = [&running](bool report) {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = running.find(pid);
      if (it == running.end()) continue;
      if (report)
        std::fprintf(stderr, "samsa dev-cluster: node %d exited (%s %d); see its log\n", it->second,
                     WIFSIGNALED(status) ? "signal" : "status", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      running.erase(it);
    }
  };
  bool stopping = running.empty();
  while (!stopping) {
    timespec tick{1, 0};
    int sig = ::sigtimedwait(&mask, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) stopping = true;
    reap(!stopping);
    if (running.empty()) stopping = true;
  }
  std::printf("Stopping %zu node(s)...\n", running.size());
  std::fflush(stdout);
  for (auto& [pid, id] : running) ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kStopGraceSeconds);
  while (!running.empty() && std::chrono::steady_clock::now() < deadline) {
    timespec tick{0, 100 * 1000 * 1000};
    (void)::sigtimedwait(&mask, nullptr, &tick);
    reap(false);
  }
  for (auto& [pid, id] : running) {
    std::fprintf(stderr, "samsa dev-cluster: node %d did not stop in %d s, killing it\n", id, kStopGraceSeconds);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::printf("Stopped.\n");
  return 0;
}

}  // namespace samsa::app
