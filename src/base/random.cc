#include "base/random.h"

#include <cstdlib>
#include <random>
#include <string>

namespace samsa {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// SAMSA_SEED, parsed once: nullopt-like flag plus value.
struct EnvSeed {
  bool set = false;
  uint64_t value = 0;
};

EnvSeed read_env_seed() {
  EnvSeed s;
  const char* v = std::getenv("SAMSA_SEED");
  if (!v || !*v) return s;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v, &end, 0);
  if (end && *end == '\0') {
    s.set = true;
    s.value = n;
  }
  return s;
}

}  // namespace

uint64_t random_seed() {
  static const EnvSeed env = read_env_seed();
  if (env.set) return env.value;
  return unique_seed();
}

uint64_t unique_seed() {
  std::random_device rd;  // the only use of the system's entropy: everything else takes a seed
  return (static_cast<uint64_t>(rd()) << 32) ^ static_cast<uint64_t>(rd());
}

Random& unique_ids() {
  static thread_local Random rng(unique_seed());
  return rng;
}

Random::Random(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (auto& w : s_) w = splitmix64(x);
}

uint64_t Random::next_u64() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

int64_t Random::uniform(int64_t lo, int64_t hi) {
  if (lo >= hi) return lo;
  uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == std::numeric_limits<uint64_t>::max()) return static_cast<int64_t>(next_u64());
  uint64_t n = span + 1;
  // Rejection sampling: drop the top partial block so every value is equally likely.
  uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t r;
  do {
    r = next_u64();
  } while (r >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + r % n);
}

double Random::next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

std::array<uint8_t, 16> random_uuid(Random& rng) {
  std::array<uint8_t, 16> u{};
  for (;;) {
    uint64_t hi = rng.next_u64(), lo = rng.next_u64();
    for (int i = 0; i < 8; ++i) {
      u[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
      u[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
    }
    u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);  // version 4
    u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
    // base64url's first character is the top 6 bits of byte 0; 62 is '-'.
    if ((u[0] >> 2) != 62) return u;
  }
}

}  // namespace samsa
