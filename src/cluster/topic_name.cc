#include "cluster/topic_name.h"

#include <algorithm>

namespace samsa::cluster {
namespace {

bool is_legal_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

}  // namespace

std::optional<std::string> topic_name_error(std::string_view name) {
  const std::string prefix = "Topic name is invalid: ";
  if (name.empty()) return prefix + "the empty string is not allowed";
  if (name == ".") return prefix + "'.' is not allowed";
  if (name == "..") return prefix + "'..' is not allowed";
  if (name.size() > kMaxTopicNameLength) {
    // The name itself is echoed back, as Kafka does; it is bounded by the
    // request frame size, not by us.
    return prefix + "the length of '" + std::string(name) + "' is longer than the max allowed length " +
           std::to_string(kMaxTopicNameLength);
  }
  if (!std::all_of(name.begin(), name.end(), is_legal_char)) {
    return prefix + "'" + std::string(name) +
           "' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'";
  }
  return std::nullopt;
}

bool is_internal_topic(std::string_view name) {
  return name == kConsumerOffsetsTopic || name == kTransactionStateTopic;
}

std::string cluster_metadata_creation_message() {
  return "Creation of internal topic " + std::string(kClusterMetadataTopic) + " is prohibited.";
}

bool has_collision_chars(std::string_view name) {
  return name.find('.') != std::string_view::npos || name.find('_') != std::string_view::npos;
}

std::string unify_collision_chars(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

bool topics_collide(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '.' ? '_' : a[i];
    const char y = b[i] == '.' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string topic_collision_message(std::string_view name, std::string_view existing) {
  return "Topic '" + std::string(name) + "' collides with existing topic: " + std::string(existing);
}

}  // namespace samsa::cluster
