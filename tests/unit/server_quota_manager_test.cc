// The rate and throttle arithmetic of client quotas (Kafka's Rate over a
// SampledStat and QuotaUtils.throttleTime), on a manual clock.
#include <gtest/gtest.h>

#include "base/clock.h"
#include "server/quota_manager.h"

namespace samsa::server {
namespace {

TEST(ServerQuotaRate, MeasuresOverAtLeastSamplesMinusOneWindows) {
  QuotaRate r(QuotaWindow{11, 1000});
  // A first burst counts as spread over 10 windows, not as a spike.
  r.record(10000, 0);
  EXPECT_EQ(r.window_size_ms(0), 10000);
  EXPECT_DOUBLE_EQ(r.rate(0), 1000.0);
  EXPECT_EQ(r.window_size_ms(500), 10500);
  // Past the window, the old samples are forgotten.
  r.record(0, 20000);
  EXPECT_DOUBLE_EQ(r.rate(20000), 0.0);
}

TEST(ServerQuotaRate, SteadyRateConverges) {
  QuotaRate r(QuotaWindow{11, 1000});
  // 500 bytes every 100 ms = 5000 B/s for 30 s.
  for (int64_t t = 0; t <= 30000; t += 100) r.record(500, t);
  EXPECT_NEAR(r.rate(30000), 5000.0, 300.0);
}

TEST(ServerQuotaRate, ThrottleTimeIsKafkas) {
  EXPECT_EQ(throttle_ms(100, 50, 3000), 3000);  // twice the quota: one more window
  EXPECT_EQ(throttle_ms(50, 50, 3000), 0);
  EXPECT_EQ(throttle_ms(10, 50, 3000), 0);
  EXPECT_EQ(throttle_ms(75, 50, 10000), 5000);
  EXPECT_EQ(throttle_ms(1e300, 1, 10000), 2147483647);  // fits throttle_time_ms
  EXPECT_EQ(throttle_ms(5, 0, 10000), 0);                // no quota, no throttle
}

TEST(ServerQuotaManager, ThrottlesAboveTheQuotaAndSparesOthers) {
  ManualClock clock(0, 0);
  QuotaManager m(QuotaWindow{11, 1000}, clock);
  QuotaManager::Key alice{QuotaType::kProduce, "alice", ""};
  QuotaManager::Key bob{QuotaType::kProduce, "bob", ""};
  // 1000 B/s allowed: 10000 B at once is exactly the quota over 10 windows.
  EXPECT_EQ(m.record(alice, 1000, 10000), 0);
  // 10000 more: rate 2000 B/s over 10 s: throttled for 10 s.
  EXPECT_EQ(m.record(alice, 1000, 10000), 10000);
  // Another client is unaffected.
  EXPECT_EQ(m.record(bob, 1000, 500), 0);
  // Once every sample has aged out of the window the rate is back to nothing.
  clock.advance(11000);
  EXPECT_EQ(m.record(alice, 1000, 0), 0);
  // A taken-back value lowers the rate (a throttled fetch).
  QuotaManager::Key fetch{QuotaType::kFetch, "", "app"};
  EXPECT_GT(m.record(fetch, 100, 5000), 0);
  m.unrecord(fetch, 5000);
  EXPECT_EQ(m.record(fetch, 100, 0), 0);
  EXPECT_EQ(m.sensors(), 3u);
}

// The strict check of a controller mutation: the throttle the rate already
// calls for, without charging anything.
TEST(ServerQuotaManager, ThrottleNowChargesNothing) {
  ManualClock clock(0, 0);
  QuotaManager m(QuotaWindow{2, 1000}, clock);
  QuotaManager::Key k{QuotaType::kControllerMutation, "", "mutator"};
  EXPECT_EQ(m.throttle_now(k, 10), 0) << "no rate yet";
  EXPECT_EQ(m.record(k, 10, 10), 0);  // 10 over 1 s: at the quota
  EXPECT_EQ(m.throttle_now(k, 10), 0);
  EXPECT_EQ(m.throttle_now(k, 10), 0) << "asking twice charges nothing";
  EXPECT_GT(m.record(k, 10, 20), 0);  // 30 over 1 s: above
  EXPECT_EQ(m.throttle_now(k, 10), 2000);
  clock.advance(2000);  // both samples aged out
  EXPECT_EQ(m.throttle_now(k, 10), 0);
}

TEST(ServerQuotaManager, OwnerIsStableAndInRange) {
  QuotaManager::Key k{QuotaType::kFetch, "u", "c"};
  for (int shards : {1, 2, 3, 8}) {
    int o = QuotaManager::owner(k, shards);
    EXPECT_GE(o, 0);
    EXPECT_LT(o, shards);
    EXPECT_EQ(o, QuotaManager::owner(k, shards));
  }
}

}  // namespace
}  // namespace samsa::server
