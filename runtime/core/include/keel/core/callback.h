// keel/core/callback.h — a move-only `void()` callable with inline storage and no allocation.
//
// Purpose: the unit of work a Scheduler runs. Schedulers hold millions of these, so a
// Callback never allocates: the callable must fit in `Callback::kCapacity` bytes (checked at
// compile time). Capture a pointer or a std::unique_ptr if you need more state.
//
// Contract: move-only; invoking an empty Callback is undefined; trivially copyable callables
// (the common case: a coroutine handle, a pointer) are moved with memcpy.
//
// Example:
//   Callback cb{[h = handle] { h.resume(); }};
//   sched.post(std::move(cb));
#pragma once

#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace keel {

class Callback {
 public:
  static constexpr std::size_t kCapacity = 3 * sizeof(void*);

  Callback() noexcept = default;

  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same_v<D, Callback> && std::is_invocable_r_v<void, D&>>>
  Callback(F&& f) noexcept(std::is_nothrow_constructible_v<D, F&&>) {  // NOLINT: implicit by design
    static_assert(sizeof(D) <= kCapacity, "callable too large for Callback; capture less state");
    static_assert(alignof(D) <= alignof(std::max_align_t));
    static_assert(std::is_nothrow_move_constructible_v<D>, "Callback needs a nothrow-movable callable");
    ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
    invoke_ = [](void* p) { (*static_cast<D*>(p))(); };
    if constexpr (!std::is_trivially_copyable_v<D> || !std::is_trivially_destructible_v<D>) {
      manage_ = [](void* dst, void* src) {
        if (dst) ::new (dst) D(std::move(*static_cast<D*>(src)));
        static_cast<D*>(src)->~D();
      };
    }
  }

  Callback(Callback&& o) noexcept { take(o); }
  Callback& operator=(Callback&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  Callback(const Callback&) = delete;
  Callback& operator=(const Callback&) = delete;
  ~Callback() { reset(); }

  explicit operator bool() const noexcept { return invoke_ != nullptr; }
  void operator()() { invoke_(storage_); }

  // Destroys the held callable (if any), leaving this empty.
  void reset() noexcept {
    if (manage_) manage_(nullptr, storage_);
    invoke_ = nullptr;
    manage_ = nullptr;
  }

 private:
  void take(Callback& o) noexcept {
    invoke_ = o.invoke_;
    manage_ = o.manage_;
    if (manage_) {
      manage_(storage_, o.storage_);
    } else if (invoke_) {
      std::memcpy(storage_, o.storage_, kCapacity);
    }
    o.invoke_ = nullptr;
    o.manage_ = nullptr;
  }

  alignas(std::max_align_t) unsigned char storage_[kCapacity];
  void (*invoke_)(void*) = nullptr;
  void (*manage_)(void* dst, void* src) = nullptr;  // null: trivially relocatable
};

}  // namespace keel
