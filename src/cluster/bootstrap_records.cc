#include "cluster/bootstrap_records.h"

namespace samsa::cluster {

storage::Status write_bootstrap_records(storage::Env* env, const std::string& dir,
                                        const std::vector<MetadataRecord>& records) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (auto& r : records) {
    for (uint8_t b : encode_record(r)) {
      text += kHex[b >> 4];
      text += kHex[b & 15];
    }
    text += '\n';
  }
  return storage::write_file_atomically(env, storage::join_path(dir, kBootstrapRecordsFile), text);
}

storage::Result<std::vector<MetadataRecord>> read_bootstrap_records(storage::Env* env, const std::string& dir) {
  const std::string path = storage::join_path(dir, kBootstrapRecordsFile);
  std::vector<MetadataRecord> out;
  if (!env->exists(path)) return out;
  auto text = storage::read_file_to_string(env, path, kMaxBootstrapRecordsBytes);
  if (!text.is_ok()) return text.status();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  size_t line_no = 0, start = 0;
  const std::string& s = *text;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    ++line_no;
    std::string_view line(s.data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    protocol::Bytes value;
    bool ok = line.size() % 2 == 0;
    for (size_t i = 0; ok && i < line.size(); i += 2) {
      int hi = nibble(line[i]), lo = nibble(line[i + 1]);
      ok = hi >= 0 && lo >= 0;
      value.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
    auto rec = ok ? decode_record(value) : std::nullopt;
    if (!rec) return storage::Status::corruption(path + ": line " + std::to_string(line_no) + " is not a metadata record");
    out.push_back(std::move(*rec));
  }
  return out;
}

}  // namespace samsa::cluster
