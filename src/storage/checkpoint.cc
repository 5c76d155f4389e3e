#include "storage/checkpoint.h"

#include <charconv>
#include <vector>

#include "storage/log_format.h"

namespace samsa::storage {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

template <typename T>
bool parse_int(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<std::vector<std::string_view>> checkpoint_entry_lines(std::string_view text) {
  auto lines = split(text, '\n');
  // A trailing newline leaves one empty last element.
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() < 2) return Status::corruption("checkpoint: missing version or count");
  int version = -1;
  if (!parse_int(lines[0], &version) || version != format::kCheckpointVersion) {
    return Status::corruption("checkpoint: unsupported version '" + std::string(lines[0]) + "'");
  }
  size_t count = 0;
  if (!parse_int(lines[1], &count) || count != lines.size() - 2) {
    return Status::corruption("checkpoint: entry count does not match the lines");
  }
  lines.erase(lines.begin(), lines.begin() + 2);
  return lines;
}

std::vector<std::string_view> checkpoint_fields(std::string_view line) { return split(line, ' '); }
bool parse_checkpoint_int(std::string_view s, int32_t* out) { return parse_int(s, out); }
bool parse_checkpoint_int(std::string_view s, int64_t* out) { return parse_int(s, out); }

std::string format_offset_checkpoint(const OffsetMap& offsets) {
  std::string out = std::to_string(format::kCheckpointVersion) + "\n" + std::to_string(offsets.size()) + "\n";
  for (const auto& [tp, offset] : offsets) {
    out += tp.topic + " " + std::to_string(tp.partition) + " " + std::to_string(offset) + "\n";
  }
  return out;
}

Result<OffsetMap> parse_offset_checkpoint(std::string_view text) {
  auto lines = checkpoint_entry_lines(text);
  if (!lines) return lines.status();
  OffsetMap out;
  for (size_t i = 0; i < lines->size(); ++i) {
    auto f = split((*lines)[i], ' ');
    TopicPartition tp;
    int64_t offset = 0;
    if (f.size() != 3 || !is_valid_topic_name(f[0]) || !parse_int(f[1], &tp.partition) || tp.partition < 0 ||
        !parse_int(f[2], &offset)) {
      return Status::corruption("checkpoint: malformed line " + std::to_string(i + 3));
    }
    tp.topic = std::string(f[0]);
    out[tp] = offset;
  }
  return out;
}

Status write_offset_checkpoint(Env* env, const std::string& path, const OffsetMap& offsets) {
  return write_file_atomically(env, path, format_offset_checkpoint(offsets));
}

Result<OffsetMap> read_offset_checkpoint(Env* env, const std::string& path) {
  if (!env->exists(path)) return OffsetMap{};
  auto text = read_file_to_string(env, path, format::kMaxCheckpointBytes);
  if (!text) return text.status();
  auto parsed = parse_offset_checkpoint(*text);
  if (!parsed) return Status::corruption(path + ": " + parsed.status().message());
  return parsed;
}

}  // namespace samsa::storage
