// The controller's SCRAM credentials (Kafka's ScramControlManager):
// AlterUserScramCredentials becomes UserScramCredentialRecords and
// RemoveUserScramCredentialRecords, one batch per request, as
// plan_scram_alteration (scram_credentials.h) decides. Runs on shard 0 like
// the rest of the Controller.
#include <algorithm>

#include "cluster/controller.h"

namespace samsa::cluster {

asio::awaitable<std::vector<ScramUserResult>> Controller::alter_user_scram_credentials(ScramAlteration req) {
  co_await queue_.acquire();
  OpQueue::Turn turn(queue_);
  image_ = loader_.image();
  std::vector<ScramUserResult> out;
  if (static_cast<int64_t>(req.deletions.size() + req.upsertions.size()) > kMaxRecordsPerOp) {
    std::vector<std::string> users;
    for (auto& d : req.deletions) users.push_back(d.name);
    for (auto& u : req.upsertions) users.push_back(u.name);
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());
    for (auto& u : users) out.push_back({u, ErrorCode::POLICY_VIOLATION, kExcessiveBatchMessage});
    co_return out;
  }
  static const ScramCredentialMap kEmpty;
  auto plan = plan_scram_alteration(image_->scram ? *image_->scram : kEmpty, req);
  out = std::move(plan.results);
  if (plan.records.empty()) co_return out;
  std::vector<MetadataRecord> recs;
  recs.reserve(plan.records.size());
  for (auto& r : plan.records) std::visit([&](auto& rec) { recs.emplace_back(std::move(rec)); }, r);
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  if (committed.error != ErrorCode::NONE)
    for (auto& r : out)
      if (r.error == ErrorCode::NONE) r = {r.user, committed.error, committed.message};
  co_return out;
}

}  // namespace samsa::cluster
