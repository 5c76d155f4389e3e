#include "base/shard_affinity.h"

#include <cstdio>
#include <cstdlib>

namespace samsa::detail {

void shard_violation(int owner, int current, const char* what) {
  // stderr directly: this ends the process, and the logger's own state may be the victim.
  if (owner == kNoShard)
    std::fprintf(stderr, "FATAL: %s must not run on a shard's event loop (it blocks), called from shard %d\n",
                 what && *what ? what : "this", current);
  else
    std::fprintf(stderr, "FATAL: shard ownership violated: %s owned by shard %d touched from shard %d (-1: none)\n",
                 what && *what ? what : "state", owner, current);
  std::fflush(stderr);
  std::abort();
}

}  // namespace samsa::detail
