// The replica state machine's rules one by one (replication/replica_state.h,
// replica_state_epochs.h), under a manual clock.
#include "replication/replica_state.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "replication/replica_state_epochs.h"

namespace samsa::replication {
namespace {

constexpr int64_t kLag = 30000;
const NodeId kStateLeader{1}, kStateF2{2}, kStateF3{3};

LeaderAndIsr registration(NodeId leader, int32_t leader_epoch, int32_t partition_epoch, std::vector<NodeId> isr) {
  return {leader, Epoch(leader_epoch), PartitionEpoch(partition_epoch), {kStateLeader, kStateF2, kStateF3}, std::move(isr)};
}

IsrAnswer refused(uint64_t id, ErrorCode error) {
  IsrAnswer a;
  a.id = id;
  a.error = error;
  return a;
}

class ReplicaStateTest : public ::testing::Test {
 protected:
  ReplicaStateTest() : state(kStateLeader, 100, ReplicaConfig{kLag, 2}) {}

  int64_t now() const { return clock.monotonic_ms(); }
  // Leader at epoch 5 with a log ending at `log_end` and the full ISR.
  void lead(Offset log_end = Offset(10), std::vector<NodeId> isr = {kStateLeader, kStateF2, kStateF3}) {
    ASSERT_TRUE(state.apply(registration(kStateLeader, 5, 7, std::move(isr)), log_end, now()));
  }
  ReplicaState::FetchUpdate fetch(NodeId who, int64_t offset, int64_t broker_epoch = 200) {
    return state.on_follower_fetch({who, broker_epoch, Offset(offset), now()});
  }

