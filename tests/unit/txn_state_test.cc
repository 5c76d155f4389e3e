// Transaction coordinator decisions and the __transaction_state record format.
#include <gtest/gtest.h>

#include "coordinator/txn_state.h"

namespace samsa::coordinator {
namespace {

constexpr int32_t kMaxTimeout = 900000;

TxnMetadata txn(TxnState state, int64_t pid = 1000, int16_t epoch = 3) {
  TxnMetadata m;
  m.transactional_id = "tx";
  m.producer_id = pid;
  m.producer_epoch = epoch;
  m.state = state;
  m.timeout_ms = 60000;
  return m;
}

TEST(TxnState, RecordRoundTrip) {
  TxnMetadata m = txn(TxnState::ongoing);
  m.partitions = {{"a", 0}, {"a", 2}, {"b", 1}};
  m.start_ms = 123;
  m.update_ms = 456;
  auto key = encode_txn_key("my-txn");
  EXPECT_EQ(decode_txn_key(key), "my-txn");
  auto back = decode_txn_value(encode_txn_value(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->producer_id, 1000);
  EXPECT_EQ(back->producer_epoch, 3);
  EXPECT_EQ(back->state, TxnState::ongoing);
  EXPECT_EQ(back->partitions, m.partitions);
  EXPECT_EQ(back->start_ms, 123);
  EXPECT_EQ(back->update_ms, 456);
}

TEST(TxnState, MalformedRecordsAreRejected) {
  auto v = encode_txn_value(txn(TxnState::ongoing));
  for (size_t n = 0; n < v.size(); ++n) EXPECT_FALSE(decode_txn_value(std::span(v).first(n))) << n;
  auto bad_state = v;
  bad_state[2 + 8 + 2 + 4] = 42;
  EXPECT_FALSE(decode_txn_value(bad_state));
  protocol::Bytes huge = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff};
  EXPECT_FALSE(decode_txn_value(huge));  // a topic count far beyond the bytes
}

TEST(TxnState, InitNewIdGetsAProducerId) {
  auto d = decide_init(nullptr, 60000, kMaxTimeout, -1, -1);
  EXPECT_EQ(d.error, ErrorCode::NONE);
  EXPECT_TRUE(d.new_producer_id);
  EXPECT_EQ(decide_init(nullptr, kMaxTimeout + 1, kMaxTimeout, -1, -1).error, ErrorCode::INVALID_TRANSACTION_TIMEOUT);
  EXPECT_EQ(decide_init(nullptr, 0, kMaxTimeout, -1, -1).error, ErrorCode::INVALID_TRANSACTION_TIMEOUT);
}

TEST(TxnState, InitFencesAnOngoingTransaction) {
  auto m = txn(TxnState::ongoing);
  auto d = decide_init(&m, 60000, kMaxTimeout, -1, -1);
  EXPECT_EQ(d.error, ErrorCode::NONE);
  EXPECT_TRUE(d.abort_ongoing);
  EXPECT_FALSE(d.new_producer_id);
  auto done = txn(TxnState::complete_commit);
  d = decide_init(&done, 60000, kMaxTimeout, -1, -1);
  EXPECT_FALSE(d.abort_ongoing);
  // A transaction still being completed: retry later.
  auto prep = txn(TxnState::prepare_commit);
  EXPECT_EQ(decide_init(&prep, 60000, kMaxTimeout, -1, -1).error, ErrorCode::CONCURRENT_TRANSACTIONS);
  // KIP-360: the stated id/epoch must be the current ones.
  EXPECT_EQ(decide_init(&done, 60000, kMaxTimeout, 1000, 2).error, ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(decide_init(&done, 60000, kMaxTimeout, 1000, 3).error, ErrorCode::NONE);
  // An exhausted epoch gets a new producer id.
  auto old = txn(TxnState::complete_abort, 1000, INT16_MAX - 1);
  EXPECT_TRUE(decide_init(&old, 60000, kMaxTimeout, -1, -1).new_producer_id);
}

TEST(TxnState, AddPartitionsChecksProducerAndState) {
  EXPECT_EQ(decide_add_partitions(nullptr, 1000, 3), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  auto m = txn(TxnState::empty);
  EXPECT_EQ(decide_add_partitions(&m, 1000, 3), ErrorCode::NONE);
  EXPECT_EQ(decide_add_partitions(&m, 999, 3), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(decide_add_partitions(&m, 1000, 2), ErrorCode::INVALID_PRODUCER_EPOCH);
  auto prep = txn(TxnState::prepare_abort);
  EXPECT_EQ(decide_add_partitions(&prep, 1000, 3), ErrorCode::CONCURRENT_TRANSACTIONS);
  m.busy = true;
  EXPECT_EQ(decide_add_partitions(&m, 1000, 3), ErrorCode::CONCURRENT_TRANSACTIONS);
}

TEST(TxnState, EndTxnTransitions) {
  auto ongoing = txn(TxnState::ongoing);
  EXPECT_TRUE(decide_end(&ongoing, 1000, 3, true).write);
  EXPECT_TRUE(decide_end(&ongoing, 1000, 3, false).write);
  auto committed = txn(TxnState::complete_commit);
  EXPECT_TRUE(decide_end(&committed, 1000, 3, true).already_done);  // a retry
  EXPECT_EQ(decide_end(&committed, 1000, 3, false).error, ErrorCode::INVALID_TXN_STATE);
  auto aborted = txn(TxnState::complete_abort);
  EXPECT_TRUE(decide_end(&aborted, 1000, 3, false).already_done);
  EXPECT_EQ(decide_end(&aborted, 1000, 3, true).error, ErrorCode::INVALID_TXN_STATE);
  auto empty = txn(TxnState::empty);
  EXPECT_EQ(decide_end(&empty, 1000, 3, true).error, ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(decide_end(&ongoing, 1000, 2, true).error, ErrorCode::INVALID_PRODUCER_EPOCH);
}

TEST(TxnState, TransactionsV2RecordKeepsItsTaggedFields) {
  TxnMetadata m = txn(TxnState::prepare_commit, 1000, INT16_MAX);
  m.partitions = {{"a", 0}, {"b", 3}};
  m.client_version = 2;
  m.next_producer_id = 2000;
  m.previous_producer_id = 900;
  m.start_ms = 5;
  m.update_ms = 6;
  auto bytes = encode_txn_value(m);
  EXPECT_EQ(bytes[1], 1);  // value version 1 (flexible)
  auto back = decode_txn_value(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->client_version, 2);
  EXPECT_EQ(back->next_producer_id, 2000);
  EXPECT_EQ(back->previous_producer_id, 900);
  EXPECT_EQ(back->partitions, m.partitions);
  EXPECT_EQ(back->producer_epoch, INT16_MAX);
  EXPECT_EQ(back->start_ms, 5);
  EXPECT_EQ(back->update_ms, 6);
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode_txn_value(std::span(bytes).first(n))) << n;
  // A version 0 producer's record stays version 0.
  EXPECT_EQ(encode_txn_value(txn(TxnState::ongoing))[1], 0);
}

TEST(TxnState, VerifyAnswersEachPartition) {
  auto m = txn(TxnState::ongoing);
  m.partitions = {{"a", 0}};
  auto d = decide_verify(&m, 1000, 3, {{"a", 0}, {"a", 1}});
  EXPECT_EQ(d.error, ErrorCode::NONE);
  EXPECT_EQ(d.per_partition, (std::vector<ErrorCode>{ErrorCode::NONE, ErrorCode::TRANSACTION_ABORTABLE}));
  EXPECT_EQ(decide_verify(&m, 1000, 2, {{"a", 0}}).error, ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(decide_verify(&m, 7, 3, {{"a", 0}}).error, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(decide_verify(nullptr, 1000, 3, {{"a", 0}}).error, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  m.state = TxnState::prepare_commit;
  EXPECT_EQ(decide_verify(&m, 1000, 3, {{"a", 0}}).error, ErrorCode::CONCURRENT_TRANSACTIONS);
  // Complete* cleared the set: the next transaction's partition is not in it.
  auto done = txn(TxnState::complete_commit);
  EXPECT_EQ(decide_verify(&done, 1000, 3, {{"a", 0}}).per_partition.front(), ErrorCode::TRANSACTION_ABORTABLE);
}

TEST(TxnState, TransactionsV2EndTxnRetriesCarryTheEpochBeforeTheBump) {
  // The transaction at epoch 3 was ended by a v5 EndTxn: the metadata is at epoch 4.
  auto done = txn(TxnState::complete_commit, 1000, 4);
  done.client_version = 2;
  EXPECT_TRUE(decide_end(&done, 1000, 3, true, 2).already_done);  // the retry
  EXPECT_EQ(decide_end(&done, 1000, 3, false, 2).error, ErrorCode::INVALID_TXN_STATE);
  // The epoch the producer was given is the next transaction's, not a retry: nothing is open.
  EXPECT_EQ(decide_end(&done, 1000, 4, true, 2).error, ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(decide_end(&done, 1000, 2, true, 2).error, ErrorCode::PRODUCER_FENCED);
  auto preparing = done;
  preparing.state = TxnState::prepare_commit;
  EXPECT_EQ(decide_end(&preparing, 1000, 3, true, 2).error, ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(decide_end(&preparing, 1000, 4, true, 2).error, ErrorCode::PRODUCER_FENCED);
  auto open = txn(TxnState::ongoing, 1000, 4);
  open.client_version = 2;
  EXPECT_TRUE(decide_end(&open, 1000, 4, true, 2).write);
  EXPECT_EQ(decide_end(&open, 1000, 3, true, 2).error, ErrorCode::PRODUCER_FENCED);
  // An exhausted epoch moved the producer to id 2000 at epoch 0: the old id's retry is known.
  auto moved = txn(TxnState::complete_abort, 2000, 0);
  moved.client_version = 2;
  moved.previous_producer_id = 1000;
  EXPECT_TRUE(decide_end(&moved, 1000, kExhaustedEpoch, false, 2).already_done);
  EXPECT_EQ(decide_end(&moved, 1000, 5, false, 2).error, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
}

TEST(TxnState, TimeoutsWithAFakeClock) {
  std::map<std::string, TxnMetadata> txns;
  auto a = txn(TxnState::ongoing);
  a.transactional_id = "a";
  a.start_ms = 1000;
  a.timeout_ms = 500;
  auto b = a;
  b.transactional_id = "b";
  b.start_ms = 1400;
  auto c = txn(TxnState::complete_commit);
  c.transactional_id = "c";
  c.start_ms = 0;
  txns = {{"a", a}, {"b", b}, {"c", c}};
  EXPECT_TRUE(timed_out(txns, 1500).empty());
  EXPECT_EQ(timed_out(txns, 1501), std::vector<std::string>{"a"});
  EXPECT_EQ(timed_out(txns, 2000), (std::vector<std::string>{"a", "b"}));
  txns["a"].busy = true;  // being ended already
  EXPECT_EQ(timed_out(txns, 2000), std::vector<std::string>{"b"});
}

}  // namespace
}  // namespace samsa::coordinator

namespace samsa::coordinator {
namespace {

// A coordinator restarted after each phase of a commit: replaying the records
// logged so far says what is left to do.
TEST(TxnState, RestartAtEachPhaseOfACommit) {
  std::vector<TxnMetadata> phases;
  auto m = txn(TxnState::empty, 42, 0);
  phases.push_back(m);  // InitProducerId
  m.state = TxnState::ongoing;
  m.partitions = {{"out", 0}, {"__consumer_offsets", 7}};
  m.start_ms = 10;
  phases.push_back(m);  // AddPartitions / AddOffsets
  m.state = TxnState::prepare_commit;
  phases.push_back(m);  // EndTxn phase one
  m.state = TxnState::complete_commit;
  m.partitions.clear();
  phases.push_back(m);  // markers written, phase two done
  const TxnRecovery expected[] = {TxnRecovery::none, TxnRecovery::none, TxnRecovery::complete_commit,
                                  TxnRecovery::none};
  for (size_t cut = 1; cut <= phases.size(); ++cut) {
    SCOPED_TRACE("records replayed: " + std::to_string(cut));
    TxnCoordinator c;
    for (size_t i = 0; i < cut; ++i) {
      auto key = decode_txn_key(encode_txn_key("tx"));
      auto value = decode_txn_value(encode_txn_value(phases[i]));
      ASSERT_TRUE(key && value);
      value->transactional_id = *key;
      c.put(*value);
    }
    const TxnMetadata* loaded = c.find("tx");
    ASSERT_NE(loaded, nullptr);
    EXPECT_EQ(loaded->state, phases[cut - 1].state);
    EXPECT_EQ(recovery_action(*loaded), expected[cut - 1]);
    // The producer's epoch survives the restart: a retried EndTxn of the completed commit
    // is answered as done, a stale epoch is fenced.
    if (cut == phases.size()) {
      EXPECT_TRUE(decide_end(loaded, 42, 0, true).already_done);
      EXPECT_EQ(decide_end(loaded, 42, -1, true).error, ErrorCode::INVALID_PRODUCER_EPOCH);
    }
  }
  auto aborting = txn(TxnState::prepare_abort);
  EXPECT_EQ(recovery_action(aborting), TxnRecovery::complete_abort);
  aborting.busy = true;  // already being completed
  EXPECT_EQ(recovery_action(aborting), TxnRecovery::none);
}

}  // namespace
}  // namespace samsa::coordinator

namespace samsa::coordinator {
namespace {

TEST(TxnState, IdleIdsExpireButNotOpenOnes) {
  std::map<std::string, TxnMetadata> txns;
  for (auto [id, state] : {std::pair{"empty", TxnState::empty}, std::pair{"done", TxnState::complete_commit},
                           std::pair{"open", TxnState::ongoing}, std::pair{"prep", TxnState::prepare_abort}}) {
    auto m = txn(state);
    m.transactional_id = id;
    m.update_ms = 1000;
    txns[id] = m;
  }
  EXPECT_TRUE(expired_ids(txns, 5000, 10000).empty());
  EXPECT_EQ(expired_ids(txns, 11001, 10000), (std::vector<std::string>{"done", "empty"}));
  txns["done"].busy = true;
  EXPECT_EQ(expired_ids(txns, 11001, 10000), std::vector<std::string>{"empty"});
}

}  // namespace
}  // namespace samsa::coordinator
