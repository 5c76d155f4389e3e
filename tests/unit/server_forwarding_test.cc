// Forwarding metadata changes to the active controller
// (server/controller_forwarding.h) and waiting for the image to show them
// (server/image_waiter.h).
#include <gtest/gtest.h>

#include "cluster/metadata_records.h"
#include "metadata_test_util.h"
#include "protocol/messages/create_acls.h"
#include "protocol/messages/create_topics.h"
#include "protocol/messages/delete_acls.h"
#include "protocol/messages/delete_topics.h"
#include "protocol/messages/incremental_alter_configs.h"
#include "server/controller_forwarding.h"
#include "server/image_waiter.h"
#include "wire_test_util.h"

namespace samsa::server {
namespace {

using samsa::testing::decode_as;
using samsa::testing::encode_as;

TEST(ServerForwarding, CreateTopicsCarriesTheSpecsAndMapsAnswersByName) {
  cluster::TopicSpec a;
  a.name = "a";
  a.num_partitions = 6;
  a.replication_factor = 1;
  a.configs["cleanup.policy"] = "compact";
  cluster::TopicSpec b;
  b.name = "b";
  b.assignments[0] = {1, 2};
  b.assignments[1] = {2, 3};
  auto req = decode_as<protocol::CreateTopicsRequest>(encode_create_topics({a, b}, true), kForwardCreateTopicsVersion);
  ASSERT_EQ(req.topics.size(), 2u);
  EXPECT_TRUE(req.validate_only);
  EXPECT_EQ(req.topics[0].num_partitions, 6);
  EXPECT_EQ(req.topics[0].replication_factor, 1);
  ASSERT_EQ(req.topics[0].configs.size(), 1u);
  EXPECT_EQ(req.topics[0].configs[0].value, "compact");
  EXPECT_EQ(req.topics[1].num_partitions, -1);  // an assignment excludes a count
  ASSERT_EQ(req.topics[1].assignments.size(), 2u);
  EXPECT_EQ(req.topics[1].assignments[1].broker_ids, (std::vector<int32_t>{2, 3}));

  protocol::CreateTopicsResponse resp;
  auto& rb = resp.topics.emplace_back();  // answers in another order than asked
  rb.name = "b";
  rb.error_code = to_int(ErrorCode::INVALID_REPLICATION_FACTOR);
  rb.error_message = "too few brokers";
  auto& ra = resp.topics.emplace_back();
  ra.name = "a";
  ra.topic_id[15] = 9;
  auto results = decode_create_topics(encode_as(resp, kForwardCreateTopicsVersion), {a, b});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].error, ErrorCode::NONE);
  EXPECT_EQ(results[0].topic_id[15], 9);
  EXPECT_EQ(results[1].error, ErrorCode::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(results[1].message, "too few brokers");
}

TEST(ServerForwarding, AnUnreadableOrIncompleteAnswerIsAnError) {
  cluster::TopicSpec a;
  a.name = "a";
  protocol::Bytes junk{1, 2, 3};
  auto results = decode_create_topics(junk, {a});
  EXPECT_EQ(results[0].error, ErrorCode::UNKNOWN_SERVER_ERROR);
  EXPECT_EQ(decode_delete_topic(junk).error, ErrorCode::UNKNOWN_SERVER_ERROR);
  EXPECT_EQ(decode_create_partitions(junk).error, ErrorCode::UNKNOWN_SERVER_ERROR);
  EXPECT_EQ(decode_alter_configs(junk).error, ErrorCode::UNKNOWN_SERVER_ERROR);
  EXPECT_EQ(decode_allocate_producer_ids(junk).error, ErrorCode::UNKNOWN_SERVER_ERROR);
  protocol::CreateTopicsResponse empty;  // the topic missing from the answer
  EXPECT_EQ(decode_create_topics(encode_as(empty, kForwardCreateTopicsVersion), {a})[0].error,
            ErrorCode::UNKNOWN_SERVER_ERROR);
}

TEST(ServerForwarding, DeleteAndConfigChangesRoundTrip) {
  protocol::Uuid id{};
  id[0] = 4;
  auto del = decode_as<protocol::DeleteTopicsRequest>(encode_delete_topic("t", id), kForwardDeleteTopicsVersion);
  ASSERT_EQ(del.topics.size(), 1u);
  EXPECT_EQ(del.topics[0].name, "t");
  EXPECT_EQ(del.topics[0].topic_id, id);

  ConfigChanges changes{{"retention.ms", "1000"}, {"segment.bytes", std::nullopt}};
  auto alter = decode_as<protocol::IncrementalAlterConfigsRequest>(
      encode_alter_configs(cluster::kTopicResource, "t", changes, false), kForwardIncrementalAlterConfigsVersion);
  ASSERT_EQ(alter.resources.size(), 1u);
  auto& cfgs = alter.resources[0].configs;
  ASSERT_EQ(cfgs.size(), 2u);
  EXPECT_EQ(cfgs[0].config_operation, 0);  // SET
  EXPECT_EQ(cfgs[1].config_operation, 1);  // DELETE
  EXPECT_FALSE(cfgs[1].value.has_value());
}

cluster::ImagePtr image_with(const std::string& topic, int partitions, std::map<std::string, std::string> configs = {}) {
  auto img = std::make_shared<cluster::MetadataImage>();
  auto t = std::make_shared<cluster::TopicInfo>();
  t->name = topic;
  t->id[15] = 1;
  t->partitions.resize(partitions);
  t->configs = std::move(configs);
  img->topics.set(topic, t);
  img->topic_names.set(t->id, topic);
  return img;
}

TEST(ServerForwarding, ImagePredicatesRecogniseTheChange) {
  auto img = image_with("t", 3, {{"retention.ms", "1000"}});
  protocol::Uuid id{};
  id[15] = 1;
  EXPECT_TRUE(shows_created(*img, "t", id));
  EXPECT_FALSE(shows_created(*img, "t", protocol::Uuid{{7}}));  // same name, another topic
  EXPECT_FALSE(shows_deleted(*img, id));
  EXPECT_TRUE(shows_partitions(*img, "t", 3));
  EXPECT_FALSE(shows_partitions(*img, "t", 4));
  EXPECT_TRUE(shows_configs(*img, cluster::kTopicResource, "t", {{"retention.ms", "1000"}}));
  EXPECT_FALSE(shows_configs(*img, cluster::kTopicResource, "t", {{"retention.ms", std::nullopt}}));
  EXPECT_TRUE(shows_configs(*img, cluster::kBrokerResource, "", {{"log.retention.ms", std::nullopt}}));
}

cluster::AclBinding read_acl(const std::string& topic) {
  cluster::AclBinding b;
  b.resource_type = cluster::ResourceType::TOPIC;
  b.resource_name = topic;
  b.pattern_type = cluster::PatternType::PREFIXED;
  b.principal = "User:alice";
  b.host = "*";
  b.operation = cluster::AclOperation::READ;
  b.permission = cluster::AclPermission::ALLOW;
  return b;
}

TEST(ServerForwarding, AclsCarryEveryFieldAndAnswersMapInOrder) {
  auto a = read_acl("orders-");
  auto b = read_acl("pay");
  b.permission = cluster::AclPermission::DENY;
  auto req = decode_as<protocol::CreateAclsRequest>(encode_create_acls({a, b}), kForwardCreateAclsVersion);
  ASSERT_EQ(req.creations.size(), 2u);
  EXPECT_EQ(req.creations[0].resource_type, static_cast<int8_t>(cluster::ResourceType::TOPIC));
  EXPECT_EQ(req.creations[0].resource_name, "orders-");
  EXPECT_EQ(req.creations[0].resource_pattern_type, static_cast<int8_t>(cluster::PatternType::PREFIXED));
  EXPECT_EQ(req.creations[0].principal, "User:alice");
  EXPECT_EQ(req.creations[0].host, "*");
  EXPECT_EQ(req.creations[0].operation, static_cast<int8_t>(cluster::AclOperation::READ));
  EXPECT_EQ(req.creations[1].permission_type, static_cast<int8_t>(cluster::AclPermission::DENY));

  protocol::CreateAclsResponse cresp;
  cresp.results.emplace_back();
  auto& bad = cresp.results.emplace_back();
  bad.error_code = to_int(ErrorCode::INVALID_REQUEST);
  bad.error_message = "no";
  auto created = decode_create_acls(encode_as(cresp, kForwardCreateAclsVersion), 3);
  ASSERT_EQ(created.size(), 3u);
  EXPECT_EQ(created[0].error, ErrorCode::NONE);
  EXPECT_EQ(created[1].error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(created[1].message, "no");
  EXPECT_EQ(created[2].error, ErrorCode::UNKNOWN_SERVER_ERROR);  // missing from the answer
  EXPECT_EQ(decode_create_acls(protocol::Bytes{1, 2}, 1)[0].error, ErrorCode::UNKNOWN_SERVER_ERROR);

  cluster::AclFilter f;
  f.resource_type = cluster::ResourceType::TOPIC;
  f.principal = "User:alice";
  f.operation = cluster::AclOperation::ANY;
  auto dreq = decode_as<protocol::DeleteAclsRequest>(encode_delete_acls({f}), kForwardDeleteAclsVersion);
  ASSERT_EQ(dreq.filters.size(), 1u);
  EXPECT_EQ(dreq.filters[0].resource_type_filter, static_cast<int8_t>(cluster::ResourceType::TOPIC));
  EXPECT_EQ(dreq.filters[0].resource_name_filter, std::nullopt);
  EXPECT_EQ(dreq.filters[0].principal_filter, std::optional<std::string>("User:alice"));
  EXPECT_EQ(dreq.filters[0].host_filter, std::nullopt);
  EXPECT_EQ(dreq.filters[0].pattern_type_filter, static_cast<int8_t>(cluster::PatternType::ANY));

  protocol::DeleteAclsResponse dresp;
  cluster::copy_binding(a, dresp.filter_results.emplace_back().matching_acls.emplace_back());
  auto deleted = decode_delete_acls(encode_as(dresp, kForwardDeleteAclsVersion), 1);
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].error, 0);
  EXPECT_EQ(deleted[0].removed, std::vector<cluster::AclBinding>{a});
  EXPECT_EQ(decode_delete_acls(protocol::Bytes{}, 2)[1].error, to_int(ErrorCode::UNKNOWN_SERVER_ERROR));
}

