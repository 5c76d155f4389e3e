// The partition changes the controller writes: an ISR change a leader asked
// for (AlterPartition), leadership moving away from a broker that is fenced,
// shutting down or unregistered, coming back when a broker is unfenced, and
// the elections ElectLeaders asks for. Kafka's PartitionChangeBuilder rules
// (as facts), without eligible leader replicas (KIP-966):
// - the target ISR replaces the ISR, except that an empty target keeps the
//   current ISR (KIP-841: the partition then waits for its last member, not
//   for a replica that may lack data);
// - a leader that is still in the target ISR and may lead (registered,
//   unfenced, not shutting down) keeps its place; otherwise the first replica,
//   in replica order, that is in the target ISR and may lead; otherwise, when
//   the topic allows unclean election (`unclean.leader.election.enable`), the
//   first replica that may lead, with the ISR reset to it alone and the leader
//   recovery state RECOVERING (data may be lost); otherwise -1 (offline);
// - a preferred election picks the first replica when it is a valid leader,
//   else keeps a valid current leader, else the next valid replica;
// - every change is one PartitionChangeRecord naming only what changed;
//   applying it bumps the partition epoch, and the leader epoch only when the
//   leader field is set (an ISR change alone keeps the leader epoch).
//
// Pure functions on an image the caller holds; any thread. They scan every
// partition (Kafka keeps a broker -> partitions index instead); a broker's
// arrival or departure is rare next to the records it causes.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "cluster/metadata_image.h"
#include "cluster/metadata_records.h"

namespace samsa::cluster {

// Kafka's LeaderRecoveryState.
inline constexpr int8_t kLeaderRecovered = 0;
inline constexpr int8_t kLeaderRecovering = 1;  // after an unclean election, until the leader says it recovered

// Whether a broker may lead, as the image will be once the records being
// built are applied.
using MayLead = std::function<bool(int32_t broker)>;

// May lead: registered in `image`, unfenced, not in controlled shutdown, and
// not one of `leaving`.
MayLead may_lead_in(const MetadataImage& image, std::vector<int32_t> leaving);

// What decides an election: who may lead, and which topics allow an unclean
// one (unset: none).
struct ElectionRules {
  MayLead may_lead;
  std::function<bool(const TopicInfo&)> unclean_allowed;
};

// `unclean.leader.election.enable` for `topic`: its override, else the dynamic
// config of broker `node`, else the cluster-wide dynamic default, else
// `static_default` (the controller's own config; Kafka's default is false).
bool unclean_election_enabled(const MetadataImage& image, const TopicInfo& topic, int32_t node, bool static_default);

enum class Election { clean, preferred, unclean };

// What a change asks of one partition.
struct PartitionTarget {
  std::optional<std::vector<int32_t>> isr;         // unset: the current ISR
  std::optional<int8_t> leader_recovery_state;     // unset: unchanged
  Election election = Election::clean;
};

// The record that takes `p` to `target` under `may_lead`, or nullopt when
// nothing would change (Kafka's PartitionChangeBuilder.build).
std::optional<PartitionChangeRecord> build_partition_change(const Uuid& topic_id, const PartitionInfo& p,
                                                            const PartitionTarget& target, const MayLead& may_lead);

// Whether `r` is an unclean election: a new leader with the recovery state set
// to RECOVERING (worth a loud warning).
bool is_unclean_election(const PartitionChangeRecord& r);

// The `leaving` brokers leave every ISR they are in and every leadership they
// hold; appends the changes to `out` (one record per partition). When every
// member of an ISR is leaving, the highest id of them stays (as if they left
// one at a time in id order, as Kafka fences them).
void move_away_from(const MetadataImage& image, const std::vector<int32_t>& leaving, const ElectionRules& rules,
                    std::vector<MetadataRecord>& out);

// Every partition without a leader elects one under `rules` (a broker just
// unfenced: its ISR places count again); appends the changes to `out`.
void elect_leaderless(const MetadataImage& image, const ElectionRules& rules, std::vector<MetadataRecord>& out);

// Whether `broker` leads any partition.
bool leads_any(const MetadataImage& image, int32_t broker);

}  // namespace samsa::cluster
