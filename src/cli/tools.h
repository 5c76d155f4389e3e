#pragma once

namespace samsa::cli {

// Dispatches `samsa <tool> ...` to an operator tool; prints usage for unknown
// tools. Returns the process exit code.
int run_tool(int argc, char** argv);

}  // namespace samsa::cli
