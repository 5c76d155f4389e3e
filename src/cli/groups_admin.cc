// The librdkafka Admin API calls of `samsa consumer-groups`, used synchronously.
#include <strings.h>

#include <algorithm>
#include <memory>

#include "cli/admin.h"
#include "cli/groups.h"

namespace samsa::cli {

namespace {

struct TplDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { if (l) rd_kafka_topic_partition_list_destroy(l); }
};
using TplHandle = std::unique_ptr<rd_kafka_topic_partition_list_t, TplDeleter>;

TplHandle to_tpl(const OffsetMap& m) {
  TplHandle l(rd_kafka_topic_partition_list_new(static_cast<int>(m.size())));
  for (auto& [tp, off] : m) rd_kafka_topic_partition_list_add(l.get(), tp.first.c_str(), tp.second)->offset = off;
  return l;
}

// The single group result of a per-group admin call; null + err if it failed.
const rd_kafka_group_result_t* single_group(const rd_kafka_group_result_t** rs, size_t n, std::string& err) {
  if (n != 1) { err = "unexpected number of group results from the broker"; return nullptr; }
  if (const rd_kafka_error_t* e = rd_kafka_group_result_error(rs[0])) {
    err = rd_kafka_error_string(e);
    return nullptr;
  }
  return rs[0];
}

}  // namespace

std::string group_state_name(rd_kafka_consumer_group_state_t s) {
  const char* n = rd_kafka_consumer_group_state_name(s);
  return n ? n : "Unknown";
}

bool list_groups(rd_kafka_t* rk, int timeout_ms, const std::vector<std::string>& states,
                 std::vector<GroupListing>& out, std::string& err) {
  AdminCall call(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, timeout_ms);
  rd_kafka_ListConsumerGroups(rk, call.options(), call.queue());
  auto ev = call.wait(err);
  if (!ev) return false;
  const auto* res = rd_kafka_event_ListConsumerGroups_result(ev.get());
  size_t n_err = 0;
  const rd_kafka_error_t** errs = rd_kafka_ListConsumerGroups_result_errors(res, &n_err);
  if (n_err > 0) {
    err = rd_kafka_error_string(errs[0]);
    return false;
  }
  size_t n = 0;
  const rd_kafka_ConsumerGroupListing_t** gs = rd_kafka_ListConsumerGroups_result_valid(res, &n);
  for (size_t i = 0; i < n; ++i) {
    GroupListing g{rd_kafka_ConsumerGroupListing_group_id(gs[i]),
                   group_state_name(rd_kafka_ConsumerGroupListing_state(gs[i]))};
    bool wanted = states.empty();
    for (auto& s : states) wanted |= strcasecmp(s.c_str(), g.state.c_str()) == 0;  // Kafka parses states case-blind
    if (wanted) out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.group < y.group; });
  return true;
}

bool describe_groups(rd_kafka_t* rk, const std::vector<std::string>& groups, int timeout_ms,
                     std::vector<GroupInfo>& out, std::string& err) {
  if (groups.empty()) return true;
  AdminCall call(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout_ms);
  std::vector<const char*> names;
  for (auto& g : groups) names.push_back(g.c_str());
  rd_kafka_DescribeConsumerGroups(rk, names.data(), names.size(), call.options(), call.queue());
  auto ev = call.wait(err);
  if (!ev) return false;
  size_t n = 0;
  const auto** ds = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const auto* d = ds[i];
    GroupInfo g;
    g.group = rd_kafka_ConsumerGroupDescription_group_id(d);
    if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(d)) {
      if (rd_kafka_error_code(e) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        err = "group '" + g.group + "': " + rd_kafka_error_string(e);
        return false;
      }
      g.state = "Dead";  // Kafka reports an unknown group as Dead
      out.push_back(std::move(g));
      continue;
    }
    g.state = group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
    const char* assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(d);
    g.assignor = assignor ? assignor : "";
    if (const rd_kafka_Node_t* c = rd_kafka_ConsumerGroupDescription_coordinator(d)) {
      g.coordinator_id = rd_kafka_Node_id(c);
      g.coordinator_host = rd_kafka_Node_host(c) ? rd_kafka_Node_host(c) : "";
      g.coordinator_port = rd_kafka_Node_port(c);
    }
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
    for (size_t j = 0; j < members; ++j) {
      const auto* m = rd_kafka_ConsumerGroupDescription_member(d, j);
      auto s = [](const char* p) { return std::string(p ? p : ""); };
      MemberInfo mi{s(rd_kafka_MemberDescription_consumer_id(m)), s(rd_kafka_MemberDescription_group_instance_id(m)),
                    s(rd_kafka_MemberDescription_host(m)), s(rd_kafka_MemberDescription_client_id(m)), {}};
      if (const auto* a = rd_kafka_MemberDescription_assignment(m)) {
        const auto* parts = rd_kafka_MemberAssignment_partitions(a);
        for (int k = 0; parts && k < parts->cnt; ++k)
          mi.assignment.emplace_back(parts->elems[k].topic, parts->elems[k].partition);
      }
      std::sort(mi.assignment.begin(), mi.assignment.end());
      g.members.push_back(std::move(mi));
    }
    out.push_back(std::move(g));
  }
  return true;
}

