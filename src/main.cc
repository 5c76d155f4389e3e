// The one Samsa executable: `samsa start` runs the broker; every other
// subcommand is an operator tool (see `samsa --help`).
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/tools.h"
#include "server/start_command.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "start") == 0) return samsa::server::start_command(argc - 1, argv + 1);
  return samsa::cli::run_tool(argc, argv);
}
