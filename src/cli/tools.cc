#include "cli/tools.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace samsa::cli {

namespace {
void usage() {
  std::fprintf(stderr,
               "Usage: samsa <command> [options]\n\n"
               "Commands:\n"
               "  start            run a broker in the foreground (like kafka-server-start.sh)\n\n"
               "Run 'samsa <command> --help' for the options of a command.\n");
}
}  // namespace

int run_tool(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  std::fprintf(stderr, "samsa: unknown command '%s'\n\n", argv[1]);
  usage();
  return 2;
}

}  // namespace samsa::cli
