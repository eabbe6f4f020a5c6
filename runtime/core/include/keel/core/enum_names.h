// keel/core/enum_names.h — an enum and the table of its names from one X-macro list.
//
// Purpose: an enum whose values a file, a flag or a report names ("round_robin") needs its
// enumerators and a name table in the same order. Written twice, a new enumerator can be added
// to one and forgotten in the other, and the table's hand-written size goes stale with it.
// KEEL_ENUM_WITH_NAMES writes both from one list, so they cannot drift; the count is the
// table's size, computed by the compiler.
//
// Contract:
//  - LIST is an X-macro: LIST(X) expands to X(enumerator, "name") per value, in enum order.
//  - Declares `enum class Type : std::uint8_t` (values 0..N-1, in list order) and
//    `inline constexpr std::array<std::string_view, N> names` with names[i] naming value i.
//  - Compile-time checks: at least one value, N fits the underlying type, and no two values
//    share a name (a reader maps a name back to its value).
//  - enum_name(names, v) is the one out-of-range rule for these tables: a value outside the
//    list (only a cast can make one) reads as "unknown", never out of bounds.
//
// Example:
//   #define KEEL_SCHEDULING(X) X(always_first, "always_first") X(round_robin, "round_robin")
//   KEEL_ENUM_WITH_NAMES(Scheduling, kSchedulingNames, KEEL_SCHEDULING);
//   constexpr std::string_view to_string(Scheduling v) noexcept { return enum_name(kSchedulingNames, v); }
//   static_assert(kSchedulingNames.size() == 2);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace keel {

namespace detail {

template <std::size_t N>
constexpr bool names_are_distinct(const std::array<std::string_view, N>& names) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i].empty()) return false;
    for (std::size_t j = i + 1; j < N; ++j) {
      if (names[i] == names[j]) return false;
    }
  }
  return true;
}

}  // namespace detail

template <std::size_t N, class E>
constexpr std::string_view enum_name(const std::array<std::string_view, N>& names, E v) noexcept {
  const auto i = static_cast<std::size_t>(v);
  return i < N ? names[i] : std::string_view{"unknown"};
}

}  // namespace keel

#define KEEL_ENUMERATOR_(id, name) id,
#define KEEL_ENUM_NAME_(id, name) std::string_view{name},

#define KEEL_ENUM_WITH_NAMES(Type, names, LIST)                                                          \
  enum class Type : std::uint8_t { LIST(KEEL_ENUMERATOR_) };                                             \
  inline constexpr std::array names = {LIST(KEEL_ENUM_NAME_)};                                           \
  static_assert(names.size() > 0 && names.size() - 1 <= std::numeric_limits<std::uint8_t>::max(),       \
                #Type ": the list must have 1..256 values");                                             \
  static_assert(::keel::detail::names_are_distinct(names), #Type ": every value needs its own, non-empty name")
