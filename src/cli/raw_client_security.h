// TLS and SASL for the tools' own protocol client (RawClient): blocking
// OpenSSL I/O over its non-blocking socket, bounded by a deadline, and the
// client side of SASL PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512.
//
// Ownership: used by one RawClient on the tool's thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

struct ssl_st;
struct ssl_ctx_st;

namespace samsa::cli {

// Reads or writes exactly n bytes through TLS; false and err on failure or at the deadline.
bool tls_io(ssl_st* ssl, int fd, bool writing, uint8_t* p, size_t n, std::chrono::steady_clock::time_point deadline,
            const std::string& peer, std::string& err);
void free_tls(ssl_st* ssl, ssl_ctx_st* ctx);

}  // namespace samsa::cli
