// The voter sets of a dynamic quorum (KIP-853) as the Raft core tracks them:
// the set it started from (RaftConfig::voters / voters_record: the static
// controller.quorum.voters, or the VotersRecord of the bootstrap checkpoint or
// snapshot the log continues) and every VotersRecord control batch of its log
// by offset. KIP-853's rule: a replica uses the newest voter set in its log
// from the moment the record is appended (committed or not); a truncation
// below a record brings the previous set back.
//
// Threads: owned by one RaftCore (its thread).
#pragma once
#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/types.h"
#include "protocol/kraft/records.h"

namespace samsa::raft {

struct VoterSet {
  std::vector<NodeId> ids;  // sorted, unique
  // The record the set came from (nullopt: a static quorum, ids only).
  std::optional<protocol::kraft::VotersRecord> record;

  static VoterSet from_record(protocol::kraft::VotersRecord rec) {
    VoterSet s;
    for (auto& v : rec.voters) s.ids.push_back(NodeId(v.voter_id));
    std::sort(s.ids.begin(), s.ids.end());
    s.ids.erase(std::unique(s.ids.begin(), s.ids.end()), s.ids.end());
    s.record = std::move(rec);
    return s;
  }
  bool contains(NodeId id) const { return std::binary_search(ids.begin(), ids.end(), id); }
  // The voter's entry in the record, if any.
  const protocol::kraft::VotersRecord::Voter* voter(NodeId id) const {
    if (!record) return nullptr;
    for (auto& v : record->voters)
      if (v.voter_id == id.value) return &v;
    return nullptr;
  }
};

class VoterHistory {
 public:
  void reset(VoterSet base) {
    base_ = std::move(base);
    sets_.clear();
    ++version_;
  }
  // A VotersRecord at `offset` of the log (appended in offset order).
  void add(Offset offset, VoterSet set) {
    sets_[offset.value] = std::move(set);
    ++version_;
  }
  // The log lost everything from `end` on.
  void truncate_from(Offset end) {
    auto it = sets_.lower_bound(end.value);
    if (it == sets_.end()) return;
    sets_.erase(it, sets_.end());
    ++version_;
  }
  // The log now starts at `start` (a snapshot covers what is below): the
  // newest set below it becomes the base.
  void compact_below(Offset start) {
    auto it = sets_.lower_bound(start.value);
    if (it == sets_.begin()) return;
    base_ = std::prev(it)->second;
    sets_.erase(sets_.begin(), it);
  }
  // The newest set appended below `end` (the base when none is).
  const VoterSet& at(Offset end) const {
    auto it = sets_.lower_bound(end.value);
    return it == sets_.begin() ? base_ : std::prev(it)->second;
  }
  const VoterSet& latest() const { return sets_.empty() ? base_ : sets_.rbegin()->second; }
  // Where the newest set was appended; nullopt when it is the base.
  std::optional<Offset> latest_offset() const {
    if (sets_.empty()) return std::nullopt;
    return Offset(sets_.rbegin()->first);
  }
  // Bumped whenever latest() may have changed (drivers refresh their peers).
  uint64_t version() const { return version_; }

 private:
  VoterSet base_;
  std::map<int64_t, VoterSet> sets_;
  uint64_t version_ = 0;
};

}  // namespace samsa::raft