  ManualClock clock{0, 1000};
  ReplicaState state;
};

TEST(LeaderEpochCheck, OlderFencedNewerUnknownAbsentPasses) {
  EXPECT_EQ(check_leader_epoch(Epoch(-1), Epoch(4)), ErrorCode::NONE);
  EXPECT_EQ(check_leader_epoch(Epoch(4), Epoch(4)), ErrorCode::NONE);
  EXPECT_EQ(check_leader_epoch(Epoch(3), Epoch(4)), ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(check_leader_epoch(Epoch(5), Epoch(4)), ErrorCode::UNKNOWN_LEADER_EPOCH);
}

TEST_F(ReplicaStateTest, RequestChecksEpochBeforeLeadership) {
  ASSERT_TRUE(state.apply(registration(kStateF2, 5, 7, {kStateLeader, kStateF2, kStateF3}), Offset(0), now()));
  EXPECT_FALSE(state.is_leader());
  EXPECT_EQ(state.check_request(Epoch(4), true), ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(state.check_request(Epoch(6), true), ErrorCode::UNKNOWN_LEADER_EPOCH);
  EXPECT_EQ(state.check_request(Epoch(5), true), ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(state.check_request(Epoch(5), false), ErrorCode::NONE);  // OffsetForLeaderEpoch from a follower's view
  EXPECT_EQ(state.check_append(1), ErrorCode::NOT_LEADER_OR_FOLLOWER);
}

TEST_F(ReplicaStateTest, StaleRegistrationsAreIgnored) {
  lead();
  EXPECT_FALSE(state.apply(registration(kStateLeader, 4, 9, {kStateLeader}), Offset(10), now()));
  EXPECT_FALSE(state.apply(registration(kStateLeader, 5, 7, {kStateLeader}), Offset(10), now()));
  EXPECT_FALSE(state.apply(registration(kStateLeader, 5, 6, {kStateLeader}), Offset(10), now()));
  EXPECT_EQ(state.isr().size(), 3u);
  EXPECT_TRUE(state.apply(registration(kStateLeader, 5, 8, {kStateLeader, kStateF2}), Offset(10), now()));
  EXPECT_EQ(state.isr(), (std::vector<NodeId>{kStateLeader, kStateF2}));
}

TEST_F(ReplicaStateTest, HighWatermarkIsLowestIsrLogEndAndNeverMovesBack) {
  lead(Offset(10));
  EXPECT_EQ(state.epoch_start_offset(), Offset(10));
  state.on_append(Offset(20), now());
  EXPECT_EQ(state.high_watermark(), Offset(0));  // followers unknown in this epoch
  fetch(kStateF2, 15);
  EXPECT_EQ(state.high_watermark(), Offset(0));  // kStateF3 still unknown
  EXPECT_TRUE(fetch(kStateF3, 12).hw_advanced);
  EXPECT_EQ(state.high_watermark(), Offset(12));
  fetch(kStateF3, 18);
  EXPECT_EQ(state.high_watermark(), Offset(15));
  fetch(kStateF2, 20);
  EXPECT_EQ(state.high_watermark(), Offset(18));
  // A replica seen lower (it restarted) does not move the HW back.
  fetch(kStateF3, 11);
  EXPECT_EQ(state.high_watermark(), Offset(18));
}

TEST_F(ReplicaStateTest, HighWatermarkWaitsForTheCurrentEpoch) {
  lead(Offset(10));
  state.on_append(Offset(12), now());
  fetch(kStateF2, 8);
  fetch(kStateF3, 9);
  EXPECT_EQ(state.high_watermark(), Offset(0));  // 8 is before the epoch started at 10
  EXPECT_FALSE(state.high_watermark_in_current_epoch());
  fetch(kStateF2, 10);
  fetch(kStateF3, 11);
  EXPECT_EQ(state.high_watermark(), Offset(10));
  EXPECT_TRUE(state.high_watermark_in_current_epoch());
}

TEST_F(ReplicaStateTest, AloneInTheIsrTheHighWatermarkFollowsTheLog) {
  lead(Offset(0), {kStateLeader});
  EXPECT_TRUE(state.on_append(Offset(3), now()));
  EXPECT_EQ(state.high_watermark(), Offset(3));
}

TEST_F(ReplicaStateTest, CaughtUpTimeFollowsKafkasRule) {
  lead(Offset(10));
  clock.advance(100);
  fetch(kStateF2, 10);  // at our end: caught up now
  EXPECT_EQ(state.follower(kStateF2)->last_caught_up_ms, 1100);
  state.on_append(Offset(20), now());
  clock.advance(100);
  fetch(kStateF2, 15);  // >= our end at its previous fetch (10): caught up as of that fetch
  EXPECT_EQ(state.follower(kStateF2)->last_caught_up_ms, 1100);
  state.on_append(Offset(30), now());
  clock.advance(100);
  fetch(kStateF2, 18);  // below our end at the previous fetch (20): not caught up
  EXPECT_EQ(state.follower(kStateF2)->last_caught_up_ms, 1100);
  clock.advance(100);
  fetch(kStateF2, 30);
  EXPECT_EQ(state.follower(kStateF2)->last_caught_up_ms, 1400);
}

TEST_F(ReplicaStateTest, ShrinkAfterLagTimeWithoutCatchingUp) {
  lead(Offset(10));
  fetch(kStateF2, 10);
  fetch(kStateF3, 10);
  state.on_append(Offset(20), now());
  clock.advance(kLag);
  fetch(kStateF2, 20);  // kStateF2 keeps up, kStateF3 stops
  EXPECT_FALSE(state.maybe_shrink_isr(now()).has_value());  // exactly the lag: still in
  clock.advance(1);
  auto p = state.maybe_shrink_isr(now());
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->expand);
  EXPECT_EQ(p->leader_epoch, Epoch(5));
  EXPECT_EQ(p->partition_epoch, PartitionEpoch(7));
  EXPECT_EQ(p->new_isr, (std::vector<IsrMember>{{kStateLeader, 100}, {kStateF2, 200}}));
  EXPECT_FALSE(state.maybe_shrink_isr(now()).has_value());  // one proposal in flight
}

TEST_F(ReplicaStateTest, FollowerAtTheLeadersEndIsNeverOutOfSync) {
  lead(Offset(10));
  fetch(kStateF2, 10);
  fetch(kStateF3, 10);
  clock.advance(10 * kLag);  // idle partition: nobody fetched, nothing to fetch
  EXPECT_FALSE(state.maybe_shrink_isr(now()).has_value());
}

TEST_F(ReplicaStateTest, PendingShrinkKeepsTheHighWatermarkOnTheMaximalIsr) {
  lead(Offset(10));
  fetch(kStateF2, 10);
  fetch(kStateF3, 10);
  state.on_append(Offset(20), now());
  clock.advance(kLag + 1);
  fetch(kStateF2, 20);
  auto p = state.maybe_shrink_isr(now());
  ASSERT_TRUE(p.has_value());
  fetch(kStateF2, 20);
  EXPECT_EQ(state.high_watermark(), Offset(10));  // kStateF3 still counts until committed
  EXPECT_EQ(state.isr().size(), 3u);
  EXPECT_TRUE(state.on_isr_answer({p->id, ErrorCode::NONE, Epoch(5), PartitionEpoch(8), {kStateLeader, kStateF2}}, now()));
  EXPECT_EQ(state.high_watermark(), Offset(20));
  EXPECT_EQ(state.partition_epoch(), PartitionEpoch(8));
  EXPECT_FALSE(state.pending().has_value());
}

TEST_F(ReplicaStateTest, ExpandWhenAtTheHighWatermarkAndInTheEpoch) {
  lead(Offset(10), {kStateLeader, kStateF2});
  state.on_append(Offset(20), now());
  fetch(kStateF2, 20);
  EXPECT_EQ(state.high_watermark(), Offset(20));
  EXPECT_FALSE(fetch(kStateF3, 19).proposal.has_value());  // below the HW
  auto up = fetch(kStateF3, 20, 300);
  ASSERT_TRUE(up.proposal.has_value());
  EXPECT_TRUE(up.proposal->expand);
  EXPECT_EQ(up.proposal->new_isr, (std::vector<IsrMember>{{kStateLeader, 100}, {kStateF2, 200}, {kStateF3, 300}}));
  EXPECT_EQ(state.maximal_isr().size(), 3u);
  EXPECT_EQ(state.isr().size(), 2u);
  // While pending, the HW waits for the joining replica too.
  state.on_append(Offset(30), now());
  fetch(kStateF2, 30);
  EXPECT_EQ(state.high_watermark(), Offset(20));
  fetch(kStateF3, 25, 300);
  EXPECT_EQ(state.high_watermark(), Offset(25));
}

TEST_F(ReplicaStateTest, NoExpansionBelowTheEpochStartOrWhenIneligible) {
  lead(Offset(10), {kStateLeader});
  // The HW is 10 (alone in the ISR): a follower at 8 is behind both.
  EXPECT_EQ(state.high_watermark(), Offset(10));
  EXPECT_FALSE(fetch(kStateF2, 8).proposal.has_value());
  state.set_replica_eligible(kStateF3, false);
  EXPECT_FALSE(fetch(kStateF3, 10).proposal.has_value());
  state.set_replica_eligible(kStateF3, true);
  EXPECT_TRUE(fetch(kStateF3, 10).proposal.has_value());
}

TEST_F(ReplicaStateTest, FetchFromAnOlderIncarnationIsNotRecorded) {
  lead(Offset(10), {kStateLeader, kStateF2});
  state.on_append(Offset(20), now());
  fetch(kStateF3, 12, 301);  // kStateF3 restarted (broker epoch 301) with 12 entries
  auto late = fetch(kStateF3, 20, 300);  // its previous incarnation's fetch, delivered late
  EXPECT_EQ(late.error, ErrorCode::STALE_BROKER_EPOCH);
  EXPECT_FALSE(late.proposal.has_value());
  EXPECT_EQ(state.follower(kStateF3)->log_end, Offset(12));
  EXPECT_EQ(state.follower(kStateF3)->broker_epoch, 301);
}

TEST_F(ReplicaStateTest, AnswersThatRevertAndAnswersThatWait) {
  lead(Offset(10), {kStateLeader, kStateF2});
  auto p = fetch(kStateF3, 10).proposal;
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(state.on_isr_answer({p->id + 1, ErrorCode::NONE, Epoch(5), PartitionEpoch(8), {}}, now()));
  EXPECT_FALSE(state.on_isr_answer({p->id, ErrorCode::NONE, Epoch(6), PartitionEpoch(8), {}}, now()));
  EXPECT_FALSE(state.on_isr_answer(refused(p->id, ErrorCode::INVALID_UPDATE_VERSION), now()));
  EXPECT_FALSE(state.on_isr_answer(refused(p->id, ErrorCode::FENCED_LEADER_EPOCH), now()));
  EXPECT_TRUE(state.pending().has_value());  // until a registration settles it
  EXPECT_TRUE(state.on_isr_answer(refused(p->id, ErrorCode::INELIGIBLE_REPLICA), now()));
  EXPECT_FALSE(state.pending().has_value());
  auto again = fetch(kStateF3, 10).proposal;
  ASSERT_TRUE(again.has_value());
  EXPECT_GT(again->id, p->id);
  // A newer registration replaces the pending state.
  ASSERT_TRUE(state.apply(registration(kStateLeader, 5, 9, {kStateLeader, kStateF2, kStateF3}), Offset(10), now()));
  EXPECT_FALSE(state.pending().has_value());
  EXPECT_EQ(state.isr().size(), 3u);
}

TEST_F(ReplicaStateTest, NotEnoughReplicasBeforeAppend) {
  lead(Offset(0), {kStateLeader});
  EXPECT_EQ(state.check_append(-1), ErrorCode::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(state.check_append(1), ErrorCode::NONE);
  EXPECT_EQ(state.check_append(0), ErrorCode::NONE);
  EXPECT_TRUE(state.under_min_isr());
  EXPECT_TRUE(state.under_replicated());
}

TEST_F(ReplicaStateTest, AcksCompleteWhenTheHighWatermarkReachesThem) {
  lead(Offset(10));
  fetch(kStateF2, 10);
  fetch(kStateF3, 10);
  state.on_append(Offset(15), now());
  AckTicket a = state.wait_for_ack(Offset(12), now() + 5000);
  AckTicket b = state.wait_for_ack(Offset(15), now() + 5000);
  EXPECT_TRUE(state.take_ack_completions().empty());
  fetch(kStateF2, 15);
  fetch(kStateF3, 12);
  EXPECT_EQ(state.take_ack_completions(), (std::vector<AckCompletion>{{a, ErrorCode::NONE}}));
  fetch(kStateF3, 15);
  EXPECT_EQ(state.take_ack_completions(), (std::vector<AckCompletion>{{b, ErrorCode::NONE}}));
  AckTicket c = state.wait_for_ack(Offset(14), now() + 5000);  // already committed
  EXPECT_EQ(state.take_ack_completions(), (std::vector<AckCompletion>{{c, ErrorCode::NONE}}));
  EXPECT_EQ(state.waiting_acks(), 0u);
}

TEST_F(ReplicaStateTest, AcksFailAfterAppendWhenTheIsrShrinksBelowMin) {
  ASSERT_TRUE(state.apply(registration(kStateLeader, 5, 7, {kStateLeader, kStateF2}), Offset(10), now()));
  fetch(kStateF2, 10);
  state.on_append(Offset(11), now());
  AckTicket t = state.wait_for_ack(Offset(11), now() + 60000);
  clock.advance(kLag + 1);
  auto p = state.maybe_shrink_isr(now());
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(state.take_ack_completions().empty());  // pending: kStateF2 still counts
  state.on_isr_answer({p->id, ErrorCode::NONE, Epoch(5), PartitionEpoch(8), {kStateLeader}}, now());
  EXPECT_EQ(state.take_ack_completions(),
            (std::vector<AckCompletion>{{t, ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND}}));
}

TEST(ReplicaStateAcks, ShrinkBelowMinFailsWaitersTheHighWatermarkHasNotReached) {
  ManualClock clock{0, 1000};
  ReplicaState state(kStateLeader, 100, ReplicaConfig{kLag, 3});
  ASSERT_TRUE(state.apply(registration(kStateLeader, 5, 7, {kStateLeader, kStateF2, kStateF3}), Offset(10), clock.monotonic_ms()));
  state.on_follower_fetch({kStateF2, 200, Offset(10), clock.monotonic_ms()});
  state.on_follower_fetch({kStateF3, 300, Offset(10), clock.monotonic_ms()});
  state.on_append(Offset(20), clock.monotonic_ms());
  AckTicket t = state.wait_for_ack(Offset(20), clock.monotonic_ms() + 60000);
  clock.advance(kLag - 10);
  state.on_follower_fetch({kStateF3, 300, Offset(15), clock.monotonic_ms()});  // behind, but within the lag
  clock.advance(20);
  auto p = state.maybe_shrink_isr(clock.monotonic_ms());  // kStateF2 goes, kStateF3 stays
  ASSERT_TRUE(p.has_value());
  ASSERT_TRUE(state.on_isr_answer({p->id, ErrorCode::NONE, Epoch(5), PartitionEpoch(8), {kStateLeader, kStateF3}},
                                  clock.monotonic_ms()));
  EXPECT_EQ(state.high_watermark(), Offset(15));
  EXPECT_EQ(state.take_ack_completions(),
            (std::vector<AckCompletion>{{t, ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND}}));
}

TEST(ReplicaStateAcks, HighWatermarkHeldUnderMinIsrWhenAsked) {
  ReplicaState state(kStateLeader, 100, ReplicaConfig{kLag, 2, true});
  ASSERT_TRUE(state.apply(registration(kStateLeader, 5, 7, {kStateLeader}), Offset(10), 0));
  state.on_append(Offset(12), 0);
  EXPECT_EQ(state.high_watermark(), Offset(0));  // alone, below min.insync.replicas=2
  auto up = state.on_follower_fetch({kStateF2, 200, Offset(12), 0});
  ASSERT_TRUE(up.proposal.has_value());  // at the leader's end: joins, HW still 0 until committed
  EXPECT_EQ(state.high_watermark(), Offset(0));
  state.on_isr_answer({up.proposal->id, ErrorCode::NONE, Epoch(5), PartitionEpoch(8), {kStateLeader, kStateF2}}, 0);
  EXPECT_EQ(state.high_watermark(), Offset(12));
}

TEST_F(ReplicaStateTest, AcksTimeOutAndFailOnLeadershipLoss) {
  lead(Offset(10));
  state.on_append(Offset(12), now());
  AckTicket a = state.wait_for_ack(Offset(11), now() + 100);
  AckTicket b = state.wait_for_ack(Offset(12), now() + 500);
  EXPECT_EQ(state.next_ack_deadline_ms(), now() + 100);
  clock.advance(99);
  state.expire_acks(now());
  EXPECT_TRUE(state.take_ack_completions().empty());
  clock.advance(1);
  state.expire_acks(now());
  EXPECT_EQ(state.take_ack_completions(), (std::vector<AckCompletion>{{a, ErrorCode::REQUEST_TIMED_OUT}}));
  ASSERT_TRUE(state.apply(registration(kStateF2, 6, 8, {kStateF2, kStateF3}), Offset(12), now()));
  EXPECT_EQ(state.take_ack_completions(), (std::vector<AckCompletion>{{b, ErrorCode::NOT_LEADER_OR_FOLLOWER}}));
}

TEST_F(ReplicaStateTest, FollowerHighWatermarkIsBoundedByItsLogAndOnlyRises) {
  ASSERT_TRUE(state.apply(registration(kStateF2, 5, 7, {kStateLeader, kStateF2, kStateF3}), Offset(10), now()));
  EXPECT_EQ(state.on_leader_high_watermark(Offset(15), Offset(12)), Offset(12));
  EXPECT_EQ(state.on_leader_high_watermark(Offset(9), Offset(12)), Offset(12));  // a new leader behind us
  state.on_truncated(Offset(11));
  EXPECT_EQ(state.high_watermark(), Offset(11));
}

TEST_F(ReplicaStateTest, NewLeaderEpochForgetsFollowersAndKeepsSameEpochUpdates) {
  lead(Offset(10));
  fetch(kStateF2, 10);
  ASSERT_TRUE(state.apply(registration(kStateLeader, 5, 8, {kStateLeader, kStateF2}), Offset(10), now()));
  EXPECT_EQ(state.follower(kStateF2)->log_end, Offset(10));  // same epoch: kept
  ASSERT_TRUE(state.apply(registration(kStateLeader, 6, 9, {kStateLeader, kStateF2}), Offset(10), now()));
  EXPECT_EQ(state.follower(kStateF2)->log_end, Offset(-1));  // new epoch: unknown until it fetches
}

// --- epochs and truncation -----------------------------------------------------

storage::LeaderEpochCache cache_of(std::vector<storage::EpochEntry> entries) {
  storage::LeaderEpochCache c;
  EXPECT_TRUE(c.replace(std::move(entries)).is_ok());
  return c;
}

// KIP-392: Kafka's RackAwareReplicaSelector over the leader's view.
TEST_F(ReplicaStateTest, PreferredReadReplicaIsAnInSyncFollowerOfTheRackHoldingTheOffset) {
  const std::vector<NodeId> rack2{kStateF2}, rack23{kStateF2, kStateF3}, with_leader{kStateLeader, kStateF2};
  EXPECT_EQ(state.preferred_read_replica(rack2, Offset(0)), std::nullopt);  // not leading yet
  lead(Offset(10));
  state.on_append(Offset(20), now());
  EXPECT_EQ(state.preferred_read_replica(rack2, Offset(0)), std::nullopt);  // kStateF2 never fetched
  state.on_follower_fetch({kStateF2, 200, Offset(15), now(), Offset(4)});
  fetch(kStateF3, 20);
  EXPECT_EQ(state.preferred_read_replica(rack2, Offset(12)), kStateF2);
  EXPECT_EQ(state.preferred_read_replica(rack2, Offset(15)), kStateF2);
  EXPECT_EQ(state.preferred_read_replica(rack2, Offset(16)), std::nullopt);  // past its log end
  EXPECT_EQ(state.preferred_read_replica(rack2, Offset(3)), std::nullopt);   // below its log start
  EXPECT_EQ(state.preferred_read_replica(rack23, Offset(12)), kStateF3);          // the higher log end wins
  EXPECT_EQ(state.preferred_read_replica(with_leader, Offset(12)), std::nullopt);  // the leader is in the rack
  EXPECT_EQ(state.preferred_read_replica({}, Offset(12)), std::nullopt);
  state.set_replica_eligible(kStateF2, false);  // fenced
  EXPECT_EQ(state.preferred_read_replica(rack2, Offset(12)), std::nullopt);
  state.set_replica_eligible(kStateF2, true);
  // Out of the committed ISR: never chosen, even when it holds the offset.
  ASSERT_TRUE(state.apply(registration(kStateLeader, 5, 8, {kStateLeader, kStateF3}), Offset(20), now()));
  EXPECT_EQ(state.preferred_read_replica(rack2, Offset(12)), std::nullopt);
  EXPECT_EQ(state.preferred_read_replica(rack23, Offset(12)), kStateF3);
}

TEST_F(ReplicaStateTest, PreferredReadReplicaTieGoesToTheMostRecentlyCaughtUp) {
  lead(Offset(10));
  fetch(kStateF3, 10);  // caught up now
  clock.advance(50);
  fetch(kStateF2, 10);  // caught up later
  const std::vector<NodeId> rack23{kStateF3, kStateF2};
  EXPECT_EQ(state.preferred_read_replica(rack23, Offset(10)), kStateF2);
  clock.advance(50);
  fetch(kStateF3, 10);
  EXPECT_EQ(state.preferred_read_replica(rack23, Offset(10)), kStateF3);
}

TEST(ReplicaEpochs, DivergingEpochAnswer) {
  auto leader = cache_of({{1, 0}, {3, 10}, {5, 20}});
  const Offset leo(30);
  EXPECT_EQ(diverging_epoch(leader, leo, Epoch(-1), Offset(50)), std::nullopt);  // not given
  EXPECT_EQ(diverging_epoch(leader, leo, Epoch(3), Offset(15)), std::nullopt);   // epoch 3 ends at 20
  EXPECT_EQ(diverging_epoch(leader, leo, Epoch(3), Offset(20)), std::nullopt);
  EXPECT_EQ(diverging_epoch(leader, leo, Epoch(3), Offset(22)), (EpochEnd{Epoch(3), Offset(20)}));
  EXPECT_EQ(diverging_epoch(leader, leo, Epoch(2), Offset(5)), (EpochEnd{Epoch(1), Offset(10)}));
  EXPECT_EQ(diverging_epoch(leader, leo, Epoch(5), Offset(30)), std::nullopt);
  EXPECT_EQ(diverging_epoch(leader, leo, Epoch(6), Offset(30)), (EpochEnd{}));  // unknown epoch: UNDEFINED
}

TEST(ReplicaEpochs, TruncationPointFollowsTheLeadersAnswer) {
  // The follower wrote epoch 3 beyond where the leader's epoch 3 ends.
  auto follower = cache_of({{1, 0}, {3, 10}});
  EXPECT_EQ(truncation_point(follower, Offset(25), Offset(8), {Epoch(3), Offset(20)}),
            (TruncationPoint{Offset(20), true}));
  // The leader's epoch-3 end is beyond our log end: keep all.
  EXPECT_EQ(truncation_point(follower, Offset(15), Offset(8), {Epoch(3), Offset(20)}),
            (TruncationPoint{Offset(15), true}));
  // The leader answers epoch 2, which we never had: cut to our epoch 1's end, ask again.
  EXPECT_EQ(truncation_point(follower, Offset(25), Offset(8), {Epoch(2), Offset(12)}),
            (TruncationPoint{Offset(10), false}));
  // UNDEFINED: back to the high watermark.
  EXPECT_EQ(truncation_point(follower, Offset(25), Offset(8), EpochEnd{}), (TruncationPoint{Offset(8), true}));
  // Below our first epoch (our history before it was deleted): our epoch 4
  // starts at 30, so epoch 2 ended there at the latest.
  auto late = cache_of({{4, 30}});
  EXPECT_EQ(truncation_point(late, Offset(40), Offset(30), {Epoch(2), Offset(35)}),
            (TruncationPoint{Offset(30), true}));
  // No epochs recorded at all: the leader's offset bounds us.
  storage::LeaderEpochCache none;
  EXPECT_EQ(truncation_point(none, Offset(40), Offset(0), {Epoch(2), Offset(35)}),
            (TruncationPoint{Offset(35), true}));
  // The leader's history before its first epoch is gone (epoch -1 with an offset).
  EXPECT_EQ(truncation_point(follower, Offset(25), Offset(0), {Epoch(-1), Offset(12)}),
            (TruncationPoint{Offset(12), true}));
}

TEST(ReplicaEpochs, EndOffsetForEpochAsOffsetForLeaderEpoch) {
  auto c = cache_of({{1, 0}, {3, 10}});
  EXPECT_EQ(end_offset_for_epoch(c, Epoch(3), Offset(14)), (EpochEnd{Epoch(3), Offset(14)}));
  EXPECT_EQ(end_offset_for_epoch(c, Epoch(2), Offset(14)), (EpochEnd{Epoch(1), Offset(10)}));
  EXPECT_EQ(end_offset_for_epoch(c, Epoch(0), Offset(14)), (EpochEnd{Epoch(0), Offset(0)}));
  EXPECT_TRUE(end_offset_for_epoch(c, Epoch(4), Offset(14)).undefined());
}

}  // namespace
}  // namespace samsa::replication