TEST(ServerForwarding, AclPredicatesRecogniseTheChange) {
  auto a = read_acl("orders-");
  auto b = read_acl("pay");
  auto img = std::make_shared<cluster::MetadataImage>();
  auto index = std::make_shared<cluster::AclIndex>();
  index->add(protocol::Uuid{{1}}, a);
  img->acls = index;
  cluster::OpResult ok{};
  cluster::OpResult refused{ErrorCode::INVALID_REQUEST, "", {}};
  EXPECT_TRUE(shows_acls_created(*img, {a}, {ok}));
  EXPECT_FALSE(shows_acls_created(*img, {a, b}, {ok, ok}));
  EXPECT_TRUE(shows_acls_created(*img, {a, b}, {ok, refused}));  // a refused binding is not waited for
  EXPECT_FALSE(shows_acls_deleted(*img, {cluster::AclDeleteResult{0, "", {a}}}));
  EXPECT_TRUE(shows_acls_deleted(*img, {cluster::AclDeleteResult{0, "", {b}}}));
}

TEST(ServerImageWaiter, ResumesWhenAnImageShowsTheChangeOrTheBoundPasses) {
  asio::io_context io;
  ImageWaiter waiter;
  waiter.on_image(image_with("a", 1));
  auto has_b = [](const cluster::MetadataImage& img) { return img.find_topic("b") != nullptr; };
  // Already there: at once.
  EXPECT_TRUE(testing::run(io, waiter.wait_for([](const cluster::MetadataImage& img) { return img.find_topic("a"); },
                                               std::chrono::milliseconds(0))));
  // Shown by a later image.
  asio::post(io, [&] { waiter.on_image(image_with("x", 1)); });
  asio::post(io, [&] { waiter.on_image(image_with("b", 1)); });
  EXPECT_TRUE(testing::run(io, waiter.wait_for(has_b, std::chrono::seconds(30))));
  EXPECT_EQ(waiter.waiting(), 0u);
  // Never shown: false once the bound passes.
  waiter.on_image(image_with("a", 1));
  EXPECT_FALSE(testing::run(io, waiter.wait_for(has_b, std::chrono::milliseconds(1))));
  EXPECT_EQ(waiter.waiting(), 0u);
}

}  // namespace
}  // namespace samsa::server
