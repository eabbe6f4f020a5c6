// keel/config/runtime_block.h — the `runtime` block of a scenario or configuration file, as
// plain data.
//
// Purpose: one data model for the block that chooses a preset and overrides some of its values
// (scenarios/FORMAT.md, "runtime"): the scenario loader reads it inside a scenario, a service
// reads it from its own file (config_file.h), and both resolve it onto the same preset objects.
// One struct per object of the format, one member per field, same names.
//
// Contract:
//  - Every field is "not set" (the preset decides) unless the file set it. Override<T> adds
//    the format's explicit "off" (`false`, or `null` for timeouts).
//  - Ranges in the comments are what the reader (read_runtime.cpp) accepts; a value built in
//    code outside them is the caller's responsibility.
//  - Structs compare equal member-wise.
//
// Example:
//   RuntimeBlock b;
//   b.retry.max_attempts = 5;
//   b.circuit_breaker = Override<BreakerSettings>::disabled();
//   RuntimeConfig cfg = resolve(b, Preset::keel_default);   // config_file.h
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/config/preset_names.h"
#include "keel/core/enum_names.h"
#include "keel/core/error.h"
#include "keel/core/time.h"

namespace keel::config {

// ---- enums: each has to_string (the format's name) and a name table for parsing ----------

// One X-macro list per enum (keel/core/enum_names.h): X(enumerator, "the format's name").
#define KEEL_SCHEDULING(X) X(always_first, "always_first") X(round_robin, "round_robin") X(random, "random")
#define KEEL_JITTER(X) X(none, "none") X(full, "full") X(equal, "equal") X(decorrelated, "decorrelated")
#define KEEL_BREAKER_WINDOW(X) X(count, "count") X(time, "time")
#define KEEL_ON_OVERFLOW(X) X(summarize, "summarize") X(truncate, "truncate") X(fail, "fail")
#define KEEL_ON_TIMEOUT(X) X(retry, "retry") X(next_model, "next_model")                       // v1.1
#define KEEL_STREAM_RECOVERY(X) X(restart, "restart") X(continue_, "continue") X(fail, "fail")  // v1.1

KEEL_ENUM_WITH_NAMES(Scheduling, kSchedulingNames, KEEL_SCHEDULING);
KEEL_ENUM_WITH_NAMES(Jitter, kJitterNames, KEEL_JITTER);
KEEL_ENUM_WITH_NAMES(BreakerWindow, kBreakerWindowNames, KEEL_BREAKER_WINDOW);
KEEL_ENUM_WITH_NAMES(OnOverflow, kOnOverflowNames, KEEL_ON_OVERFLOW);
KEEL_ENUM_WITH_NAMES(OnTimeout, kOnTimeoutNames, KEEL_ON_TIMEOUT);
KEEL_ENUM_WITH_NAMES(StreamRecovery, kStreamRecoveryNames, KEEL_STREAM_RECOVERY);

constexpr std::string_view to_string(Scheduling v) noexcept { return enum_name(kSchedulingNames, v); }
constexpr std::string_view to_string(Jitter v) noexcept { return enum_name(kJitterNames, v); }
constexpr std::string_view to_string(BreakerWindow v) noexcept { return enum_name(kBreakerWindowNames, v); }
constexpr std::string_view to_string(OnOverflow v) noexcept { return enum_name(kOnOverflowNames, v); }
constexpr std::string_view to_string(OnTimeout v) noexcept { return enum_name(kOnTimeoutNames, v); }
constexpr std::string_view to_string(StreamRecovery v) noexcept { return enum_name(kStreamRecoveryNames, v); }

// ---- Override<T>: a runtime field that is unset, explicitly off, or set --------------------

// `inherit` (the field is absent: the preset decides), `disabled` (the file says `false` or
// `null`), or `set` to a value. `over(base)` applies it to the preset's value.
template <class T>
struct Override {
  enum class State : std::uint8_t { inherit, disabled, set };
  State state = State::inherit;
  std::optional<T> value;  // engaged iff state == set

  static Override disabled() { return Override{State::disabled, std::nullopt}; }
  static Override of(T v) { return Override{State::set, std::move(v)}; }

