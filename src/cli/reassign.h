#pragma once
// The pure parts of `samsa reassign-partitions` (kafka-reassign-partitions.sh):
// Kafka's JSON files, the proposed assignment of --generate and the text the
// tool prints. reassign.cc holds the command (network calls); these are
// unit-tested. One thread (the tool's).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace samsa::cli {

using PartitionKey = std::pair<std::string, int32_t>;  // topic, partition; sorted as Kafka sorts them
using Assignment = std::map<PartitionKey, std::vector<int32_t>>;
// The log dir a replica (partition, broker) should be in ("log_dirs" other than "any").
using ReplicaDirs = std::map<std::pair<PartitionKey, int32_t>, std::string>;

// {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}
// Kafka's checks: a non-empty list, no partition twice, no replica twice in
// one list, log_dirs (when given) as long as the replicas, each "any" or an
// absolute path (into `dirs`, when given). false + err otherwise.
bool parse_reassignment_json(const std::string& text, Assignment& out, std::string& err,
                             ReplicaDirs* dirs = nullptr);
// {"version":1,"topics":[{"topic":"t"}]}: the topic names, no duplicates.
bool parse_topics_to_move_json(const std::string& text, std::vector<std::string>& out, std::string& err);

// Kafka's reassignment JSON (one line, "log_dirs" all "any").
std::string reassignment_json(const Assignment& a);

// --generate: every partition of `current` moved over `brokers` with the
// same replication factor, in Kafka's rack-unaware striping (first replica
// of partition p on brokers[p % n], followers after it with a shift that
// grows every n partitions), from start index 0 (Kafka starts at a random
// one). An error when a replication factor exceeds the brokers.
bool propose_assignment(const Assignment& current, const std::vector<int32_t>& brokers, Assignment& out,
                        std::string& err);

// "foo-0": a partition as Kafka prints it.
std::string tp_name(const PartitionKey& k);
// "foo-0-1": a replica (partition, broker) as Kafka prints it.
std::string replica_name(const std::pair<PartitionKey, int32_t>& r);
// "foo-0,foo-1": partitions joined as Kafka prints them.
std::string join_partitions(const std::vector<PartitionKey>& parts);

}  // namespace samsa::cli
