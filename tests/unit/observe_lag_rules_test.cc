// Burrow's consumer lag evaluation rules (observe/lag_rules.h).
#include <gtest/gtest.h>

#include <vector>

#include "observe/lag_rules.h"

namespace samsa::observe {
namespace {

// Commits every 1000 ms from t=0: {offset, lag} pairs.
std::vector<LagCommit> commits(std::initializer_list<std::pair<int64_t, int64_t>> v) {
  std::vector<LagCommit> out;
  int64_t t = 0;
  for (auto [offset, lag] : v) {
    out.push_back({offset, t, lag});
    t += 1000;
  }
  return out;
}

LagStatus eval(const std::vector<LagCommit>& w, int64_t current_lag, int64_t now) {
  return evaluate_partition(std::span<const LagCommit>(w), current_lag, now);
}

TEST(LagRules, EmptyWindowOrNoLagNowIsOk) {
  EXPECT_EQ(eval({}, 100, 5000), LagStatus::kOk);
  auto w = commits({{10, 5}, {10, 6}, {10, 7}});
  EXPECT_EQ(eval(w, 0, 2500), LagStatus::kOk);
}

TEST(LagRules, ZeroLagAnywhereInTheWindowIsOk) {
  auto w = commits({{10, 5}, {10, 0}, {10, 7}});  // would be stalled without the zero
  EXPECT_EQ(eval(w, 7, 2500), LagStatus::kOk);
}

TEST(LagRules, OffsetThatGoesBackIsRewind) {
  auto w = commits({{10, 5}, {20, 5}, {15, 12}});
  EXPECT_EQ(eval(w, 12, 2500), LagStatus::kRewind);
}

TEST(LagRules, SilenceLongerThanTheWindowIsStop) {
  auto w = commits({{10, 5}, {20, 5}, {30, 5}});  // spans 2000 ms
  EXPECT_EQ(eval(w, 5, 2000 + 2000), LagStatus::kWarn);  // exactly the span: not stopped (falling behind)
  EXPECT_EQ(eval(w, 5, 2000 + 2001), LagStatus::kStop);  // longer than the span
  // One commit spans nothing: any time after it with lag counts as stopped (Burrow).
  EXPECT_EQ(eval(commits({{10, 5}}), 5, 1), LagStatus::kStop);
  EXPECT_EQ(eval(commits({{10, 5}}), 5, 0), LagStatus::kStall);
}

TEST(LagRules, SameOffsetWithLagIsStall) {
  auto w = commits({{10, 5}, {10, 8}, {10, 12}, {10, 20}});
  EXPECT_EQ(eval(w, 20, 3000), LagStatus::kStall);
  auto flat = commits({{10, 5}, {10, 5}, {10, 5}});  // fixed lag, not moving: stalled too
  EXPECT_EQ(eval(flat, 5, 2000), LagStatus::kStall);
}

TEST(LagRules, MovingOffsetWithLagNeverDecreasingIsWarn) {
  auto w = commits({{10, 5}, {20, 5}, {30, 8}, {40, 9}});
  EXPECT_EQ(eval(w, 9, 3000), LagStatus::kWarn);
}

TEST(LagRules, MovingOffsetWithLagDecreasingSomewhereIsOk) {
  auto w = commits({{10, 5}, {20, 9}, {30, 4}, {40, 6}});
  EXPECT_EQ(eval(w, 6, 3000), LagStatus::kOk);
}

TEST(LagRules, WindowKeepsTheLastTenCommits) {
  LagWindow w;
  for (int i = 0; i < 15; ++i) w.add({i, i * 1000, 5});
  ASSERT_EQ(w.commits().size(), kLagWindow);
  EXPECT_EQ(w.commits().front().offset, 5);
  EXPECT_EQ(w.commits().back().offset, 14);
  EXPECT_EQ(evaluate_partition(w, 5, 14000), LagStatus::kWarn);
}

TEST(LagRules, GroupStatusIsTheWorstPartition) {
  LagStatus g = LagStatus::kNotFound;
  g = fold_group_status(g, LagStatus::kOk);
  EXPECT_EQ(g, LagStatus::kOk);
  g = fold_group_status(g, LagStatus::kWarn);
  EXPECT_EQ(g, LagStatus::kWarn);
  g = fold_group_status(g, LagStatus::kOk);
  EXPECT_EQ(g, LagStatus::kWarn);
  g = fold_group_status(g, LagStatus::kStall);
  EXPECT_EQ(g, LagStatus::kStall);
  EXPECT_EQ(fold_group_status(g, LagStatus::kStop), LagStatus::kErr);
  EXPECT_EQ(fold_group_status(g, LagStatus::kRewind), LagStatus::kErr);
  EXPECT_EQ(fold_group_status(LagStatus::kErr, LagStatus::kStall), LagStatus::kErr);
  EXPECT_EQ(lag_status_name(LagStatus::kStall), "STALL");
  EXPECT_EQ(static_cast<int>(LagStatus::kErr), 3);  // Burrow's codes
}

}  // namespace
}  // namespace samsa::observe
