// The web console built into the binary (console/assets.h) and the form
// fields of its endpoints (server/console_api.h).
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "console/assets.h"
#include "server/console_api.h"
#include "server/kafka_bridge.h"

namespace samsa {
namespace {

TEST(ConsoleAssets, IndexAndItsFilesAreBuiltIn) {
  const auto* index = console::find_asset("index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  // Every file the page loads is in the table, and nothing comes from another origin.
  std::string html(index->body);
  std::regex ref(R"re((?:src|href)="([^"]+)")re");
  int refs = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), ref), end; it != end; ++it) {
    std::string path = (*it)[1];
    if (path.starts_with("#")) continue;
    EXPECT_EQ(path.find("//"), std::string::npos) << path;
    EXPECT_NE(console::find_asset(path), nullptr) << path;
    ++refs;
  }
  EXPECT_GE(refs, 8);
  ASSERT_NE(console::find_asset("app.js"), nullptr);
  EXPECT_EQ(console::find_asset("app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(console::find_asset("console.css")->content_type, "text/css; charset=utf-8");
}

TEST(ConsoleAssets, UnknownPathsAreNotFound) {
  EXPECT_EQ(console::find_asset(""), nullptr);
  EXPECT_EQ(console::find_asset("nope.js"), nullptr);
  EXPECT_EQ(console::find_asset("/app.js"), nullptr);
  EXPECT_EQ(console::find_asset("../index.html"), nullptr);
}

net::HttpRequest post(std::string body) {
  net::HttpRequest r;
  r.method = "POST";
  r.body = std::move(body);
  return r;
}

TEST(ConsoleForm, FieldsComeFromTheBodyOfAPostAndTheQueryOfAGet) {
  auto r = post("name=my+topic&partitions=3&value=a%2Bb%20c&bad=12x");
  EXPECT_EQ(server::console::field(r, "name"), "my topic");  // form encoding: '+' is a space
  EXPECT_EQ(server::console::field(r, "value"), "a+b c");
  EXPECT_EQ(server::console::int_field(r, "partitions"), 3);
  EXPECT_EQ(server::console::int_field(r, "bad"), std::nullopt);
  EXPECT_EQ(server::console::int_field(r, "missing"), std::nullopt);
  EXPECT_EQ(server::console::int_field(post("n=99999999999999999999999"), "n"), std::nullopt);
  net::HttpRequest get;
  get.method = "GET";
  get.query = "partition=2";
  get.body = "partition=5";
  EXPECT_EQ(server::console::int_field(get, "partition"), 2);
}

TEST(ConsoleForm, PairsAreKeyValueLinesAndBounded) {
  auto r = post("configs=retention.ms%3D1000%0D%0A%0A%20%0Acleanup.policy%3Dcompact%0Aflag");
  auto pairs = server::console::pairs_field(r, "configs");
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0], std::make_pair(std::string("retention.ms"), std::string("1000")));
  EXPECT_EQ(pairs[1], std::make_pair(std::string("cleanup.policy"), std::string("compact")));
  EXPECT_EQ(pairs[2], std::make_pair(std::string("flag"), std::string()));
  std::string many = "h=";
  for (int i = 0; i < 5000; ++i) many += "k%3Dv%0A";
  EXPECT_EQ(server::console::pairs_field(post(many), "h").size(), server::console::kMaxFormLines);
}

}  // namespace
}  // namespace samsa

namespace samsa {
namespace {

// A bridged Fetch answer outlives the bytes it was decoded from: its records are copied.
TEST(ConsoleBridge, FetchRecordsOutliveTheAnswerBytes) {
  protocol::FetchResponse resp;
  protocol::FetchResponse::FetchableTopicResponse t;
  t.topic = "t";
  protocol::FetchResponse::PartitionData p;
  p.records.owned = {1, 2, 3, 4, 5};
  t.partitions.push_back(p);
  resp.responses.push_back(t);
  protocol::Writer w;
  resp.encode(w, 12);
  auto bytes = std::make_unique<protocol::Bytes>(w.buffer());
  protocol::Reader r(bytes->data(), bytes->size());
  protocol::FetchResponse decoded;
  decoded.decode(r, 12);
  ASSERT_TRUE(r.ok());
  server::own_records(decoded);
  std::fill(bytes->begin(), bytes->end(), 0xee);
  bytes.reset();
  auto got = decoded.responses.at(0).partitions.at(0).records.memory();
  EXPECT_EQ(protocol::Bytes(got.begin(), got.end()), (protocol::Bytes{1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace samsa
