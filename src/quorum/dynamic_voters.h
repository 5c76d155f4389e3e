// The voter set of a dynamic quorum (KIP-853) at start-up: when
// controller.quorum.voters is empty and controller.quorum.bootstrap.servers is
// set, the voters and their CONTROLLER endpoints are those of the newest
// VotersRecord in <metadata.log.dir>/__cluster_metadata-0 (the bootstrap
// checkpoint written by `samsa storage format --standalone |
// --initial-controllers`, a later snapshot or the log).
//
// Threads: called once at start-up, before the quorum's loop runs (blocking
// reads through storage::Env).
#pragma once
#include <string>
#include <variant>
#include <vector>

#include "config/broker_config.h"
#include "protocol/kraft/records.h"
#include "storage/env.h"

namespace samsa::quorum {

// The voters of `record` with the endpoint named by the first
// controller.listener.names entry (the first endpoint when none matches).
std::vector<config::QuorumVoter> voters_from_record(const protocol::kraft::VotersRecord& record,
                                                    const std::string& controller_listener);

// The newest VotersRecord of this node's metadata log dir; nullopt when there
// is none (a node formatted with --no-initial-controllers: it starts as an
// observer and finds the leader through controller.quorum.bootstrap.servers),
// or an error message (an unreadable dir, a voter set without endpoints).
std::variant<std::optional<protocol::kraft::VotersRecord>, std::string> recorded_voters(
    const config::BrokerConfig& cfg, storage::Env* env);

// controller.quorum.bootstrap.servers ("host:port,[v6]:port"): the addresses
// and the negative ids (-2, -3, ...) the Raft core knows them by, or an error.
std::variant<std::vector<config::QuorumVoter>, std::string> bootstrap_servers(const config::BrokerConfig& cfg);

}  // namespace samsa::quorum
