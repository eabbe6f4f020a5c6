// Properties of backoff and retry:
//  - every backoff delay lies within its jitter family's bounds and the cap; ceilings are
//    exact for integer multipliers, monotone in the attempt and safe for any attempt number;
//  - decide() returns exactly the reason (and delay) of a reference implementation of the
//    documented check order, and touches the budget only when the order reaches it;
//  - Retry::execute in virtual time over random scripts of failures, hangs, retry-afters,
//    attempt timeouts, overall deadlines and budgets: attempts <= max_attempts; a retry starts
//    exactly `delay` after its decision and never before the retry-after; non-retryable codes
//    are never retried; no attempt starts at or after the overall deadline and the caller is
//    back by then; every decision's reason and delay match the reference replay.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "keel/core/event.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/policy/retry.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kMs = 1'000'000;

// Uniform in [lo, hi) at every size: the shape of a case (how many attempts, which kinds)
// should not collapse to trivial while RapidCheck's size is small. Still shrinks towards lo.
template <class T>
T uniform(T lo, T hi) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(lo, hi));
}

// --- Generators --------------------------------------------------------------------------------

BackoffConfig gen_backoff_config_ms() {  // small, round values: for the simulation properties
  BackoffConfig c;
  c.base = Duration{*rc::gen::inRange<std::int64_t>(0, 100) * 10 * kMs};
  c.max = Duration{*rc::gen::inRange<std::int64_t>(0, 500) * 10 * kMs};
  c.multiplier = *rc::gen::element(1.0, 1.5, 2.0, 3.0);
  c.jitter = static_cast<Jitter>(*rc::gen::inRange(0, 4));
  return c;
}

RetryCodeSet gen_code_set() {
  if (*rc::gen::arbitrary<bool>()) return RetryCodeSet::retryable_codes();
  RetryCodeSet s;
  for (const ErrorCodeInfo& info : kErrorCodes)
    if (*rc::gen::arbitrary<bool>()) s.insert(info.code);
  return s;
}

ErrorCode gen_code() {
  return static_cast<ErrorCode>(*rc::gen::inRange<int>(0, static_cast<int>(kErrorCodes.size())));
}

// Mostly the codes worth retrying, sometimes any code.
ErrorCode gen_common_code() {
  if (*rc::gen::arbitrary<bool>()) return gen_code();
  return *rc::gen::element(ErrorCode::rate_limited, ErrorCode::server_error, ErrorCode::timeout,
                           ErrorCode::network);
}

// --- Reference model of the documented bounds and order -----------------------------------------

struct Normal {
  Duration base, max;
  double multiplier;
};

Normal normal(const BackoffConfig& c) {
  const Duration mx = std::max(c.max, Duration::zero());
  return {std::clamp(c.base, Duration::zero(), mx), mx, c.multiplier >= 1.0 ? c.multiplier : 1.0};
}

// Exact ceiling for integer multipliers, by plain repeated multiplication with an early cap.
std::optional<Duration> exact_ceiling(const BackoffConfig& c, int attempt) {
  const Normal n = normal(c);
  if (n.multiplier != std::floor(n.multiplier) || n.multiplier > 1e6) return std::nullopt;
  const auto m = static_cast<std::int64_t>(n.multiplier);
  __extension__ __int128 v = n.base.count();
  if (v == 0 || m == 1) return n.base;
  for (int i = 1; i < std::max(attempt, 1); ++i) {
    v *= m;
    if (v >= n.max.count()) return n.max;
  }
  return Duration{static_cast<std::int64_t>(v)};
}

// [lo, hi] of a delay from the given family.
std::pair<Duration, Duration> family_bounds(const BackoffConfig& c, int attempt, Duration previous) {
  const Normal n = normal(c);
  const Duration ceil = backoff_ceiling(c, attempt);
  switch (c.jitter) {
    case Jitter::none:
      return {ceil, ceil};
    case Jitter::full:
      return {Duration::zero(), ceil};
    case Jitter::equal:
      return {ceil / 2, ceil};
    case Jitter::decorrelated: {
      const Duration prev = previous > Duration::zero() ? previous : n.base;
      const Duration triple = prev.count() > INT64_MAX / 3 ? Duration::max() : 3 * prev;
      return {n.base, std::min(n.max, std::max(n.base, triple))};
    }
  }
  return {Duration::zero(), n.max};
}

