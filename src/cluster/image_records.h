// The metadata image as the records that rebuild it: what a snapshot of
// __cluster_metadata holds (KIP-630). Applying image_records(image) in order
// with apply_record to an empty image gives back an equal image, except for
// what is not metadata-record state: the cluster id (meta.properties), the
// controller id (the quorum's leader) and last_offset (the snapshot's end - 1,
// set by whoever loads it).
//
// Order, as in Kafka's snapshots: feature levels first (metadata.version
// before anything it governs), brokers (registration with fencing and
// controlled shutdown), dynamic broker configs, topics by name (TopicRecord,
// its PartitionRecords, its ConfigRecords), the producer-id block last.
//
// Pure functions of an image; any thread (images are immutable).
#pragma once
#include <functional>
#include <vector>

#include "cluster/metadata_image.h"
#include "cluster/metadata_records.h"

namespace samsa::cluster {

// Calls fn with each record in order, without holding them all.
void for_each_image_record(const MetadataImage& image, const std::function<void(const MetadataRecord&)>& fn);
std::vector<MetadataRecord> image_records(const MetadataImage& image);

}  // namespace samsa::cluster
