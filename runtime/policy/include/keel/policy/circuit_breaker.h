// keel/policy/circuit_breaker.h — a circuit breaker: a pure state machine fed (outcome, now).
//
// Purpose: stop calling a target that keeps failing, give it time to recover, then probe it
// with a few calls before trusting it again (resilience4j / Polly v8 semantics, see
// docs/architecture.md). Nothing is scheduled: every time-based transition happens lazily, at the
// first call that passes `now` at or after its logical time, and is computed from that
// logical time, so observing the breaker (`state(now)`) never changes what it does next.
//
// States: CLOSED (calls flow, outcomes recorded in a sliding window), OPEN (calls refused until
// the open period ends), HALF_OPEN (exactly `half_open_calls` probe permits; their results
// decide), ISOLATED (forced open by `isolate`, left only by `reset`).
//
// Contract:
//  - CLOSED -> OPEN, checked after every recorded result, first match wins:
//      consecutive_failures: `consecutive_failures` is set and that many counted failures
//        in a row were recorded (a non-failure result resets the run);
//      failure_rate: window calls >= min_calls and failures / calls >= failure_rate;
//      slow_call_rate: slow_call_duration is set, calls >= min_calls and
//        slow / calls >= slow_call_rate.
//    For count windows the effective min_calls is min(min_calls, size) (as resilience4j), and
//    at least 1. A call is slow when its latency is strictly greater than slow_call_duration;
//    slow failures count as both failures and slow calls.
//  - OPEN lasts open_for * open_growth^(k-1), capped at max_open_for, where k counts the opens
//    since the breaker last closed (k = 1 for the first). Closing (or reset) sets k back to 0.
//    OPEN -> HALF_OPEN (open_elapsed) at open start + that duration.
//  - HALF_OPEN admits exactly H = half_open_calls probes, at most M = half_open_max_in_flight
//    (default H) of them at a time: a call beyond either limit is refused (M = 1 probes one
//    request at a time, so a dead target gets one request per open period however many
//    callers are waiting, as Polly's single probe). With
//    S = half_open_success_threshold (default H, 1 <= S <= H), after each probe result:
//      probe_failed:     failures / H >= failure_rate (the rate over the H probe slots is
//                        already reached, whatever the rest do) or failures > H - S (S
//                        successes are no longer possible) -> OPEN, k + 1;
//      probe_slow:       slow_call_duration is set and slow / H >= slow_call_rate -> OPEN;
//      probes_succeeded: successes >= S -> CLOSED (fresh window, growth reset).
//    Reopening is checked first. With the defaults (S = H) any failed probe reopens at once.
//    Successes are all recorded non-failures (slow ones and not-counted errors included).
//  - max_half_open_wait (optional): measured from the first probe permit of this half-open
//    period (an idle HALF_OPEN is not stuck: the next caller gets a probe). If the probes have
//    not decided by then, the breaker goes back to OPEN (half_open_timeout, k + 1), the open
//    period starting at that logical deadline. No stuck HALF_OPEN, no timers.
//  - Classification (`counts_as_failure`, one entry per ErrorCode): `failure` is recorded as a
//    failure; `non_failure` is recorded as a non-failure (the target answered; the request was
//    wrong: a 400 is not the provider's fault); `ignored` is not recorded at all (no call
//    reached the target, or nobody wanted the result). A success is a non-failure. An ignored
//    probe result gives its probe slot back. Defaults:
//      failure:     rate_limited, server_error, timeout, network, malformed_response, tool_error
//      non_failure: context_overflow, quota_exhausted, auth, invalid_request, content_filter
//      ignored:     cancelled, circuit_open, budget_exhausted, bulkhead_full, throttled,
//                   horizon, internal
//  - Generations: every state transition, and every reset, starts a new generation. A permit
//    carries the generation it was issued in; a result for an older generation (a slow call
//    that began before the breaker opened, a probe that outlived its half-open period) is
//    counted as `stale` and changes nothing else. A refused permit's result is a no-op.
//  - Every transition clears the window and the consecutive-failure run. reset() also does so
//    when already CLOSED (and starts a new generation, but emits no event). isolate() when
//    already ISOLATED does nothing.
//  - Refusals carry `circuit_open`: from OPEN with retry_after = remaining open time; from
//    ISOLATED or a full HALF_OPEN without retry_after (no known end).
//  - `now` must not decrease between calls. Events are emitted at the `now` of the call that
//    caused them (lazy transitions: at the observing call, in logical order).
//  - Report each granted permit at most once.
//  - Events: "breaker.state" {target, from, to, reason, generation[, open_for, until]} per
//    transition (open_for/until when entering OPEN);
//    "breaker.refused" {target, state[, retry_after]} per refusal. Both carry the trace ids
//    (trace_ids.h) passed to the try_acquire or on_result that caused them, when given; a
//    transition seen by state(), remaining_open(), isolate() or reset() carries none.
//  - Cost: try_acquire + on_result on a CLOSED breaker do not allocate and emit nothing.
//  - Single-threaded: owned by one scheduler. The breaker must outlive execute() tasks.
//
// Example:
//   CircuitBreaker br{{.name = "openai", .size = 20, .min_calls = 10}, &sink};
//   const TimePoint start = sched.now();
//   BreakerPermit p = br.try_acquire(start);
//   if (!p) co_return p.error();                 // circuit_open, retry_after = time left
//   Result<Reply> r = co_await call();
//   br.on_result(p, BreakerOutcome::of(r), sched.now() - start, sched.now());
//   // or, all in one: Result<Reply> r = co_await br.execute([&] { return call(); });
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "keel/core/enum_names.h"
#include "keel/core/error.h"
#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/scheduler.h"
#include "keel/core/task.h"
#include "keel/core/time.h"
#include "keel/policy/sliding_window.h"

