// keel/core/error.h — the error taxonomy: ErrorCode, and Error (code + context + cause chain).
//
// Purpose: errors are classified once, by structure (docs/architecture.md). Policies decide on
// `ErrorCode` and `is_retryable`, never on message text. One X-macro table below is the only
// list of codes: names, retry advice and docs all come from it.
//
// Contract:
//  - Code names are the snake_case strings of scenarios/FORMAT.md (`retry_on`, reports).
//  - `is_retryable` is a property of the code alone; a policy may still refuse a retry
//    (attempt limit, budget, non-idempotent tool).
//  - `Error` is a value: cheap to move, copyable; the cause chain is shared and immutable.
//    Messages must never contain secrets; there is deliberately no field for headers.
//
// Example:
//   Error e = Error{ErrorCode::server_error, "upstream 503"}.with_status(503).with_provider("a");
//   Error t = Error{ErrorCode::timeout, "attempt timed out"}.with_provider("a").caused_by(e);
//   if (t.retryable()) { /* back off and retry */ }
//   for (const Error* c = &t; c; c = c->cause.get()) count(c->code);
//   log(t.describe());  // "timeout: attempt timed out (provider=a) <- server_error 503: ..."
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "keel/core/time.h"

namespace keel {

// X(name, retryable, why) — the single list of error codes. Order is the enum order.
#define KEEL_ERROR_CODES(X)                                                                        \
  /* Provider / transport outcomes (scenarios/FORMAT.md). */                                        \
  X(rate_limited, true, "429: capacity returns with time; retry after backoff or retry-after")     \
  X(server_error, true, "5xx/overloaded: usually transient on the provider side")                  \
  X(timeout, true, "an attempt ran out of time; a fresh attempt may be faster")                    \
  X(network, true, "connection reset/refused before an answer; transient by nature")               \
  X(context_overflow, false, "prompt too long: same request fails again; summarize or fall back")  \
  X(quota_exhausted, false, "billing quota spent: waiting seconds will not help")                  \
  X(auth, false, "bad or missing credentials: retrying cannot fix it")                             \
  X(invalid_request, false, "the request itself is wrong: it would fail identically")              \
  X(malformed_response, true, "unparseable answer: often a truncated/garbled transient response")  \
  X(circuit_open, false, "refused locally by an open breaker: retrying defeats the breaker")       \
  X(cancelled, false, "the caller gave up: nobody wants the result any more")                      \
  X(tool_error, false, "a tool failed: may have side effects; only idempotent tools opt in")       \
  X(content_filter, false, "the provider's content policy refused: the same model refuses again")  \
  /* Runtime (local) outcomes. */                                                                  \
  X(budget_exhausted, false, "the retry budget refused this retry: retrying is the overload")      \
  X(bulkhead_full, false, "no concurrency slot: shed load rather than queue retries")              \
  X(throttled, false, "local rate limiter rejected: the caller is over its own limit")             \
  X(horizon, false, "the simulation ended before the task: terminal by definition")                \
  X(internal, false, "a bug in keel or a broken invariant: retrying hides it")

enum class ErrorCode : std::uint8_t {
#define KEEL_X_(name, retry, why) name,
  KEEL_ERROR_CODES(KEEL_X_)
#undef KEEL_X_
};

struct ErrorCodeInfo {
  ErrorCode code;
  std::string_view name;
  bool retryable;
  std::string_view why;  // one line: the reason for the retry advice
};

// Every code, in enum order (for docs, reports and exhaustive tests).
inline constexpr std::array kErrorCodes = {
#define KEEL_X_(name, retry, why) ErrorCodeInfo{ErrorCode::name, #name, retry, why},
    KEEL_ERROR_CODES(KEEL_X_)
#undef KEEL_X_
};

// The code's position in kErrorCodes — the one out-of-range rule of every table indexed by
// code (names, retry and fallback code sets, the breaker's code table): a value outside the
// list, which only a cast can make, counts as `internal` (the last code).
constexpr std::size_t error_code_index(ErrorCode c) noexcept {
  const auto i = static_cast<std::size_t>(c);
  return i < kErrorCodes.size() ? i : kErrorCodes.size() - 1;
}
static_assert(kErrorCodes.back().code == ErrorCode::internal, "error_code_index maps stray values to internal");
constexpr const ErrorCodeInfo& error_code_info(ErrorCode c) noexcept { return kErrorCodes[error_code_index(c)]; }
constexpr std::string_view to_string(ErrorCode c) noexcept { return error_code_info(c).name; }
constexpr bool is_retryable(ErrorCode c) noexcept { return error_code_info(c).retryable; }
// The code with that exact snake_case name, or nullopt.
std::optional<ErrorCode> error_code_from_string(std::string_view name) noexcept;
std::ostream& operator<<(std::ostream& os, ErrorCode c);

// What a provider said about its context window when it refused a prompt as too long (both
// APIs' context-length bodies carry it; classify_failure reads it). In the provider's tokens.
struct StatedContext {
  std::int64_t window = 0;         // its context window
  std::int64_t prompt_tokens = 0;  // its count of the refused prompt; 0 when it did not say
  friend bool operator==(const StatedContext&, const StatedContext&) = default;
};

// An error value: what happened (code), where (provider, HTTP status), advice (retry_after,
// stated_context), human text (message) and why (cause, the error this one wraps).
struct Error {
  ErrorCode code = ErrorCode::internal;
  int http_status = 0;  // 0 = no HTTP status
  std::string provider;
  std::optional<Duration> retry_after;
  std::optional<bool> should_retry;  // the server's x-should-retry advice, when it gave one
  std::optional<StatedContext> stated_context;  // a context_overflow's window, when the body stated it
  std::string message;
  std::shared_ptr<const Error> cause;