struct RefDecision {
  RetryReason reason;
  Duration delay{};
  bool drew = false;  // reached the backoff step
};

// The documented order, written as a table of (condition, reason): the first that holds wins.
RefDecision reference_decide(const RetryConfig& cfg, const Error& e, std::optional<bool> hint, int attempts,
                             TimePoint now, Deadline overall, bool budget_present, bool budget_grants,
                             Rng& rng, Duration& previous) {
  bool retryable = cfg.retryable.contains(e.code);
  if (cfg.honor_should_retry && hint.has_value()) retryable = *hint;
  const bool hint_used = cfg.honor_retry_after && e.retry_after.has_value();
  const bool before_delay[] = {
      e.code == ErrorCode::cancelled,
      !retryable,
      attempts >= std::max(1, cfg.max_attempts),
      hint_used && *e.retry_after > cfg.max_retry_after,
  };
  constexpr RetryReason kBefore[] = {RetryReason::cancelled, RetryReason::not_retryable,
                                     RetryReason::attempts_exhausted, RetryReason::retry_after_too_long};
  for (int i = 0; i < 4; ++i)
    if (before_delay[i]) return {kBefore[i]};
  Duration delay = next_delay(cfg.backoff, attempts, previous, rng);
  previous = delay;
  if (hint_used) delay = std::max(delay, *e.retry_after);
  if (!overall.is_never() && delay >= overall.time() - now)  // bounded values: no overflow
    return {RetryReason::deadline, delay, true};
  if (budget_present && !budget_grants) return {RetryReason::budget_exhausted, delay, true};
  return {RetryReason::retry, delay, true};
}

// --- Backoff ---------------------------------------------------------------------------------------

