#include "cluster/acl_records.h"

#include <algorithm>

namespace samsa::cluster {

namespace {
// Copy on write, as the image's topics: an index only this unpublished image
// holds is changed in place (a batch of N ACL records costs one copy).
AclIndex& mutable_index(std::shared_ptr<const AclIndex>& acls) {
  if (!acls) acls = std::make_shared<AclIndex>();
  else if (acls.use_count() != 1) acls = std::make_shared<AclIndex>(*acls);
  return const_cast<AclIndex&>(*acls);
}
}  // namespace

protocol::kraft::AccessControlEntryRecord acl_record(const protocol::Uuid& id, const AclBinding& b) {
  protocol::kraft::AccessControlEntryRecord r;
  r.id = id;
  copy_binding(b, r);
  return r;
}

AclBinding binding_of(const protocol::kraft::AccessControlEntryRecord& r) { return read_binding(r); }

void apply_acl_record(std::shared_ptr<const AclIndex>& acls, const protocol::kraft::AccessControlEntryRecord& r) {
  mutable_index(acls).add(r.id, binding_of(r));
}

void apply_acl_record(std::shared_ptr<const AclIndex>& acls,
                      const protocol::kraft::RemoveAccessControlEntryRecord& r) {
  if (!acls || !acls->find(r.id)) return;
  mutable_index(acls).remove(r.id);
}

std::vector<protocol::kraft::AccessControlEntryRecord> acl_records(const AclIndex& acls) {
  std::vector<protocol::kraft::AccessControlEntryRecord> out;
  out.reserve(acls.size());
  acls.for_each([&](const protocol::Uuid& id, const AclBinding& b) { out.push_back(acl_record(id, b)); });
  // By id, so two nodes write the same records for the same index.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

}  // namespace samsa::cluster
