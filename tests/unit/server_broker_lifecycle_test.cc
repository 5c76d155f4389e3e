// The broker lifecycle state machine (server/broker_lifecycle.h) against a
// scripted controller, on a ManualClock.
#include <gtest/gtest.h>

#include "base/clock.h"
#include "server/broker_lifecycle.h"

namespace samsa::server {
namespace {

LifecycleConfig config() {
  LifecycleConfig c;
  c.node_id = NodeId(2);
  c.cluster_id = "abc";
  c.incarnation_id[15] = 7;
  c.listeners.push_back({"PLAINTEXT", "localhost", 9094, 0});
  c.rack = "r1";
  c.heartbeat_interval_ms = 2000;
  c.controlled_shutdown_timeout_ms = 9000;
  c.retry_backoff_ms = 100;
  c.catch_up_interval_ms = 10;
  return c;
}

HeartbeatReply beat(bool caught_up, bool fenced, bool should_shutdown = false, ErrorCode e = ErrorCode::NONE) {
  return HeartbeatReply{e, caught_up, fenced, should_shutdown};
}

struct Fixture {
  ManualClock clock{1000};
  BrokerLifecycle lc{config(), clock};

  RegistrationRequest expect_registration() {
    auto r = lc.poll(Offset(0));
    EXPECT_TRUE(r.has_value());
    EXPECT_TRUE(r && std::holds_alternative<RegistrationRequest>(*r));
    return r && std::holds_alternative<RegistrationRequest>(*r) ? std::get<RegistrationRequest>(*r) : RegistrationRequest{};
  }
  HeartbeatRequest expect_heartbeat(Offset offset) {
    auto r = lc.poll(offset);
    EXPECT_TRUE(r.has_value());
    EXPECT_TRUE(r && std::holds_alternative<HeartbeatRequest>(*r));
    return r && std::holds_alternative<HeartbeatRequest>(*r) ? std::get<HeartbeatRequest>(*r) : HeartbeatRequest{};
  }
  void register_with_epoch(int64_t epoch) {
    expect_registration();
    lc.on_registration_reply(RegistrationReply{ErrorCode::NONE, epoch});
  }
  void advance_to_due() { clock.advance(std::max<int64_t>(0, lc.next_due_ms() - clock.monotonic_ms())); }
};

TEST(ServerBrokerLifecycle, RegistersWithItsIdentityThenHeartbeatsAtOnce) {
  Fixture f;
  EXPECT_EQ(f.lc.state(), BrokerState::kStarting);
  EXPECT_TRUE(f.lc.fenced());
  auto reg = f.expect_registration();
  EXPECT_EQ(reg.broker_id, NodeId(2));
  EXPECT_EQ(reg.cluster_id, "abc");
  EXPECT_EQ(reg.incarnation_id[15], 7);
  ASSERT_EQ(reg.listeners.size(), 1u);
  EXPECT_EQ(reg.listeners[0].port, 9094);
  EXPECT_EQ(reg.rack, "r1");
  EXPECT_EQ(reg.previous_broker_epoch, -1);
  EXPECT_FALSE(f.lc.poll(Offset(0)).has_value());  // one request in flight at a time
  f.lc.on_registration_reply(RegistrationReply{ErrorCode::NONE, 42});
  EXPECT_TRUE(f.lc.registered());
  auto hb = f.expect_heartbeat(Offset(17));
  EXPECT_EQ(hb.broker_epoch, 42);
  EXPECT_EQ(hb.current_metadata_offset, Offset(17));
  EXPECT_TRUE(hb.want_fence);  // not ready to unfence yet
  EXPECT_FALSE(hb.want_shutdown);
}

TEST(ServerBrokerLifecycle, AFailedRegistrationIsRetriedAfterTheBackoff) {
  Fixture f;
  f.expect_registration();
  f.lc.on_registration_reply(std::nullopt);
  EXPECT_FALSE(f.lc.poll(Offset(0)).has_value());
  f.clock.advance(99);
  EXPECT_FALSE(f.lc.poll(Offset(0)).has_value());
  f.clock.advance(1);
  f.expect_registration();
  f.lc.on_registration_reply(RegistrationReply{ErrorCode::NOT_CONTROLLER, -1});
  EXPECT_FALSE(f.lc.registered());
  f.advance_to_due();
  f.expect_registration();
}

TEST(ServerBrokerLifecycle, FencedUntilCaughtUpAndUnfencedThenRunning) {
  Fixture f;
  f.register_with_epoch(5);
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(false, true));
  EXPECT_EQ(f.lc.state(), BrokerState::kStarting);
  EXPECT_EQ(f.lc.next_due_ms(), f.clock.monotonic_ms() + 10);  // polls quickly while catching up
  f.advance_to_due();
  f.lc.set_ready_to_unfence();
  auto hb = f.expect_heartbeat(Offset(9));
  EXPECT_FALSE(hb.want_fence);
  f.lc.on_heartbeat_reply(beat(true, true));
  EXPECT_EQ(f.lc.state(), BrokerState::kRecovery);
  EXPECT_TRUE(f.lc.fenced());
  f.advance_to_due();
  f.expect_heartbeat(Offset(9));
  f.lc.on_heartbeat_reply(beat(true, false));
  EXPECT_EQ(f.lc.state(), BrokerState::kRunning);
  EXPECT_FALSE(f.lc.fenced());
  EXPECT_EQ(f.lc.next_due_ms(), f.clock.monotonic_ms() + 2000);  // the heartbeat interval once running
  f.clock.advance(1999);
  EXPECT_FALSE(f.lc.poll(Offset(9)).has_value());
  f.clock.advance(1);
  EXPECT_EQ(f.expect_heartbeat(Offset(12)).current_metadata_offset, Offset(12));
}

TEST(ServerBrokerLifecycle, CaughtUpAndUnfencedInOneAnswerGoesStraightToRunning) {
  Fixture f;
  f.register_with_epoch(5);
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(true, false));
  EXPECT_EQ(f.lc.state(), BrokerState::kRunning);
  EXPECT_FALSE(f.lc.fenced());
}

