#include "cluster/scram_credentials.h"

#include <algorithm>

namespace samsa::cluster {

namespace k = protocol::kraft;

const char* scram_mechanism_text(int8_t mechanism) {
  if (mechanism == kScramSha256) return "SCRAM-SHA-256";
  if (mechanism == kScramSha512) return "SCRAM-SHA-512";
  return "";
}

int8_t scram_mechanism_type(const std::string& name) {
  if (name == "SCRAM-SHA-256") return kScramSha256;
  if (name == "SCRAM-SHA-512") return kScramSha512;
  return 0;
}

namespace {

bool known(int8_t mechanism) { return mechanism == kScramSha256 || mechanism == kScramSha512; }

ScramCredentialMap& mutable_table(std::shared_ptr<const ScramCredentialMap>& table) {
  if (!table) table = std::make_shared<ScramCredentialMap>();
  else if (table.use_count() != 1) table = std::make_shared<ScramCredentialMap>(*table);
  return const_cast<ScramCredentialMap&>(*table);
}

}  // namespace

void apply_scram_record(std::shared_ptr<const ScramCredentialMap>& table, const k::UserScramCredentialRecord& r) {
  if (r.name.empty() || !known(r.mechanism)) return;
  mutable_table(table)[{r.name, r.mechanism}] = {r.salt, r.stored_key, r.server_key, r.iterations};
}

void apply_scram_record(std::shared_ptr<const ScramCredentialMap>& table,
                        const k::RemoveUserScramCredentialRecord& r) {
  if (!table || !table->contains({r.name, r.mechanism})) return;
  mutable_table(table).erase({r.name, r.mechanism});
}

std::vector<k::UserScramCredentialRecord> scram_records(const ScramCredentialMap& table) {
  std::vector<k::UserScramCredentialRecord> out;
  out.reserve(table.size());
  for (auto& [key, c] : table) {
    auto& r = out.emplace_back();
    r.name = key.first;
    r.mechanism = key.second;
    r.salt = c.salt;
    r.stored_key = c.stored_key;
    r.server_key = c.server_key;
    r.iterations = c.iterations;
  }
  return out;
}

ScramPlan plan_scram_alteration(const ScramCredentialMap& table, const ScramAlteration& req) {
  ScramPlan plan;
  // Users in first-seen order, each with its first error.
  std::vector<std::string> users;
  std::map<std::string, ScramUserResult> verdict;
  std::map<std::pair<std::string, int8_t>, int> seen;
  auto note = [&](const std::string& user) {
    if (verdict.emplace(user, ScramUserResult{user, ErrorCode::NONE, {}}).second) users.push_back(user);
  };
  auto refuse = [&](const std::string& user, ErrorCode e, std::string msg) {
    auto& v = verdict[user];
    if (v.error == ErrorCode::NONE) v = {user, e, std::move(msg)};
  };
  for (auto& d : req.deletions) ++seen[{d.name, d.mechanism}];
  for (auto& u : req.upsertions) ++seen[{u.name, u.mechanism}];
  auto common = [&](const std::string& name, int8_t mechanism) {
    note(name);
    if (name.empty()) refuse(name, ErrorCode::UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
    else if (!known(mechanism)) refuse(name, ErrorCode::UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
    else if (seen[{name, mechanism}] > 1)
      refuse(name, ErrorCode::DUPLICATE_RESOURCE, "A user credential cannot be altered twice in the same request");
  };
  for (auto& d : req.deletions) {
    common(d.name, d.mechanism);
    if (known(d.mechanism) && !table.contains({d.name, d.mechanism}))
      refuse(d.name, ErrorCode::RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist");
  }
  for (auto& u : req.upsertions) {
    common(u.name, u.mechanism);
    if (u.iterations < kScramMinIterationCount) refuse(u.name, ErrorCode::UNACCEPTABLE_CREDENTIAL, "Too few iterations");
    else if (u.iterations > kScramMaxIterationCount)
      refuse(u.name, ErrorCode::UNACCEPTABLE_CREDENTIAL, "Too many iterations");
    else if (u.salt.empty() || u.salted_password.empty() || u.stored_key.empty() || u.server_key.empty())
      refuse(u.name, ErrorCode::UNACCEPTABLE_CREDENTIAL, "A salt and a salted password are required");
  }
  for (auto& d : req.deletions) {
    if (verdict[d.name].error != ErrorCode::NONE) continue;
    k::RemoveUserScramCredentialRecord r;
    r.name = d.name;
    r.mechanism = d.mechanism;
    plan.records.emplace_back(std::move(r));
  }
  for (auto& u : req.upsertions) {
    if (verdict[u.name].error != ErrorCode::NONE) continue;
    k::UserScramCredentialRecord r;
    r.name = u.name;
    r.mechanism = u.mechanism;
    r.salt = u.salt;
    r.stored_key = u.stored_key;
    r.server_key = u.server_key;
    r.iterations = u.iterations;
    plan.records.emplace_back(std::move(r));
  }
  for (auto& u : users) plan.results.push_back(verdict[u]);
  return plan;
}

}  // namespace samsa::cluster
