// `samsa metadata-quorum add-controller | remove-controller` (KIP-853, as
// kafka-metadata-quorum.sh): AddRaftVoter / RemoveRaftVoter sent to the
// active controller, found by trying the --bootstrap-controller (or
// --bootstrap-server) hosts in turn (a non-leader answers NOT_LEADER_OR_FOLLOWER).
//
// Threads: the tool's one thread.
#pragma once
#include <string>

#include "cli/common.h"

namespace samsa::cli {

// Sends `fn` to each "host:port" of `bootstrap` in turn; fn returns true when
// this host answered for the quorum (anything but NOT_LEADER_OR_FOLLOWER) or
// failed for good (err set). False with err when no host did.
template <typename Fn>
bool on_each_host(const std::string& bootstrap, const Properties& props, int timeout_ms, std::string& err, Fn fn) {
  std::string last = "no host in '" + bootstrap + "'";
  for (const std::string& host : split(bootstrap, ',')) {
    if (host.empty()) continue;
    RawClient c;
    std::string e;
    if (!c.connect(host, timeout_ms, e) || !c.secure(props, e)) {
      last = e;
      continue;
    }
    bool not_leader = false;
    if (fn(c, not_leader, e)) {
      err = e;
      return err.empty();
    }
    last = not_leader ? host + " is not the active controller" : e;
  }
  err = last;
  return false;
}

struct VoterCommand {
  std::string bootstrap;            // host:port,...
  Properties client;                // the client's properties (security)
  int timeout_ms = 30000;
  std::string controller_properties;  // add: the new controller's server properties
  int32_t controller_id = -1;         // remove
  std::string directory_id;           // remove: its meta.properties directory.id
};
int add_controller(const VoterCommand& c);
int remove_controller(const VoterCommand& c);

}  // namespace samsa::cli
