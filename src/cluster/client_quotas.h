// Client quotas (KIP-546 and Kafka's quota docs): the entities (user,
// client-id, ip; a null name is the type's default entity), the keys Kafka
// knows and how it validates them, the image's table of quotas, the
// ClientQuotaRecord (metadata record 14) and its effect on that table,
// DescribeClientQuotas' filters, and the precedence that picks the quota of a
// (user, client-id) pair.
//
// Pure functions over values; any thread. The table being changed belongs to
// an image that is not published yet (the loader's, shard 0).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error_code.h"
#include "protocol/kraft/client_quota_record.h"

namespace samsa::cluster {

inline constexpr const char* kUserEntity = "user";
inline constexpr const char* kClientIdEntity = "client-id";
inline constexpr const char* kIpEntity = "ip";

inline constexpr const char* kProducerByteRate = "producer_byte_rate";
inline constexpr const char* kConsumerByteRate = "consumer_byte_rate";
inline constexpr const char* kRequestPercentage = "request_percentage";
inline constexpr const char* kControllerMutationRate = "controller_mutation_rate";
inline constexpr const char* kConnectionCreationRate = "connection_creation_rate";

// An entity: its components by type (sorted, each type once); nullopt = default.
using QuotaEntity = std::map<std::string, std::optional<std::string>>;
using QuotaValues = std::map<std::string, double>;
using ClientQuotaMap = std::map<QuotaEntity, QuotaValues>;
using EntityComponents = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct QuotaError {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
};

// The entity of an AlterClientQuotas entry, or Kafka's INVALID_REQUEST for an
// empty one, a repeated or unknown type, an ip mixed with user / client-id or
// an ip name that is not an address.
std::optional<QuotaError> validate_entity(const EntityComponents& components, QuotaEntity& out);
// One op: the key must belong to the entity's types, a set value must be > 0
// (and whole for the byte rates and connection_creation_rate).
std::optional<QuotaError> validate_op(const QuotaEntity& entity, const std::string& key, double value, bool remove);

// Records that make `entity`'s quotas those after `ops`: one per key whose
// value changes (a removal of an unset key writes nothing).
struct QuotaOp {
  std::string key;
  double value = 0;
  bool remove = false;
};
std::vector<protocol::kraft::ClientQuotaRecord> quota_records(const ClientQuotaMap& current, const QuotaEntity& entity,
                                                              const std::vector<QuotaOp>& ops);

protocol::kraft::ClientQuotaRecord quota_record(const QuotaEntity& entity, const std::string& key, double value,
                                                bool remove);
// Applies a record to the image's table (a malformed entity is ignored).
void apply_quota_record(ClientQuotaMap& quotas, const protocol::kraft::ClientQuotaRecord& r);
// The records that rebuild `quotas` from an empty image (for a snapshot).
std::vector<protocol::kraft::ClientQuotaRecord> quota_records(const ClientQuotaMap& quotas);

// A DescribeClientQuotas filter component: match_type 0 EXACT, 1 DEFAULT, 2 SPECIFIED.
struct QuotaFilterComponent {
  std::string entity_type;
  int8_t match_type = 0;
  std::optional<std::string> match;
};
struct QuotaFilter {
  std::map<std::string, std::optional<std::string>> exact;  // type -> name (nullopt: the default)
  std::vector<std::string> specified;                       // types with any non-default name
  bool strict = false;
  bool matches(const QuotaEntity& e) const;
};
// The filter, or Kafka's INVALID_REQUEST for a bad one.
std::optional<QuotaError> make_filter(const std::vector<QuotaFilterComponent>& components, bool strict, QuotaFilter& out);

// Which quota applies to a (user, client-id) for `key`, in Kafka's order:
// user+client-id, user+default client-id, user, default user+client-id,
// default user+default client-id, default user, client-id, default client-id.
// `user_tag` / `client_tag` name the clients that share it (Kafka's metric
// tags): the user when the matching entity has a user part (named or
// default), the client id when it has a client-id part, else "".
struct QuotaMatch {
  double limit = 0;
  std::string user_tag;
  std::string client_tag;
};
std::optional<QuotaMatch> resolve_quota(const ClientQuotaMap& quotas, const std::string& user,
                                        const std::string& client_id, const std::string& key);

}  // namespace samsa::cluster
