// The metadata loader: on every node, turns the committed records of the
// metadata log into metadata images. It replays the log once at start
// (load()), then applies every batch the log reports committed, whoever
// proposed it: it builds the next image (sharing every untouched topic with
// the previous one), publishes it with a delta naming what changed, and keeps
// it as the image broker code reads. The controller never builds images.
//
// Threads: lives on the metadata log's thread (shard 0 in the broker); load(),
// image() and the publish callback run there. Published images are immutable
// and may be handed to any thread.
#pragma once
#include <functional>

#include "base/types.h"
#include "cluster/metadata_image.h"
#include "cluster/metadata_records.h"
#include "raft/metadata_log.h"
#include "storage/status.h"

namespace samsa::cluster {

class MetadataLoader {
 public:
  using Publish = std::function<void(ImagePtr, DeltaPtr)>;
  // Subscribes to the log's committed batches; nothing is published before load().
  MetadataLoader(raft::MetadataLog& log, Publish publish);
  MetadataLoader(const MetadataLoader&) = delete;
  MetadataLoader& operator=(const MetadataLoader&) = delete;

  // Replays the log from the start into a new image and publishes it with a
  // full delta. A read error is returned (and nothing published).
  storage::Status load();
  // The cluster id every image carries. As in Kafka it lives in meta.properties,
  // not in the log; set before load().
  void set_cluster_id(std::string id) { cluster_id_ = std::move(id); }
  ImagePtr image() const { return image_; }

  // The state of a snapshot (KIP-630): `values` are its encoded records, the
  // state of every offset below `end`. Before load() the replay continues
  // from it (start-up); after load() it replaces the image, which is published
  // with a full delta (a snapshot installed from the leader).
  void reset_to_snapshot(Offset end, std::span<const protocol::Bytes> values);

  // One committed batch (the log's commit listener): values[i] is at base + i.
  void apply_committed(Offset base, std::span<const protocol::Bytes> values);
  // The log handed over everything known committed: an image held back while
  // catching up is published now, with every delta it gathered.
  void caught_up();

 private:
  // Publishes the image, or holds it back (gathering `delta`) while the log
  // is catching up: a restarted broker must not walk through the cluster's
  // history applying leaderships its log has long outgrown.
  void publish_or_hold(std::shared_ptr<ImageDelta> delta);
  int32_t controller_id() const;
  // Decodes one value, logging why a skipped one is skipped.
  std::optional<MetadataRecord> decode(Offset offset, std::span<const uint8_t> value);

  raft::MetadataLog& log_;
  Publish publish_;
  ImagePtr image_;
  ImagePtr base_;  // the snapshot load() starts from (none: the empty image)
  bool loaded_ = false;
  std::shared_ptr<ImageDelta> held_;  // what the images held back since the last publish changed
  int64_t held_batches_ = 0;
  std::string cluster_id_;
  int64_t legacy_records_ = 0;  // old-format values read (logged once after replay)
};

}  // namespace samsa::cluster
