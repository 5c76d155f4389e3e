// `samsa consumer-groups` (kafka-consumer-groups.sh): flags, --list and the
// three --describe views (offsets, --members, --state) with Kafka's columns.
// Reset, delete and delete-offsets are in groups_reset.cc.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/groups.h"

namespace samsa::cli {

namespace {

const char* kMissing = "-";  // Kafka's MISSING_COLUMN_VALUE

std::string opt_num(int64_t v) { return v < 0 ? kMissing : std::to_string(v); }
std::string or_missing(const std::string& s) { return s.empty() ? kMissing : s; }
std::string json_num(int64_t v) { return v < 0 ? "null" : std::to_string(v); }

// One line of the offsets view.
struct OffsetRow {
  std::string topic;
  int32_t partition = 0;
  int64_t current = -1, log_end = -1;
  const MemberInfo* member = nullptr;
};

// Kafka prints a note (stderr) for groups without members or mid-rebalance and
// an error for unknown groups; returns false when there is nothing to print.
bool print_member_state(const GroupInfo& g, size_t rows) {
  if (g.state == "Dead") {
    kafka_error("Consumer group '" + g.group + "' does not exist.");
    return false;
  }
  if (g.state == "Empty")
    std::fprintf(stderr, "\nConsumer group '%s' has no active members.\n", g.group.c_str());
  else if (g.state == "PreparingRebalance" || g.state == "CompletingRebalance")
    std::fprintf(stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", g.group.c_str());
  return rows > 0;
}

// Rows as Kafka orders them: members with the most partitions first (members
// without partitions have no row), then the committed partitions no member owns.
bool offset_rows(rd_kafka_t* rk, const GroupsArgs& a, const GroupInfo& g, std::vector<OffsetRow>& rows,
                 std::string& err) {
  OffsetMap committed, log_end;
  if (g.state != "Dead" && !committed_offsets(rk, g.group, a.timeout_ms, committed, err)) return false;
  std::vector<const MemberInfo*> members;
  for (auto& m : g.members) members.push_back(&m);
  std::stable_sort(members.begin(), members.end(),
                   [](auto* x, auto* y) { return x->assignment.size() > y->assignment.size(); });
  std::set<TopicPartitionKey> all, assigned;
  for (auto& [tp, off] : committed) all.insert(tp);
  for (auto* m : members) {
    for (auto& tp : m->assignment) {
      rows.push_back(OffsetRow{tp.first, tp.second, -1, -1, m});
      all.insert(tp);
      assigned.insert(tp);
    }
  }
  for (auto& [tp, off] : committed)
    if (!assigned.count(tp)) rows.push_back(OffsetRow{tp.first, tp.second, -1, -1, nullptr});
  if (!list_offsets(rk, std::vector<TopicPartitionKey>(all.begin(), all.end()), -1, a.timeout_ms, log_end, err))
    return false;
  for (auto& r : rows) {
    auto c = committed.find({r.topic, r.partition});
    if (c != committed.end()) r.current = c->second;
    auto l = log_end.find({r.topic, r.partition});
    if (l != log_end.end()) r.log_end = l->second;
  }
  return true;
}

void print_offsets(const GroupInfo& g, const std::vector<OffsetRow>& rows) {
  size_t group_w = std::max<size_t>(15, g.group.size()), topic_w = 15, id_w = 15, host_w = 15;
  for (auto& r : rows) {
    topic_w = std::max(topic_w, r.topic.size());
    if (r.member) {
      id_w = std::max(id_w, r.member->consumer_id.size());
      host_w = std::max(host_w, r.member->host.size());
    }
  }
  auto line = [&](const std::string& grp, const std::string& topic, const std::string& part, const std::string& cur,
                  const std::string& leo, const std::string& lag, const std::string& id, const std::string& host,
                  const std::string& client) {
    std::printf("%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", int(group_w), grp.c_str(), int(topic_w),
                topic.c_str(), part.c_str(), cur.c_str(), leo.c_str(), lag.c_str(), int(id_w), id.c_str(),
                int(host_w), host.c_str(), client.c_str());
  };
  std::printf("\n");
  line("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID");
  for (auto& r : rows) {
    int64_t lag = r.current >= 0 && r.log_end >= 0 ? r.log_end - r.current : -1;
    line(g.group, r.topic, std::to_string(r.partition), opt_num(r.current), opt_num(r.log_end), opt_num(lag),
         r.member ? or_missing(r.member->consumer_id) : kMissing, r.member ? or_missing(r.member->host) : kMissing,
         r.member ? or_missing(r.member->client_id) : kMissing);
  }
}

// "topic(0,1), other(2)" as Kafka's --members --verbose prints an assignment.
std::string assignment_text(const MemberInfo& m) {
  if (m.assignment.empty()) return kMissing;
  std::string s, topic;
  for (auto& [t, p] : m.assignment) {
    if (t != topic) {
      s += (topic.empty() ? "" : "), ") + t + "(";
      topic = t;
    } else {
      s += ",";
    }
    s += std::to_string(p);
  }
  return s + ")";
}

void print_members(const GroupInfo& g, bool verbose) {
  size_t group_w = std::max<size_t>(15, g.group.size()), id_w = 15, inst_w = 17, host_w = 15, client_w = 15;
  bool with_instance = false;
  for (auto& m : g.members) {
    id_w = std::max(id_w, m.consumer_id.size());
    inst_w = std::max(inst_w, m.group_instance_id.size());
    host_w = std::max(host_w, m.host.size());
    client_w = std::max(client_w, m.client_id.size());
    with_instance |= !m.group_instance_id.empty();
  }
  auto line = [&](const std::string& grp, const std::string& id, const std::string& inst, const std::string& host,
                  const std::string& client, const std::string& n, const std::string& assignment) {
    std::printf("%-*s %-*s ", int(group_w), grp.c_str(), int(id_w), id.c_str());
    if (with_instance) std::printf("%-*s ", int(inst_w), inst.c_str());
    std::printf("%-*s %-*s %-15s ", int(host_w), host.c_str(), int(client_w), client.c_str(), n.c_str());
    if (verbose) std::printf("%s", assignment.c_str());
    std::printf("\n");
  };
  std::printf("\n");
  line("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT");
  for (auto& m : g.members)
    line(g.group, m.consumer_id, or_missing(m.group_instance_id), m.host, m.client_id,
         std::to_string(m.assignment.size()), assignment_text(m));
}

std::string coordinator_text(const GroupInfo& g) {
  return g.coordinator_host + ":" + std::to_string(g.coordinator_port) + " (" + std::to_string(g.coordinator_id) + ")";
}

void print_state(const GroupInfo& g) {
  std::string coord = coordinator_text(g);
  int group_w = int(std::max<size_t>(15, g.group.size())), coord_w = int(std::max<size_t>(25, coord.size()));
  std::printf("\n%-*s %-*s %-25s %-20s %-15s\n", group_w, "GROUP", coord_w, "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY",
              "STATE", "#MEMBERS");
  std::printf("%-*s %-*s %-25s %-20s %-15zu\n", group_w, g.group.c_str(), coord_w, coord.c_str(), g.assignor.c_str(),
              g.state.c_str(), g.members.size());
}

std::string member_json(const MemberInfo& m) {
  std::string s = "{\"consumer_id\":" + json_escape(m.consumer_id) + ",\"group_instance_id\":" +
                  (m.group_instance_id.empty() ? "null" : json_escape(m.group_instance_id)) +
                  ",\"host\":" + json_escape(m.host) + ",\"client_id\":" + json_escape(m.client_id) + ",\"assignment\":[";
  for (size_t i = 0; i < m.assignment.size(); ++i)
    s += std::string(i ? "," : "") + "{\"topic\":" + json_escape(m.assignment[i].first) +
         ",\"partition\":" + std::to_string(m.assignment[i].second) + "}";
  return s + "]}";
}

std::string group_json(const GroupInfo& g, const std::vector<OffsetRow>& rows) {
  std::string s = "{\"group\":" + json_escape(g.group) + ",\"state\":" + json_escape(g.state);
  if (g.state == "Dead") return s + "}";
  s += ",\"coordinator\":{\"id\":" + std::to_string(g.coordinator_id) + ",\"host\":" + json_escape(g.coordinator_host) +
       ",\"port\":" + std::to_string(g.coordinator_port) + "},\"assignment_strategy\":" + json_escape(g.assignor) +
       ",\"members\":[";
  for (size_t i = 0; i < g.members.size(); ++i) s += (i ? "," : "") + member_json(g.members[i]);
  s += "],\"offsets\":[";
  bool first = true;
  for (auto& r : rows) {
    int64_t lag = r.current >= 0 && r.log_end >= 0 ? r.log_end - r.current : -1;
    s += std::string(first ? "" : ",") + "{\"topic\":" + json_escape(r.topic) + ",\"partition\":" +
         std::to_string(r.partition) + ",\"current_offset\":" + json_num(r.current) + ",\"log_end_offset\":" +
         json_num(r.log_end) + ",\"lag\":" + json_num(lag) + ",\"consumer_id\":" +
         (r.member ? json_escape(r.member->consumer_id) : "null") + "}";
    first = false;
  }
  return s + "]}";
}

int validate(const GroupsArgs& a) {
  int actions = a.list + a.describe + a.del + a.reset + a.delete_offsets;
  if (actions != 1)
    return fail("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets");
  if ((a.describe || a.del || a.reset) && a.groups.empty() && !a.all_groups)
    return fail(std::string("Option [") + (a.describe ? "describe" : a.del ? "delete" : "reset-offsets") +
                "] takes one of these options: [all-groups], [group]");
  if (!a.groups.empty() && a.all_groups) return fail("Option [group] cannot be used with [all-groups]");
  if (a.members + a.offsets + (a.state && a.describe) > 1)
    return fail("Option [describe] takes at most one of these options: [members], [offsets], [state]");
  if ((a.members || a.offsets) && !a.describe) return fail("Option [members] and [offsets] need [describe]");
  if (a.verbose && !a.members) return fail("Option [verbose] needs [describe] and [members]");
  if (a.state && !a.describe && !a.list) return fail("Option [state] needs [describe] or [list]");
  if (a.delete_offsets && (a.groups.size() != 1 || a.topics.empty()))
    return fail("Option [delete-offsets] takes the following options: [group], [topic]");
  if (a.reset) {
    int to = a.to_earliest + a.to_latest + a.to_current + a.has_to_offset + a.has_shift_by + !a.to_datetime.empty() +
             !a.by_duration.empty() + !a.from_file.empty();
    if (to != 1)
      return fail("Option [reset-offsets] takes exactly one of these options: [to-datetime], [by-duration], "
                  "[to-earliest], [to-latest], [shift-by], [from-file], [to-current], [to-offset]");
    if (a.from_file.empty() && a.all_topics == !a.topics.empty())
      return fail("One of the reset scopes should be defined: --all-topics, --topic.");
    if (a.dry_run && a.execute) return fail("Option [dry-run] cannot be used with [execute]");
  }
  if (a.output != "text" && a.output != "json") return fail("--output must be text or json");
  return 0;
}

}  // namespace

bool selected_groups(rd_kafka_t* rk, const GroupsArgs& a, std::vector<std::string>& out, std::string& err) {
  if (!a.all_groups) {
    out = a.groups;
    return true;
  }
  std::vector<GroupListing> all;
  if (!list_groups(rk, a.timeout_ms, {}, all, err)) return false;
  for (auto& g : all) out.push_back(g.group);
  return true;
}

int groups_list(rd_kafka_t* rk, const GroupsArgs& a) {
  std::vector<GroupListing> groups;
  std::string err;
  if (!list_groups(rk, a.timeout_ms, a.state ? split(a.state_filter, ',') : std::vector<std::string>{}, groups, err))
    return fail(err);
  if (a.output == "json") {
    std::string s = "{\"groups\":[";
    for (size_t i = 0; i < groups.size(); ++i)
      s += std::string(i ? "," : "") + "{\"group\":" + json_escape(groups[i].group) + ",\"state\":" +
           json_escape(groups[i].state) + "}";
    std::printf("%s]}\n", s.c_str());
  } else if (a.state) {
    size_t w = 15;
    for (auto& g : groups) w = std::max(w, g.group.size());
    std::printf("%-*s %s\n", int(w), "GROUP", "STATE");
    for (auto& g : groups) std::printf("%-*s %s\n", int(w), g.group.c_str(), g.state.c_str());
  } else {
    for (auto& g : groups) std::printf("%s\n", g.group.c_str());
  }
  return 0;
}

int groups_describe(rd_kafka_t* rk, const GroupsArgs& a) {
  std::string err;
  std::vector<std::string> names;
  std::vector<GroupInfo> groups;
  if (!selected_groups(rk, a, names, err) || !describe_groups(rk, names, a.timeout_ms, groups, err)) return fail(err);
  int rc = 0;
  std::string json;
  for (auto& g : groups) {
    std::vector<OffsetRow> rows;
    if ((a.output == "json" || (!a.members && !a.state)) && !offset_rows(rk, a, g, rows, err)) return fail(err);
    if (a.output == "json") {
      json += (json.empty() ? "" : ",") + group_json(g, rows);
      if (g.state == "Dead") rc = 1;
      continue;
    }
    size_t n = a.members ? g.members.size() : a.state ? 1 : rows.size();
    if (g.state == "Dead") rc = 1;
    if (!print_member_state(g, n)) continue;
    if (a.members) print_members(g, a.verbose);
    else if (a.state) print_state(g);
    else print_offsets(g, rows);
  }
  if (a.output == "json") std::printf("{\"groups\":[%s]}\n", json.c_str());
  return rc;
}

int consumer_groups_main(int argc, char** argv) {
  CLI::App app{"List, describe, reset and delete consumer groups (like kafka-consumer-groups.sh)",
               "samsa consumer-groups"};
  app.footer(
      "Examples:\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --list --state\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --describe --group g1\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --describe --group g1 --members --verbose\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --describe --all-groups --state\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --reset-offsets --group g1 --topic t1 --to-earliest --execute\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --reset-offsets --group g1 --topic t1:0,1 --shift-by -10\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --reset-offsets --group g1 --all-topics --by-duration PT1H --export > plan.csv\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --reset-offsets --group g1 --from-file plan.csv --execute\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --delete --group g1\n"
      "  samsa consumer-groups --bootstrap-server localhost:9092 --delete-offsets --group g1 --topic t1");
  GroupsArgs a;
  app.add_option("--bootstrap-server", a.bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--command-config", a.command_config, "Client config properties file");
  app.add_flag("--list", a.list, "List all consumer groups");
  app.add_flag("--describe", a.describe, "Describe consumer group(s): offsets and lag (default), --members or --state");
  app.add_flag("--delete", a.del, "Delete consumer group(s); only groups without members can be deleted");
  app.add_flag("--reset-offsets", a.reset, "Reset the committed offsets of a group (dry run unless --execute)");
  app.add_flag("--delete-offsets", a.delete_offsets, "Delete the group's committed offsets of --topic");
  app.add_option("--group", a.groups, "The consumer group (repeatable)");
  app.add_flag("--all-groups", a.all_groups, "Apply to all consumer groups");
  app.add_flag("--members", a.members, "With --describe: the members of the group");
  app.add_flag("--offsets", a.offsets, "With --describe: the group's offsets and lag (the default view)");
  app.add_flag("--verbose", a.verbose, "With --describe --members: also the assigned partitions");
  auto* state = app.add_option("--state", a.state_filter,
                               "With --describe: the group's state; with --list: the state of each group, "
                               "optionally only those in the comma-separated states given")
                    ->expected(0, 1);
  app.add_option("--topic", a.topics, "Topic, or topic:p1,p2 for partitions (repeatable)");
  app.add_flag("--all-topics", a.all_topics, "With --reset-offsets: every topic the group has offsets for");
  app.add_flag("--to-earliest", a.to_earliest, "Reset offsets to the earliest offset");
  app.add_flag("--to-latest", a.to_latest, "Reset offsets to the latest offset");
  app.add_flag("--to-current", a.to_current, "Reset offsets to the current offset");
  auto* to_offset = app.add_option("--to-offset", a.to_offset, "Reset offsets to this offset");
  auto* shift_by = app.add_option("--shift-by", a.shift_by, "Move the current offsets by n (may be negative)");
  app.add_option("--to-datetime", a.to_datetime,
                 "Reset offsets to the first record at or after YYYY-MM-DDTHH:mm:SS.sss "
                 "(local time unless it ends in Z or +hh:mm / -hh:mm)");
  app.add_option("--by-duration", a.by_duration, "Reset offsets to the first record at or after now minus a duration 'PnDTnHnMnS'");
  app.add_option("--from-file", a.from_file, "Reset offsets to the values of a CSV file: topic,partition,offset "
                 "(or group,topic,partition,offset), e.g. one written by --export");
  app.add_flag("--export", a.export_csv, "With --reset-offsets: print the new offsets as CSV (for --from-file)");
  app.add_flag("--dry-run", a.dry_run, "Only show the offsets a reset would commit (the default)");
  app.add_flag("--execute", a.execute, "Commit the new offsets");
  app.add_option("--timeout", a.timeout_ms, "Milliseconds to wait for the broker (default 5000)");
  app.add_option("--output", a.output, "text (default) or json, for --list and --describe");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  a.state = state->count() > 0;
  a.has_to_offset = to_offset->count() > 0;
  a.has_shift_by = shift_by->count() > 0;
  if (int rc = validate(a)) return rc;
  std::string err;
  Properties props;
  if (!base_properties(a.bootstrap, a.command_config, props, err) || !check_reachable(props, a.timeout_ms, err))
    return fail(err);
  auto rk = make_handle(RD_KAFKA_CONSUMER, props, err);
  if (!rk) return fail(err);
  if (a.list) return groups_list(rk.get(), a);
  if (a.describe) return groups_describe(rk.get(), a);
  if (a.reset) return groups_reset(rk.get(), a);
  if (a.del) return groups_delete(rk.get(), a);
  return groups_delete_offsets(rk.get(), a);
}

}  // namespace samsa::cli
