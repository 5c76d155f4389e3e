// Client quotas in the metadata: entity and key validation (Kafka's messages),
// ClientQuotaRecord on the image and back (a snapshot), DescribeClientQuotas
// filters, Kafka's precedence of quota entities, and the controller's
// AlterClientQuotas (validate_only, one bad entry among good ones).
#include <gtest/gtest.h>

#include "cluster/client_quotas.h"
#include "cluster/image_records.h"
#include "cluster/metadata_records.h"
#include "cluster_test_cluster.h"

namespace samsa::cluster {
namespace {

using test_support::Cluster;
using samsa::testing::run;

QuotaEntity entity(std::optional<std::optional<std::string>> user, std::optional<std::optional<std::string>> client) {
  QuotaEntity e;
  if (user) e[kUserEntity] = *user;
  if (client) e[kClientIdEntity] = *client;
  return e;
}

void set(ClientQuotaMap& m, const QuotaEntity& e, const std::string& key, double v) {
  apply_quota_record(m, quota_record(e, key, v, false));
}

TEST(ClusterClientQuotas, EntityValidation) {
  QuotaEntity e;
  EXPECT_FALSE(validate_entity({{"user", "alice"}, {"client-id", std::nullopt}}, e));
  EXPECT_EQ(e.size(), 2u);
  auto err = validate_entity({}, e);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(err->message, "Invalid empty client quota entity");
  EXPECT_TRUE(validate_entity({{"user", "a"}, {"user", "b"}}, e));
  err = validate_entity({{"group", "g"}}, e);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->message, "Unhandled client quota entity type: group");
  EXPECT_TRUE(validate_entity({{"ip", "10.0.0.1"}, {"user", "a"}}, e));
  EXPECT_TRUE(validate_entity({{"ip", "not an address"}}, e));
  EXPECT_FALSE(validate_entity({{"ip", "::1"}}, e));
  EXPECT_FALSE(validate_entity({{"ip", std::nullopt}}, e));
}

TEST(ClusterClientQuotas, KeyValidation) {
  auto user = entity(std::optional<std::string>("alice"), std::nullopt);
  EXPECT_FALSE(validate_op(user, kProducerByteRate, 1024, false));
  EXPECT_FALSE(validate_op(user, kRequestPercentage, 12.5, false));
  EXPECT_FALSE(validate_op(user, kControllerMutationRate, 0.5, false));
  auto err = validate_op(user, "producer_byte_rat", 1, false);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->message, "Invalid configuration key producer_byte_rat");
  err = validate_op(user, kProducerByteRate, 10.5, false);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->message, "Configuration producer_byte_rate must be a Long value");
  EXPECT_TRUE(validate_op(user, kConsumerByteRate, 0, false));
  EXPECT_TRUE(validate_op(user, kConsumerByteRate, -5, false));
  EXPECT_TRUE(validate_op(user, kConsumerByteRate, std::nan(""), false));
  EXPECT_TRUE(validate_op(user, kConsumerByteRate, 1e300, false));
  EXPECT_FALSE(validate_op(user, kConsumerByteRate, -5, true));  // a removal has no value
  EXPECT_TRUE(validate_op(user, kConnectionCreationRate, 5, false));
  QuotaEntity ip{{kIpEntity, "10.0.0.1"}};
  EXPECT_FALSE(validate_op(ip, kConnectionCreationRate, 5, false));
  EXPECT_TRUE(validate_op(ip, kProducerByteRate, 5, false));
}

