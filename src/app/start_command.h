#pragma once

namespace samsa::app {

// `samsa start [--config FILE] [--override KEY=VALUE]...`: runs a broker in the
// foreground until SIGINT/SIGTERM. Returns the process exit code.
int start_command(int argc, char** argv);

}  // namespace samsa::app
