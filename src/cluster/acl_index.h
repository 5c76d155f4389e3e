// AclIndex: the ACL bindings of the metadata image, by id (for the remove
// records) and by resource pattern (for the authorizer). A lookup for one
// resource visits only what can apply to it: the literal name, the literal
// wildcard "*", and the prefixed patterns of each prefix length in use for
// that resource type (a handful of map lookups, not a scan of every ACL).
//
// Copy on write like the image's topic tables: the maps are SharedMaps, so a
// new index (one per ACL change) shares every bucket it does not touch with
// the previous one. The image holds the index by shared_ptr<const>, so an
// image change that touches no ACL copies one pointer.
//
// A published index is immutable and read from any thread; one being built
// belongs to the metadata loader (shard 0) until it is published.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/acl.h"
#include "cluster/shared_map.h"

namespace samsa::cluster {

struct AclIdHash {
  size_t operator()(const protocol::Uuid& u) const noexcept {
    uint64_t h = 1469598103934665603ull;
    for (auto b : u) h = (h ^ b) * 1099511628211ull;
    return h;
  }
};

struct AclResourceKey {
  ResourceType type = ResourceType::UNKNOWN;
  PatternType pattern = PatternType::LITERAL;
  std::string name;
  auto operator<=>(const AclResourceKey&) const = default;
  bool operator==(const AclResourceKey&) const = default;
};
struct AclResourceKeyHash {
  size_t operator()(const AclResourceKey& k) const noexcept {
    return std::hash<std::string>{}(k.name) * 31 + static_cast<size_t>(k.type) * 7 + static_cast<size_t>(k.pattern);
  }
};

class AclIndex {
 public:
  size_t size() const { return by_id_.size(); }
  bool empty() const { return by_id_.empty(); }
  const AclBinding* find(const protocol::Uuid& id) const { return by_id_.find(id); }
  // True when an identical binding is stored (Kafka stores a binding once).
  bool contains(const AclBinding& b) const;

  // Adds (or replaces) the binding with this id.
  void add(const protocol::Uuid& id, const AclBinding& b);
  // Removes the binding with this id; false when there is none.
  bool remove(const protocol::Uuid& id);

  // fn(const protocol::Uuid&, const AclBinding&) for every binding.
  template <typename F>
  void for_each(F&& fn) const {
    by_id_.for_each(fn);
  }

  // fn(const StoredAcl&) for every binding whose pattern covers the resource
  // `name` of type `type`: LITERAL `name`, LITERAL "*", PREFIXED p with `name`
  // starting with p.
  template <typename F>
  void for_each_applicable(ResourceType type, std::string_view name, F&& fn) const {
    visit(AclResourceKey{type, PatternType::LITERAL, std::string(name)}, fn);
    if (name != kWildcardResource) visit(AclResourceKey{type, PatternType::LITERAL, std::string(kWildcardResource)}, fn);
    for (auto it = prefix_lengths_.lower_bound({type, 0}); it != prefix_lengths_.end() && it->first.first == type; ++it) {
      size_t len = it->first.second;
      if (len > name.size()) break;
      visit(AclResourceKey{type, PatternType::PREFIXED, std::string(name.substr(0, len))}, fn);
    }
  }

  // fn(const StoredAcl&) for every binding of resource type `type`.
  template <typename F>
  void for_each_of_type(ResourceType type, F&& fn) const {
    by_resource_.for_each([&](const AclResourceKey& k, const std::vector<StoredAcl>& v) {
      if (k.type == type)
        for (auto& a : v) fn(a);
    });
  }

 private:
  template <typename F>
  void visit(const AclResourceKey& key, F& fn) const {
    if (auto* v = by_resource_.find(key))
      for (auto& a : *v) fn(a);
  }

  SharedMap<protocol::Uuid, AclBinding, AclIdHash> by_id_;
  SharedMap<AclResourceKey, std::vector<StoredAcl>, AclResourceKeyHash> by_resource_;
  // (resource type, length of a PREFIXED name) -> how many resource patterns have it.
  std::map<std::pair<ResourceType, size_t>, size_t> prefix_lengths_;
};

}  // namespace samsa::cluster
