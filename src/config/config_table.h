// The generated table of configuration keys (internal to the config module).
// tools/gen_config.py writes the definitions from src/config/configs.def into
// build/gen/config/config_table.cc at build time; config_registry.cc sorts and
// indexes them once. Callers use broker_config_defs() / find_broker_config()
// of config_registry.h instead. Pure functions: any thread.
#pragma once

#include <vector>

#include "config/config_registry.h"

namespace samsa::config {

// Every broker key of configs.def, in the file's order.
std::vector<ConfigDef> generated_broker_config_defs();
// Every topic key of configs.def, in the file's order.
std::vector<ConfigDef> generated_topic_config_defs();

}  // namespace samsa::config
