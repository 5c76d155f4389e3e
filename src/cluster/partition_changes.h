// The partition changes the controller writes when a broker comes or goes:
// leadership moves away from a broker that is fenced, shutting down or
// unregistered, and comes back to it when it is unfenced (Kafka's
// ReplicationControlManager / PartitionChangeBuilder rules, as facts):
// - a leaving broker leaves every ISR it is in, except that the last member
//   of an ISR stays (KIP-841: the partition then waits for it, not for a
//   replica that may lack data);
// - a partition it led gets the first replica, in replica order, that is in
//   the new ISR and may lead (unfenced, not shutting down); if there is none
//   its leader becomes -1 (offline: no unclean election);
// - every change is one PartitionChangeRecord naming only what changed;
//   applying it bumps the partition epoch, and the leader epoch when the
//   leader field is set.
//
// Pure functions on an image the caller holds; any thread. They scan every
// partition (Kafka keeps a broker -> partitions index instead); a broker's
// arrival or departure is rare next to the records it causes.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "cluster/metadata_image.h"
#include "cluster/metadata_records.h"

namespace samsa::cluster {

// Whether a broker may lead, as the image will be once the records being
// built are applied.
using MayLead = std::function<bool(int32_t broker)>;

// May lead: registered in `image`, unfenced, not in controlled shutdown, and
// not one of `leaving`.
MayLead may_lead_in(const MetadataImage& image, std::vector<int32_t> leaving);

// The `leaving` brokers leave every ISR they are in and every leadership they
// hold; appends the changes to `out` (one record per partition). When every
// member of an ISR is leaving, the highest id of them stays (as if they left
// one at a time in id order).
void move_away_from(const MetadataImage& image, const std::vector<int32_t>& leaving, const MayLead& may_lead,
                    std::vector<MetadataRecord>& out);

// Every partition without a leader whose ISR holds `broker` elects a leader
// (the first replica of the ISR that may lead: `broker` itself when it is the
// only one left); appends the changes to `out`.
void elect_leaderless(const MetadataImage& image, int32_t broker, const MayLead& may_lead,
                      std::vector<MetadataRecord>& out);

// Whether `broker` leads any partition.
bool leads_any(const MetadataImage& image, int32_t broker);

}  // namespace samsa::cluster