namespace keel::policy {

enum class BreakerState : std::uint8_t { closed, open, half_open, isolated };
std::string_view to_string(BreakerState s) noexcept;

// Why a transition happened (one counter each in CircuitBreakerCounters::by_reason).
#define KEEL_BREAKER_REASONS(X)                                                                  \
  X(failure_rate, "failure_rate") X(slow_call_rate, "slow_call_rate")                             \
  X(consecutive_failures, "consecutive_failures") X(probe_failed, "probe_failed")               \
  X(probe_slow, "probe_slow") X(probes_succeeded, "probes_succeeded")                           \
  X(half_open_timeout, "half_open_timeout") X(manual_isolate, "manual_isolate")                 \
  X(manual_reset, "manual_reset") X(open_elapsed, "open_elapsed")
KEEL_ENUM_WITH_NAMES(BreakerReason, kBreakerReasonNames, KEEL_BREAKER_REASONS);
inline constexpr std::size_t kBreakerReasonCount = kBreakerReasonNames.size();
std::string_view to_string(BreakerReason r) noexcept;

// How a recorded error code counts (see the header comment for the defaults).
enum class BreakerCodeClass : std::uint8_t { failure, non_failure, ignored };
std::string_view to_string(BreakerCodeClass c) noexcept;

// A fixed-size table ErrorCode -> BreakerCodeClass.
class BreakerCodeTable {
 public:
  static constexpr BreakerCodeTable defaults() noexcept {
    BreakerCodeTable t;
    for (const auto& info : kErrorCodes) t.set(info.code, default_for(info.code));
    return t;
  }
  // A stray value (only a cast makes one) reads and writes internal's entry (error_code_index).
  constexpr BreakerCodeClass operator[](ErrorCode c) const noexcept { return table_[error_code_index(c)]; }
  constexpr BreakerCodeTable& set(ErrorCode c, BreakerCodeClass v) noexcept {
    table_[error_code_index(c)] = v;
    return *this;
  }
  friend constexpr bool operator==(const BreakerCodeTable&, const BreakerCodeTable&) noexcept = default;

