#include "keel/core/frame_allocator.h"

#include <new>

namespace keel {
namespace {

thread_local std::uint64_t heap_allocations = 0;

using detail::FramePool;

// Frees this thread's lists at thread exit and leaves the pool dead (every list without room),
// so blocks freed later (by static objects) go straight to the heap.
struct PoolReaper {
  ~PoolReaper() {
    FramePool& pool = detail::frame_pool;
    pool.state = FramePool::State::dead;
    for (std::size_t c = 0; c < detail::kFrameClasses; ++c) {
      pool.room[c] = 0;
      while (detail::FreeFrame* b = pool.heads[c]) {
        pool.heads[c] = b->next;
        ::operator delete(b);
      }
    }
  }
};

// Arms the pool on this thread's first use of it. False once the thread's pool is gone.
bool pool_usable(FramePool& pool) noexcept {
  if (pool.state == FramePool::State::armed) return true;
  if (pool.state == FramePool::State::dead) return false;
  static thread_local PoolReaper reaper;  // constructed here, destroyed at thread exit
  (void)reaper;
  pool.state = FramePool::State::armed;
  for (std::uint32_t& r : pool.room) r = detail::kMaxPooledPerClass;
  return true;
}

bool poolable(std::size_t bytes) noexcept { return KEEL_FRAME_POOL && bytes - 1 < detail::kMaxPooledBytes; }

}  // namespace

std::uint64_t frame_heap_allocations() noexcept { return heap_allocations; }

namespace detail {

// The inline path found the list empty (or the size not pooled): a fresh block, sized to its
// class so it can join the list when freed.
void* allocate_frame_slow(std::size_t bytes) {
  ++heap_allocations;
  if (!poolable(bytes)) return ::operator new(bytes);
  FramePool& pool = frame_pool;
  pool_usable(pool);  // arm cleanup before any block of this thread can reach a list
  const std::size_t c = (bytes - 1) / kFrameGranule;
  return ::operator new((c + 1) * kFrameGranule);
}

// The inline path found the list full, the pool not armed yet, or the pool gone.
void deallocate_frame_slow(void* p, std::size_t bytes) noexcept {
  if (poolable(bytes)) {
    FramePool& pool = frame_pool;
    if (pool.state == FramePool::State::unarmed && pool_usable(pool)) {
      deallocate_frame(p, bytes);  // now there is room
      return;
    }
  }
  ::operator delete(p);
}

}  // namespace detail
}  // namespace keel
