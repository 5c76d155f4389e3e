#include "protocol/api_listeners.h"

namespace samsa::protocol {

ApiVersionsResponse api_versions_for(ApiListener listener, std::span<const ServedApi> served) {
  ApiVersionsResponse resp;
  for (const auto& s : served) {
    const ApiInfo* info = find_api(s.api_key);
    if (!info || !info->served_on(listener)) continue;
    auto& v = resp.api_keys.emplace_back();
    v.api_key = s.api_key;
    v.min_version = info->min_version;
    v.max_version = served_max_version(*info, s.max_version);
  }
  return resp;
}

}  // namespace samsa::protocol