TEST(ClusterClientQuotas, RecordsSetRemoveAndRebuildTheImage) {
  MetadataImage img;
  auto alice = entity(std::optional<std::string>("alice"), std::nullopt);
  auto defaults = entity(std::nullopt, std::optional<std::string>());
  for (auto& r : quota_records(img.client_quotas, alice, {{kProducerByteRate, 1024}, {kConsumerByteRate, 2048}}))
    apply_record(img, r);
  for (auto& r : quota_records(img.client_quotas, defaults, {{kProducerByteRate, 100}})) apply_record(img, r);
  ASSERT_EQ(img.client_quotas.size(), 2u);
  EXPECT_EQ(img.client_quotas.at(alice).at(kConsumerByteRate), 2048);
  // Unchanged values and removals of unset keys write nothing.
  EXPECT_TRUE(quota_records(img.client_quotas, alice, {{kProducerByteRate, 1024}}).empty());
  EXPECT_TRUE(quota_records(img.client_quotas, alice, {{kRequestPercentage, 0, true}}).empty());
  // A snapshot of the image rebuilds it, through the bytes.
  MetadataImage rebuilt;
  for (auto& r : image_records(img)) {
    auto decoded = decode_record(encode_record(r));
    ASSERT_TRUE(decoded);
    apply_record(rebuilt, *decoded);
  }
  EXPECT_EQ(rebuilt.client_quotas, img.client_quotas);
  // Removing the last key removes the entity.
  for (auto& r : quota_records(img.client_quotas, defaults, {{kProducerByteRate, 0, true}})) apply_record(img, r);
  EXPECT_FALSE(img.client_quotas.contains(defaults));
}

TEST(ClusterClientQuotas, DescribeFilters) {
  ClientQuotaMap m;
  auto alice = entity(std::optional<std::string>("alice"), std::nullopt);
  auto alice_app = entity(std::optional<std::string>("alice"), std::optional<std::string>("app"));
  auto default_user = entity(std::optional<std::string>(), std::nullopt);
  auto app = entity(std::nullopt, std::optional<std::string>("app"));
  QuotaFilter f;
  ASSERT_FALSE(make_filter({{"user", 0, "alice"}}, false, f));
  EXPECT_TRUE(f.matches(alice));
  EXPECT_TRUE(f.matches(alice_app));
  EXPECT_FALSE(f.matches(default_user));
  ASSERT_FALSE(make_filter({{"user", 0, "alice"}}, true, f));
  EXPECT_TRUE(f.matches(alice));
  EXPECT_FALSE(f.matches(alice_app));
  ASSERT_FALSE(make_filter({{"user", 1, std::nullopt}}, true, f));
  EXPECT_TRUE(f.matches(default_user));
  EXPECT_FALSE(f.matches(alice));
  ASSERT_FALSE(make_filter({{"user", 2, std::nullopt}}, true, f));
  EXPECT_TRUE(f.matches(alice));
  EXPECT_FALSE(f.matches(default_user));
  ASSERT_FALSE(make_filter({{"client-id", 2, std::nullopt}}, false, f));
  EXPECT_TRUE(f.matches(app));
  EXPECT_TRUE(f.matches(alice_app));
  ASSERT_FALSE(make_filter({}, false, f));
  EXPECT_TRUE(f.matches(alice));
  // Kafka's refusals.
  auto err = make_filter({{"user", 0, std::nullopt}}, false, f);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->message, "Request specified MATCH_TYPE_EXACT, but set match string to null.");
  EXPECT_TRUE(make_filter({{"user", 1, "x"}}, false, f));
  EXPECT_TRUE(make_filter({{"user", 2, "x"}}, false, f));
  EXPECT_TRUE(make_filter({{"user", 7, std::nullopt}}, false, f));
  EXPECT_TRUE(make_filter({{"user", 2, std::nullopt}, {"user", 1, std::nullopt}}, false, f));
  EXPECT_TRUE(make_filter({{"", 2, std::nullopt}}, false, f));
  EXPECT_TRUE(make_filter({{"topic", 2, std::nullopt}}, false, f));
  EXPECT_TRUE(make_filter({{"ip", 2, std::nullopt}, {"user", 2, std::nullopt}}, false, f));
}

