// The web console's files (src/console/web/), built into the binary as byte
// arrays by tools/gen_console_assets.py, so the console works with no internet
// and nothing installed beside the broker.
//
// Threads: immutable static data, read from any thread.
#pragma once
#include <cstddef>
#include <string_view>

namespace samsa::console {

struct Asset {
  std::string_view path;          // relative to web/, e.g. "index.html", "app.js"
  std::string_view content_type;  // from the file's extension
  std::string_view body;
};

// The generated table (build/gen/console/console_assets.cc).
extern const Asset kAssets[];
extern const size_t kAssetCount;

// The asset at `path` (relative, no leading '/'), or null.
const Asset* find_asset(std::string_view path);

}  // namespace samsa::console
