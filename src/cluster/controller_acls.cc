// The controller's ACL operations (Kafka's AclControlManager): CreateAcls and
// DeleteAcls become AccessControlEntryRecord / RemoveAccessControlEntryRecord,
// one batch per request. Runs on shard 0 like the rest of the Controller.
#include <algorithm>
#include <set>

#include "cluster/acl_records.h"
#include "cluster/commit_results.h"
#include "cluster/controller.h"

namespace samsa::cluster {


asio::awaitable<std::vector<OpResult>> Controller::create_acls(std::vector<AclBinding> bindings) {
  co_await queue_.acquire();
  OpQueue::Turn turn(queue_);
  image_ = loader_.image();
  const AclIndex& index = image_->acl_index();
  std::vector<OpResult> out(bindings.size());
  if (static_cast<int64_t>(bindings.size()) > kMaxRecordsPerOp) {
    for (auto& r : out) r = {ErrorCode::POLICY_VIOLATION, kExcessiveBatchMessage, {}};
    co_return out;
  }
  std::vector<MetadataRecord> recs;
  std::vector<AclBinding> pending;
  std::set<Uuid> ids;
  for (size_t i = 0; i < bindings.size(); ++i) {
    const AclBinding& b = bindings[i];
    if (auto err = invalid_binding(b)) {
      out[i] = {ErrorCode::INVALID_REQUEST, *err, {}};
      continue;
    }
    // Kafka stores a binding once: creating it again succeeds and writes nothing.
    if (index.contains(b) || std::find(pending.begin(), pending.end(), b) != pending.end()) continue;
    Uuid id;
    do id = random_uuid();
    while (index.find(id) || ids.contains(id));
    ids.insert(id);
    pending.push_back(b);
    recs.push_back(acl_record(id, b));
  }
  if (recs.empty()) co_return out;
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  answer_commit(out, committed);
  co_return out;
}

asio::awaitable<std::vector<AclDeleteResult>> Controller::delete_acls(std::vector<AclFilter> filters) {
  co_await queue_.acquire();
  OpQueue::Turn turn(queue_);
  image_ = loader_.image();
  const AclIndex& index = image_->acl_index();
  std::vector<AclDeleteResult> out(filters.size());
  std::set<Uuid> removing;  // a binding two filters match is removed once, listed by both
  for (size_t i = 0; i < filters.size(); ++i) {
    const AclFilter& f = filters[i];
    if (f.resource_type == ResourceType::UNKNOWN || f.pattern_type == PatternType::UNKNOWN) {
      out[i] = {to_int(ErrorCode::INVALID_REQUEST), "Unknown patternFilter.", {}};
      continue;
    }
    if (f.operation == AclOperation::UNKNOWN || f.permission == AclPermission::UNKNOWN) {
      out[i] = {to_int(ErrorCode::INVALID_REQUEST), "Unknown entryFilter.", {}};
      continue;
    }
    index.for_each([&](const Uuid& id, const AclBinding& b) {
      if (!f.matches(b)) return;
      out[i].removed.push_back(b);
      removing.insert(id);
    });
  }
  if (static_cast<int64_t>(removing.size()) > kMaxRecordsPerOp) {
    for (auto& r : out)
      if (r.error == 0) r = {to_int(ErrorCode::POLICY_VIOLATION), kExcessiveBatchMessage, {}};
    co_return out;
  }
  if (removing.empty()) co_return out;
  std::vector<MetadataRecord> recs;
  for (auto& id : removing) {
    RemoveAccessControlEntryRecord r;
    r.id = id;
    recs.push_back(std::move(r));
  }
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  if (committed.error != ErrorCode::NONE)
    for (auto& r : out)
      if (r.error == 0) r = {to_int(committed.error), committed.message, {}};
  co_return out;
}

}  // namespace samsa::cluster
