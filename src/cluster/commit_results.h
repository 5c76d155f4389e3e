// The answer of a controller operation that commits all its items as one
// batch: when the commit fails, every item that passed validation answers the
// commit's error (the items refused earlier keep their own).
//
// Threads: a pure function; used on the controller's thread.
#pragma once
#include <vector>

#include "cluster/controller.h"

namespace samsa::cluster {

inline void answer_commit(std::vector<OpResult>& out, const OpResult& committed) {
  if (committed.error == ErrorCode::NONE) return;
  for (auto& r : out)
    if (r.error == ErrorCode::NONE) r = committed;
}

}  // namespace samsa::cluster