  Error() = default;
  explicit Error(ErrorCode c, std::string msg = {}) noexcept : code(c), message(std::move(msg)) {}

  // Fluent setters: on an lvalue they modify and return *this; on an rvalue they return the
  // modified value (not a reference, so `auto&& e = Error{...}.with_status(1)` cannot dangle).
  Error& with_status(int status) & noexcept { http_status = status; return *this; }
  Error with_status(int status) && noexcept { http_status = status; return std::move(*this); }
  Error& with_provider(std::string p) & noexcept { provider = std::move(p); return *this; }
  Error with_provider(std::string p) && noexcept { provider = std::move(p); return std::move(*this); }
  Error& with_retry_after(Duration d) & noexcept { retry_after = d; return *this; }
  Error with_retry_after(Duration d) && noexcept { retry_after = d; return std::move(*this); }
  Error& caused_by(Error c) & { cause = std::make_shared<const Error>(std::move(c)); return *this; }
  Error caused_by(Error c) && { cause = std::make_shared<const Error>(std::move(c)); return std::move(*this); }

  bool retryable() const noexcept { return is_retryable(code); }
  // The innermost error of the chain (this one if there is no cause).
  const Error& root_cause() const noexcept;
  // The first error in the chain (starting with this one) with code `c`, or nullptr.
  const Error* find(ErrorCode c) const noexcept;
  // One line, whole chain: `code[ status][: message][ (provider=p, retry_after=Nms)]`, links
  // joined by " <- ". Example: "timeout: attempt timed out (provider=a) <- server_error 503".
  std::string describe() const;

  // Deep equality, cause chains included.
  friend bool operator==(const Error& a, const Error& b) noexcept;
};

static_assert(std::is_nothrow_move_constructible_v<Error> && std::is_nothrow_move_assignable_v<Error>);

inline Error make_error(ErrorCode c, std::string msg = {}) { return Error{c, std::move(msg)}; }
std::ostream& operator<<(std::ostream& os, const Error& e);  // writes describe()

}  // namespace keel
