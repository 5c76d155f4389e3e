#include "raft/quorum_state.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <map>
#include <memory>

#include "storage/env.h"

namespace samsa::raft {

namespace {

// A minimal JSON reader, just enough for the quorum-state object: numbers are
// integers, strings are kept raw (escapes other than \" and \\ are refused),
// nesting is bounded. Unknown keys are skipped, as Kafka's reader does for
// fields of other versions.
constexpr int kMaxDepth = 4;

struct Value {
  enum Kind { kNull, kBool, kInt, kString, kArray, kObject } kind = kNull;
  int64_t i = 0;
  std::string s;
  std::vector<Value> items;
  std::map<std::string, Value, std::less<>> fields;
};

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  bool parse_document(Value& out) {
    if (!parse_value(out, 0)) return false;
    skip_ws();
    return pos_ == in_.size();
  }

 private:
  void skip_ws() {
    while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\r' || in_[pos_] == '\t')) ++pos_;
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < in_.size() && in_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool parse_string(std::string& out) {
    if (!eat('"')) return false;
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (pos_ >= in_.size()) return false;
        char e = in_[pos_++];
        if (e != '"' && e != '\\' && e != '/') return false;
        c = e;
      }
      out.push_back(c);
    }
    return false;
  }
  bool parse_value(Value& out, int depth) {
    if (depth > kMaxDepth) return false;
    skip_ws();
    if (pos_ >= in_.size()) return false;
    char c = in_[pos_];
    if (c == '{') return parse_object(out, depth);
    if (c == '[') return parse_array(out, depth);
    if (c == '"') {
      out.kind = Value::kString;
      return parse_string(out.s);
    }
    if (literal("null")) return true;
    if (literal("true") || literal("false")) {
      out.kind = Value::kBool;
      return true;
    }
    auto [end, ec] = std::from_chars(in_.data() + pos_, in_.data() + in_.size(), out.i);
    if (ec != std::errc()) return false;
    pos_ = static_cast<size_t>(end - in_.data());
    out.kind = Value::kInt;
    return true;
  }
  bool parse_array(Value& out, int depth) {
    out.kind = Value::kArray;
    ++pos_;
    if (eat(']')) return true;
    do {
      if (out.items.size() >= kQuorumStateMaxVoters) return false;
      out.items.emplace_back();
      if (!parse_value(out.items.back(), depth + 1)) return false;
    } while (eat(','));
    return eat(']');
  }
  bool parse_object(Value& out, int depth) {
    out.kind = Value::kObject;
    ++pos_;
    if (eat('}')) return true;
    do {
      std::string key;
      if (!parse_string(key) || !eat(':')) return false;
      Value v;
      if (!parse_value(v, depth + 1)) return false;
      out.fields[std::move(key)] = std::move(v);
    } while (eat(','));
    return eat('}');
  }

  std::string_view in_;
  size_t pos_ = 0;
};

std::optional<int64_t> int_field(const Value& obj, std::string_view key) {
  auto it = obj.fields.find(key);
  if (it == obj.fields.end() || it->second.kind != Value::kInt) return std::nullopt;
  return it->second.i;
}

bool in_int32(int64_t v) { return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max(); }

std::optional<NodeId> node_or_none(int64_t v) { return v < 0 ? std::nullopt : std::optional<NodeId>(NodeId(static_cast<int32_t>(v))); }

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string encode_quorum_state(const QuorumStateData& st) {
  int32_t leader = st.leader_id ? st.leader_id->value : -1;
  int32_t voted = st.voted_id ? st.voted_id->value : -1;
  if (st.data_version >= 1)
    return fmt::format(R"({{"leaderId":{},"leaderEpoch":{},"votedId":{},"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}})",
                       leader, st.leader_epoch.value, voted);
  std::string voters;
  for (size_t i = 0; i < st.current_voters.size(); ++i)
    voters += fmt::format(R"({}{{"voterId":{}}})", i ? "," : "", st.current_voters[i].value);
  return fmt::format(
      R"({{"clusterId":"{}","leaderId":{},"leaderEpoch":{},"votedId":{},"appliedOffset":{},"currentVoters":[{}],"data_version":0}})",
      escape(st.cluster_id), leader, st.leader_epoch.value, voted, st.applied_offset, voters);
}

storage::Result<QuorumStateData> decode_quorum_state(std::string_view json) {
  auto bad = [](std::string why) { return storage::Status::corruption("quorum-state: " + why); };
  if (json.size() > kQuorumStateMaxFileBytes) return bad("file too large");
  Value doc;
  if (!Parser(json).parse_document(doc) || doc.kind != Value::kObject) return bad("not a JSON object");
  auto version = int_field(doc, "data_version");
  if (!version || (*version != 0 && *version != 1)) return bad("unknown data_version");
  auto leader = int_field(doc, "leaderId");
  auto epoch = int_field(doc, "leaderEpoch");
  auto voted = int_field(doc, "votedId");
  if (!leader || !epoch || !voted) return bad("leaderId, leaderEpoch and votedId are required");
  if (!in_int32(*leader) || !in_int32(*voted) || *epoch < 0 || !in_int32(*epoch)) return bad("field out of range");
  QuorumStateData st;
  st.data_version = static_cast<int16_t>(*version);
  st.leader_id = node_or_none(*leader);
  st.voted_id = node_or_none(*voted);
  st.leader_epoch = Epoch(static_cast<int32_t>(*epoch));
  if (auto it = doc.fields.find("clusterId"); it != doc.fields.end() && it->second.kind == Value::kString)
    st.cluster_id = it->second.s;
  st.applied_offset = int_field(doc, "appliedOffset").value_or(0);
  if (auto it = doc.fields.find("currentVoters"); it != doc.fields.end() && it->second.kind == Value::kArray) {
    for (const auto& v : it->second.items) {
      auto id = v.kind == Value::kObject ? int_field(v, "voterId") : std::nullopt;
      if (!id || *id < 0 || !in_int32(*id)) return bad("bad voterId");
      st.current_voters.push_back(NodeId(static_cast<int32_t>(*id)));
    }
  }
  return st;
}

FileQuorumStateStore::FileQuorumStateStore(storage::Env* env, std::string dir)
    : env_(env), path_(storage::join_path(dir, kQuorumStateFileName)) {}

storage::Result<std::optional<QuorumStateData>> FileQuorumStateStore::read() {
  if (!env_->exists(path_)) return std::optional<QuorumStateData>();
  auto text = storage::read_file_to_string(env_, path_, kQuorumStateMaxFileBytes);
  if (!text.is_ok()) return text.status();
  auto st = decode_quorum_state(*text);
  if (!st.is_ok()) return st.status();
  return std::optional<QuorumStateData>(std::move(st).value());
}

storage::Status FileQuorumStateStore::write(const QuorumStateData& state) {
  return storage::write_file_atomically(env_, path_, encode_quorum_state(state));
}

}  // namespace samsa::raft
