// keel/policy/fallback.h — when an operation fails with a chosen error code, answer anyway:
// with a fixed value or with the result of an alternative operation.
//
// Purpose: the last line of a pipeline (a cached/canned reply, a cheaper or larger-context
// model on context_overflow, a degraded tool). Selection is by ErrorCode only (docs/architecture.md).
//
// Contract:
//  - `co_await fallback.execute(op)` runs op() -> Task<Result<T>>. Decisions (one counter each):
//      passed       op succeeded: its value, untouched (no event);
//      used         op failed with a code in `config.on` and a fallback is set: the fallback's
//                   answer is returned — the value, or the alternative's Result (returned as
//                   is, success or error); event "fallback.used" (code, with: value|operation);
//      not_handled  the code is not in `config.on`, or no fallback is set: the error passes
//                   through; event "fallback.skipped" (code).
//  - Default set: every code except `cancelled` (a caller that gave up wants no substitute).
//  - The alternative is invoked as alt(const Error&) or alt(), on the caller's scheduler,
//    token and deadline, only after op has finished.
//  - The success path allocates nothing. The alternative is stored type-erased (one
//    allocation when configured, never per call). T must not be void.
//  - Single-threaded (one scheduler). The Fallback must outlive its calls.
//
// Example:
//   Fallback<Reply> fb{{.on = FallbackCodeSet{ErrorCode::context_overflow}}, &sink};
//   fb.with_operation([&](const Error&) { return call_model(large_context_model, req); });
//   Result<Reply> r = co_await fb.execute([&] { return call_model(default_model, req); });
//   Fallback<std::string> canned = Fallback<std::string>{}.with_value("Service busy, try later.");
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "keel/core/error.h"
#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/task.h"

namespace keel::policy {

// A set of ErrorCodes (a bit mask).
class FallbackCodeSet {
 public:
  constexpr FallbackCodeSet() noexcept = default;
  constexpr FallbackCodeSet(std::initializer_list<ErrorCode> codes) noexcept {
    for (ErrorCode c : codes) insert(c);
  }
  static constexpr FallbackCodeSet all() noexcept {
    FallbackCodeSet s;
    for (const ErrorCodeInfo& info : kErrorCodes) s.insert(info.code);
    return s;
  }
  // Every code except `cancelled`: the default.
  static constexpr FallbackCodeSet all_but_cancelled() noexcept { return all().erase(ErrorCode::cancelled); }

  constexpr bool contains(ErrorCode c) const noexcept { return (bits_ >> index(c)) & 1u; }
  constexpr FallbackCodeSet& insert(ErrorCode c) noexcept {
    bits_ |= std::uint64_t{1} << index(c);
    return *this;
  }
  constexpr FallbackCodeSet& erase(ErrorCode c) noexcept {
    bits_ &= ~(std::uint64_t{1} << index(c));
    return *this;
  }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  friend constexpr bool operator==(FallbackCodeSet, FallbackCodeSet) noexcept = default;

 private:
  static_assert(kErrorCodes.size() <= 64, "FallbackCodeSet holds at most 64 codes");
  static constexpr unsigned index(ErrorCode c) noexcept { return static_cast<unsigned>(error_code_index(c)); }
  std::uint64_t bits_ = 0;
};

struct FallbackConfig {
  FallbackCodeSet on = FallbackCodeSet::all_but_cancelled();  // codes that trigger the fallback
};

enum class FallbackReason : std::uint8_t { passed, used, not_handled };
std::string_view to_string(FallbackReason r) noexcept;  // "passed", "used", "not_handled"

struct FallbackCounters {
  std::uint64_t passed = 0;
  std::uint64_t used = 0;
  std::uint64_t not_handled = 0;
};

namespace fallback_impl {  // (not `detail`: that would hide keel::detail in keel::policy)
// Counts and emits one fallback decision (kept out of the template).
void record_fallback(FallbackCounters& counters, EventSink* sink, TimePoint now, FallbackReason reason,
                     ErrorCode code, bool with_value) noexcept;
}  // namespace fallback_impl

template <class T>
class Fallback {
  static_assert(!std::is_void_v<T>, "Fallback<void> is not supported");

 public:
  using Operation = std::function<Task<Result<T>>(const Error&)>;

  explicit Fallback(FallbackConfig config = {}, EventSink* sink = nullptr) : config_(config), sink_(sink) {}

  // Answer with `value` (replaces any earlier choice).
  Fallback& with_value(T value) & {
    alternative_.template emplace<1>(std::move(value));
    return *this;
  }
  Fallback&& with_value(T value) && { return std::move(with_value(std::move(value))); }
  // Answer with alt(const Error&) or alt() -> Task<Result<T>> (replaces any earlier choice).
  template <class F>
  Fallback& with_operation(F alt) & {
    if constexpr (std::is_invocable_v<F&, const Error&>) {
      alternative_.template emplace<2>(std::move(alt));
    } else {
      alternative_.template emplace<2>([alt = std::move(alt)](const Error&) mutable { return alt(); });
    }
    return *this;
  }
  template <class F>
  Fallback&& with_operation(F alt) && {
    return std::move(with_operation(std::move(alt)));
  }

  // Pure: whether an error with this code would be answered by the fallback.
  bool handles(ErrorCode code) const noexcept { return alternative_.index() != 0 && config_.on.contains(code); }

  // Runs op() -> Task<Result<T>>, then falls back as described above.
  template <class Op>
  Task<Result<T>> execute(Op op) {
    Result<T> r = co_await op();
    if (r) {
      ++counters_.passed;
      co_return std::move(r);
    }
    const ErrorCode code = r.error().code;
    Scheduler& sched = co_await this_task::scheduler();
    const TimePoint now = sched.now();
    if (!handles(code)) {
      fallback_impl::record_fallback(counters_, sink_, now, FallbackReason::not_handled, code, false);
      co_return std::move(r);
    }
    const bool with_value = alternative_.index() == 1;
    fallback_impl::record_fallback(counters_, sink_, now, FallbackReason::used, code, with_value);
    if (with_value) co_return std::get<1>(alternative_);
    co_return co_await std::get<2>(alternative_)(r.error());
  }

  const FallbackCounters& counters() const noexcept { return counters_; }
  const FallbackConfig& config() const noexcept { return config_; }

 private:
  FallbackConfig config_;
  EventSink* sink_;
  std::variant<std::monostate, T, Operation> alternative_;
  FallbackCounters counters_;
};

}  // namespace keel::policy