RC_GTEST_PROP(RetryProperties, EveryBackoffDelayIsWithinItsJitterFamilysBoundsAndTheCap, ()) {
  BackoffConfig c;
  c.max = Duration{*rc::gen::oneOf(rc::gen::inRange<std::int64_t>(0, 60'000 * kMs),
                                   rc::gen::inRange<std::int64_t>(-3, 4), rc::gen::just(INT64_MAX))};
  c.base = Duration{*rc::gen::oneOf(rc::gen::inRange<std::int64_t>(0, 10'000 * kMs),
                                    rc::gen::inRange<std::int64_t>(-3, 4), rc::gen::just(INT64_MAX))};
  c.multiplier =
      *rc::gen::oneOf(rc::gen::element(0.5, 1.0, 1.5, 2.0, 3.0, 10.0),
                      rc::gen::map(rc::gen::inRange(1000, 20000), [](int x) { return x / 1000.0; }));
  c.jitter = static_cast<Jitter>(*rc::gen::inRange(0, 4));
  const int attempt =
      *rc::gen::oneOf(rc::gen::inRange(-2, 80), rc::gen::inRange(1, INT_MAX), rc::gen::just(INT_MAX));
  const Duration previous{*rc::gen::oneOf(rc::gen::just<std::int64_t>(0),
                                          rc::gen::inRange<std::int64_t>(0, 100'000 * kMs),
                                          rc::gen::just(INT64_MAX))};
  Rng rng{*rc::gen::arbitrary<std::uint64_t>()};
  const Normal n = normal(c);

  const Duration ceil = backoff_ceiling(c, attempt);
  RC_ASSERT(ceil >= n.base);
  RC_ASSERT(ceil <= n.max);
  if (attempt < INT_MAX) RC_ASSERT(ceil <= backoff_ceiling(c, attempt + 1));
  if (const auto exact = exact_ceiling(c, attempt)) {
    RC_ASSERT(ceil == *exact);
  } else {  // non-integer multiplier: within rounding of the real-valued formula
    const long double real = static_cast<long double>(n.base.count()) *
                             std::pow(static_cast<long double>(n.multiplier), std::max(attempt, 1) - 1);
    const long double expected =
        n.base == Duration::zero() ? 0.0L : std::min(real, static_cast<long double>(n.max.count()));
    RC_ASSERT(std::fabs(static_cast<long double>(ceil.count()) - expected) <= 2 + expected * 1e-12L);
  }

  const Duration d = next_delay(c, attempt, previous, rng);
  const auto [lo, hi] = family_bounds(c, attempt, previous);
  RC_ASSERT(d >= lo);
  RC_ASSERT(d <= hi);
  RC_ASSERT(d >= Duration::zero());
  RC_ASSERT(d <= n.max);
}

// --- decide() ------------------------------------------------------------------------------------

RC_GTEST_PROP(RetryProperties, DecisionReasonsMatchTheReferenceOrderExactly, ()) {
  RetryConfig cfg;
  cfg.max_attempts = uniform(-1, 7);
  cfg.backoff = gen_backoff_config_ms();
  cfg.retryable = gen_code_set();
  cfg.honor_retry_after = *rc::gen::arbitrary<bool>();
  cfg.max_retry_after = Duration{*rc::gen::inRange<std::int64_t>(0, 1000) * 10 * kMs};
  cfg.honor_should_retry = *rc::gen::arbitrary<bool>();

  Error e{gen_common_code()};
  if (*rc::gen::arbitrary<bool>())
    e.retry_after = Duration{*rc::gen::inRange<std::int64_t>(0, 1000) * 10 * kMs};
  std::optional<bool> hint;
  if (*rc::gen::inRange(0, 3) == 0) hint = *rc::gen::arbitrary<bool>();
  const int attempts = uniform(0, 2) == 0 ? uniform(1, 3) : uniform(1, 9);
  const TimePoint now{Duration{*rc::gen::inRange<std::int64_t>(0, 100'000) * kMs}};
  Deadline overall;
  if (*rc::gen::arbitrary<bool>())
    overall = Deadline::at(now + Duration{*rc::gen::inRange<std::int64_t>(-1000, 30'000) * kMs});

  std::optional<RetryBudget> budget;
  if (*rc::gen::arbitrary<bool>()) {
    budget.emplace(RetryBudgetConfig{static_cast<double>(*rc::gen::inRange(0, 11)), 0.1});
    const int failures = *rc::gen::inRange(0, 12), pending = *rc::gen::inRange(0, 4);
    for (int i = 0; i < failures; ++i) budget->on_failure();
    for (int i = 0; i < pending; ++i) (void)budget->try_acquire();
  }
  const std::int64_t pending_before = budget ? budget->pending() : 0;
  const std::uint64_t refused_before = budget ? budget->counters().refused : 0;
  const bool grants = budget && budget->would_grant();

  const std::uint64_t seed = *rc::gen::arbitrary<std::uint64_t>();
  Backoff backoff{cfg.backoff};  // with some history, for decorrelated jitter
  Rng history{seed ^ 0x5eed};
  for (int i = 0, n = *rc::gen::inRange(0, 4); i < n; ++i) (void)backoff.next(history);
  Duration ref_previous = backoff.previous();
  Rng rng{seed}, ref_rng{seed};

  RetryDecision got = decide(cfg, e, hint, attempts, now, overall, budget ? &*budget : nullptr, rng, backoff);
  const RefDecision want = reference_decide(cfg, e, hint, attempts, now, overall, budget.has_value(), grants,
                                            ref_rng, ref_previous);

  RC_TAG(std::string{to_string(want.reason)});
  RC_ASSERT(got.reason == want.reason);
  RC_ASSERT(got.delay == want.delay);
  RC_ASSERT((rng == ref_rng));  // the Rng is drawn from iff the order reaches the backoff step
  if (budget) {
    RC_ASSERT(budget->pending() == pending_before + (want.reason == RetryReason::retry ? 1 : 0));
    RC_ASSERT(budget->counters().refused ==
              refused_before + (want.reason == RetryReason::budget_exhausted ? 1 : 0));
    RC_ASSERT(static_cast<bool>(got.grant) == (want.reason == RetryReason::retry));
    got.grant.start();
    RC_ASSERT(budget->pending() == pending_before);
  }
}

// --- Retry::execute in virtual time ---------------------------------------------------------------

// One scripted attempt. Latencies are multiples of 10 ms and attempt timeouts are 5 ms off
// that grid, so an attempt never finishes in the same instant as its own timeout.
struct Step {
  enum Kind { success, failure, hang } kind = success;
  ErrorCode code = ErrorCode::server_error;
  std::optional<Duration> retry_after;
  Duration latency{};
};

std::ostream& operator<<(std::ostream& os, const Step& s) {
  static constexpr const char* kinds[] = {"success", "failure", "hang"};
  os << kinds[s.kind];
  if (s.kind == Step::failure) os << "(" << s.code << ")";
  if (s.retry_after) os << " retry_after=" << s.retry_after->count() / kMs << "ms";
  return os << " after " << s.latency.count() / kMs << "ms";
}

Step gen_step() {
  Step s;
  const int k = uniform(0, 20);
  s.kind = k < 4 ? Step::success : k < 17 ? Step::failure : Step::hang;
  if (s.kind == Step::failure) {
    s.code = gen_common_code();
    if (*rc::gen::arbitrary<bool>())
      s.retry_after = Duration{*rc::gen::inRange<std::int64_t>(0, 600) * 10 * kMs};
  }
  s.latency = Duration{*rc::gen::inRange<std::int64_t>(0, 200) * 10 * kMs};
  return s;
}

// Attempt i (0-based) follows steps[i]; past the end it succeeds at once. Success value: i.
Task<Result<int>> scripted(const std::vector<Step>* steps, int* calls) {
  const int i = (*calls)++;
  if (i >= static_cast<int>(steps->size())) co_return i;
  const Step& s = (*steps)[i];
  if (s.kind == Step::hang) {
    Status st = co_await until_cancelled();
    co_return st.error();
  }
  if (Status st = co_await sleep_for(s.latency); !st) co_return st.error();
  if (s.kind == Step::success) co_return i;
  Error e{s.code, "scripted"};
  if (s.retry_after) e.retry_after = *s.retry_after;
  co_return e;
}

Task<Result<int>> call(Retry* retry, const std::vector<Step>* steps, int* calls, Deadline overall) {
  auto op = [steps, calls] { return scripted(steps, calls); };
  if (overall.is_never()) co_return co_await retry->execute(op);
  co_return co_await with_timeout(retry->execute(op), overall);
}

RC_GTEST_PROP(RetryProperties, ExecuteHonoursAttemptsHintsCodesDeadlinesAndTheReferenceReasons, ()) {
  RetryConfig cfg;
  cfg.max_attempts = uniform(0, 7);
  cfg.backoff = gen_backoff_config_ms();
  cfg.retryable = gen_code_set();
  cfg.honor_retry_after = *rc::gen::arbitrary<bool>();
  cfg.max_retry_after = Duration{*rc::gen::inRange<std::int64_t>(0, 600) * 10 * kMs};
  if (*rc::gen::arbitrary<bool>())
    cfg.attempt_timeout = Duration{(*rc::gen::inRange<std::int64_t>(0, 100) * 10 + 5) * kMs};
  Deadline overall;
  if (*rc::gen::arbitrary<bool>())
    overall = Deadline::at(TimePoint{Duration{(*rc::gen::inRange<std::int64_t>(0, 2000) * 10 + 3) * kMs}});
  const int n_steps = uniform(0, 8);
  std::vector<Step> steps;
  for (int i = 0; i < n_steps; ++i) steps.push_back(gen_step());
  const bool with_budget = *rc::gen::arbitrary<bool>();
  const RetryBudgetConfig budget_cfg{static_cast<double>(*rc::gen::inRange(0, 8)),
                                     *rc::gen::inRange(0, 1001) / 1000.0};
  const std::uint64_t seed = *rc::gen::arbitrary<std::uint64_t>();
  for (const Step& step : steps) RC_LOG() << step << "\n";  // shown if the case fails

  sim::Simulator sim;
  Rng rng{seed};
  RetryBudget budget{budget_cfg};
  RecordingSink events;
  Retry retry{cfg, rng, with_budget ? &budget : nullptr, &events, "t"};
  int calls = 0;
  std::optional<Result<int>> result;
  TimePoint finished{};
  spawn(sim, call(&retry, &steps, &calls, overall), [&](Result<int> r) {
    result.emplace(std::move(r));
    finished = sim.now();
  });
  sim.run_until_idle();

  const auto attempts = events.find_all("retry.attempt");
  const auto decisions = events.find_all("retry.decision");
  RC_ASSERT(attempts.size() <= static_cast<std::size_t>(std::max(1, cfg.max_attempts)));
  RC_ASSERT(retry.counters().attempts == attempts.size());
  RC_ASSERT(static_cast<int>(attempts.size()) == calls);
  if (with_budget) RC_ASSERT(budget.pending() == 0);
  if (!result) {  // only a hang with no timeout at all never ends
    RC_TAG("hangs forever");
    RC_ASSERT(overall.is_never() && !cfg.attempt_timeout);
    RC_ASSERT(!steps.empty() && steps[static_cast<std::size_t>(calls - 1)].kind == Step::hang);
    return;
  }
  if (!overall.is_never()) RC_ASSERT(finished <= overall.time());
  for (const RecordedEvent* a : attempts) RC_ASSERT(overall.is_never() || a->time < overall.time());

  // Replay every decision against the reference, with the same Rng stream and budget model.
  Rng ref_rng{seed};
  Duration previous{};
  std::int64_t tokens = static_cast<std::int64_t>(std::llround(budget_cfg.max_tokens * 1000));
  const std::int64_t max_tokens = tokens;
  const std::int64_t ratio = std::min<std::int64_t>(std::llround(budget_cfg.token_ratio * 1000), max_tokens);
  std::size_t next_decision = 0;
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    const TimePoint start = attempts[i]->time;
    // What attempt i returns to Retry, if it ends before the overall deadline.
    std::optional<Error> error;
    Duration took{};
    if (i < steps.size()) {
      const Step& s = steps[i];
      const Duration natural = s.kind == Step::hang ? Duration::max() : s.latency;
      if (cfg.attempt_timeout && *cfg.attempt_timeout < natural) {
        error = Error{ErrorCode::timeout};
        took = *cfg.attempt_timeout;
      } else {
        took = natural;
        if (s.kind == Step::failure) {
          error = Error{s.code};
          error->retry_after = s.retry_after;
        }
      }
    }
    const bool cut = !overall.is_never() && (took == Duration::max() || start + took >= overall.time());
    if (!error && !cut) {  // success
      RC_ASSERT(i + 1 == attempts.size());
      RC_ASSERT(result->ok());
      RC_ASSERT(**result == static_cast<int>(i));
      RC_ASSERT(next_decision == decisions.size());
      if (with_budget) RC_ASSERT(budget.tokens_milli() == std::min(max_tokens, tokens + ratio));
      RC_TAG(i == 0 ? "success at once" : "success after retries");
      return;
    }
    if (cut) {  // the overall deadline ended this attempt: no retry, caller released then
      RC_TAG("overall deadline during an attempt");
      RC_ASSERT(i + 1 == attempts.size());
      RC_ASSERT(finished == overall.time());
      if (next_decision < decisions.size()) {
        const RecordedEvent& d = *decisions[next_decision];
        RC_ASSERT(d.time == overall.time());
        RC_ASSERT(*d.get<std::string>("reason") != "retry");
      } else {  // a success finishing in the deadline's instant may win it
        RC_ASSERT(start + took == overall.time());
      }
      return;
    }
    RC_ASSERT(next_decision < decisions.size());
    const RecordedEvent& d = *decisions[next_decision++];
    const std::string reason = *d.get<std::string>("reason");
    RC_ASSERT(d.get_int("attempt") == static_cast<std::int64_t>(i + 1));
    RC_ASSERT(d.time == start + took);
    RC_ASSERT(*d.get<std::string>("code") == to_string(error->code));
    if (cfg.retryable.contains(error->code)) {
      tokens = std::max<std::int64_t>(0, tokens - 1000);
    } else if (error->code != ErrorCode::cancelled) {
      tokens = std::min(max_tokens, tokens + ratio);
    }
    const RefDecision want =
        reference_decide(cfg, *error, std::nullopt, static_cast<int>(i + 1), d.time, overall, with_budget,
                         2 * tokens > max_tokens, ref_rng, previous);
    RC_ASSERT(reason == std::string{to_string(want.reason)});
    RC_ASSERT(d.get_int("delay") == want.delay.count());
    if (!cfg.retryable.contains(error->code)) RC_ASSERT(reason != "retry");  // never retried
    if (want.reason != RetryReason::retry) {
      RC_TAG(reason, i == 0 ? "first attempt" : "after retries");
      RC_ASSERT(i + 1 == attempts.size());
      RC_ASSERT(finished == d.time);
      RC_ASSERT(!result->ok());
      RC_ASSERT(result->error().code == error->code);
      if (with_budget) RC_ASSERT(budget.tokens_milli() == tokens);  // every outcome was recorded
      return;
    }
    // The retry starts exactly `delay` later, never before a honoured retry-after.
    RC_ASSERT(i + 1 < attempts.size());
    RC_ASSERT(attempts[i + 1]->time == d.time + want.delay);
    if (cfg.honor_retry_after && error->retry_after)
      RC_ASSERT(attempts[i + 1]->time >= d.time + *error->retry_after);
  }
  RC_FAIL("the attempts ended without a final outcome");
}

}  // namespace
}  // namespace keel::policy
