// The initial voters of a dynamic quorum (KIP-853) as `samsa storage format`
// takes them, with Kafka's syntax and checks (kafka-storage.sh format):
//
//   --initial-controllers 1@host:9093:<directory id>,2@[::1]:9093:<directory id>,...
//   --standalone          this node alone, at its CONTROLLER listener, with a new directory id
//
// and the VotersRecord the bootstrap checkpoint holds for them.
//
// Threads: pure functions (standalone_voter draws a random Uuid).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/broker_config.h"
#include "protocol/kraft/records.h"
#include "protocol/wire.h"

namespace samsa::app {

struct InitialController {
  int32_t id = 0;
  std::string host;
  uint16_t port = 0;
  protocol::Uuid directory_id{};
  bool operator==(const InitialController&) const = default;
};

// Kafka's text of a directory id (22 characters of URL-safe base64, no
// padding) back to its 16 bytes; nullopt for anything else.
std::optional<protocol::Uuid> parse_uuid(std::string_view text);

// Parses the --initial-controllers list; an error message (Kafka's wording)
// for a malformed entry, a directory id that is not a Uuid, a duplicate id or
// an empty list.
std::variant<std::vector<InitialController>, std::string> parse_initial_controllers(std::string_view text);

// --standalone: this node (node.id) at the first controller.listener.names
// listener of `listeners` (an empty host is localhost), with a random
// directory id. An error when the node is no controller or has no such listener.
std::variant<InitialController, std::string> standalone_voter(const config::BrokerConfig& cfg);

// The VotersRecord of the bootstrap checkpoint: every initial controller
// with its endpoint under `listener` (the first controller listener name)
// and kraft.version support 0..1.
protocol::kraft::VotersRecord voters_record(const std::vector<InitialController>& controllers,
                                            const std::string& listener);

}  // namespace samsa::app
