// Kafka's text of a Uuid (topic ids, directory ids): 22 characters of
// URL-safe base64 without padding. to_base64url (protocol/wire.h) writes it.
//
// Threads: pure functions.
#pragma once
#include <optional>
#include <string_view>

#include "protocol/wire.h"

namespace samsa::protocol {

// The inverse of to_base64url; nullopt for anything but its exact output.
std::optional<Uuid> from_base64url(std::string_view text);

}  // namespace samsa::protocol
