// The feature flags (KIP-584) this build supports, their ranges and the levels a new cluster
// starts at. A finalized level lives in the metadata log (FeatureLevelRecord): the first
// active controller of an empty log writes each feature's bootstrap level unless
// `samsa storage format --feature NAME=LEVEL` chose one. A log written before a feature
// existed has no record for it: its level is 0 (Kafka's rule for a feature never finalized).
//
//   transaction.version  0-2: 2 is transactions v2 (KIP-890 part 2: an epoch bump per
//                        transaction, partitions added by the produce itself); clients use
//                        it only when it is finalized at 2 (ApiVersions).
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace samsa::cluster {

inline constexpr const char* kTransactionVersionFeature = "transaction.version";

struct SupportedFeature {
  const char* name;
  int16_t min;
  int16_t max;
  int16_t bootstrap_level;  // what a new cluster finalizes
};

inline constexpr SupportedFeature kSupportedFeatures[] = {
    {kTransactionVersionFeature, 0, 2, 2},
};

inline const SupportedFeature* find_supported_feature(std::string_view name) {
  for (const auto& f : kSupportedFeatures)
    if (name == f.name) return &f;
  return nullptr;
}

}  // namespace samsa::cluster
