#include "base/shard_affinity.h"

#include <cstdio>
#include <cstdlib>

namespace samsa::detail {

void shard_violation(int owner, int current, const char* what) {
  // stderr directly: this ends the process, and the logger's own state may be the victim.
  // Owner kNoShard: state built off the shards, or code that blocks (assert_not_on_shard).
  if (owner == kNoShard)
    std::fprintf(stderr, "FATAL: %s may run only on a thread of no shard (built there, or it blocks), not on shard %d\n",
                 what && *what ? what : "this", current);
  else
    std::fprintf(stderr, "FATAL: shard ownership violated: %s owned by shard %d touched from shard %d (-1: none)\n",
                 what && *what ? what : "state", owner, current);
  std::fflush(stderr);
  std::abort();
}

}  // namespace samsa::detail
