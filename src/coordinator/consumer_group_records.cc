#include "coordinator/consumer_group_records.h"

#include "protocol/wire.h"

namespace samsa::coordinator {

namespace {

using protocol::Reader;
using protocol::Writer;

RecordBytes key_bytes(int16_t type, const std::string& group, const std::string* member = nullptr) {
  Writer w;
  w.i16(type);
  w.string(false, group);
  if (member) w.string(false, *member);
  return std::move(w.buffer());
}

// A value: version 0, then the fields (compact encodings), then the
// tagged-field section (`fields` writes it when it has tags, else it is empty).
template <typename F>
RecordBytes value_bytes(F fields, bool writes_tags = false) {
  Writer w;
  w.i16(0);
  fields(w);
  if (!writes_tags) w.uvarint(0);
  return std::move(w.buffer());
}

bool skip_tags(Reader& r) {
  uint32_t n = r.uvarint();
  if (n > r.remaining()) return false;
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    r.uvarint();
    r.skip(r.uvarint());
  }
  return r.ok();
}

void put_assignment(Writer& w, const Assignment& a) {
  w.array_count(true, static_cast<int64_t>(a.size()));
  for (auto& [t, ps] : a) {
    w.uuid(t);
    w.array_count(true, static_cast<int64_t>(ps.size()));
    for (int32_t p : ps) w.i32(p);
    w.uvarint(0);
  }
}

bool get_assignment(Reader& r, Assignment& a) {
  int32_t n = r.array_count(true, 18);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    auto t = r.uuid();
    int32_t np = r.array_count(true, 4);
    std::set<int32_t> ps;
    for (int32_t j = 0; j < np && r.ok(); ++j) ps.insert(r.i32());
    if (!ps.empty()) a[t] = std::move(ps);
    if (!skip_tags(r)) return false;
  }
  return r.ok();
}

// ConsumerGroupMemberMetadataValue's tag 0, ClassicMemberMetadata (a nullable
// struct: uvarint 1 marks it present): int32 session timeout, supported
// protocols [name, metadata bytes], each with its own empty tag section.
void put_classic_tag(Writer& w, const std::optional<ClassicMemberMetadata>& c) {
  if (!c) {
    w.uvarint(0);
    return;
  }
  Writer body;
  body.uvarint(1);
  body.i32(c->session_timeout_ms);
  body.array_count(true, static_cast<int64_t>(c->protocols.size()));
  for (auto& [name, meta] : c->protocols) {
    body.string(true, name);
    body.bytes(true, meta);
    body.uvarint(0);
  }
  body.uvarint(0);
  w.uvarint(1);  // one tagged field
  w.uvarint(0);  // tag 0
  w.uvarint(static_cast<uint32_t>(body.size()));
  w.raw(body.buffer().data(), body.size());
}

// The member record's tag section: tag 0 read (bounded by its size), others skipped.
bool get_member_tags(Reader& r, std::optional<ClassicMemberMetadata>& classic) {
  classic.reset();
  if (r.remaining() == 0) return true;  // written without a tag section
  uint32_t n = r.uvarint();
  if (n > r.remaining()) return false;
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    uint32_t tag = r.uvarint();
    uint32_t size = r.uvarint();
    auto body = r.raw(size);
    if (!r.ok() || tag != 0) continue;
    Reader b(body);
    if (b.uvarint() == 0) continue;  // null
    ClassicMemberMetadata c;
    c.session_timeout_ms = b.i32();
    int32_t np = b.array_count(true, 3);
    for (int32_t j = 0; j < np && b.ok(); ++j) {
      std::string name = b.string(true);
      Bytes meta = b.bytes(true);
      if (!skip_tags(b)) return false;
      c.protocols.emplace_back(std::move(name), std::move(meta));
    }
    if (!b.ok() || c.protocols.empty()) return false;
    classic = std::move(c);
  }
  return r.ok();
}

}  // namespace

std::vector<ConsumerRecord> consumer_group_records(const ConsumerGroup& g, const std::set<std::string>& written) {
  std::vector<ConsumerRecord> out;
  const auto& id = g.id();
  // Members first, then the target, then the epochs: a replay of a partial write stays consistent.
  for (auto& m : written)
    if (!g.member(m)) {
      out.push_back({key_bytes(8, id, &m), std::nullopt});
      out.push_back({key_bytes(7, id, &m), std::nullopt});
      out.push_back({key_bytes(5, id, &m), std::nullopt});
    }
  for (auto& [mid, m] : g.members()) {
    out.push_back({key_bytes(5, id, &mid), value_bytes([&m](Writer& w) {
                     w.nstring(true, m.instance_id);
                     w.nstring(true, m.rack_id);
                     w.string(true, m.client_id);
                     w.string(true, m.client_host);
                     w.array_count(true, static_cast<int64_t>(m.subscribed_topic_names.size()));
                     for (auto& n : m.subscribed_topic_names) w.string(true, n);
                     w.nstring(true, m.subscribed_topic_regex);
                     w.i32(m.rebalance_timeout_ms);
                     w.nstring(true, m.server_assignor);
                     put_classic_tag(w, m.classic);
                   }, /*writes_tags=*/true)});
  }
  for (auto& [mid, a] : g.target())
    out.push_back({key_bytes(7, id, &mid), value_bytes([&a](Writer& w) { put_assignment(w, a); })});
  out.push_back({key_bytes(6, id), value_bytes([&g](Writer& w) { w.i32(g.assignment_epoch()); })});
  for (auto& [mid, m] : g.members()) {
    out.push_back({key_bytes(8, id, &mid), value_bytes([&m](Writer& w) {
                     w.i32(m.member_epoch);
                     w.i32(m.previous_member_epoch);
                     w.i8(static_cast<int8_t>(m.state));
                     put_assignment(w, m.assigned);
                     put_assignment(w, m.pending_revocation);
                   })});
  }
  out.push_back({key_bytes(4, id), value_bytes([&g](Writer& w) {
                   w.i32(g.group_epoch());
                   const auto& topics = g.subscribed_topics();
                   w.array_count(true, static_cast<int64_t>(topics.size()));
                   for (auto& [name, t] : topics) {
                     w.uuid(t.id);
                     w.string(true, name);
                     w.i32(t.partitions);
                     w.array_count(true, 0);  // no rack information
                     w.uvarint(0);
                   }
                 })});
  out.push_back({key_bytes(3, id), value_bytes([&g](Writer& w) { w.i32(g.group_epoch()); })});
  return out;
}

