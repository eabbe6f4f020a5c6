// keel/core/result.h — Result<T>: a T or an Error; Status = Result<void>.
//
// Purpose: the data-path return type (the README, "Contributing": result values on the data path, exceptions
// only for misuse and configuration). Shaped like std::expected<T, Error>.
//
// Contract:
//  - Holds exactly one of a value or an Error. Nothrow-movable when T is. The Error is boxed
//    (pooled, see frame_allocator.h) so a Result is as small as its value and the success
//    path moves no error-sized storage; copying an error Result copies the Error. A Result
//    moved from is left valid only to be assigned or destroyed.
//  - `value()`, `*`, `->` require `ok()`; `error()` requires `!ok()`. Misuse is a bug: it
//    prints the held error (if any) to stderr and aborts. Nothing here throws.
//  - T must not be a reference, an Error, or a Result.
//
// Example:
//   Result<int> parse(std::string_view s);           // returns 42 or Error{...}
//   Result<int> r = parse("42");
//   if (!r) return r.error();                        // propagate (Error converts to Result)
//   int twice = r.map([](int v) { return 2 * v; }).value_or(0);
//   Status done = {};                                // Result<void> success
#pragma once

#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "keel/core/error.h"
#include "keel/core/frame_allocator.h"

namespace keel {

namespace detail {

// An owned, pooled Error: one pointer. Null only when moved from (or, for Status, success).
class ErrorBox {
 public:
  ErrorBox() noexcept = default;
  explicit ErrorBox(Error&& e) : p_(new (allocate_frame(sizeof(Error))) Error(std::move(e))) {}
  ErrorBox(const ErrorBox& o) : p_(o.p_ ? ErrorBox(Error(*o.p_)).release() : nullptr) {}
  ErrorBox(ErrorBox&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  ErrorBox& operator=(ErrorBox o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~ErrorBox() {
    if (p_) {
      p_->~Error();
      deallocate_frame(p_, sizeof(Error));
    }
  }
  Error* get() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  Error* release() noexcept { return std::exchange(p_, nullptr); }
  Error* p_ = nullptr;
};

}  // namespace detail

template <class T>
class Result;
using Status = Result<void>;

namespace detail {
// Prints `what` (and the held error) to stderr, then aborts. Defined in error.cpp.
[[noreturn]] void bad_result_access(const char* what, const Error* err) noexcept;

template <class>
inline constexpr bool is_result_v = false;
template <class T>
inline constexpr bool is_result_v<Result<T>> = true;
}  // namespace detail

inline Status success() noexcept;

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T> && !std::is_same_v<std::remove_cv_t<T>, Error> &&
                !detail::is_result_v<std::remove_cv_t<T>> && !std::is_same_v<std::remove_cv_t<T>, std::in_place_t>,
                "Result<T>: T must be a non-reference value type other than Error/Result");

 public:
  using value_type = T;

  // From a value (anything T is constructible from, except Error/Result/in_place).
  template <class U = T,
            class = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                     !std::is_same_v<std::remove_cvref_t<U>, Result> &&
                                     !std::is_same_v<std::remove_cvref_t<U>, Error> &&
                                     !std::is_same_v<std::remove_cvref_t<U>, std::in_place_t>>>
  Result(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>)  // NOLINT: implicit by design
      : value_(std::forward<U>(v)), ok_(true) {}
  template <class... A>
  explicit Result(std::in_place_t, A&&... a) : value_(std::forward<A>(a)...), ok_(true) {}
  Result(Error e) noexcept : error_(std::move(e)), ok_(false) {}  // NOLINT: implicit

