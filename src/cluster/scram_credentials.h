// SCRAM credentials in the metadata log (KIP-554 under KRaft): the image's
// table of credentials, UserScramCredentialRecord (metadata record 11) and
// RemoveUserScramCredentialRecord (22) and their effect on it, the records a
// snapshot carries, and the controller's checks of an
// AlterUserScramCredentials request (Kafka's ScramControlManager).
//
// The table holds what Kafka stores: salt, StoredKey, ServerKey, iterations;
// never a password. Deriving StoredKey / ServerKey from the client's salted
// password needs HMAC, which lives in net/scram.h: the caller (server/) does it.
//
// Pure functions over values; any thread. The table being changed belongs to
// an image that is not published yet (the loader's, shard 0).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/error_code.h"
#include "protocol/kraft/remove_user_scram_credential_record.h"
#include "protocol/kraft/user_scram_credential_record.h"

namespace samsa::cluster {

// Kafka's ScramMechanism types.
inline constexpr int8_t kScramSha256 = 1;
inline constexpr int8_t kScramSha512 = 2;
// "SCRAM-SHA-256" / "SCRAM-SHA-512" for the two types, "" for anything else.
const char* scram_mechanism_text(int8_t mechanism);
// The type of a mechanism name, 0 (Kafka's UNKNOWN) for anything else.
int8_t scram_mechanism_type(const std::string& name);

// Kafka's bounds on a credential's iterations (ScramMechanism.minIterations;
// the upper one keeps a login from burning seconds of CPU).
inline constexpr int32_t kScramMinIterationCount = 4096;
inline constexpr int32_t kScramMaxIterationCount = 16384;

struct StoredScramCredential {
  std::vector<uint8_t> salt;
  std::vector<uint8_t> stored_key;
  std::vector<uint8_t> server_key;
  int32_t iterations = 0;
  bool operator==(const StoredScramCredential&) const = default;
};
// (user, mechanism type) -> credential.
using ScramCredentialMap = std::map<std::pair<std::string, int8_t>, StoredScramCredential>;

// Applies a record to the image's table: a copy is made first when `table` is
// shared with a published image (null: an empty table is made). A record of
// an unknown mechanism or an empty name is ignored.
void apply_scram_record(std::shared_ptr<const ScramCredentialMap>& table,
                        const protocol::kraft::UserScramCredentialRecord& r);
void apply_scram_record(std::shared_ptr<const ScramCredentialMap>& table,
                        const protocol::kraft::RemoveUserScramCredentialRecord& r);
// The records that rebuild `table` from an empty image (for a snapshot).
std::vector<protocol::kraft::UserScramCredentialRecord> scram_records(const ScramCredentialMap& table);

// One AlterUserScramCredentials request. An upsertion's keys are derived from
// its salted password by the caller before the controller sees it (empty
// when its mechanism is unknown: that upsertion is refused anyway).
struct ScramDeletion {
  std::string name;
  int8_t mechanism = 0;
};
struct ScramUpsertion {
  std::string name;
  int8_t mechanism = 0;
  int32_t iterations = 0;
  std::vector<uint8_t> salt;
  std::vector<uint8_t> salted_password;
  std::vector<uint8_t> stored_key;
  std::vector<uint8_t> server_key;
};
struct ScramAlteration {
  std::vector<ScramDeletion> deletions;
  std::vector<ScramUpsertion> upsertions;
};
struct ScramUserResult {
  std::string user;
  ErrorCode error = ErrorCode::NONE;
  std::string message;
};
// The outcome of a request against `table`, as Kafka's controller decides it:
// one result per user named, in first-seen order (deletions, then
// upsertions). A user named twice for the same mechanism is refused with
// DUPLICATE_RESOURCE; an empty name or out-of-bounds iterations with
// UNACCEPTABLE_CREDENTIAL; an unknown mechanism with UNSUPPORTED_SASL_MECHANISM;
// deleting a credential that does not exist with RESOURCE_NOT_FOUND. A user
// with any refused change gets no record at all; `records` gets the others'.
struct ScramPlan {
  std::vector<ScramUserResult> results;
  std::vector<std::variant<protocol::kraft::UserScramCredentialRecord,
                           protocol::kraft::RemoveUserScramCredentialRecord>>
      records;
};
ScramPlan plan_scram_alteration(const ScramCredentialMap& table, const ScramAlteration& req);

}  // namespace samsa::cluster
