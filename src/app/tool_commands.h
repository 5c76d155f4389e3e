#pragma once
// The broker-side commands of the `samsa` executable besides `start`: they
// work on a broker's data dirs and process, not over the network.

namespace samsa::app {

// `samsa storage random-uuid | format | info` (kafka-storage.sh).
int storage_command(int argc, char** argv);
// `samsa stop [--config FILE | --data-dir DIR]` (kafka-server-stop.sh).
int stop_command(int argc, char** argv);
// `samsa dev-cluster [--nodes N]`: a local cluster of combined broker+controller processes.
int dev_cluster_command(int argc, char** argv);

}  // namespace samsa::app