 private:
  static constexpr BreakerCodeClass default_for(ErrorCode c) noexcept {
    switch (c) {
      case ErrorCode::rate_limited:
      case ErrorCode::server_error:
      case ErrorCode::timeout:
      case ErrorCode::network:
      case ErrorCode::malformed_response:
      case ErrorCode::tool_error: return BreakerCodeClass::failure;
      case ErrorCode::context_overflow:
      case ErrorCode::quota_exhausted:
      case ErrorCode::auth:
      case ErrorCode::invalid_request:
      case ErrorCode::content_filter: return BreakerCodeClass::non_failure;
      case ErrorCode::circuit_open:
      case ErrorCode::cancelled:
      case ErrorCode::budget_exhausted:
      case ErrorCode::bulkhead_full:
      case ErrorCode::throttled:
      case ErrorCode::horizon:
      case ErrorCode::internal: return BreakerCodeClass::ignored;
    }
    return BreakerCodeClass::ignored;
  }
  std::array<BreakerCodeClass, kErrorCodes.size()> table_{};
};
// Default-constructed: resilience4j's values (100-call window, 100 min calls, 60 s, 10 probes),
struct CircuitBreakerConfig {  // NOT keel_default's LLM-sized breaker: keel::config::keel_default().manager.breaker
  std::string name;                                   // target name, the events' "target"
  WindowKind window = WindowKind::count;
  std::uint32_t size = 100;                           // count window: the last `size` calls
  Duration duration = std::chrono::seconds{60};       // time window span
  Duration bucket_width = std::chrono::seconds{1};    // time window granularity
  double failure_rate = 0.5;                          // (0, 1]
  std::uint32_t min_calls = 100;
  std::optional<std::uint32_t> consecutive_failures;  // >= 1 when set
  std::optional<Duration> slow_call_duration;         // slow when latency > this
  double slow_call_rate = 1.0;                        // (0, 1]
  Duration open_for = std::chrono::seconds{60};       // >= 0
  double open_growth = 1.0;                           // >= 1, finite
  Duration max_open_for = Duration::max();            // cap for the grown duration
  std::uint32_t half_open_calls = 10;                 // H >= 1
  std::optional<std::uint32_t> half_open_success_threshold;  // S in [1, H]; default H
  std::optional<std::uint32_t> half_open_max_in_flight;      // M in [1, H]; default H
  std::optional<Duration> max_half_open_wait;         // > 0 when set
  BreakerCodeTable counts_as_failure = BreakerCodeTable::defaults();
};

struct CircuitBreakerCounters {
  std::uint64_t permitted = 0;      // permits granted (closed calls + probes)
  std::uint64_t probes = 0;         // ...of which half-open probes
  std::uint64_t refused = 0;        // try_acquire refusals
  std::uint64_t successes = 0;      // recorded successes
  std::uint64_t failures = 0;       // recorded failures
  std::uint64_t benign_errors = 0;  // recorded errors classified non_failure
  std::uint64_t ignored = 0;        // results classified ignored (not recorded)
  std::uint64_t stale = 0;          // results of an older generation (not recorded)
  std::uint64_t slow_calls = 0;     // recorded calls slower than slow_call_duration
  std::uint64_t to_closed = 0;      // transitions per target state
  std::uint64_t to_open = 0;
  std::uint64_t to_half_open = 0;
  std::uint64_t to_isolated = 0;
  std::array<std::uint64_t, kBreakerReasonCount> by_reason{};  // transitions per reason

  std::uint64_t transitions(BreakerReason r) const noexcept { return by_reason[static_cast<std::size_t>(r)]; }
  friend bool operator==(const CircuitBreakerCounters&, const CircuitBreakerCounters&) noexcept = default;
};

// What happened to a call: success, or an error code (classified by the config's table).
struct BreakerOutcome {
  bool ok = true;
  ErrorCode code = ErrorCode::internal;  // meaningful when !ok

  static constexpr BreakerOutcome success() noexcept { return BreakerOutcome{true, ErrorCode::internal}; }
  static constexpr BreakerOutcome error(ErrorCode c) noexcept { return BreakerOutcome{false, c}; }
  template <class T>
  static BreakerOutcome of(const Result<T>& r) noexcept {
    return r.ok() ? success() : error(r.error().code);
  }
};

// The answer of try_acquire: a permit to call (or probe), or a refusal. Small and trivially
// copyable; the refusal's Error is built only when asked for.
class BreakerPermit {
 public:
  enum class Kind : std::uint8_t { call, probe, refused_open, refused_isolated, refused_half_open_full };

  BreakerPermit() noexcept = default;  // a refusal (isolated) of no generation
  explicit operator bool() const noexcept { return granted(); }
  bool granted() const noexcept { return kind_ == Kind::call || kind_ == Kind::probe; }
  Kind kind() const noexcept { return kind_; }
  std::uint64_t generation() const noexcept { return generation_; }
  // Remaining open time for refused_open; nullopt otherwise.
  std::optional<Duration> retry_after() const noexcept {
    if (kind_ == Kind::refused_open) return retry_after_;
    return std::nullopt;
  }
  // For a refusal: Error{circuit_open} with retry_after() and a message. Allocates the message.
  Error error() const;

