// Forward declarations of the replication module's types, for headers that
// only pass them by reference.
#pragma once

namespace samsa::replication {

class Partition;
class Flusher;
struct AppendOutcome;
struct ReadOutcome;

}  // namespace samsa::replication