std::vector<ConsumerRecord> consumer_group_tombstones(const std::string& group, const std::set<std::string>& members) {
  std::vector<ConsumerRecord> out;
  for (auto& m : members) {
    out.push_back({key_bytes(8, group, &m), std::nullopt});
    out.push_back({key_bytes(7, group, &m), std::nullopt});
    out.push_back({key_bytes(5, group, &m), std::nullopt});
  }
  out.push_back({key_bytes(6, group), std::nullopt});
  out.push_back({key_bytes(4, group), std::nullopt});
  out.push_back({key_bytes(3, group), std::nullopt});
  return out;
}

std::optional<ConsumerRecordKey> decode_consumer_key(std::span<const uint8_t> b) {
  Reader r(b);
  ConsumerRecordKey k;
  k.type = r.i16();
  if (k.type < 3 || k.type > 8) return std::nullopt;
  k.group = r.string(false);
  if (k.type == 5 || k.type == 7 || k.type == 8) k.member = r.string(false);
  if (!r.ok()) return std::nullopt;
  return k;
}

bool apply_consumer_record(ConsumerGroup& g, const ConsumerRecordKey& k, const std::optional<std::span<const uint8_t>>& value,
                           int64_t now) {
  if (!value) {
    if (k.type == 5) g.forget_member(k.member);
    if (k.type == 7) g.restore_target(k.member, std::nullopt);
    return true;  // the group's own tombstones (3) are handled by the caller
  }
  Reader r(*value);
  if (r.i16() != 0) return false;
  switch (k.type) {
    case 3: {
      int32_t epoch = r.i32();
      if (!r.ok()) return false;
      g.restore_epochs(epoch, g.assignment_epoch());
      break;
    }
    case 4: {
      int32_t epoch = r.i32();
      TopicCatalog meta;
      int32_t n = r.array_count(true, 23);
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        TopicMeta t;
        t.id = r.uuid();
        t.name = r.string(true);
        t.partitions = r.i32();
        int32_t np = r.array_count(true, 6);
        for (int32_t j = 0; j < np && r.ok(); ++j) {
          r.i32();
          int32_t nr = r.array_count(true, 1);
          for (int32_t x = 0; x < nr && r.ok(); ++x) r.string(true);
          skip_tags(r);
        }
        skip_tags(r);
        meta[t.name] = t;
      }
      if (!r.ok()) return false;
      (void)epoch;
      g.restore_subscription_metadata(std::move(meta));
      break;
    }
    case 5: {
      ConsumerMember m;
      if (auto* old = g.member(k.member)) m = *old;
      m.member_id = k.member;
      m.instance_id = r.nstring(true);
      m.rack_id = r.nstring(true);
      m.client_id = r.string(true);
      m.client_host = r.string(true);
      m.subscribed_topic_names.clear();
      int32_t n = r.array_count(true, 1);
      for (int32_t i = 0; i < n && r.ok(); ++i) m.subscribed_topic_names.push_back(r.string(true));
      m.subscribed_topic_regex = r.nstring(true);
      m.rebalance_timeout_ms = r.i32();
      m.server_assignor = r.nstring(true);
      if (!r.ok() || !get_member_tags(r, m.classic)) return false;
      g.restore_member(std::move(m), now);
      break;
    }
    case 6: {
      int32_t epoch = r.i32();
      if (!r.ok()) return false;
      g.restore_epochs(g.group_epoch(), epoch);
      break;
    }
    case 7: {
      Assignment a;
      if (!get_assignment(r, a)) return false;
      g.restore_target(k.member, std::move(a));
      break;
    }
    case 8: {
      auto* old = g.member(k.member);
      ConsumerMember m = old ? *old : ConsumerMember{};
      m.member_id = k.member;
      m.member_epoch = r.i32();
      m.previous_member_epoch = r.i32();
      int8_t state = r.i8();
      m.state = state == 0 ? MemberState::Stable
                : state == 1 ? MemberState::UnrevokedPartitions
                : state == 2 ? MemberState::UnreleasedPartitions
                             : MemberState::Unknown;
      m.assigned.clear();
      m.pending_revocation.clear();
      if (!get_assignment(r, m.assigned) || !get_assignment(r, m.pending_revocation)) return false;
      g.restore_member(std::move(m), now);
      break;
    }
    default:
      return false;
  }
  return true;
}

}  // namespace samsa::coordinator