bool committed_offsets(rd_kafka_t* rk, const std::string& group, int timeout_ms, OffsetMap& out,
                       std::string& err) {
  AdminCall call(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout_ms);
  rd_kafka_ListConsumerGroupOffsets_t* req = rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);
  rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, call.options(), call.queue());
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  auto ev = call.wait(err);
  if (!ev) return false;
  size_t n = 0;
  const auto** rs = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev.get()), &n);
  const auto* r = single_group(rs, n, err);
  if (!r) return false;
  const auto* parts = rd_kafka_group_result_partitions(r);
  for (int i = 0; parts && i < parts->cnt; ++i) {
    const auto& p = parts->elems[i];
    if (p.err == RD_KAFKA_RESP_ERR_NO_ERROR && p.offset >= 0) out[{p.topic, p.partition}] = p.offset;
  }
  return true;
}

bool list_offsets(rd_kafka_t* rk, const std::vector<TopicPartitionKey>& tps, int64_t when,
                  int timeout_ms, OffsetMap& out, std::string& err) {
  if (tps.empty()) return true;
  OffsetMap q;
  for (auto& tp : tps) q[tp] = when;  // ListOffsets takes -1/-2 as latest/earliest
  TplHandle l = to_tpl(q);
  if (auto e = rd_kafka_offsets_for_times(rk, l.get(), timeout_ms)) {
    err = std::string("could not list offsets: ") + rd_kafka_err2str(e);
    return false;
  }
  for (int i = 0; i < l->cnt; ++i) {
    const auto& p = l->elems[i];
    if (p.err) {
      err = std::string(p.topic) + "-" + std::to_string(p.partition) + ": " + rd_kafka_err2str(p.err);
      return false;
    }
    out[{p.topic, p.partition}] = p.offset;
  }
  return true;
}

bool topic_partitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms, std::vector<int32_t>& out,
                      std::string& err) {
  const rd_kafka_metadata_t* md = nullptr;
  if (auto e = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms)) {
    err = std::string("could not fetch metadata: ") + rd_kafka_err2str(e);
    return false;
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic != t.topic || t.err) continue;
    for (int j = 0; j < t.partition_cnt; ++j) out.push_back(t.partitions[j].id);
  }
  rd_kafka_metadata_destroy(md);
  std::sort(out.begin(), out.end());
  if (out.empty()) err = "Topic '" + topic + "' does not exist";
  return !out.empty();
}

bool alter_offsets(rd_kafka_t* rk, const std::string& group, const OffsetMap& offsets, int timeout_ms,
                   std::map<TopicPartitionKey, std::string>& failed, std::string& err) {
  AdminCall call(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout_ms);
  TplHandle l = to_tpl(offsets);
  rd_kafka_AlterConsumerGroupOffsets_t* req = rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), l.get());
  rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, call.options(), call.queue());
  rd_kafka_AlterConsumerGroupOffsets_destroy(req);
  auto ev = call.wait(err);
  if (!ev) return false;
  size_t n = 0;
  const auto** rs = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev.get()), &n);
  const auto* r = single_group(rs, n, err);
  if (!r) return false;
  const auto* parts = rd_kafka_group_result_partitions(r);
  for (int i = 0; parts && i < parts->cnt; ++i) {
    const auto& p = parts->elems[i];
    if (p.err) failed[{p.topic, p.partition}] = rd_kafka_err2str(p.err);
  }
  return true;
}

}  // namespace samsa::cli
