#include "cluster/metadata_loader.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "cluster/topic_name.h"

namespace samsa::cluster {

MetadataLoader::MetadataLoader(raft::MetadataLog& log, Publish publish)
    : log_(log), publish_(std::move(publish)), image_(std::make_shared<MetadataImage>()) {
  log_.set_commit_listener(
      [this](Offset base, Epoch, std::span<const protocol::Bytes> values) { apply_committed(base, values); });
  log_.set_caught_up_listener([this] { caught_up(); });
}

void MetadataLoader::publish_or_hold(std::shared_ptr<ImageDelta> delta) {
  if (held_) {
    held_->full |= delta->full;
    held_->brokers |= delta->brokers;
    if (!held_->full) held_->topics.insert(held_->topics.end(), delta->topics.begin(), delta->topics.end());
  }
  if (log_.catching_up()) {
    if (!held_) {
      held_ = std::move(delta);
      spdlog::info("metadata: catching up with the quorum from offset {}: images are published once caught up",
                   image_->last_offset);
    }
    ++held_batches_;
    return;
  }
  if (held_) caught_up();
  else publish_(image_, std::move(delta));
}

void MetadataLoader::caught_up() {
  if (!held_) return;
  std::sort(held_->topics.begin(), held_->topics.end());
  held_->topics.erase(std::unique(held_->topics.begin(), held_->topics.end()), held_->topics.end());
  if (held_->full) held_->topics.clear();
  spdlog::info("metadata: caught up at offset {}: {} batch(es) published as one image", image_->last_offset,
               held_batches_);
  auto delta = std::move(held_);
  held_.reset();
  held_batches_ = 0;
  delta->complete = true;
  publish_(image_, std::move(delta));
}

int32_t MetadataLoader::controller_id() const {
  auto leader = log_.leader().leader;
  return leader ? leader->value : -1;
}

std::optional<MetadataRecord> MetadataLoader::decode(Offset offset, std::span<const uint8_t> value) {
  auto d = decode_value(value);
  if (d.legacy) ++legacy_records_;
  if (!d.warning.empty()) spdlog::warn("metadata log: skipping the record at offset {}: {}", offset, d.warning);
  return std::move(d.record);
}

storage::Status MetadataLoader::load() {
  auto img = base_ ? std::make_shared<MetadataImage>(*base_) : std::make_shared<MetadataImage>();
  img->cluster_id = cluster_id_;
  size_t n = 0;
  auto st = log_.replay([&](Offset offset, std::span<const uint8_t> value) {
    auto rec = decode(offset, value);
    if (!rec) return;
    if (auto* t = std::get_if<TopicRecord>(&*rec); t && is_cluster_metadata_topic(t->name))
      spdlog::warn("metadata log: ignoring a topic named {} at offset {} (the metadata log's own name)", t->name,
                   offset);
    apply_record(*img, *rec);
    img->last_offset = offset.value;
    ++n;
  });
  if (!st) return st;
  img->controller_id = controller_id();
  image_ = img;
  loaded_ = true;
  spdlog::info("metadata: replayed {} records, {} topics", n, img->topics.size());
  if (legacy_records_ > 0)
    spdlog::info("metadata: {} records are in Samsa's old format (read as Kafka's records; new ones use Kafka's)",
                 legacy_records_);
  auto delta = std::make_shared<ImageDelta>();
  delta->full = true;
  delta->complete = log_.replay_is_complete();
  publish_(image_, delta);
  return st;
}

void MetadataLoader::reset_to_snapshot(Offset end, std::span<const protocol::Bytes> values) {
  auto img = std::make_shared<MetadataImage>();
  img->cluster_id = cluster_id_;
  for (size_t i = 0; i < values.size(); ++i) {
    // A snapshot's records have no log offsets: name them by their index.
    if (auto rec = decode(Offset(static_cast<int64_t>(i)), values[i])) apply_record(*img, *rec);
  }
  img->last_offset = end.value - 1;
  spdlog::info("metadata: snapshot ending at offset {}: {} records, {} topics", end.value, values.size(),
               img->topics.size());
  if (!loaded_) {
    base_ = std::move(img);
    return;
  }
  img->controller_id = controller_id();
  image_ = img;
  auto delta = std::make_shared<ImageDelta>();
  delta->full = true;
  publish_or_hold(std::move(delta));
}

// One batch, one new image sharing every untouched topic with the previous
// one, one publish naming the topics the batch touched.
void MetadataLoader::apply_committed(Offset base, std::span<const protocol::Bytes> values) {
  // Before load() the replay will read these records anyway.
  if (!loaded_) return;
  auto img = std::make_shared<MetadataImage>(*image_);
  auto delta = std::make_shared<ImageDelta>();
  std::set<std::string> touched;
  for (size_t i = 0; i < values.size(); ++i) {
    auto rec = decode(base + static_cast<int64_t>(i), values[i]);
    if (!rec) continue;
    auto& r = *rec;
    if (auto* t = std::get_if<TopicRecord>(&r)) {
      touched.insert(t->name);
    } else if (auto* p = std::get_if<PartitionRecord>(&r)) {
      if (auto* name = img->topic_names.find(p->topic_id)) touched.insert(*name);
    } else if (auto* pc = std::get_if<PartitionChangeRecord>(&r)) {
      if (auto* name = img->topic_names.find(pc->topic_id)) touched.insert(*name);
    } else if (auto* c = std::get_if<ConfigRecord>(&r)) {
      if (c->resource_type == kTopicResource) touched.insert(c->resource_name);
      else delta->full = true;  // broker defaults reach every topic's log config
    } else if (auto* rm = std::get_if<RemoveTopicRecord>(&r)) {
      if (auto* name = img->topic_names.find(rm->topic_id)) touched.insert(*name);
    } else if (std::holds_alternative<RegisterBrokerRecord>(r) || std::holds_alternative<UnregisterBrokerRecord>(r) ||
               std::holds_alternative<BrokerRegistrationChangeRecord>(r) || std::holds_alternative<FenceBrokerRecord>(r) ||
               std::holds_alternative<UnfenceBrokerRecord>(r)) {
      delta->brokers = true;
    }
    apply_record(*img, r);
  }
  img->last_offset = (base + static_cast<int64_t>(values.size()) - 1).value;
  img->controller_id = controller_id();
  delta->topics.assign(touched.begin(), touched.end());
  image_ = img;
  publish_or_hold(std::move(delta));
}

}  // namespace samsa::cluster
