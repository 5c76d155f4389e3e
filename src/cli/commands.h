#pragma once
// Entry points of the operator tools; argv[0] is the tool name ("topics", ...).
// Each returns the process exit code.
namespace samsa::cli {

int topics_main(int argc, char** argv);
int console_producer_main(int argc, char** argv);
int console_consumer_main(int argc, char** argv);
int get_offsets_main(int argc, char** argv);
int broker_api_versions_main(int argc, char** argv);
int configs_main(int argc, char** argv);
// configs for --entity-type users|clients: client quotas (configs_quotas.cc).
bool is_quota_entity_command(int argc, char** argv);
int quota_configs_main(int argc, char** argv);
int producer_perf_main(int argc, char** argv);
int consumer_perf_main(int argc, char** argv);
int leader_election_main(int argc, char** argv);
int consumer_groups_main(int argc, char** argv);
int delete_records_main(int argc, char** argv);
int log_dirs_main(int argc, char** argv);
int acls_main(int argc, char** argv);
int metadata_quorum_main(int argc, char** argv);
int reassign_partitions_main(int argc, char** argv);
int cluster_main(int argc, char** argv);
int features_main(int argc, char** argv);

}  // namespace samsa::cli
