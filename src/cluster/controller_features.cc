// The controller's feature levels (Kafka's FeatureControlManager): UpdateFeatures becomes
// FeatureLevelRecords. Every update is checked against what this build supports
// (cluster/features.h) and against the finalized level (a lower level needs a downgrade type,
// a higher one an upgrade); one refused update refuses the request. Runs on shard 0 like the
// rest of the Controller.
#include <set>

#include "cluster/commit_results.h"
#include "cluster/controller.h"
#include "cluster/features.h"

namespace samsa::cluster {

namespace {

OpResult refuse_feature(ErrorCode e, std::string message) { return OpResult{e, std::move(message), {}}; }

std::optional<OpResult> check_feature_update(const FeatureUpdate& u, int16_t current, int32_t node_id) {
  if (u.upgrade_type < static_cast<int8_t>(FeatureUpgradeType::upgrade) ||
      u.upgrade_type > static_cast<int8_t>(FeatureUpgradeType::unsafe_downgrade))
    return refuse_feature(ErrorCode::INVALID_REQUEST, "Unknown upgrade type " + std::to_string(u.upgrade_type) + ".");
  const auto* f = find_supported_feature(u.name);
  if (!f) return refuse_feature(ErrorCode::INVALID_UPDATE_VERSION, "The controller does not support the given feature.");
  if (u.level < 0 || u.level > f->max || (u.level != 0 && u.level < f->min))
    return refuse_feature(ErrorCode::INVALID_UPDATE_VERSION,
                          "Invalid update version " + std::to_string(u.level) + " for feature " + u.name +
                              ". Local controller " + std::to_string(node_id) + " only supports versions " +
                              std::to_string(f->min) + "-" + std::to_string(f->max));
  const bool upgrade = u.upgrade_type == static_cast<int8_t>(FeatureUpgradeType::upgrade);
  if (u.level < current && upgrade)
    return refuse_feature(ErrorCode::INVALID_UPDATE_VERSION,
                          "Can't downgrade the version of this feature without setting the upgrade type to either "
                          "safe or unsafe downgrade.");
  if (u.level > current && !upgrade)
    return refuse_feature(ErrorCode::INVALID_UPDATE_VERSION, "Can't downgrade to a newer version.");
  return std::nullopt;
}

}  // namespace

asio::awaitable<OpResult> Controller::update_features(std::vector<FeatureUpdate> updates, bool validate_only) {
  co_await queue_.acquire();
  OpQueue::Turn turn(queue_);
  image_ = loader_.image();
  if (static_cast<int64_t>(updates.size()) > kMaxRecordsPerOp)
    co_return refuse_feature(ErrorCode::POLICY_VIOLATION, kExcessiveBatchMessage);
  std::set<std::string> named;
  std::vector<MetadataRecord> recs;
  for (const auto& u : updates) {
    if (!named.insert(u.name).second)
      co_return refuse_feature(ErrorCode::INVALID_REQUEST, "Feature " + u.name + " is named twice.");
    auto at = image_->features.find(u.name);
    const int16_t current = at == image_->features.end() ? 0 : at->second;
    if (auto refused = check_feature_update(u, current, settings_.node_id)) co_return *refused;
    if (u.level == current) continue;
    FeatureLevelRecord r;
    r.name = u.name;
    r.feature_level = u.level;
    recs.emplace_back(std::move(r));
  }
  if (validate_only || recs.empty()) co_return OpResult{};
  auto op = commit(std::move(recs));
  co_return co_await std::move(op);
}

}  // namespace samsa::cluster