 private:
  friend class CircuitBreaker;
  BreakerPermit(Kind k, std::uint64_t gen, Duration retry_after) noexcept
      : generation_(gen), retry_after_(retry_after), kind_(k) {}
  std::uint64_t generation_ = 0;
  Duration retry_after_{};
  Kind kind_ = Kind::refused_isolated;
};
std::string_view to_string(BreakerPermit::Kind k) noexcept;

class CircuitBreaker {
 public:
  // Throws std::invalid_argument on an invalid config (see the field comments).
  explicit CircuitBreaker(CircuitBreakerConfig config, EventSink* events = nullptr);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;
  // Movable (e.g. into a per-target container), but never while execute() tasks are in flight.
  CircuitBreaker(CircuitBreaker&&) noexcept = default;
  CircuitBreaker& operator=(CircuitBreaker&&) noexcept = default;

  // A permit for a call (CLOSED) or a probe (HALF_OPEN), or a refusal (counted, with event).
  // `may_probe` false: in HALF_OPEN the caller is refused (refused_half_open_full) instead of
  // taking a probe slot (e.g. a retry that already paid one failure here, when a fallback is
  // there: the probe is better left to a fresh call).
  // `ids` (may be null): the agent step asking, for the events (read during the call only).
  BreakerPermit try_acquire(TimePoint now, bool may_probe = true, const TraceIds* ids = nullptr) {
    if (state_ == BreakerState::closed) [[likely]] {
      ++counters_.permitted;
      return BreakerPermit{BreakerPermit::Kind::call, generation_, Duration::zero()};
    }
    return acquire_slow(now, may_probe, ids);
  }
  // Records the result of a granted permit; `latency` decides slowness. See the contract.
  KEEL_INLINE_HOT void on_result(const BreakerPermit& permit, BreakerOutcome outcome, Duration latency,
                                 TimePoint now, const TraceIds* ids = nullptr) {
    // The common case inline: a success on the CLOSED breaker that issued the permit.
    if (outcome.ok && permit.kind_ == BreakerPermit::Kind::call && permit.generation_ == generation_ &&
        state_ == BreakerState::closed) [[likely]] {
      const bool slow = latency > slow_threshold_;
      ++counters_.successes;
      counters_.slow_calls += slow ? 1 : 0;
      record_closed(false, slow, now, ids);  // a success may still reach the failure rate
      return;
    }
    record_result(permit, outcome, latency, now, ids);
  }
  void on_result(const BreakerPermit& permit, const Status& status, Duration latency, TimePoint now,
                 const TraceIds* ids = nullptr) {
    on_result(permit, BreakerOutcome::of(status), latency, now, ids);
  }

  // Forces ISOLATED (all calls refused) until reset().
  void isolate(TimePoint now);
  // Forces CLOSED with a fresh window, growth reset and a new generation.
  void reset(TimePoint now);

  // The state at `now`, after the lazy transitions due by then.
  BreakerState state(TimePoint now);
  // OPEN: time until HALF_OPEN; ISOLATED: Duration::max(); otherwise zero.
  Duration remaining_open(TimePoint now);

  // Acquire, run `op()` (-> Task<Result<T>>), record its outcome and latency (scheduler time).
  // A refusal returns the permit's circuit_open error without calling op. An exception from
  // op is recorded as `internal` (ignored by default, so a probe slot is given back) and
  // rethrown.
  template <class F>
  auto execute(F op) -> Task<typename std::invoke_result_t<F&>::value_type>;

  const CircuitBreakerCounters& counters() const noexcept { return counters_; }
  const CircuitBreakerConfig& config() const noexcept { return config_; }
  EventSink* event_sink() const noexcept { return events_; }
  void set_event_sink(EventSink* s) noexcept { events_ = s; }
  std::uint64_t generation() const noexcept { return generation_; }
  // Window totals at `now` (CLOSED period only; cleared by every transition).
  WindowStats window_stats(TimePoint now) noexcept { return window_.stats(now); }
  std::uint32_t consecutive_failures() const noexcept { return consecutive_failures_; }
  // Opens since the breaker last closed (k in the growth formula).
  std::uint32_t consecutive_opens() const noexcept { return consecutive_opens_; }
  // The open duration for the k-th consecutive open: open_for * growth^(k-1), capped.
  Duration open_duration(std::uint32_t k) const noexcept;
  // Effective thresholds after defaults and capping.
  std::uint32_t effective_min_calls() const noexcept { return min_calls_; }
  std::uint32_t success_threshold() const noexcept { return success_threshold_; }

