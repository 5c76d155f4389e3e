// JSON text for the tools' output (the KRaft records' JSON form, as Kafka's
// JsonConverters print it through Jackson): strings quoted with '"', '\\' and
// control characters escaped, other bytes copied as they are (UTF-8).
// Pure functions; any thread.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace samsa::protocol {

// Appends `s` as a JSON string literal to `out`.
void json_string(std::string& out, std::string_view s);
// Appends `x` as Jackson prints a double: shortest round-trip digits, a whole
// number with ".0" (1024.0); NaN and infinities as Jackson's bare words.
void json_double(std::string& out, double x);
// Appends bytes as a JSON string of their base64 (standard alphabet, padded),
// as Jackson writes a byte[] field.
void json_bytes(std::string& out, const std::vector<uint8_t>& b);

}  // namespace samsa::protocol
