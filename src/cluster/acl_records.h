// ACL bindings <-> the metadata log's ACL records (AccessControlEntryRecord,
// type 18; RemoveAccessControlEntryRecord, type 19) and their effect on the
// image's AclIndex. Pure functions; the index being changed belongs to an
// image that is not published yet (the loader's, shard 0).
#pragma once
#include <memory>
#include <vector>

#include "cluster/acl.h"
#include "cluster/acl_index.h"
#include "protocol/kraft/access_control_entry_record.h"
#include "protocol/kraft/remove_access_control_entry_record.h"

namespace samsa::cluster {

protocol::kraft::AccessControlEntryRecord acl_record(const protocol::Uuid& id, const AclBinding& b);
AclBinding binding_of(const protocol::kraft::AccessControlEntryRecord& r);

// Applies a record to the image's index: a copy is made first when `acls` is
// shared with a published image (null: an empty index is made).
void apply_acl_record(std::shared_ptr<const AclIndex>& acls, const protocol::kraft::AccessControlEntryRecord& r);
void apply_acl_record(std::shared_ptr<const AclIndex>& acls,
                      const protocol::kraft::RemoveAccessControlEntryRecord& r);

// The records that rebuild `acls` from an empty image (for a snapshot of the image).
std::vector<protocol::kraft::AccessControlEntryRecord> acl_records(const AclIndex& acls);

}  // namespace samsa::cluster
