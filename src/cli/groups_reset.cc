// `samsa consumer-groups --reset-offsets`, `--delete` and `--delete-offsets`
// with Kafka's scenarios, messages and tables.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "cli/admin.h"
#include "cli/common.h"
#include "cli/groups.h"

namespace samsa::cli {

namespace {

// "--topic t" (every partition, from Metadata) or "--topic t:0,2".
bool scope_partitions(rd_kafka_t* rk, const std::vector<std::string>& topics, int timeout_ms,
                      std::vector<TopicPartitionKey>& out, std::string& err) {
  for (auto& spec : topics) {
    auto colon = spec.find(':');
    std::string topic = spec.substr(0, colon);
    std::vector<int32_t> parts;
    if (colon == std::string::npos) {
      if (!topic_partitions(rk, topic, timeout_ms, parts, err)) return false;
    } else {
      for (auto& p : split(spec.substr(colon + 1), ',')) {
        try {
          size_t used = 0;
          int v = std::stoi(p, &used);
          if (used != p.size() || v < 0) throw std::invalid_argument(p);
          parts.push_back(v);
        } catch (const std::exception&) {
          err = "Invalid --topic '" + spec + "': expected topic or topic:partition,partition";
          return false;
        }
      }
    }
    for (int32_t p : parts) out.emplace_back(topic, p);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return true;
}

// Kafka's --to-datetime: yyyy-MM-ddTHH:mm:SS.sss, optionally followed by Z or
// +hh:mm/-hh:mm (without a zone: the local time zone). Milliseconds since the epoch.
bool parse_datetime(const std::string& s, int64_t& ms) {
  static const std::regex re(R"((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?(Z|[+-]\d{2}:?\d{2})?)");
  std::smatch m;
  if (!std::regex_match(s, m, re)) return false;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  bool in_range = tm.tm_mon >= 0 && tm.tm_mon <= 11 && tm.tm_mday >= 1 && tm.tm_mday <= 31 && tm.tm_hour <= 23 &&
                  tm.tm_min <= 59 && tm.tm_sec <= 59;
  if (!in_range) return false;
  int64_t secs;
  if (m[8].matched) {
    secs = timegm(&tm);
    std::string z = m[8];
    if (z != "Z") {
      int hh = std::stoi(z.substr(1, 2)), mm = std::stoi(z.substr(z.size() - 2));
      secs -= (z[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    }
  } else {
    tm.tm_isdst = -1;
    secs = mktime(&tm);
  }
  ms = secs * 1000 + (m[7].matched ? std::stoi(m[7]) : 0);
  return true;
}

// The offsets a reset scenario moves `tps` to, each within [earliest, latest] as Kafka clamps them.
bool target_offsets(rd_kafka_t* rk, const GroupsArgs& a, const std::string& group, const OffsetMap& committed,
                    const std::vector<TopicPartitionKey>& tps, OffsetMap& out, std::string& err) {
  OffsetMap earliest, latest;
  if (!list_offsets(rk, tps, -2, a.timeout_ms, earliest, err) || !list_offsets(rk, tps, -1, a.timeout_ms, latest, err))
    return false;
  OffsetMap by_time;
  if (!a.to_datetime.empty()) {
    int64_t ts = 0;
    if (!parse_datetime(a.to_datetime, ts)) {
      err = "Error parsing timestamp '" + a.to_datetime + "': expected format yyyy-MM-ddTHH:mm:SS.sss";
      return false;
    }
    if (!list_offsets(rk, tps, ts, a.timeout_ms, by_time, err)) return false;
  }
  for (auto& tp : tps) {
    int64_t lo = earliest[tp], hi = latest[tp], v = 0;
    auto c = committed.find(tp);
    if (a.to_earliest) v = lo;
    else if (a.to_latest) v = hi;
    else if (a.to_current) v = c != committed.end() ? c->second : hi;
    else if (a.has_to_offset) v = a.to_offset;
    else if (!a.to_datetime.empty()) v = by_time[tp] >= 0 ? by_time[tp] : hi;
    else {  // --shift-by
      if (c == committed.end()) {
        err = "Cannot shift offset for partition " + tp.first + "-" + std::to_string(tp.second) +
              " of group '" + group + "' since there is no current committed offset";
        return false;
      }
      v = c->second + a.shift_by;
    }
    if (v > hi) {
      std::fprintf(stderr, "New offset (%lld) is higher than latest offset for topic partition %s-%d. Value will be set to %lld\n",
                   static_cast<long long>(v), tp.first.c_str(), tp.second, static_cast<long long>(hi));
      v = hi;
    } else if (v < lo) {
      std::fprintf(stderr, "New offset (%lld) is lower than earliest offset for topic partition %s-%d. Value will be set to %lld\n",
                   static_cast<long long>(v), tp.first.c_str(), tp.second, static_cast<long long>(lo));
      v = lo;
    }
    out[tp] = v;
  }
  return true;
}

int reset_group(rd_kafka_t* rk, const GroupsArgs& a, const GroupInfo& g) {
  std::string err;
  if (a.execute && g.state != "Empty" && g.state != "Dead")
    return kafka_error("Assignments can only be reset if the group '" + g.group +
                                           "' is inactive, but the current state is " + g.state + ".");
  OffsetMap committed, target;
  if (g.state != "Dead" && !committed_offsets(rk, g.group, a.timeout_ms, committed, err)) return fail(err);
  std::vector<TopicPartitionKey> tps;
  if (a.all_topics) {
    for (auto& [tp, off] : committed) tps.push_back(tp);
  } else if (!scope_partitions(rk, a.topics, a.timeout_ms, tps, err)) {
    return fail(err);
  }
  if (!target_offsets(rk, a, g.group, committed, tps, target, err)) return fail(err);
  if (a.execute && !target.empty()) {
    std::map<TopicPartitionKey, std::string> failed;
    if (!alter_offsets(rk, g.group, target, a.timeout_ms, failed, err)) return fail(err);
    if (!failed.empty()) {
      auto& [tp, e] = *failed.begin();
      return fail("could not commit the offset of " + tp.first + "-" + std::to_string(tp.second) + ": " + e);
    }
  }
  const char* fmt = "%-30s %-30s %-10s %-15s\n";
  if (!target.empty()) std::printf("\n%-30s %-30s %-10s %-15s\n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
  for (auto& [tp, off] : target)
    std::printf(fmt, g.group.c_str(), tp.first.c_str(), std::to_string(tp.second).c_str(), std::to_string(off).c_str());
  return 0;
}

// Kafka prints the Java exception of the common group errors.
std::string group_error_text(const rd_kafka_error_t* e) {
  switch (rd_kafka_error_code(e)) {
    case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
      return "org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.";
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
      return "org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.";
    default:
      return rd_kafka_error_string(e);
  }
}

std::string quoted_list(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", '" : "'") + v[i] + "'";
  return s;
}

}  // namespace

int groups_reset(rd_kafka_t* rk, const GroupsArgs& a) {
  std::string err;
  std::vector<std::string> names;
  if (!selected_groups(rk, a, names, err)) return fail(err);
  std::vector<GroupInfo> groups;
  if (!describe_groups(rk, names, a.timeout_ms, groups, err)) return fail(err);
  if (!a.dry_run && !a.execute)
    std::printf("WARN: No action will be performed as the --execute option is missing. In a future major release, "
                "the default behavior of this command will be to prompt the user before executing the reset rather "
                "than doing a dry run. You should add the --dry-run option explicitly if you are scripting this "
                "command and want to keep the current default behavior without prompting.\n");
  int rc = 0;
  for (auto& g : groups)
    if (int r = reset_group(rk, a, g)) rc = r;
  return rc;
}

int groups_delete(rd_kafka_t* rk, const GroupsArgs& a) {
  std::string err;
  std::vector<std::string> names;
  if (!selected_groups(rk, a, names, err)) return fail(err);
  if (names.empty()) return fail("No consumer groups to delete");
  AdminCall call(rk, RD_KAFKA_ADMIN_OP_DELETEGROUPS, a.timeout_ms);
  std::vector<rd_kafka_DeleteGroup_t*> req;
  for (auto& n : names) req.push_back(rd_kafka_DeleteGroup_new(n.c_str()));
  rd_kafka_DeleteGroups(rk, req.data(), req.size(), call.options(), call.queue());
  rd_kafka_DeleteGroup_destroy_array(req.data(), req.size());
  auto ev = call.wait(err);
  if (!ev) return fail(err);
  size_t n = 0;
  const auto** rs = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev.get()), &n);
  std::vector<std::string> ok;
  std::vector<std::pair<std::string, std::string>> failed;
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(rs[i]))
      failed.emplace_back(rd_kafka_group_result_name(rs[i]), group_error_text(e));
    else
      ok.push_back(rd_kafka_group_result_name(rs[i]));
  }
  if (failed.empty()) {
    std::printf("Deletion of requested consumer groups (%s) was successful.\n", quoted_list(ok).c_str());
    return 0;
  }
  std::fprintf(stderr, "Error: Deletion of some consumer groups failed:\n");
  for (auto& [g, e] : failed) std::printf("* Group '%s' could not be deleted due to: %s\n", g.c_str(), e.c_str());
  if (!ok.empty()) std::printf("\nThese consumer groups were deleted successfully: %s\n", quoted_list(ok).c_str());
  return 1;
}