TEST(ServerBrokerLifecycle, FencedWhileRunningAndUnfencedAgain) {
  Fixture f;
  f.register_with_epoch(5);
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(true, false));
  f.advance_to_due();
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(true, true));  // e.g. its session expired while it was stopped
  EXPECT_TRUE(f.lc.fenced());
  EXPECT_EQ(f.lc.next_due_ms(), f.clock.monotonic_ms() + 100);
  f.advance_to_due();
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(true, false));
  EXPECT_FALSE(f.lc.fenced());
  EXPECT_EQ(f.lc.state(), BrokerState::kRunning);
}

TEST(ServerBrokerLifecycle, AStaleEpochMeansRegisteringAgainWithThePreviousEpoch) {
  Fixture f;
  f.register_with_epoch(5);
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(true, false));
  f.advance_to_due();
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(false, true, false, ErrorCode::STALE_BROKER_EPOCH));
  EXPECT_FALSE(f.lc.registered());
  EXPECT_TRUE(f.lc.fenced());
  EXPECT_EQ(f.lc.state(), BrokerState::kStarting);
  f.advance_to_due();
  EXPECT_EQ(f.expect_registration().previous_broker_epoch, 5);
}

TEST(ServerBrokerLifecycle, OtherHeartbeatErrorsKeepTheRegistration) {
  Fixture f;
  f.register_with_epoch(5);
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(false, true, false, ErrorCode::NOT_CONTROLLER));
  EXPECT_TRUE(f.lc.registered());
  EXPECT_EQ(f.lc.next_due_ms(), f.clock.monotonic_ms() + 100);
  f.advance_to_due();
  EXPECT_EQ(f.expect_heartbeat(Offset(3)).broker_epoch, 5);
}

TEST(ServerBrokerLifecycle, ControlledShutdownWaitsForTheController) {
  Fixture f;
  f.register_with_epoch(5);
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(true, false));
  f.lc.begin_controlled_shutdown();
  EXPECT_EQ(f.lc.state(), BrokerState::kPendingControlledShutdown);
  EXPECT_FALSE(f.lc.shutdown_may_proceed());
  auto hb = f.expect_heartbeat(Offset(3));  // at once, not after the interval
  EXPECT_TRUE(hb.want_shutdown);
  f.lc.on_heartbeat_reply(beat(true, false, false));
  EXPECT_FALSE(f.lc.shutdown_may_proceed());
  f.advance_to_due();
  EXPECT_TRUE(f.expect_heartbeat(Offset(4)).want_shutdown);
  f.lc.on_heartbeat_reply(beat(true, true, true));
  EXPECT_EQ(f.lc.state(), BrokerState::kShuttingDown);
  EXPECT_TRUE(f.lc.shutdown_may_proceed());
  f.advance_to_due();
  EXPECT_FALSE(f.lc.poll(Offset(4)).has_value());  // nothing more is sent
}

TEST(ServerBrokerLifecycle, ControlledShutdownIsBoundedByItsTimeout) {
  Fixture f;
  f.register_with_epoch(5);
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(beat(true, false));
  f.lc.begin_controlled_shutdown();
  f.expect_heartbeat(Offset(3));
  f.lc.on_heartbeat_reply(std::nullopt);  // the controller is gone
  f.clock.advance(8999);
  EXPECT_FALSE(f.lc.shutdown_may_proceed());
  f.clock.advance(1);
  EXPECT_TRUE(f.lc.shutdown_may_proceed());
}

TEST(ServerBrokerLifecycle, AnUnregisteredBrokerShutsDownAtOnce) {
  Fixture f;
  f.lc.begin_controlled_shutdown();
  EXPECT_EQ(f.lc.state(), BrokerState::kShuttingDown);
  EXPECT_TRUE(f.lc.shutdown_may_proceed());
  EXPECT_FALSE(f.lc.poll(Offset(0)).has_value());
}

TEST(ServerBrokerLifecycle, StateNamesAreKafkas) {
  EXPECT_STREQ(broker_state_name(BrokerState::kRecovery), "RECOVERY");
  EXPECT_STREQ(broker_state_name(BrokerState::kPendingControlledShutdown), "PENDING_CONTROLLED_SHUTDOWN");
}

}  // namespace
}  // namespace samsa::server
