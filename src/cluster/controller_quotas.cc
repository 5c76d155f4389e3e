// The controller's client quotas (Kafka's ClientQuotaControlManager):
// AlterClientQuotas becomes ClientQuotaRecords, one batch per request. Each
// entry is validated on its own (entity, then every op); a valid entry's
// changes are proposed, an invalid one changes nothing. Runs on shard 0 like
// the rest of the Controller.
#include "cluster/commit_results.h"
#include "cluster/controller.h"

namespace samsa::cluster {

asio::awaitable<std::vector<OpResult>> Controller::alter_client_quotas(std::vector<QuotaAlteration> entries,
                                                                       bool validate_only) {
  co_await queue_.acquire();
  OpQueue::Turn turn(queue_);
  image_ = loader_.image();
  std::vector<OpResult> out(entries.size());
  size_t ops = 0;
  for (auto& e : entries) ops += e.ops.size();
  if (static_cast<int64_t>(ops) > kMaxRecordsPerOp) {
    for (auto& r : out) r = {ErrorCode::POLICY_VIOLATION, kExcessiveBatchMessage, {}};
    co_return out;
  }
  // Later entries of the request see the changes of earlier ones.
  ClientQuotaMap pending = image_->client_quotas;
  std::vector<MetadataRecord> recs;
  for (size_t i = 0; i < entries.size(); ++i) {
    QuotaEntity entity;
    auto err = validate_entity(entries[i].entity, entity);
    for (size_t j = 0; !err && j < entries[i].ops.size(); ++j) {
      const auto& op = entries[i].ops[j];
      err = validate_op(entity, op.key, op.value, op.remove);
      // Kafka refuses an entry naming a key twice.
      for (size_t k = 0; !err && k < j; ++k)
        if (entries[i].ops[k].key == op.key)
          err = QuotaError{ErrorCode::INVALID_REQUEST, "Duplicate quota key " + op.key + " not updating quota for this entity"};
    }
    if (err) {
      out[i] = {err->error, err->message, {}};
      continue;
    }
    for (auto& r : quota_records(pending, entity, entries[i].ops)) {
      apply_quota_record(pending, r);
      recs.push_back(std::move(r));
    }
  }
  if (validate_only || recs.empty()) co_return out;
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  answer_commit(out, committed);
  co_return out;
}

}  // namespace samsa::cluster
