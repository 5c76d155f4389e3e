// Strong types for the identifiers that travel through every layer, so that a
// log offset cannot be passed where a leader epoch or node id is expected:
// each is its own type, built only explicitly from its raw value, compared and
// hashed only with itself.
//
// Arithmetic exists only where it means something: an offset or an epoch may
// move by a raw amount (`next = last + 1`) and two offsets subtract to a count;
// node and partition ids are labels with no arithmetic at all. `.value` is the
// raw number for the wire and for formatting.
#pragma once
#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

#include <fmt/format.h>

namespace samsa {

template <typename Tag, typename Rep>
struct StrongInt {
  using rep = Rep;
  Rep value{};
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep v) : value(v) {}
  constexpr auto operator<=>(const StrongInt&) const = default;
  constexpr bool operator==(const StrongInt&) const = default;

  constexpr StrongInt operator+(Rep d) const requires Tag::arithmetic { return StrongInt(value + d); }
  constexpr StrongInt operator-(Rep d) const requires Tag::arithmetic { return StrongInt(value - d); }
  constexpr Rep operator-(StrongInt o) const requires Tag::arithmetic { return value - o.value; }
  constexpr StrongInt& operator+=(Rep d) requires Tag::arithmetic { value += d; return *this; }
  constexpr StrongInt& operator-=(Rep d) requires Tag::arithmetic { value -= d; return *this; }
  constexpr StrongInt& operator++() requires Tag::arithmetic { ++value; return *this; }
  constexpr StrongInt operator++(int) requires Tag::arithmetic { auto old = *this; ++value; return old; }

  friend std::ostream& operator<<(std::ostream& os, StrongInt v) { return os << v.value; }  // gtest output
};

struct OffsetTag { static constexpr bool arithmetic = true; };
struct EpochTag { static constexpr bool arithmetic = true; };
struct NodeIdTag { static constexpr bool arithmetic = false; };
struct PartitionIdTag { static constexpr bool arithmetic = false; };

using Offset = StrongInt<OffsetTag, int64_t>;          // Kafka offset within a partition
using Epoch = StrongInt<EpochTag, int32_t>;            // leader epoch
using NodeId = StrongInt<NodeIdTag, int32_t>;          // broker / controller id
using PartitionId = StrongInt<PartitionIdTag, int32_t>;

}  // namespace samsa

template <typename Tag, typename Rep>
struct std::hash<samsa::StrongInt<Tag, Rep>> {
  size_t operator()(const samsa::StrongInt<Tag, Rep>& v) const noexcept { return std::hash<Rep>()(v.value); }
};

// Formats as the raw number, with the raw number's format specs ("{:>8}").
template <typename Tag, typename Rep>
struct fmt::formatter<samsa::StrongInt<Tag, Rep>> : fmt::formatter<Rep> {
  template <typename FormatContext>
  auto format(const samsa::StrongInt<Tag, Rep>& v, FormatContext& ctx) const {
    return fmt::formatter<Rep>::format(v.value, ctx);
  }
};
