#pragma once
// How every `samsa` command ends a CLI11 parse: --help (and --version) print
// as CLI11 does and exit 0; a bad flag is one "ERROR: ..." line on stderr
// pointing at --help, with CLI11's non-zero exit code.
#include <CLI/CLI.hpp>

#include <cstdio>

namespace samsa {

inline int cli_exit(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == 0) return app.exit(e);
  std::fprintf(stderr, "ERROR: %s (see '%s --help')\n", e.what(), app.get_name().c_str());
  return e.get_exit_code();
}

}  // namespace samsa
