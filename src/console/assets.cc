#include "console/assets.h"

namespace samsa::console {

const Asset* find_asset(std::string_view path) {
  // A handful of files: a linear scan is enough and keeps the table a plain array.
  for (size_t i = 0; i < kAssetCount; ++i)
    if (kAssets[i].path == path && !kAssets[i].body.empty()) return &kAssets[i];
  return nullptr;
}

}  // namespace samsa::console
