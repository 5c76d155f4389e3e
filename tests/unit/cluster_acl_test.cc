// The authorizer's semantics (Kafka's StandardAuthorizer): literal, wildcard
// and prefixed patterns, deny wins, wildcard principal and host, operations
// that imply DESCRIBE / DESCRIBE_CONFIGS (for ALLOW only), super users,
// allow.everyone.if.no.acl.found, KIP-679's by-resource-type check and the
// authorized-operations field; the ACL records applied to an image (copy on
// write, survive a replay), filters as DescribeAcls/DeleteAcls match them.
#include <gtest/gtest.h>

#include "cluster/acl_authorizer.h"
#include "cluster/acl_records.h"
#include "cluster/metadata_records.h"

namespace samsa::cluster {
namespace {

using Op = AclOperation;

protocol::Uuid id_of(uint8_t b) {
  protocol::Uuid u{};
  u[15] = b;
  u[0] = 0x42;
  return u;
}

AclBinding acl(ResourceType type, std::string name, PatternType pattern, std::string principal, Op op,
               AclPermission perm = AclPermission::ALLOW, std::string host = "*") {
  return AclBinding{type, std::move(name), pattern, std::move(principal), std::move(host), op, perm};
}
AclBinding topic_acl(std::string name, std::string principal, Op op, AclPermission perm = AclPermission::ALLOW,
                     PatternType pattern = PatternType::LITERAL, std::string host = "*") {
  return acl(ResourceType::TOPIC, std::move(name), pattern, std::move(principal), op, perm, std::move(host));
}

class AuthorizerTest : public ::testing::Test {
 protected:
  void add(const AclBinding& b) { index.add(id_of(next++), b); }
  bool may(std::string_view principal, Op op, std::string_view topic, std::string_view host = "10.0.0.1") const {
    return authz.authorize(index, {principal, host}, op, ResourceType::TOPIC, topic);
  }
  AclIndex index;
  Authorizer authz{AuthorizerConfig{}};
  uint8_t next = 1;
};

TEST_F(AuthorizerTest, NothingIsAllowedWithoutAnAcl) {
  EXPECT_FALSE(may("User:alice", Op::READ, "t"));
  Authorizer open{AuthorizerConfig{{}, true}};
  EXPECT_TRUE(open.authorize(index, {"User:alice", "h"}, Op::READ, ResourceType::TOPIC, "t"));
}

TEST_F(AuthorizerTest, LiteralAclAllowsOnlyItsResourcePrincipalAndOperation) {
  add(topic_acl("orders", "User:alice", Op::READ));
  EXPECT_TRUE(may("User:alice", Op::READ, "orders"));
  EXPECT_FALSE(may("User:alice", Op::WRITE, "orders"));
  EXPECT_FALSE(may("User:bob", Op::READ, "orders"));
  EXPECT_FALSE(may("User:alice", Op::READ, "orders2"));
  EXPECT_FALSE(may("User:alice", Op::READ, "order"));
}

TEST_F(AuthorizerTest, AllowEveryoneAppliesOnlyToResourcesWithoutAcls) {
  Authorizer open{AuthorizerConfig{{}, true}};
  add(topic_acl("orders", "User:alice", Op::READ));
  // An ACL on the resource (for someone else) means no default allow for bob.
  EXPECT_FALSE(open.authorize(index, {"User:bob", "h"}, Op::READ, ResourceType::TOPIC, "orders"));
  EXPECT_TRUE(open.authorize(index, {"User:bob", "h"}, Op::READ, ResourceType::TOPIC, "other"));
}

TEST_F(AuthorizerTest, PrefixedAclCoversNamesStartingWithIt) {
  add(topic_acl("fin-", "User:alice", Op::WRITE, AclPermission::ALLOW, PatternType::PREFIXED));
  EXPECT_TRUE(may("User:alice", Op::WRITE, "fin-"));
  EXPECT_TRUE(may("User:alice", Op::WRITE, "fin-payments"));
  EXPECT_FALSE(may("User:alice", Op::WRITE, "fi"));
  EXPECT_FALSE(may("User:alice", Op::WRITE, "finance"));
  // Several prefix lengths at once.
  add(topic_acl("f", "User:bob", Op::READ, AclPermission::ALLOW, PatternType::PREFIXED));
  add(topic_acl("fin-payments-eu", "User:carol", Op::READ, AclPermission::ALLOW, PatternType::PREFIXED));
  EXPECT_TRUE(may("User:bob", Op::READ, "fin-payments-eu-1"));
  EXPECT_TRUE(may("User:carol", Op::READ, "fin-payments-eu-1"));
  EXPECT_FALSE(may("User:carol", Op::READ, "fin-payments-us"));
}

TEST_F(AuthorizerTest, DenyWinsOverAllow) {
  add(topic_acl("*", "User:*", Op::ALL));
  add(topic_acl("secret", "User:alice", Op::READ, AclPermission::DENY));
  EXPECT_FALSE(may("User:alice", Op::READ, "secret"));
  EXPECT_TRUE(may("User:alice", Op::WRITE, "secret"));  // a DENY covers only its own operation
  EXPECT_TRUE(may("User:bob", Op::READ, "secret"));
  // A prefixed deny wins over a literal allow.
  add(topic_acl("pay", "User:bob", Op::ALL, AclPermission::DENY, PatternType::PREFIXED));
  add(topic_acl("payments", "User:bob", Op::READ));
  EXPECT_FALSE(may("User:bob", Op::READ, "payments"));
  EXPECT_FALSE(may("User:bob", Op::DESCRIBE, "payments"));
}

TEST_F(AuthorizerTest, DenyOfReadDoesNotDenyDescribe) {
  add(topic_acl("t", "User:alice", Op::DESCRIBE));
  add(topic_acl("t", "User:alice", Op::READ, AclPermission::DENY));
  EXPECT_TRUE(may("User:alice", Op::DESCRIBE, "t"));
  EXPECT_FALSE(may("User:alice", Op::READ, "t"));
}

TEST_F(AuthorizerTest, WildcardPrincipalAndHost) {
  add(topic_acl("t", "User:*", Op::READ, AclPermission::ALLOW, PatternType::LITERAL, "10.0.0.1"));
  EXPECT_TRUE(may("User:anyone", Op::READ, "t", "10.0.0.1"));
  EXPECT_FALSE(may("User:anyone", Op::READ, "t", "10.0.0.2"));
  add(topic_acl("t", "User:mallory", Op::READ, AclPermission::DENY, PatternType::LITERAL, "*"));
  EXPECT_FALSE(may("User:mallory", Op::READ, "t", "10.0.0.1"));
}

TEST_F(AuthorizerTest, OperationsImplyDescribeForAllowOnly) {
  for (Op op : {Op::READ, Op::WRITE, Op::DELETE, Op::ALTER}) {
    AclIndex fresh;
    fresh.add(id_of(1), topic_acl("t", "User:a", op));
    EXPECT_TRUE(authz.authorize(fresh, {"User:a", "h"}, Op::DESCRIBE, ResourceType::TOPIC, "t")) << name_of(op);
  }
  AclIndex create_only;
  create_only.add(id_of(1), topic_acl("t", "User:a", Op::CREATE));
  EXPECT_FALSE(authz.authorize(create_only, {"User:a", "h"}, Op::DESCRIBE, ResourceType::TOPIC, "t"));
  AclIndex alter_configs;
  alter_configs.add(id_of(1), topic_acl("t", "User:a", Op::ALTER_CONFIGS));
  EXPECT_TRUE(authz.authorize(alter_configs, {"User:a", "h"}, Op::DESCRIBE_CONFIGS, ResourceType::TOPIC, "t"));
  EXPECT_FALSE(authz.authorize(alter_configs, {"User:a", "h"}, Op::DESCRIBE, ResourceType::TOPIC, "t"));
  // A DENY of WRITE does not deny DESCRIBE that an ALLOW of READ implies.
  AclIndex mixed;
  mixed.add(id_of(1), topic_acl("t", "User:a", Op::READ));
  mixed.add(id_of(2), topic_acl("t", "User:a", Op::WRITE, AclPermission::DENY));
  EXPECT_TRUE(authz.authorize(mixed, {"User:a", "h"}, Op::DESCRIBE, ResourceType::TOPIC, "t"));
}

TEST_F(AuthorizerTest, SuperUsersBypassDenies) {
  std::shared_ptr<const Authorizer> su;
  ASSERT_EQ(Authorizer::make(kStandardAuthorizer, "User:admin; User:ops", "false", su), std::nullopt);
  add(topic_acl("*", "User:*", Op::ALL, AclPermission::DENY));
  EXPECT_TRUE(su->authorize(index, {"User:admin", "h"}, Op::DELETE, ResourceType::TOPIC, "t"));
  EXPECT_TRUE(su->authorize(index, {"User:ops", "h"}, Op::ALTER, ResourceType::CLUSTER, kClusterResourceName));
  EXPECT_FALSE(su->authorize(index, {"User:alice", "h"}, Op::READ, ResourceType::TOPIC, "t"));
}

TEST(AuthorizerConfigTest, ClassNamesAndSettings) {
  std::shared_ptr<const Authorizer> a;
  EXPECT_EQ(Authorizer::make("", "", "", a), std::nullopt);
  EXPECT_EQ(a, nullptr);
  EXPECT_NE(Authorizer::make("kafka.security.authorizer.AclAuthorizer", "", "", a), std::nullopt);
  EXPECT_NE(Authorizer::make(kStandardAuthorizer, "admin", "", a), std::nullopt);  // no principal type
  EXPECT_NE(Authorizer::make(kStandardAuthorizer, "", "maybe", a), std::nullopt);
  ASSERT_EQ(Authorizer::make(kStandardAuthorizer, "", "true", a), std::nullopt);
  EXPECT_TRUE(a->config().allow_everyone_if_no_acl_found);
}

TEST_F(AuthorizerTest, ByResourceTypeAsKip679) {
  EXPECT_FALSE(authz.authorize_any(index, {"User:a", "h"}, Op::WRITE, ResourceType::TOPIC));
  add(topic_acl("logs-", "User:a", Op::WRITE, AclPermission::ALLOW, PatternType::PREFIXED));
  EXPECT_TRUE(authz.authorize_any(index, {"User:a", "h"}, Op::WRITE, ResourceType::TOPIC));
  EXPECT_FALSE(authz.authorize_any(index, {"User:b", "h"}, Op::WRITE, ResourceType::TOPIC));
  // A deny on a shorter prefix covers the allowed prefix.
  add(topic_acl("log", "User:a", Op::WRITE, AclPermission::DENY, PatternType::PREFIXED));
  EXPECT_FALSE(authz.authorize_any(index, {"User:a", "h"}, Op::WRITE, ResourceType::TOPIC));
  add(topic_acl("metrics", "User:a", Op::WRITE));
  EXPECT_TRUE(authz.authorize_any(index, {"User:a", "h"}, Op::WRITE, ResourceType::TOPIC));
  add(topic_acl("*", "User:a", Op::WRITE, AclPermission::DENY));
  EXPECT_FALSE(authz.authorize_any(index, {"User:a", "h"}, Op::WRITE, ResourceType::TOPIC));
}

TEST_F(AuthorizerTest, AuthorizedOperationsField) {
  add(topic_acl("t", "User:a", Op::READ));
  add(topic_acl("t", "User:a", Op::ALTER_CONFIGS));
  int32_t ops = authz.authorized_operations(index, {"User:a", "h"}, ResourceType::TOPIC, "t");
  auto has = [&](Op op) { return (ops >> static_cast<int>(op)) & 1; };
  EXPECT_TRUE(has(Op::READ));
  EXPECT_TRUE(has(Op::DESCRIBE));
  EXPECT_TRUE(has(Op::ALTER_CONFIGS));
  EXPECT_TRUE(has(Op::DESCRIBE_CONFIGS));
  EXPECT_FALSE(has(Op::WRITE));
  EXPECT_FALSE(has(Op::ALL));
  // Without an authorizer Kafka answers every operation the type supports.
  EXPECT_EQ(supported_operations(ResourceType::GROUP),
            (1 << int(Op::READ)) | (1 << int(Op::DESCRIBE)) | (1 << int(Op::DELETE)));
}

TEST(AclFilterTest, MatchesAsKafkasFilters) {
  auto lit = topic_acl("orders", "User:a", Op::READ);
  auto wild = topic_acl("*", "User:a", Op::READ);
  auto pre = topic_acl("ord", "User:a", Op::READ, AclPermission::ALLOW, PatternType::PREFIXED);
  AclFilter any;
  EXPECT_TRUE(any.matches(lit) && any.matches(wild) && any.matches(pre));
  AclFilter exact;
  exact.resource_name = "orders";
  exact.pattern_type = PatternType::LITERAL;
  EXPECT_TRUE(exact.matches(lit));
  EXPECT_FALSE(exact.matches(wild));
  EXPECT_FALSE(exact.matches(pre));
  AclFilter match = exact;
  match.pattern_type = PatternType::MATCH;
  EXPECT_TRUE(match.matches(lit) && match.matches(wild) && match.matches(pre));
  AclFilter by_op;
  by_op.operation = Op::WRITE;
  EXPECT_FALSE(by_op.matches(lit));
  AclFilter unknown;
  unknown.resource_type = ResourceType::UNKNOWN;
  EXPECT_TRUE(unknown.has_unknown());
  EXPECT_EQ(parse_operation("DescribeConfigs"), Op::DESCRIBE_CONFIGS);
  EXPECT_EQ(parse_operation("idempotent_write"), Op::IDEMPOTENT_WRITE);
  EXPECT_EQ(parse_operation("Any"), std::nullopt);
}

TEST(AclBindingTest, InvalidBindingsAreRefused) {
  EXPECT_EQ(invalid_binding(topic_acl("t", "User:a", Op::READ)), std::nullopt);
  EXPECT_NE(invalid_binding(topic_acl("t", "alice", Op::READ)), std::nullopt);
  EXPECT_NE(invalid_binding(topic_acl("", "User:a", Op::READ)), std::nullopt);
  EXPECT_NE(invalid_binding(topic_acl("t", "User:a", Op::ANY)), std::nullopt);
  EXPECT_NE(invalid_binding(topic_acl("t", "User:a", Op::READ, AclPermission::ANY)), std::nullopt);
  EXPECT_NE(invalid_binding(topic_acl("t", "User:a", Op::READ, AclPermission::ALLOW, PatternType::MATCH)), std::nullopt);
  EXPECT_NE(invalid_binding(acl(ResourceType::CLUSTER, "c", PatternType::LITERAL, "User:a", Op::ALTER)), std::nullopt);
  EXPECT_EQ(invalid_binding(acl(ResourceType::CLUSTER, "kafka-cluster", PatternType::LITERAL, "User:a", Op::ALTER)),
            std::nullopt);
}

TEST(AclRecordsTest, AppliedToTheImageCopyOnWriteAndRoundTrip) {
  MetadataImage img;
  auto b = topic_acl("t", "User:a", Op::READ);
  MetadataRecord add = acl_record(id_of(7), b);
  // Through the framed encoding, as the metadata log stores it.
  auto decoded = decode_record(encode_record(add));
  ASSERT_TRUE(decoded.has_value());
  apply_record(img, *decoded);
  ASSERT_EQ(img.acl_index().size(), 1u);
  EXPECT_EQ(*img.acl_index().find(id_of(7)), b);
  // A copy of the image shares the index until an ACL record changes it.
  MetadataImage next = img;
  EXPECT_EQ(next.acls.get(), img.acls.get());
  RemoveAccessControlEntryRecord rm;
  rm.id = id_of(7);
  apply_record(next, rm);
  EXPECT_EQ(next.acl_index().size(), 0u);
  EXPECT_EQ(img.acl_index().size(), 1u);  // the published image did not change
  // Removing an unknown id changes nothing; the snapshot records rebuild the index.
  apply_record(next, rm);
  auto recs = acl_records(img.acl_index());
  ASSERT_EQ(recs.size(), 1u);
  MetadataImage rebuilt;
  apply_record(rebuilt, MetadataRecord(recs[0]));
  EXPECT_TRUE(rebuilt.acl_index().contains(b));
}

TEST(AclIndexTest, PrefixLengthsFollowRemovals) {
  AclIndex idx;
  auto pre = topic_acl("ab", "User:a", Op::READ, AclPermission::ALLOW, PatternType::PREFIXED);
  idx.add(id_of(1), pre);
  idx.add(id_of(2), pre);
  int seen = 0;
  idx.for_each_applicable(ResourceType::TOPIC, "abc", [&](const StoredAcl&) { ++seen; });
  EXPECT_EQ(seen, 2);
  idx.remove(id_of(1));
  idx.remove(id_of(2));
  seen = 0;
  idx.for_each_applicable(ResourceType::TOPIC, "abc", [&](const StoredAcl&) { ++seen; });
  EXPECT_EQ(seen, 0);
  EXPECT_TRUE(idx.empty());
}

}  // namespace
}  // namespace samsa::cluster