// Kafka's order, most specific first, and who shares the rate.
TEST(ClusterClientQuotas, PrecedenceFollowsKafka) {
  using N = std::optional<std::string>;
  ClientQuotaMap m;
  const std::string k = kProducerByteRate;
  EXPECT_FALSE(resolve_quota(m, "alice", "app", k));
  set(m, entity(std::nullopt, N()), k, 8);  // default client-id
  auto q = resolve_quota(m, "alice", "app", k);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->limit, 8);
  EXPECT_EQ(q->user_tag, "");
  EXPECT_EQ(q->client_tag, "app");  // each client id has its own rate
  set(m, entity(std::nullopt, N("app")), k, 7);
  EXPECT_EQ(resolve_quota(m, "alice", "app", k)->limit, 7);
  set(m, entity(N(), std::nullopt), k, 6);  // default user
  q = resolve_quota(m, "alice", "app", k);
  EXPECT_EQ(q->limit, 6);
  EXPECT_EQ(q->user_tag, "alice");
  EXPECT_EQ(q->client_tag, "");  // every client of the user shares it
  set(m, entity(N(), N()), k, 5);
  EXPECT_EQ(resolve_quota(m, "alice", "app", k)->limit, 5);
  set(m, entity(N(), N("app")), k, 4);
  EXPECT_EQ(resolve_quota(m, "alice", "app", k)->limit, 4);
  set(m, entity(N("alice"), std::nullopt), k, 3);
  EXPECT_EQ(resolve_quota(m, "alice", "app", k)->limit, 3);
  set(m, entity(N("alice"), N()), k, 2);
  EXPECT_EQ(resolve_quota(m, "alice", "app", k)->limit, 2);
  set(m, entity(N("alice"), N("app")), k, 1);
  q = resolve_quota(m, "alice", "app", k);
  EXPECT_EQ(q->limit, 1);
  EXPECT_EQ(q->user_tag, "alice");
  EXPECT_EQ(q->client_tag, "app");
  // Another user falls through to the defaults; another key has none.
  EXPECT_EQ(resolve_quota(m, "bob", "app", k)->limit, 4);
  EXPECT_EQ(resolve_quota(m, "bob", "other", k)->limit, 5);
  EXPECT_FALSE(resolve_quota(m, "alice", "app", kConsumerByteRate));
}

TEST(ClusterClientQuotas, ControllerAltersInOneBatch) {
  Cluster c;
  std::vector<QuotaAlteration> entries(3);
  entries[0].entity = {{"user", "alice"}};
  entries[0].ops = {{kProducerByteRate, 1024}, {kConsumerByteRate, 2048}};
  entries[1].entity = {{"user", "bob"}};
  entries[1].ops = {{"bogus", 1}};
  entries[2].entity = {{"client-id", std::nullopt}};
  entries[2].ops = {{kProducerByteRate, 10}};
  auto dry = run(c.io, c.controller->alter_client_quotas(entries, true));
  ASSERT_EQ(dry.size(), 3u);
  EXPECT_EQ(dry[0].error, ErrorCode::NONE);
  EXPECT_EQ(dry[1].error, ErrorCode::INVALID_REQUEST);
  EXPECT_TRUE(c.image->client_quotas.empty());  // validate_only writes nothing
  auto res = run(c.io, c.controller->alter_client_quotas(entries, false));
  EXPECT_EQ(res[0].error, ErrorCode::NONE);
  EXPECT_EQ(res[1].error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(res[2].error, ErrorCode::NONE);
  ASSERT_EQ(c.image->client_quotas.size(), 2u);
  EXPECT_EQ(c.image->client_quotas.at(QuotaEntity{{"user", "alice"}}).at(kConsumerByteRate), 2048);
  // Removal; a key named twice in one entry is refused.
  std::vector<QuotaAlteration> more(2);
  more[0].entity = {{"client-id", std::nullopt}};
  more[0].ops = {{kProducerByteRate, 0, true}};
  more[1].entity = {{"user", "alice"}};
  more[1].ops = {{kProducerByteRate, 1}, {kProducerByteRate, 2}};
  res = run(c.io, c.controller->alter_client_quotas(more, false));
  EXPECT_EQ(res[0].error, ErrorCode::NONE);
  EXPECT_EQ(res[1].error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(c.image->client_quotas.size(), 1u);
}

}  // namespace
}  // namespace samsa::cluster
