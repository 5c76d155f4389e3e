#include "storage/meta_properties.h"

#include <sstream>

#include "base/random.h"
#include "protocol/wire.h"

namespace samsa::storage {

namespace {

const char* kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

}  // namespace

Result<MetaProperties> read_meta_properties(Env* env, const std::string& dir) {
  auto text = read_file_to_string(env, join_path(dir, kMetaPropertiesFile), kMaxMetaPropertiesBytes);
  if (!text.is_ok()) return text.status();
  MetaProperties m;
  std::istringstream in(text.value());
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    auto eq = line.find_first_of("=:");
    if (eq == std::string::npos) continue;
    m[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return m;
}

Status write_meta_properties(Env* env, const std::string& dir, int32_t node_id, const std::string& cluster_id,
                             const std::string& comment, const std::string& directory_id) {
  std::ostringstream out;
  out << "#\n#" << comment << "\nnode.id=" << node_id << "\nversion=1\ncluster.id=" << cluster_id << "\n";
  if (!directory_id.empty()) out << "directory.id=" << directory_id << "\n";
  return write_file_atomically(env, join_path(dir, kMetaPropertiesFile), out.str());
}

std::string to_string(const MetaProperties& p) {
  std::string s = "{";
  for (auto& [k, v] : p) s += (s.size() > 1 ? ", " : "") + k + "=" + v;
  return s + "}";
}

std::string random_cluster_id() {
  // A version 4 UUID whose text does not start with '-' (base/random.h).
  protocol::Uuid id = random_uuid(unique_ids());
  return protocol::to_base64url(id);
}

bool valid_cluster_id(const std::string& id) {
  if (id.size() != 22) return false;
  for (char c : id)
    if (std::string_view(kBase64Url).find(c) == std::string_view::npos) return false;
  // The last character carries 2 data bits: its low 4 bits must be zero.
  return (std::string_view(kBase64Url).find(id.back()) & 0x0f) == 0;
}

}  // namespace samsa::storage
