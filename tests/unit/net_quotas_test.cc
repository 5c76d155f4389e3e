// ConnectionQuotas: max.connections, max.connections.per.ip and its overrides,
// counted across threads (one listener per shard shares one instance).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "net/connection_quotas.h"

namespace samsa::net {
namespace {

using Admission = ConnectionQuotas::Admission;

TEST(NetQuotas, PerIpLimitRefusesTheExtraConnectionOnly) {
  ConnectionQuotas q({.max_connections = 100, .max_connections_per_ip = 2});
  EXPECT_EQ(q.admit("10.0.0.1"), Admission::kAdmitted);
  EXPECT_EQ(q.admit("10.0.0.1"), Admission::kAdmitted);
  EXPECT_EQ(q.admit("10.0.0.1"), Admission::kIpFull);
  EXPECT_EQ(q.admit("10.0.0.2"), Admission::kAdmitted) << "another address has its own count";
  EXPECT_EQ(q.count("10.0.0.1"), 2);
  EXPECT_EQ(q.total(), 3) << "a refused connection is not counted";
  q.release("10.0.0.1");
  EXPECT_EQ(q.admit("10.0.0.1"), Admission::kAdmitted) << "a closed connection frees its address's slot";
}

TEST(NetQuotas, OverridesReplaceThePerIpDefault) {
  ConnectionQuotas q({.max_connections_per_ip = 1, .per_ip_overrides = {{"127.0.0.1", 3}, {"10.0.0.9", 0}}});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(q.admit("127.0.0.1"), Admission::kAdmitted);
  EXPECT_EQ(q.admit("127.0.0.1"), Admission::kIpFull);
  EXPECT_EQ(q.admit("10.0.0.9"), Admission::kIpFull) << "an override of 0 refuses every connection";
  EXPECT_EQ(q.admit("10.0.0.8"), Admission::kAdmitted);
  EXPECT_EQ(q.admit("10.0.0.8"), Admission::kIpFull);
}

TEST(NetQuotas, BrokerLimitComesFirstAndFreesOnRelease) {
  ConnectionQuotas q({.max_connections = 2, .max_connections_per_ip = 1});
  EXPECT_EQ(q.admit("a"), Admission::kAdmitted);
  EXPECT_EQ(q.admit("b"), Admission::kAdmitted);
  EXPECT_EQ(q.admit("a"), Admission::kBrokerFull) << "Kafka waits for a broker slot before checking the address";
  EXPECT_EQ(q.admit("c"), Admission::kBrokerFull);
  q.release("b");
  EXPECT_EQ(q.admit("c"), Admission::kAdmitted);
  q.release("never-admitted");  // ignored, does not free a slot
  EXPECT_EQ(q.total(), 2);
}

TEST(NetQuotas, CountsStayExactAcrossThreads) {
  ConnectionQuotas q({.max_connections = 50, .max_connections_per_ip = 20});
  std::atomic<int> over{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string ip = "10.0.0." + std::to_string(t % 2);
      for (int i = 0; i < 5000; ++i) {
        if (q.admit(ip) != Admission::kAdmitted) continue;
        if (q.total() > 50 || q.count(ip) > 20) ++over;
        q.release(ip);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(q.total(), 0);
  EXPECT_EQ(q.count("10.0.0.0"), 0);
}

TEST(NetQuotas, ParsesOverrides) {
  auto ok = parse_per_ip_overrides(" 127.0.0.1:5, hostA:0 ,::1:7");
  ASSERT_TRUE((std::holds_alternative<std::map<std::string, int32_t>>(ok))) << std::get<std::string>(ok);
  auto& m = std::get<0>(ok);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.at("127.0.0.1"), 5);
  EXPECT_EQ(m.at("hostA"), 0);
  EXPECT_EQ(m.at("::1"), 7) << "the count follows the last ':'";
  EXPECT_TRUE(std::get<0>(parse_per_ip_overrides("")).empty());
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":5", "h:-1", "h:5x", "h:99999999999"})
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_per_ip_overrides(bad))) << bad;
}

TEST(NetQuotas, QuotaConfigCanonicalisesAddresses) {
  auto c = make_quota_config(10, 2, "::0001:4,localhost:3");
  ASSERT_TRUE(std::holds_alternative<QuotaConfig>(c)) << std::get<std::string>(c);
  auto& cfg = std::get<QuotaConfig>(c);
  EXPECT_EQ(cfg.per_ip_overrides.at("::1"), 4);
  EXPECT_EQ(cfg.per_ip_overrides.at("127.0.0.1"), 3) << "host names resolve to their addresses";
  EXPECT_TRUE(std::holds_alternative<std::string>(make_quota_config(10, 2, "no-such-host.invalid:3")));
}

TEST(NetQuotas, LogLimiterLetsOneLinePerIntervalThrough) {
  LogLimiter l(std::chrono::hours(1));
  uint64_t suppressed = 99;
  EXPECT_TRUE(l.allow(suppressed));
  EXPECT_EQ(suppressed, 0u);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(l.allow(suppressed));
  LogLimiter fast(std::chrono::milliseconds(0));
  EXPECT_TRUE(fast.allow(suppressed));
  EXPECT_TRUE(fast.allow(suppressed));
}

}  // namespace
}  // namespace samsa::net
