// keel/core/frame_allocator.h — recycling allocator for coroutine frames and combinator state.
//
// Purpose: a Task call allocates its coroutine frame; on hot paths (a policy pipeline per
// model call, a simulated step) malloc/free would dominate. Types deriving from
// FrameAllocated get class-level operator new/delete that recycle blocks through per-thread
// free lists in 64-byte size classes, so a warmed-up loop allocates nothing from the heap.
//
// Contract:
//  - Blocks up to kMaxPooledBytes are pooled per thread (thread_local lists: a block freed on
//    another thread joins that thread's list, which is safe). Larger blocks use ::operator new.
//  - Each list keeps at most kMaxPooledPerClass blocks; beyond that, blocks go back to the heap.
//  - Under AddressSanitizer pooling is off, so use-after-free stays detectable.
//  - `frame_heap_allocations()` counts blocks this thread took from ::operator new (benchmarks
//    use it to prove zero allocations per operation once warm).
//
// Example:
//   struct promise_type : keel::detail::FrameAllocated { ... };  // frames now pooled
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel {

std::uint64_t frame_heap_allocations() noexcept;

namespace detail {

void* allocate_frame(std::size_t bytes);
void deallocate_frame(void* p, std::size_t bytes) noexcept;

struct FrameAllocated {
  static void* operator new(std::size_t bytes) { return allocate_frame(bytes); }
  static void operator delete(void* p, std::size_t bytes) noexcept { deallocate_frame(p, bytes); }
};

}  // namespace detail
}  // namespace keel