 private:
  // `ids`: the events' trace ids (null: none), passed down to the transition that emits.
  BreakerPermit acquire_slow(TimePoint now, bool may_probe, const TraceIds* ids);
  void record_result(const BreakerPermit& permit, BreakerOutcome outcome, Duration latency, TimePoint now,
                     const TraceIds* ids);
  void settle(TimePoint now, const TraceIds* ids);
  void record_closed(bool failure, bool slow, TimePoint now, const TraceIds* ids);
  void record_probe(bool failure, bool slow, TimePoint now, const TraceIds* ids);
  void open(TimePoint start, BreakerReason reason, TimePoint now, const TraceIds* ids);
  void transition(BreakerState to, BreakerReason reason, TimePoint now, const TraceIds* ids);

  // `count / total >= rate` exactly as that double division decides it, without dividing per
  // call once the total settles (a count window's stays at its size once full): then the
  // smallest passing count is cached (the division is monotonic in `count`, so it is a
  // threshold). While the total keeps changing (a time window), it divides as before, except
  // for count 0, which never passes (rate > 0).
  struct RateThreshold {
    std::uint64_t calls = 0;      // the total the threshold is for; 0: none computed yet
    std::uint64_t min_count = 0;  // smallest count with count / calls >= rate
    std::uint64_t last_total = 0; // the previous call's total
    bool reached(std::uint64_t count, std::uint64_t total, double rate) noexcept {
      if (total == calls) [[likely]] return count >= min_count;
      if (total == last_total) {  // the same total twice in a row: settled, cache its threshold
        recompute(total, rate);
        return count >= min_count;
      }
      last_total = total;
      return count != 0 && static_cast<double>(count) / static_cast<double>(total) >= rate;
    }
    void recompute(std::uint64_t total, double rate) noexcept;
  };

  CircuitBreakerConfig config_;
  EventSink* events_;
  SlidingWindow window_;
  std::uint32_t min_calls_;
  std::uint32_t success_threshold_;
  Duration slow_threshold_;  // Duration::max() when slow calls are off
  bool slow_enabled_;
  RateThreshold failure_rate_threshold_;
  RateThreshold slow_rate_threshold_;
  BreakerState state_ = BreakerState::closed;
  std::uint64_t generation_ = 1;
  std::uint32_t consecutive_failures_ = 0;
  std::uint32_t consecutive_opens_ = 0;
  TimePoint open_until_{};
  Duration open_for_{};  // the current open period's length
  // Half-open period.
  std::uint32_t probes_issued_ = 0;
  std::uint32_t probe_successes_ = 0;
  std::uint32_t probe_failures_ = 0;
  std::uint32_t probe_slow_ = 0;
  bool probing_started_ = false;
  TimePoint first_probe_at_{};
  CircuitBreakerCounters counters_;
};

template <class F>
auto CircuitBreaker::execute(F op) -> Task<typename std::invoke_result_t<F&>::value_type> {
  using R = typename std::invoke_result_t<F&>::value_type;  // Result<T>
  static_assert(keel::detail::is_result_v<R>, "execute: op() must return Task<Result<T>>");
  Scheduler& sched = co_await this_task::scheduler();
  const TimePoint start = sched.now();
  const BreakerPermit permit = try_acquire(start);
  if (!permit) co_return permit.error();
  std::exception_ptr thrown;
  std::optional<R> result;
  try {
    result.emplace(co_await op());
  } catch (...) {
    thrown = std::current_exception();
  }
  const TimePoint end = sched.now();
  if (thrown) {
    on_result(permit, BreakerOutcome::error(ErrorCode::internal), end - start, end);
    std::rethrow_exception(thrown);
  }
  on_result(permit, BreakerOutcome::of(*result), end - start, end);
  co_return std::move(*result);
}

}  // namespace keel::policy