  bool inherits() const noexcept { return state == State::inherit; }
  bool is_disabled() const noexcept { return state == State::disabled; }
  bool is_set() const noexcept { return state == State::set; }
  // inherit -> base; disabled -> nullopt; set -> the value.
  std::optional<T> over(std::optional<T> base) const {
    if (state == State::inherit) return base;
    if (state == State::disabled) return std::nullopt;
    return value;
  }
  friend bool operator==(const Override&, const Override&) = default;
};

// ---- the block --------------------------------------------------------------------------------

struct RetryBudget {  // gRPC A6 retry throttling
  double max_tokens = 0;   // > 0
  double token_ratio = 0;  // > 0
  friend bool operator==(const RetryBudget&, const RetryBudget&) = default;
};

struct RetrySettings {
  std::optional<std::int64_t> max_attempts;   // >= 1, tries per model including the first
  std::optional<Duration> base_delay;
  std::optional<Duration> max_delay;          // >= base_delay when both are set
  std::optional<double> multiplier;           // > 0
  std::optional<Jitter> jitter;
  std::optional<std::vector<ErrorCode>> retry_on;
  std::optional<bool> honor_retry_after;
  std::optional<Duration> max_retry_after;
  Override<RetryBudget> budget;               // `false` = disabled
  bool empty() const noexcept { return *this == RetrySettings{}; }
  friend bool operator==(const RetrySettings&, const RetrySettings&) = default;
};

struct SlowCall {
  Duration duration{};  // > 0: a call slower than this is slow
  double rate = 1.0;    // (0, 1]
  friend bool operator==(const SlowCall&, const SlowCall&) = default;
};

// Unset members come from the preset's breaker (or keel's breaker when the preset has none).
struct BreakerSettings {
  std::optional<BreakerWindow> window;
  std::optional<std::int64_t> size;          // >= 1; count window only
  std::optional<Duration> duration;          // > 0; time window only
  std::optional<double> failure_rate;        // (0, 1]
  std::optional<std::int64_t> min_calls;     // >= 1
  std::optional<Duration> open_for;          // > 0
  std::optional<std::int64_t> half_open_calls;  // >= 1
  std::optional<SlowCall> slow_call;
  friend bool operator==(const BreakerSettings&, const BreakerSettings&) = default;
};

// Each: inherit, disabled (`null` = no timeout) or a duration > 0. first_token and idle (v1.1)
// apply to streamed attempts only.
struct Timeouts {
  Override<Duration> attempt, call, step, tool, first_token, idle;
  bool empty() const noexcept { return *this == Timeouts{}; }
  friend bool operator==(const Timeouts&, const Timeouts&) = default;
};

struct ContextSettings {
  std::optional<std::int64_t> token_limit;  // >= 1
  std::optional<OnOverflow> on_overflow;
  bool empty() const noexcept { return *this == ContextSettings{}; }
  friend bool operator==(const ContextSettings&, const ContextSettings&) = default;
};

struct HedgingSettings {
  Duration delay{};            // required, >= 0
  std::int64_t max_extra = 1;  // >= 1; keel default 1 when omitted
  friend bool operator==(const HedgingSettings&, const HedgingSettings&) = default;
};

// Format 1.1: a client-side token bucket per provider.
struct RateLimiterSettings {
  double requests_per_second = 0;  // required; > 0, at most 1e6, times 60 a whole number
  std::int64_t burst = 1;          // 1..1e6; keel default 1 (strict pacing) when omitted
  Duration max_wait = std::chrono::seconds{60};  // keel default 60 s when omitted
  friend bool operator==(const RateLimiterSettings&, const RateLimiterSettings&) = default;
};

// Format 1.1: concurrent requests per provider.
struct BulkheadSettings {
  std::int64_t max_concurrent = 1;  // required; 1..1e6
  std::int64_t max_queue = 0;       // 0..1e6; keel default 0 (no queue) when omitted
  friend bool operator==(const BulkheadSettings&, const BulkheadSettings&) = default;
};

// The `runtime` object: a preset and the fields the file overrides.
struct RuntimeBlock {
  std::optional<Preset> preset;                    // unset: keel_default (or --preset)
  std::optional<std::vector<std::string>> models;  // unset: every provider, file order
  std::optional<Scheduling> scheduling;
  std::optional<bool> fallback_on_error;
  RetrySettings retry;
  Override<BreakerSettings> circuit_breaker;       // `false` = no breaker
  Timeouts timeouts;
  ContextSettings context;
  Override<HedgingSettings> hedging;               // `false` = no hedging
  Override<RateLimiterSettings> rate_limiter;      // format 1.1; `false` = none
  Override<BulkheadSettings> bulkhead;             // format 1.1; `false` = none
  std::optional<OnTimeout> on_timeout;             // v1.1
  std::optional<StreamRecovery> stream_recovery;   // v1.1
  bool empty() const noexcept { return *this == RuntimeBlock{}; }
  friend bool operator==(const RuntimeBlock&, const RuntimeBlock&) = default;
};

// The block as a file writes it: set fields only, in the format's order, disabled ones as
// `false` (`null` for timeouts), durations exact. The reader gives back an equal block.
nlohmann::ordered_json to_json(const RuntimeBlock& block);

}  // namespace keel::config
