#include "cli/metadata_quorum_voters.h"

#include <algorithm>
#include <cstdio>

#include "base/error_code.h"
#include "protocol/messages/add_raft_voter.h"
#include "protocol/messages/api_versions.h"
#include "protocol/messages/remove_raft_voter.h"
#include "protocol/uuid_text.h"

namespace samsa::cli {

namespace {

constexpr int16_t kNotLeader = 6;  // NOT_LEADER_OR_FOLLOWER

struct NewController {
  int32_t id = -1;
  protocol::Uuid directory_id{};
  std::vector<protocol::AddRaftVoterRequest::Listener> listeners;
};

// "NAME://host:port" (an IPv6 host in brackets); false when malformed.
bool parse_endpoint(const std::string& text, protocol::AddRaftVoterRequest::Listener& out) {
  auto sep = text.find("://");
  auto colon = text.rfind(':');
  if (sep == std::string::npos || colon == std::string::npos || colon < sep + 3) return false;
  out.name = text.substr(0, sep);
  out.host = text.substr(sep + 3, colon - sep - 3);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty()) out.host = "localhost";  // a listener on every interface
  std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  int p = std::stoi(port);
  if (p <= 0 || p > 65535) return false;
  out.port = static_cast<uint16_t>(p);
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
  return s;
}

// What kafka-metadata-quorum.sh reads from the new controller's properties:
// node.id, the advertised (else bound) endpoints of controller.listener.names,
// and the directory.id of meta.properties in its metadata log dir.
bool read_new_controller(const std::string& path, NewController& out, std::string& err) {
  Properties p;
  if (!load_properties(path, p, err)) return false;
  auto get = [&](const char* key) { return p.count(key) ? trim(p[key]) : std::string(); };
  std::string roles = get("process.roles");
  if (roles.find("controller") == std::string::npos) {
    err = path + ": process.roles does not include controller";
    return false;
  }
  std::string id = get("node.id");
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos || id.size() > 9) {
    err = path + ": node.id is missing or not a number";
    return false;
  }
  out.id = std::stoi(id);
  std::vector<std::string> names;
  for (auto& n : split(get("controller.listener.names"), ','))
    if (!trim(n).empty()) names.push_back(trim(n));
  if (names.empty()) {
    err = path + ": controller.listener.names is empty";
    return false;
  }
  std::string listeners = get("advertised.listeners");
  for (int pass = 0; pass < 2 && out.listeners.empty(); ++pass) {
    for (auto& entry : split(pass == 0 ? listeners : get("listeners"), ',')) {
      protocol::AddRaftVoterRequest::Listener l;
      if (trim(entry).empty()) continue;
      if (!parse_endpoint(trim(entry), l)) {
        err = path + ": cannot parse the listener '" + entry + "'";
        return false;
      }
      for (auto& n : names)
        if (n == l.name) out.listeners.push_back(l);
    }
  }
  if (out.listeners.empty()) {
    err = path + ": no listener of controller.listener.names (" + names.front() + ")";
    return false;
  }
  std::string dir = get("metadata.log.dir");
  if (dir.empty()) {
    auto dirs = split(!get("log.dirs").empty() ? get("log.dirs") : get("log.dir"), ',');
    dir = dirs.empty() ? std::string() : trim(dirs.front());
  }
  if (dir.empty()) {
    err = path + ": neither metadata.log.dir nor log.dirs is set";
    return false;
  }
  Properties meta;
  if (!load_properties(dir + "/meta.properties", meta, err)) return false;
  auto uuid = meta.count("directory.id") ? protocol::from_base64url(trim(meta["directory.id"])) : std::nullopt;
  if (!uuid) {
    err = dir + "/meta.properties has no valid directory.id (format the node with `samsa storage format`)";
    return false;
  }
  out.directory_id = *uuid;
  return true;
}

// The highest version of `key` the server serves up to `ours`; -1 if none.
int16_t served_version(RawClient& c, int16_t key, int16_t ours, std::string& err) {
  protocol::ApiVersionsRequest req;
  req.client_software_name = "samsa-cli";
  req.client_software_version = "1.0";
  protocol::ApiVersionsResponse resp;
  if (!c.call(req, 3, resp, err)) return -1;
  for (auto& k : resp.api_keys)
    if (k.api_key == key && k.min_version <= ours) return std::min(k.max_version, ours);
  err = c.peer() + " does not serve API " + std::to_string(key) + " (is it a controller of a KRaft quorum?)";
  return -1;
}

std::string error_text(int16_t code, const std::optional<std::string>& message) {
  std::string name = code == 126   ? "DUPLICATE_VOTER"
                     : code == 127 ? "VOTER_NOT_FOUND"
                                   : std::string(error_name(static_cast<ErrorCode>(code)));
  return name + (message && !message->empty() ? ": " + *message : "");
}

// Sends one voter request to the active controller; "" on success.
template <typename Req, typename Resp>
std::string send_to_leader(const VoterCommand& cmd, const Req& req, int16_t key) {
  std::string err;
  on_each_host(cmd.bootstrap, cmd.client, cmd.timeout_ms, err, [&](RawClient& c, bool& not_leader, std::string& e) {
    int16_t v = served_version(c, key, 0, e);
    if (v < 0) return false;
    Resp resp;
    if (!c.call(req, v, resp, e)) return false;
    if (resp.error_code == kNotLeader) {
      not_leader = true;
      return false;
    }
    if (resp.error_code != 0) e = error_text(resp.error_code, resp.error_message);
    return true;
  });
  return err;
}

}  // namespace

int add_controller(const VoterCommand& cmd) {
  NewController n;
  std::string err;
  if (!read_new_controller(cmd.controller_properties, n, err)) return fail(err);
  protocol::AddRaftVoterRequest req;
  // The controller answers within this; the tool's own wait (--timeout-ms) is longer.
  req.timeout_ms = std::max(1000, cmd.timeout_ms * 3 / 4);
  req.voter_id = n.id;
  req.voter_directory_id = n.directory_id;
  req.listeners = n.listeners;
  if (auto e = send_to_leader<protocol::AddRaftVoterRequest, protocol::AddRaftVoterResponse>(cmd, req, 80); !e.empty())
    return fail(e);
  std::string endpoints;
  for (auto& l : n.listeners) {
    std::string host = l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host;
    endpoints += (endpoints.empty() ? "" : ", ") + l.name + "://" + host + ":" + std::to_string(l.port);
  }
  std::printf("Added controller %d with directory id %s and endpoints: %s\n", n.id,
              protocol::to_base64url(n.directory_id).c_str(), endpoints.c_str());
  return 0;
}

int remove_controller(const VoterCommand& cmd) {
  auto dir = protocol::from_base64url(cmd.directory_id);
  if (!dir) return fail("--controller-directory-id '" + cmd.directory_id + "' is not a directory id");
  if (cmd.controller_id < 0) return fail("--controller-id must not be negative");
  protocol::RemoveRaftVoterRequest req;
  req.voter_id = cmd.controller_id;
  req.voter_directory_id = *dir;
  if (auto e = send_to_leader<protocol::RemoveRaftVoterRequest, protocol::RemoveRaftVoterResponse>(cmd, req, 81);
      !e.empty())
    return fail(e);
  std::printf("Removed KRaft controller %d with directory id %s\n", cmd.controller_id, cmd.directory_id.c_str());
  return 0;
}

}  // namespace samsa::cli
