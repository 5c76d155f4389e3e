#include "server/shard.h"

#include "replication/partition.h"
#include "replication/replica_manager.h"

namespace samsa::server {

Shard::Shard(int id_) : id(id_), io(1) {}
Shard::~Shard() = default;

}  // namespace samsa::server
