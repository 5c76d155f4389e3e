// Seeded randomness. Everything that draws random numbers (ids, backoff jitter,
// later election timeouts) takes a `Random` built from a seed, so a run can be
// replayed: a test prints the seed it used and `SAMSA_SEED=<n>` repeats it.
//
// The generator is xoshiro256** seeded through splitmix64, and uniform() does
// its own range reduction, so a seed gives the same sequence on every platform
// and standard library (std::uniform_int_distribution does not promise that).
//
// Threads: a Random is not synchronised; give each thread or shard its own.
#pragma once
#include <array>
#include <cstdint>
#include <limits>

namespace samsa {

// A seed for a new generator: the value of the SAMSA_SEED environment variable
// when it is set (decimal or 0x-hex; read once per process), otherwise 64 bits
// from std::random_device (/dev/urandom). Print it where a failure would need it.
uint64_t random_seed();

// 64 bits from the system, SAMSA_SEED or not: the seed for ids that outlive
// the process (cluster, topic and member ids, deleted-directory names). A
// replayed run must not hand out an id an earlier run left on disk.
uint64_t unique_seed();

class Random {
 public:
  using result_type = uint64_t;  // also a UniformRandomBitGenerator (std::shuffle)

  explicit Random(uint64_t seed);
  uint64_t seed() const { return seed_; }

  uint64_t next_u64();
  // Uniform in [lo, hi] (both included); lo > hi returns lo.
  int64_t uniform(int64_t lo, int64_t hi);
  // Uniform in [0, 1).
  double next_double();

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() { return next_u64(); }

 private:
  uint64_t seed_;
  std::array<uint64_t, 4> s_{};
};

// A per-thread generator seeded by unique_seed(), for such ids.
Random& unique_ids();

// A random (version 4, RFC 4122 variant) UUID in Kafka's 16-byte layout; the
// same type as protocol::Uuid. As Kafka's Uuid.randomUuid(), it is never all
// zeros and its base64url text never starts with '-' (a command line would take
// it for an option).
std::array<uint8_t, 16> random_uuid(Random& rng);

}  // namespace samsa
