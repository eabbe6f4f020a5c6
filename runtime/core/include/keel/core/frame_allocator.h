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
//    A thread's lists are freed when the thread exits; blocks freed after that go to the heap.
//  - Under AddressSanitizer pooling is off, so use-after-free stays detectable.
//  - `frame_heap_allocations()` counts blocks this thread took from ::operator new (benchmarks
//    use it to prove zero allocations per operation once warm).
//  - The reuse paths (a block from a non-empty list, a block onto a list with room) are inline:
//    every coroutine call takes one of each.
//
// Example:
//   struct promise_type : keel::detail::FrameAllocated { ... };  // frames now pooled
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__SANITIZE_ADDRESS__)
#define KEEL_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_FRAME_POOL 0
#endif
#endif
#ifndef KEEL_FRAME_POOL
#define KEEL_FRAME_POOL 1
#endif

// Marks a small step that coroutine bodies run on every call (an awaiter's synchronous path, a
// policy's admission check) for inlining: GCC does not inline into a coroutine's actor function
// by itself, and there the call (saved registers, spills) costs more than the step.
#define KEEL_INLINE_HOT [[gnu::always_inline]] inline

// KEEL_INLINE_HOT functions are meant to be inlined at every call, but GCC 12 can leave a call
// to one in a coroutine body without emitting its body in that object (seen with
// -fsanitize=address: undefined references at link time). In the function's own .cpp,
// `KEEL_OUT_OF_LINE_COPY(kName, &Class::function);` takes its address, which emits one
// out-of-line copy for such calls to link against.
#define KEEL_OUT_OF_LINE_COPY(name, address) [[gnu::used]] static const auto name = address

namespace keel {

std::uint64_t frame_heap_allocations() noexcept;

namespace detail {

inline constexpr std::size_t kFrameGranule = 64;
inline constexpr std::size_t kMaxPooledBytes = 4096;
inline constexpr std::size_t kFrameClasses = kMaxPooledBytes / kFrameGranule;
inline constexpr std::uint32_t kMaxPooledPerClass = 4096;

struct FreeFrame {
  FreeFrame* next;
};

// One thread's free lists. Constant-initialized and trivially destructible, so the inline
// paths reach it with no initialization guard; the out-of-line paths arm its cleanup at thread
// exit (frame_allocator.cpp) the first time this thread pools or takes a block.
struct FramePool {
  enum class State : unsigned char { unarmed, armed, dead };
  FreeFrame* heads[kFrameClasses] = {};
  std::uint32_t room[kFrameClasses] = {};  // blocks each list may still take; 0 until armed
  State state = State::unarmed;
};
inline constinit thread_local FramePool frame_pool{};

void* allocate_frame_slow(std::size_t bytes);
void deallocate_frame_slow(void* p, std::size_t bytes) noexcept;

inline void* allocate_frame(std::size_t bytes) {
  if (KEEL_FRAME_POOL && bytes - 1 < kMaxPooledBytes) {  // 1..kMaxPooledBytes
    const std::size_t c = (bytes - 1) / kFrameGranule;
    FramePool& pool = frame_pool;
    if (FreeFrame* b = pool.heads[c]) [[likely]] {
      pool.heads[c] = b->next;
      ++pool.room[c];
      return b;
    }
  }
  return allocate_frame_slow(bytes);
}

inline void deallocate_frame(void* p, std::size_t bytes) noexcept {
  if (KEEL_FRAME_POOL && bytes - 1 < kMaxPooledBytes) {
    const std::size_t c = (bytes - 1) / kFrameGranule;
    FramePool& pool = frame_pool;
    if (pool.room[c] != 0) [[likely]] {
      --pool.room[c];
      auto* b = static_cast<FreeFrame*>(p);
      b->next = pool.heads[c];
      pool.heads[c] = b;
      return;
    }
  }
  deallocate_frame_slow(p, bytes);
}

struct FrameAllocated {
  static void* operator new(std::size_t bytes) { return allocate_frame(bytes); }
  static void operator delete(void* p, std::size_t bytes) noexcept { deallocate_frame(p, bytes); }
};

}  // namespace detail
}  // namespace keel
