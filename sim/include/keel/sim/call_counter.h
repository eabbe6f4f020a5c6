// keel/sim/call_counter.h — how many times each call id was executed: exact, one probe per id.
//
// Purpose: a mock tool counts executions per requested tool call (`max_per_call`). A run sees
// hundreds of thousands of distinct ids, almost all executed once, so counting must cost about
// one cache miss per execution: an ordered tree over the ids cost a miss per level (ids such as
// "call_a_10000_0" do not arrive in their sort order).
//
// Contract:
//  - `add(id)` counts one execution of `id` and returns its count so far (1 for a new id).
//    `count(id)` is 0 for an id never added. Exact: ids are compared byte for byte; the hash
//    only chooses where to look.
//  - Open addressing (linear probing) over 64-bit hashes, at most half full; ids are kept back
//    to back in one arena. Nothing is iterated, so the layout never reaches a result.
//  - Not thread-safe (one simulator thread).
//
// Example:
//   CallCounter c;
//   c.add("call_a_0_0");                 // 1
//   c.add("call_a_0_0");                 // 2
//   EXPECT_EQ(c.count("call_b_7_0"), 0u);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keel::sim {

class CallCounter {
 public:
  std::uint64_t add(std::string_view id);
  std::uint64_t count(std::string_view id) const noexcept;
  std::size_t size() const noexcept { return size_; }  // distinct ids

 private:
  struct Slot {
    std::uint64_t hash = 0;  // 0: empty (an id's hash is never 0)
    std::uint64_t count = 0;
    std::uint64_t offset = 0;  // the id's bytes: arena_[offset, offset + length)
    std::uint64_t length = 0;
  };
  static std::uint64_t hash_of(std::string_view id) noexcept;
  // The slot holding `id`, or the empty slot where it belongs.
  std::size_t find(std::string_view id, std::uint64_t hash) const noexcept;
  void grow();

  std::vector<Slot> slots_;  // a power of two long, or empty
  std::string arena_;
  std::size_t size_ = 0;
};

}  // namespace keel::sim