  // A tagged union rather than std::variant: a Result is moved several times per call through
  // each policy layer, and variant's index-dispatched moves and destruction cost several times
  // a branch on `ok_`.
  Result(const Result& o) requires std::is_copy_constructible_v<T> : ok_(o.ok_) {
    if (ok_) ::new (static_cast<void*>(std::addressof(value_))) T(o.value_);
    else ::new (static_cast<void*>(std::addressof(error_))) detail::ErrorBox(o.error_);
  }
  Result(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) requires std::is_move_constructible_v<T>
      : ok_(o.ok_) {
    if (ok_) ::new (static_cast<void*>(std::addressof(value_))) T(std::move(o.value_));
    else ::new (static_cast<void*>(std::addressof(error_))) detail::ErrorBox(std::move(o.error_));
  }
  Result& operator=(const Result& o) requires std::is_copy_constructible_v<T> && std::is_copy_assignable_v<T> {
    if (this == &o) return *this;
    if (ok_ && o.ok_) {
      value_ = o.value_;
    } else if (!ok_ && !o.ok_) {
      error_ = o.error_;
    } else {
      Result copy(o);
      destroy();
      construct_from(std::move(copy));
    }
    return *this;
  }
  Result& operator=(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_move_assignable_v<T>)
    requires std::is_move_constructible_v<T> && std::is_move_assignable_v<T>
  {
    if (this == &o) return *this;
    if (ok_ && o.ok_) {
      value_ = std::move(o.value_);
    } else if (!ok_ && !o.ok_) {
      error_ = std::move(o.error_);
    } else {
      destroy();
      construct_from(std::move(o));
    }
    return *this;
  }
  ~Result() { destroy(); }

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return *check_value(); }
  const T& value() const& { return *check_value(); }
  T&& value() && { return std::move(*check_value()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return check_value(); }
  const T* operator->() const { return check_value(); }

  Error& error() & { return *check_error(); }
  const Error& error() const& { return *check_error(); }
  Error&& error() && { return std::move(*check_error()); }

  template <class U>
  T value_or(U&& fallback) const& {
    return ok_ ? value_ : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  T value_or(U&& fallback) && {
    return ok_ ? std::move(value_) : static_cast<T>(std::forward<U>(fallback));
  }

  // f(T) -> U gives Result<U> (U may be void); the error passes through unchanged.
  template <class F>
  auto map(F&& f) const& { return map_impl(*this, std::forward<F>(f)); }
  template <class F>
  auto map(F&& f) && { return map_impl(std::move(*this), std::forward<F>(f)); }
  // f(T) -> Result<U> gives Result<U>; the error passes through unchanged.
  template <class F>
  auto and_then(F&& f) const& { return and_then_impl(*this, std::forward<F>(f)); }
  template <class F>
  auto and_then(F&& f) && { return and_then_impl(std::move(*this), std::forward<F>(f)); }

 private:
  void destroy() noexcept {
    if (ok_) value_.~T();
    else error_.~ErrorBox();
  }
  // Into destroyed storage: takes `o`'s alternative.
  void construct_from(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    ok_ = o.ok_;
    if (ok_) ::new (static_cast<void*>(std::addressof(value_))) T(std::move(o.value_));
    else ::new (static_cast<void*>(std::addressof(error_))) detail::ErrorBox(std::move(o.error_));
  }
  T* check_value() {
    if (ok_) [[likely]] return std::addressof(value_);
    detail::bad_result_access("Result::value() on an error", error_.get());
  }
  const T* check_value() const { return const_cast<Result*>(this)->check_value(); }
  Error* check_error() {
    if (!ok_ && error_) [[likely]] return error_.get();
    detail::bad_result_access("Result::error() on a value", nullptr);
  }
  const Error* check_error() const { return const_cast<Result*>(this)->check_error(); }

  template <class Self, class F>
  static auto map_impl(Self&& self, F&& f) {
    using U = std::remove_cvref_t<std::invoke_result_t<F, decltype(std::forward<Self>(self).value())>>;
    if (!self.ok()) return Result<U>(std::forward<Self>(self).error());
    if constexpr (std::is_void_v<U>) {
      std::forward<F>(f)(std::forward<Self>(self).value());
      return Result<U>();
    } else {
      return Result<U>(std::forward<F>(f)(std::forward<Self>(self).value()));
    }
  }
  template <class Self, class F>
  static auto and_then_impl(Self&& self, F&& f) {
    using R = std::remove_cvref_t<std::invoke_result_t<F, decltype(std::forward<Self>(self).value())>>;
    static_assert(detail::is_result_v<R>, "and_then: f must return a Result");
    if (!self.ok()) return R(std::forward<Self>(self).error());
    return std::forward<F>(f)(std::forward<Self>(self).value());
  }

  union {
    T value_;
    detail::ErrorBox error_;
  };
  bool ok_;
};

// Result<void>: success, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;

  Result() noexcept = default;                                  // success
  Result(Error e) noexcept : err_(std::move(e)) {}              // NOLINT: implicit

  bool ok() const noexcept { return !err_; }
  explicit operator bool() const noexcept { return ok(); }
  // Checks ok() like Result<T>::value(); returns nothing.
  void value() const {
    if (err_) [[unlikely]] detail::bad_result_access("Status::value() on an error", err_.get());
  }

  Error& error() & { return *check_error(); }
  const Error& error() const& { return *check_error(); }
  Error&& error() && { return std::move(*check_error()); }

  // f() -> U gives Result<U>; f() -> Result<U> via and_then.
  template <class F>
  auto map(F&& f) const {
    using U = std::remove_cvref_t<std::invoke_result_t<F>>;
    if (!ok()) return Result<U>(*err_.get());
    if constexpr (std::is_void_v<U>) {
      std::forward<F>(f)();
      return Result<U>();
    } else {
      return Result<U>(std::forward<F>(f)());
    }
  }
  template <class F>
  auto and_then(F&& f) const {
    using R = std::remove_cvref_t<std::invoke_result_t<F>>;
    static_assert(detail::is_result_v<R>, "and_then: f must return a Result");
    if (!ok()) return R(*err_.get());
    return std::forward<F>(f)();
  }

 private:
  Error* check_error() {
    if (err_) [[likely]] return err_.get();
    detail::bad_result_access("Status::error() on success", nullptr);
  }
  const Error* check_error() const { return const_cast<Result*>(this)->check_error(); }

  detail::ErrorBox err_;
};

inline Status success() noexcept { return Status{}; }

}  // namespace keel
