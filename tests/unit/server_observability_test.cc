// http.listeners parsing (server/observability.h).
#include <gtest/gtest.h>

#include "server/observability.h"

namespace samsa::server {
namespace {

std::vector<HttpEndpoint> ok(std::string_view v) {
  auto r = parse_http_listeners(v);
  EXPECT_TRUE(std::holds_alternative<std::vector<HttpEndpoint>>(r)) << v;
  return std::holds_alternative<std::vector<HttpEndpoint>>(r) ? std::get<0>(r) : std::vector<HttpEndpoint>{};
}

std::string bad(std::string_view v) {
  auto r = parse_http_listeners(v);
  EXPECT_TRUE(std::holds_alternative<std::string>(r)) << v;
  return std::holds_alternative<std::string>(r) ? std::get<1>(r) : "";
}

TEST(HttpListeners, ParsesEndpointsAndEmptyMeansOff) {
  EXPECT_TRUE(ok("").empty());
  EXPECT_TRUE(ok(" , ").empty());
  auto one = ok("http://localhost:9644");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].host, "localhost");
  EXPECT_EQ(one[0].port, 9644);
  auto two = ok("http://:8080/, http://[::1]:0");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].host, "");
  EXPECT_EQ(two[0].port, 8080);
  EXPECT_EQ(two[1].host, "::1");
  EXPECT_EQ(two[1].port, 0);
}

TEST(HttpListeners, RejectsWhatIsNotHttpHostPort) {
  EXPECT_NE(bad("https://localhost:9644").find("http://host:port"), std::string::npos);
  EXPECT_NE(bad("localhost:9644").find("http://host:port"), std::string::npos);
  EXPECT_NE(bad("http://localhost").find("no port"), std::string::npos);
  EXPECT_NE(bad("http://localhost:x").find("invalid port"), std::string::npos);
  EXPECT_NE(bad("http://localhost:70000").find("invalid port"), std::string::npos);
  EXPECT_NE(bad("http://localhost:-1").find("invalid port"), std::string::npos);
}

}  // namespace
}  // namespace samsa::server
