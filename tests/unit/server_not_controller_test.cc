// A CONTROLLER listener whose node does not lead answers NOT_CONTROLLER in
// each API's own response shape (server/not_controller.h), at every version,
// and the controller channel (quorum/network_controller_channel.h) recognises
// each of those answers as one to retry elsewhere.
#include <gtest/gtest.h>

#include "quorum/network_controller_channel.h"
#include "server/not_controller.h"

namespace samsa::server {
namespace {

const int16_t kNotController = to_int(ErrorCode::NOT_CONTROLLER);

template <typename Resp>
protocol::Bytes encoded(const Resp& resp, int16_t v) {
  protocol::Writer w;
  resp.encode(w, v);
  return std::move(w.buffer());
}

// The answer encodes at every version of the API, and every encoding is
// recognised as NOT_CONTROLLER.
template <typename Resp>
void expect_recognised_at_every_version(const Resp& resp) {
  for (int16_t v = Resp::min_version; v <= Resp::max_version; ++v)
    EXPECT_TRUE(quorum::answers_not_controller(Resp::api_key, v, encoded(resp, v))) << Resp::api_key << " v" << v;
}

TEST(NotControllerAnswers, TopicsOneResultPerTopic) {
  protocol::CreateTopicsRequest create;
  create.topics.emplace_back().name = "a";
  create.topics.emplace_back().name = "b";
  auto c = not_controller_answer(create);
  ASSERT_EQ(c.topics.size(), 2u);
  EXPECT_EQ(c.topics[0].name, "a");
  EXPECT_EQ(c.topics[1].name, "b");
  for (auto& t : c.topics) {
    EXPECT_EQ(t.error_code, kNotController);
    EXPECT_EQ(t.error_message, std::optional<std::string>("This is not the correct controller for this cluster."));
    EXPECT_EQ(t.num_partitions, -1);
    EXPECT_EQ(t.replication_factor, -1);
    EXPECT_EQ(t.configs, std::nullopt);
  }
  expect_recognised_at_every_version(c);

  protocol::DeleteTopicsRequest by_id, by_name;
  auto& state = by_id.topics.emplace_back();
  state.topic_id[0] = 7;
  by_name.topic_names = {"x", "y"};
  auto d = not_controller_answer(by_id);
  ASSERT_EQ(d.responses.size(), 1u);
  EXPECT_EQ(d.responses[0].topic_id, state.topic_id);
  EXPECT_EQ(d.responses[0].error_code, kNotController);
  auto dn = not_controller_answer(by_name);
  ASSERT_EQ(dn.responses.size(), 2u);
  EXPECT_EQ(dn.responses[1].name, std::optional<std::string>("y"));
  expect_recognised_at_every_version(dn);

  protocol::CreatePartitionsRequest parts;
  parts.topics.emplace_back().name = "p";
  auto p = not_controller_answer(parts);
  ASSERT_EQ(p.results.size(), 1u);
  EXPECT_EQ(p.results[0].name, "p");
  EXPECT_EQ(p.results[0].error_code, kNotController);
  expect_recognised_at_every_version(p);
}

TEST(NotControllerAnswers, ConfigsOneResultPerResource) {
  protocol::AlterConfigsRequest alter;
  auto& res = alter.resources.emplace_back();
  res.resource_type = 2;
  res.resource_name = "t";
  auto a = not_controller_answer(alter);
  ASSERT_EQ(a.responses.size(), 1u);
  EXPECT_EQ(a.responses[0].resource_type, 2);
  EXPECT_EQ(a.responses[0].resource_name, "t");
  EXPECT_EQ(a.responses[0].error_code, kNotController);
  expect_recognised_at_every_version(a);

  protocol::IncrementalAlterConfigsRequest inc;
  auto& r2 = inc.resources.emplace_back();
  r2.resource_type = 4;
  r2.resource_name = "1";
  auto i = not_controller_answer(inc);
  ASSERT_EQ(i.responses.size(), 1u);
  EXPECT_EQ(i.responses[0].resource_type, 4);
  EXPECT_EQ(i.responses[0].resource_name, "1");
  expect_recognised_at_every_version(i);
}

TEST(NotControllerAnswers, AclsOneResultPerCreationAndFilter) {
  protocol::CreateAclsRequest create;
  create.creations.resize(3);
  auto c = not_controller_answer(create);
  ASSERT_EQ(c.results.size(), 3u);
  for (auto& r : c.results) EXPECT_EQ(r.error_code, kNotController);
  expect_recognised_at_every_version(c);

  protocol::DeleteAclsRequest del;
  del.filters.resize(2);
  auto d = not_controller_answer(del);
  ASSERT_EQ(d.filter_results.size(), 2u);
  for (auto& r : d.filter_results) {
    EXPECT_EQ(r.error_code, kNotController);
    EXPECT_TRUE(r.matching_acls.empty());
  }
  expect_recognised_at_every_version(d);
}

TEST(NotControllerAnswers, OtherAnswersAreKept) {
  protocol::CreateTopicsResponse ok;
  ok.topics.emplace_back().name = "a";
  ok.topics.emplace_back().name = "b";
  ok.topics[1].error_code = to_int(ErrorCode::TOPIC_ALREADY_EXISTS);
  for (int16_t v = 0; v <= 7; ++v) EXPECT_FALSE(quorum::answers_not_controller(19, v, encoded(ok, v)));
  // One entry is enough: a controller refuses a whole request at once.
  ok.topics[1].error_code = kNotController;
  EXPECT_TRUE(quorum::answers_not_controller(19, 7, encoded(ok, 7)));
  // An empty answer (no entries) or bytes that do not parse are kept as they are.
  EXPECT_FALSE(quorum::answers_not_controller(30, 0, encoded(protocol::CreateAclsResponse{}, 0)));
  EXPECT_FALSE(quorum::answers_not_controller(31, 2, protocol::Bytes{1, 2, 3}));
  EXPECT_FALSE(quorum::answers_not_controller(3, 0, protocol::Bytes{0, 0, 0, 0, 0, 41}));  // Metadata: not a controller API
  // The lifecycle APIs' top-level error.
  for (int key : {56, 62, 63, 64, 67})
    EXPECT_TRUE(quorum::answers_not_controller(static_cast<int16_t>(key), 0, protocol::Bytes{0, 0, 0, 0, 0, 41})) << key;
}

}  // namespace
}  // namespace samsa::server
