// The ApiVersions answer of a listener, from the registry's listener scopes
// (the `listeners` of schemas/*.api, Kafka's): a broker listener never
// advertises a controller-only API (Vote, BeginQuorumEpoch, EndQuorumEpoch,
// FetchSnapshot, UpdateRaftVoter), a CONTROLLER listener only the APIs Kafka
// serves there.
//
// Threads: pure functions.
#pragma once
#include <cstdint>
#include <span>

#include "protocol/api_registry.h"
#include "protocol/messages/api_versions.h"

namespace samsa::protocol {

// One served API: its key and the highest version this listener's handler
// supports (-1: the schema's highest).
struct ServedApi {
  int16_t api_key = -1;
  int16_t max_version = -1;
};

// The versions of each served API that has a schema and is in `listener`'s
// scope, in the order given; error code 0.
ApiVersionsResponse api_versions_for(ApiListener listener, std::span<const ServedApi> served);

// The highest version of `info` a handler capped at `handler_max` (-1: none) serves.
inline int16_t served_max_version(const ApiInfo& info, int16_t handler_max) {
  return handler_max < 0 || handler_max > info.max_version ? info.max_version : handler_max;
}

}  // namespace samsa::protocol
