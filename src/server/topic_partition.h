#pragma once
#include "storage/topic_partition.h"

namespace samsa::server {

using TopicPartition = storage::TopicPartition;
using TopicPartitionHash = storage::TopicPartitionHash;

}  // namespace samsa::server
