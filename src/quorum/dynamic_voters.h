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

// The recorded voters of this node's metadata log dir, or an error message
// (unreadable dir, no VotersRecord: a node formatted with
// --no-initial-controllers cannot yet join as an observer).
std::variant<std::vector<config::QuorumVoter>, std::string> recorded_voters(const config::BrokerConfig& cfg,
                                                                            storage::Env* env);

}  // namespace samsa::quorum
