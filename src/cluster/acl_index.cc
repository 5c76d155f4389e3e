#include "cluster/acl_index.h"

#include <algorithm>

namespace samsa::cluster {

namespace {
AclResourceKey key_of(const AclBinding& b) { return {b.resource_type, b.pattern_type, b.resource_name}; }
}  // namespace

bool AclIndex::contains(const AclBinding& b) const {
  auto* v = by_resource_.find(key_of(b));
  return v && std::any_of(v->begin(), v->end(), [&](const StoredAcl& a) { return a.binding == b; });
}

void AclIndex::add(const protocol::Uuid& id, const AclBinding& b) {
  remove(id);
  by_id_.set(id, b);
  auto key = key_of(b);
  std::vector<StoredAcl> acls;
  if (auto* v = by_resource_.find(key)) acls = *v;
  // A new resource pattern: its prefix length starts being looked up.
  else if (b.pattern_type == PatternType::PREFIXED) ++prefix_lengths_[{b.resource_type, b.resource_name.size()}];
  acls.push_back(StoredAcl{id, b});
  by_resource_.set(key, std::move(acls));
}

bool AclIndex::remove(const protocol::Uuid& id) {
  auto* b = by_id_.find(id);
  if (!b) return false;
  auto key = key_of(*b);
  by_id_.erase(id);
  auto* v = by_resource_.find(key);
  if (!v) return true;
  std::vector<StoredAcl> rest;
  for (auto& a : *v)
    if (a.id != id) rest.push_back(a);
  if (!rest.empty()) {
    by_resource_.set(key, std::move(rest));
    return true;
  }
  by_resource_.erase(key);
  if (key.pattern == PatternType::PREFIXED) {
    auto it = prefix_lengths_.find({key.type, key.name.size()});
    if (it != prefix_lengths_.end() && --it->second == 0) prefix_lengths_.erase(it);
  }
  return true;
}

}  // namespace samsa::cluster
