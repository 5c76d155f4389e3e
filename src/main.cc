// The one Samsa executable: `samsa start` runs the broker, `storage` and `stop`
// work on its data dirs and process; every other subcommand is an operator
// tool speaking the Kafka protocol (see `samsa --help`).
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/tools.h"
#include "app/start_command.h"
#include "app/tool_commands.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "start") == 0) return samsa::app::start_command(argc - 1, argv + 1);
  if (argc >= 2 && std::strcmp(argv[1], "storage") == 0) return samsa::app::storage_command(argc - 1, argv + 1);
  if (argc >= 2 && std::strcmp(argv[1], "stop") == 0) return samsa::app::stop_command(argc - 1, argv + 1);
  if (argc >= 2 && std::strcmp(argv[1], "dev-cluster") == 0)
    return samsa::app::dev_cluster_command(argc - 1, argv + 1);
  return samsa::cli::run_tool(argc, argv);
}
