#include "app/initial_controllers.h"

#include <charconv>
#include <map>

#include "base/random.h"
#include "net/scram.h"

namespace samsa::app {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <typename T>
bool parse_int(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// One `id@host:port:directoryId`, with the checks and messages of Kafka's
// DynamicVoter.parse.
std::variant<InitialController, std::string> parse_one(std::string_view input) {
  input = trim(input);
  auto at = input.find('@');
  if (at == std::string_view::npos) return std::string("No @ found in dynamic voter string.");
  if (at == 0) return std::string("Invalid @ at beginning of dynamic voter string.");
  InitialController c;
  if (!parse_int(input.substr(0, at), c.id)) return std::string("Failed to parse node id in dynamic voter string.");
  if (c.id < 0) return "Invalid negative node id " + std::to_string(c.id) + " in dynamic voter string.";
  input.remove_prefix(at + 1);
  if (input.empty()) return std::string("No hostname found after node id.");
  if (input.front() == '[') {
    auto end = input.find(']');
    if (end == std::string_view::npos)
      return std::string("Hostname began with left bracket, but no right bracket was found.");
    c.host = std::string(input.substr(1, end - 1));
    input.remove_prefix(end + 1);
  } else {
    auto colon = input.find(':');
    if (colon == std::string_view::npos) return std::string("No colon following hostname could be found.");
    c.host = std::string(input.substr(0, colon));
    input.remove_prefix(colon);
  }
  if (input.empty() || input.front() != ':') return std::string("Port section must start with a colon.");
  input.remove_prefix(1);
  auto colon = input.find(':');
  if (colon == std::string_view::npos) return std::string("No colon following port could be found.");
  int32_t port = 0;
  if (!parse_int(input.substr(0, colon), port)) return std::string("Failed to parse port in dynamic voter string.");
  if (port < 0 || port > 65535) return "Invalid port " + std::to_string(port) + " in dynamic voter string.";
  c.port = static_cast<uint16_t>(port);
  auto dir = parse_uuid(input.substr(colon + 1));
  if (!dir) return std::string("Failed to parse directory ID in dynamic voter string.");
  c.directory_id = *dir;
  return c;
}

}  // namespace

std::optional<protocol::Uuid> parse_uuid(std::string_view text) {
  if (text.size() != 22) return std::nullopt;
  std::string b64(text);
  for (char& ch : b64) {
    if (ch == '-') ch = '+';
    else if (ch == '_') ch = '/';
    else if (ch == '+' || ch == '/' || ch == '=') return std::nullopt;  // not URL-safe base64
  }
  auto bytes = net::base64_decode(b64 + "==");
  if (!bytes || bytes->size() != 16) return std::nullopt;
  protocol::Uuid id{};
  std::copy(bytes->begin(), bytes->end(), id.begin());
  // Kafka refuses the reserved zero and one ids as directory ids too.
  if (protocol::to_base64url(id) != text) return std::nullopt;
  return id;
}

std::variant<std::vector<InitialController>, std::string> parse_initial_controllers(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::string("No voters given.");
  std::vector<InitialController> out;
  std::map<int32_t, bool> seen;
  while (true) {
    auto comma = text.find(',');
    auto one = parse_one(text.substr(0, comma));
    if (auto* err = std::get_if<std::string>(&one)) return *err;
    auto& c = std::get<InitialController>(one);
    if (seen[c.id]) return "Node id " + std::to_string(c.id) + " was specified more than once.";
    seen[c.id] = true;
    out.push_back(std::move(c));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::variant<InitialController, std::string> standalone_voter(const config::BrokerConfig& cfg) {
  if (!cfg.is_controller()) return std::string("You can only use --standalone on a controller.");
  if (cfg.controller_listener_names().empty())
    return std::string("controller.listener.names must name the CONTROLLER listener to use --standalone.");
  const auto& name = cfg.controller_listener_names().front();
  for (const auto& l : cfg.listeners()) {
    if (l.listener_name != name) continue;
    InitialController c;
    c.id = cfg.node_id();
    c.host = l.host.empty() ? "localhost" : l.host;
    c.port = static_cast<uint16_t>(l.port);
    c.directory_id = random_uuid(unique_ids());
    return c;
  }
  return "Unable to find controller listener " + name + " in listeners.";
}

protocol::kraft::VotersRecord voters_record(const std::vector<InitialController>& controllers,
                                            const std::string& listener) {
  protocol::kraft::VotersRecord record;
  for (const auto& c : controllers) {
    protocol::kraft::VotersRecord::Voter v;
    v.voter_id = c.id;
    v.voter_directory_id = c.directory_id;
    v.endpoints.push_back({listener, c.host, c.port, {}});
    v.k_raft_version_feature.min_supported_version = 0;
    v.k_raft_version_feature.max_supported_version = 1;
    record.voters.push_back(std::move(v));
  }
  return record;
}

}  // namespace samsa::app
