#include "keel/core/frame_allocator.h"

#include <array>
#include <new>

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

namespace keel {
namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kMaxPooledBytes = 2048;
constexpr std::size_t kClasses = kMaxPooledBytes / kGranule;
constexpr std::size_t kMaxPooledPerClass = 4096;

struct FreeBlock {
  FreeBlock* next;
};

// Trivially destructible, so it stays readable after `pool` is destroyed at thread exit:
// frames freed then (by static objects) go straight to the heap.
enum class PoolState : unsigned char { unborn, alive, dead };
thread_local PoolState pool_state = PoolState::unborn;
thread_local std::uint64_t heap_allocations = 0;

struct Pool {
  Pool() noexcept { pool_state = PoolState::alive; }
  ~Pool() {
    pool_state = PoolState::dead;
    for (FreeBlock*& head : heads) {
      while (head) {
        FreeBlock* next = head->next;
        ::operator delete(head);
        head = next;
      }
    }
  }
  std::array<FreeBlock*, kClasses> heads{};
  std::array<std::size_t, kClasses> sizes{};
};

thread_local Pool pool;

// The pool, or null once this thread's pool has been destroyed.
Pool* live_pool() noexcept {
  if (pool_state == PoolState::dead) return nullptr;
  return &pool;  // first use constructs it
}

std::size_t size_class(std::size_t bytes) noexcept { return (bytes + kGranule - 1) / kGranule - 1; }
bool poolable(std::size_t bytes) noexcept { return KEEL_FRAME_POOL && bytes > 0 && bytes <= kMaxPooledBytes; }

}  // namespace

std::uint64_t frame_heap_allocations() noexcept { return heap_allocations; }

namespace detail {

void* allocate_frame(std::size_t bytes) {
  ++heap_allocations;  // undone below when a pooled block is reused
  if (!poolable(bytes)) return ::operator new(bytes);
  const std::size_t c = size_class(bytes);
  if (Pool* p = live_pool(); p && p->heads[c]) {
    --heap_allocations;
    FreeBlock* b = p->heads[c];
    p->heads[c] = b->next;
    --p->sizes[c];
    return b;
  }
  return ::operator new((c + 1) * kGranule);
}

void deallocate_frame(void* ptr, std::size_t bytes) noexcept {
  if (poolable(bytes)) {
    const std::size_t c = size_class(bytes);
    if (Pool* p = live_pool(); p && p->sizes[c] < kMaxPooledPerClass) {
      auto* b = static_cast<FreeBlock*>(ptr);
      b->next = p->heads[c];
      p->heads[c] = b;
      ++p->sizes[c];
      return;
    }
  }
  ::operator delete(ptr);
}

}  // namespace detail
}  // namespace keel
