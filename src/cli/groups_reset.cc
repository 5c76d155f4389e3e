// `samsa consumer-groups --reset-offsets`, `--delete` and `--delete-offsets`
// with Kafka's scenarios, messages and tables.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "cli/admin.h"
#include "cli/common.h"
#include "cli/groups.h"

namespace samsa::cli {

namespace {

constexpr size_t kMaxPlanBytes = 16u << 20;  // largest --from-file read

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

// Java's Duration text as Kafka's --by-duration takes it: PnDTnHnMn.nS (each
// part optional, signs allowed). Milliseconds.
bool parse_duration(const std::string& s, int64_t& ms) {
  static const std::regex re(
      R"(([-+]?)P(?:([-+]?\d{1,9})D)?(?:T(?:([-+]?\d{1,9})H)?(?:([-+]?\d{1,9})M)?(?:([-+]?\d{1,12})(?:[.,](\d{1,9}))?S)?)?)",
      std::regex::icase);
  std::smatch m;
  if (!std::regex_match(s, m, re) || (!m[2].matched && !m[3].matched && !m[4].matched && !m[5].matched)) return false;
  auto part = [&](int i) { return m[i].matched ? std::stoll(m[i]) : 0LL; };
  ms = ((part(2) * 24 + part(3)) * 60 + part(4)) * 60000 + part(5) * 1000;
  if (m[6].matched) {
    std::string frac = std::string(m[6]).substr(0, 3);
    frac.resize(3, '0');
    bool negative_seconds = std::string(m[5]).starts_with('-');  // "PT-1.5S" is -1500 ms
    ms += (negative_seconds ? -1 : 1) * std::stoll(frac);
  }
  if (m[1] == "-") ms = -ms;
  return true;
}

// A --from-file plan: lines "topic,partition,offset" (for every group) or
// "group,topic,partition,offset". Bounded like any tool input.
bool read_plan(const std::string& path, const std::string& group, OffsetMap& out, std::string& err) {
  std::ifstream in(path);
  if (!in) { err = "cannot read " + path + ": " + std::strerror(errno); return false; }
  std::string line;
  size_t bytes = 0;
  while (std::getline(in, line)) {
    bytes += line.size() + 1;
    if (bytes > kMaxPlanBytes) { err = path + " is larger than 16 MiB"; return false; }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto f = split(line, ',');
    if (f.size() == 4 && f[0] != group) continue;
    if (f.size() == 4) f.erase(f.begin());
    try {
      size_t u1 = 0, u2 = 0;
      int32_t partition = std::stoi(f.at(1), &u1);
      int64_t offset = std::stoll(f.at(2), &u2);
      if (f.size() != 3 || u1 != f[1].size() || u2 != f[2].size() || partition < 0) throw std::invalid_argument(line);
      out[{f[0], partition}] = offset;
    } catch (const std::exception&) {
      err = path + ": expected topic,partition,offset or group,topic,partition,offset, got '" + line + "'";
      return false;
    }
  }
  return true;
}

// Where each scenario asks to move `tps`, before clamping.
bool requested_offsets(rd_kafka_t* rk, const GroupsArgs& a, const std::string& group, const OffsetMap& committed,
                       const std::vector<TopicPartitionKey>& tps, const OffsetMap& earliest,
                       const OffsetMap& latest, OffsetMap& out, std::string& err) {
  int64_t ts = -1;
  if (!a.to_datetime.empty() && !parse_datetime(a.to_datetime, ts)) {
    err = "Error parsing timestamp '" + a.to_datetime + "': expected format yyyy-MM-ddTHH:mm:SS.sss";
    return false;
  }
  if (!a.by_duration.empty()) {
    int64_t d = 0;
    if (!parse_duration(a.by_duration, d)) {
      err = "Error parsing duration '" + a.by_duration + "': expected format PnDTnHnMnS";
      return false;
    }
    ts = std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count() - d;
  }
  OffsetMap by_time;
  if (ts >= 0 && !list_offsets(rk, tps, ts, a.timeout_ms, by_time, err)) return false;
  for (auto& tp : tps) {
    auto c = committed.find(tp);
    int64_t hi = latest.at(tp);
    if (a.to_earliest) out[tp] = earliest.at(tp);
    else if (a.to_latest) out[tp] = hi;
    else if (a.to_current) out[tp] = c != committed.end() ? c->second : hi;
    else if (a.has_to_offset) out[tp] = a.to_offset;
    else if (ts >= 0) out[tp] = by_time[tp] >= 0 ? by_time[tp] : hi;
    else if (c != committed.end()) out[tp] = c->second + a.shift_by;
    else {
      err = "Cannot shift offset for partition " + tp.first + "-" + std::to_string(tp.second) + " of group '" +
            group + "' since there is no current committed offset";
      return false;
    }
  }
  return true;
}

// The offsets a reset moves `tps` to, each within [earliest, latest] as Kafka clamps them.
bool target_offsets(rd_kafka_t* rk, const GroupsArgs& a, const std::string& group, const OffsetMap& committed,
                    const OffsetMap& plan, const std::vector<TopicPartitionKey>& tps, OffsetMap& out,
                    std::string& err) {
  OffsetMap earliest, latest, wanted = plan;
  if (!list_offsets(rk, tps, -2, a.timeout_ms, earliest, err) || !list_offsets(rk, tps, -1, a.timeout_ms, latest, err))
    return false;
  if (a.from_file.empty() && !requested_offsets(rk, a, group, committed, tps, earliest, latest, wanted, err))
    return false;
  for (auto& tp : tps) {
    int64_t lo = earliest[tp], hi = latest[tp], v = wanted[tp];
    const char* fmt = "New offset (%lld) is %s than %s offset for topic partition %s-%d. Value will be set to %lld\n";
    if (v > hi || v < lo)
      std::fprintf(stderr, fmt, static_cast<long long>(v), v > hi ? "higher" : "lower", v > hi ? "latest" : "earliest",
                   tp.first.c_str(), tp.second, static_cast<long long>(v > hi ? hi : lo));
    out[tp] = std::clamp(v, lo, hi);
  }
  return true;
}

// The partitions a reset covers: those of the plan file, every committed one
// (--all-topics) or those --topic names.
bool reset_scope(rd_kafka_t* rk, const GroupsArgs& a, const OffsetMap& committed, const OffsetMap& plan,
                 std::vector<TopicPartitionKey>& tps, std::string& err) {
  if (!a.from_file.empty()) {
    for (auto& [tp, off] : plan) tps.push_back(tp);
    return true;
  }
  if (!a.all_topics) return scope_partitions(rk, a.topics, a.timeout_ms, tps, err);
  for (auto& [tp, off] : committed) tps.push_back(tp);
  return true;
}

// Resets one group; the new offsets go to `result` for printing.
int reset_group(rd_kafka_t* rk, const GroupsArgs& a, const GroupInfo& g, OffsetMap& result) {
  std::string err;
  if (a.execute && g.state != "Empty" && g.state != "Dead")
    return kafka_error("Assignments can only be reset if the group '" + g.group +
                       "' is inactive, but the current state is " + g.state + ".");
  OffsetMap committed, plan;
  if (g.state != "Dead" && !committed_offsets(rk, g.group, a.timeout_ms, committed, err)) return fail(err);
  if (!a.from_file.empty() && !read_plan(a.from_file, g.group, plan, err)) return fail(err);
  std::vector<TopicPartitionKey> tps;
  if (!reset_scope(rk, a, committed, plan, tps, err) || !target_offsets(rk, a, g.group, committed, plan, tps, result, err))
    return fail(err);
  if (a.execute && !result.empty()) {
    std::map<TopicPartitionKey, std::string> failed;
    if (!alter_offsets(rk, g.group, result, a.timeout_ms, failed, err)) return fail(err);
    if (!failed.empty()) {
      auto& [tp, e] = *failed.begin();
      return fail("could not commit the offset of " + tp.first + "-" + std::to_string(tp.second) + ": " + e);
    }
  }
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
    std::fprintf(stderr, "WARN: No action will be performed as the --execute option is missing. In a future major release, "
                "the default behavior of this command will be to prompt the user before executing the reset rather "
                "than doing a dry run. You should add the --dry-run option explicitly if you are scripting this "
                "command and want to keep the current default behavior without prompting.\n");
  int rc = 0;
  std::map<std::string, OffsetMap> results;
  for (auto& g : groups)
    if (int r = reset_group(rk, a, g, results[g.group])) rc = r;
  if (a.export_csv) {
    // Kafka's CSV: without the group column when one --group was given.
    bool one = a.groups.size() == 1;
    for (auto& [group, offsets] : results)
      for (auto& [tp, off] : offsets)
        std::printf("%s%s,%d,%lld\n", one ? "" : (group + ",").c_str(), tp.first.c_str(), tp.second,
                    static_cast<long long>(off));
    return rc;
  }
  bool any = false;
  for (auto& [group, offsets] : results) any |= !offsets.empty();
  const char* fmt = "%-30s %-30s %-10s %-15s\n";
  if (any) std::printf(("\n" + std::string(fmt)).c_str(), "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
  for (auto& [group, offsets] : results)
    for (auto& [tp, off] : offsets)
      std::printf(fmt, group.c_str(), tp.first.c_str(), std::to_string(tp.second).c_str(), std::to_string(off).c_str());
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