int groups_delete_offsets(rd_kafka_t* rk, const GroupsArgs& a) {
  std::string err;
  const std::string& group = a.groups.front();
  std::vector<TopicPartitionKey> tps;
  if (!scope_partitions(rk, a.topics, a.timeout_ms, tps, err)) return fail(err);
  AdminCall call(rk, RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS, a.timeout_ms);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(static_cast<int>(tps.size()));
  for (auto& tp : tps) rd_kafka_topic_partition_list_add(l, tp.first.c_str(), tp.second);
  rd_kafka_DeleteConsumerGroupOffsets_t* req = rd_kafka_DeleteConsumerGroupOffsets_new(group.c_str(), l);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_DeleteConsumerGroupOffsets(rk, &req, 1, call.options(), call.queue());
  rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
  auto ev = call.wait(err);
  // librdkafka 2.0.2 reports OffsetDelete's top-level error as a request error.
  if (!ev && call.error_code() == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
    return kafka_error("'" + group + "' does not exist.");
  if (!ev && call.error_code() == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
    return kafka_error("Deleting offsets of a consumer group '" + group + "' is forbidden if the group is not empty.");
  if (!ev) return fail(err);
  size_t n = 0;
  const auto** rs = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
      rd_kafka_event_DeleteConsumerGroupOffsets_result(ev.get()), &n);
  if (n != 1) return fail("unexpected number of group results from the broker");
  std::string topics;
  for (size_t i = 0; i < a.topics.size(); ++i) topics += (i ? ", " : "") + a.topics[i].substr(0, a.topics[i].find(':'));
  if (const rd_kafka_error_t* e = rd_kafka_group_result_error(rs[0])) {
    switch (rd_kafka_error_code(e)) {
      case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND: return kafka_error("'" + group + "' does not exist.");
      case RD_KAFKA_RESP_ERR_INVALID_GROUP_ID: return kafka_error("'" + group + "' is not valid.");
      case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
        return kafka_error("Deleting offsets of a consumer group '" + group +
                                               "' is forbidden if the group is not empty.");
      default: return kafka_error(std::string("Encounter some unknown error: ") + rd_kafka_error_string(e));
    }
  }
  const auto* parts = rd_kafka_group_result_partitions(rs[0]);
  bool partition_errors = false;
  for (int i = 0; parts && i < parts->cnt; ++i) partition_errors |= parts->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR;
  if (partition_errors)
    std::fprintf(stderr, "Error: Encounter some partition level error, see the follow-up details:\n");
  else
    std::printf("Request succeed for deleting offsets with topic %s group %s\n", topics.c_str(), group.c_str());
  std::printf("\n%-30s %-15s %-15s\n", "TOPIC", "PARTITION", "STATUS");
  for (int i = 0; parts && i < parts->cnt; ++i) {
    const auto& p = parts->elems[i];
    std::string status = p.err ? std::string("Error: ") + rd_kafka_err2str(p.err) : "Successful";
    std::printf("%-30s %-15s %-15s\n", p.topic, std::to_string(p.partition).c_str(), status.c_str());
  }
  return partition_errors ? 1 : 0;
}

}  // namespace samsa::cli
