// Strong types for the identifiers that travel through every layer, so that a
// log offset cannot be passed where a leader epoch or node id is expected.
#pragma once
#include <compare>
#include <cstdint>
#include <functional>

namespace samsa {

template <typename Tag, typename Rep>
struct StrongInt {
  Rep value{};
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep v) : value(v) {}
  constexpr auto operator<=>(const StrongInt&) const = default;
  constexpr StrongInt operator+(Rep d) const { return StrongInt(value + d); }
  constexpr StrongInt operator-(Rep d) const { return StrongInt(value - d); }
  constexpr Rep operator-(StrongInt o) const { return value - o.value; }
  StrongInt& operator+=(Rep d) { value += d; return *this; }
};

struct OffsetTag {};
struct EpochTag {};
struct NodeIdTag {};
struct PartitionIdTag {};

using Offset = StrongInt<OffsetTag, int64_t>;          // Kafka offset within a partition
using Epoch = StrongInt<EpochTag, int32_t>;            // leader epoch
using NodeId = StrongInt<NodeIdTag, int32_t>;          // broker / controller id
using PartitionId = StrongInt<PartitionIdTag, int32_t>;

}  // namespace samsa

template <typename Tag, typename Rep>
struct std::hash<samsa::StrongInt<Tag, Rep>> {
  size_t operator()(const samsa::StrongInt<Tag, Rep>& v) const noexcept { return std::hash<Rep>()(v.value); }
};
