// KIP-890: before a transactional write lands in a partition, the partition's leader asks the
// transaction's coordinator about it. Transactions v1 producers (Produce up to v11,
// TxnOffsetCommit up to v4) must have added the partition themselves (AddPartitionsToTxn):
// the leader only verifies it (transaction.partition.verification.enable). Transactions v2
// producers (Produce v12, TxnOffsetCommit v5) never add partitions: the leader adds them.
// Either way a write that is not part of the producer's ongoing transaction is refused
// before it can leave a transaction open that no marker will ever close (a hanging
// transaction that pins the last stable offset).
//
// The coordinator is on this broker (its shard, directly) or on another one
// (AddPartitionsToTxn v4 with verify_only, or v5 to add, over the inter-broker connection).
//
// Threads: runs on `here` and resumes there.
#pragma once
#include <asio.hpp>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "server/topic_partition.h"

namespace samsa::cluster { struct MetadataImage; }

namespace samsa::server {

class Broker;
struct Shard;

enum class TxnJoin {
  verify,  // is the partition in the ongoing transaction? (AddPartitionsToTxn v4, verify_only)
  add,     // make it part of it (transactions v2; AddPartitionsToTxn v5)
};

// The coordinator's answer for each of `parts` (in order): NONE, or why the write must not
// happen — as the coordinator said it (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED,
// TRANSACTION_ABORTABLE, CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, ...), or
// COORDINATOR_NOT_AVAILABLE / NETWORK_EXCEPTION when it could not be asked.
asio::awaitable<std::vector<ErrorCode>> check_txn_partitions(Broker& broker, Shard& here, std::string transactional_id,
                                                             int64_t producer_id, int16_t producer_epoch,
                                                             std::vector<TopicPartition> parts, TxnJoin how);

// transaction.partition.verification.enable as it is now: this broker's dynamic value, the
// cluster default, else the static config (true by default).
bool txn_verification_enabled(const Broker& broker, const cluster::MetadataImage& image);

// What a producer is answered for a verification error (Kafka's mapping): PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH; TRANSACTION_ABORTABLE only for clients that know it
// (`abortable_known`: Produce v11+, TxnOffsetCommit v4+), else INVALID_TXN_STATE; coordinator
// errors that older clients would not retry become `retry_as` (for Produce
// NOT_ENOUGH_REPLICAS: retried, with no metadata refresh; for TxnOffsetCommit
// COORDINATOR_LOAD_IN_PROGRESS, retried without looking the group coordinator up again).
ErrorCode txn_check_error_for_client(ErrorCode e, bool abortable_known,
                                     ErrorCode retry_as = ErrorCode::NOT_ENOUGH_REPLICAS);

}  // namespace samsa::server
