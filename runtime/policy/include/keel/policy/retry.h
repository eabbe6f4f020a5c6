// keel/policy/retry.h — retry with backoff, server hints, an overall deadline and a budget.
//
// Purpose: re-run a failed operation when that can help and is allowed, and say exactly why
// it stopped. `decide()` is the pure decision; `Retry::execute()` is the thin async loop.
//
// Contract — decide() checks, in this order (like Envoy's shouldRetry), and returns the first
// reason that applies:
//  1. cancelled            the error's code is `cancelled` (execute() also stops here when the
//                          caller's token is cancelled, whatever the error);
//  2. not_retryable        the code is not in cfg.retryable — unless honor_should_retry and the
//                          server's x-should-retry hint says true; a hint of false forbids;
//  3. attempts_exhausted   attempts_made >= max_attempts (max_attempts < 1 counts as 1);
//  4. retry_after_too_long honor_retry_after and the error's retry_after > max_retry_after
//                          (give up on this target rather than wait);
//     then delay = backoff.next(attempts_made) — drawn even when a retry-after will override
//     it — raised to retry_after when honoured: a retry never starts before the retry-after;
//  5. deadline             now + delay >= the overall deadline: the retry could not start
//                          before it, so it is not scheduled;
//  6. budget_exhausted     the shared budget refused (asked last, so a refusal is never wasted
//                          on a call that would not have retried anyway);
//  otherwise retry, after `delay`, holding the budget's Grant (start it when the retry starts).
//
// Retry::execute(op) — run_attempts() (attempt_loop.h) with this retry as the only policy:
// op() -> Task<Result<T>>, called once per attempt, each attempt under
// with_timeout(op(), attempt_timeout) when set. The overall deadline is the one propagated by
// an enclosing with_timeout (this_task::deadline()). Waits with sleep_for; cancellation stops
// at once with ErrorCode::cancelled (caused by the last error). Otherwise returns the first
// success or the last error unchanged; RetryOutcome tells attempts and the stop reason (it is
// complete when execute() finishes; if an enclosing with_timeout releases the caller first,
// the abandoned loop completes it within the same instant).
// Each attempt's outcome is recorded in the budget: a failure with a code in cfg.retryable is
// on_failure(), a success or any other error (except cancelled) is on_success() — as gRPC does.
// Counters: one per reason (one per decision), attempts started, successes. Events:
// "retry.attempt" {attempt, target} before each attempt and "retry.decision" {reason, attempt,
// delay, code, target} per decision, with the run's trace ids when it has them (Run); a retry cancelled in its backoff gives a second decision
// (cancelled). The success path allocates nothing (frames are pooled).
// Single-threaded: a Retry belongs to one scheduler, must outlive its execute() tasks, and may
// be shared by all calls to one target (counters, Rng and budget are then per target).
//
// Example:
//   RetryBudget budget;
//   Retry retry{{.max_attempts = 4, .attempt_timeout = 30s}, rng, &budget, &sink, "openai"};
//   RetryOutcome how;
//   Result<Reply> r = co_await with_timeout(retry.execute([&] { return call(req); }, &how), 2min);
//   if (!r) log(r.error(), how.attempts);                 // counters: retry.counters()
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "keel/core/enum_names.h"
#include "keel/core/error.h"
#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/rng.h"
#include "keel/core/sleep.h"
#include "keel/core/task.h"
#include "keel/core/time.h"
#include "keel/core/timeout.h"
#include "keel/policy/backoff.h"
#include "keel/policy/retry_budget.h"

namespace keel::policy {

// A set of error codes (one bit per code).
class RetryCodeSet {
 public:
  constexpr RetryCodeSet() noexcept = default;
  constexpr RetryCodeSet(std::initializer_list<ErrorCode> codes) noexcept {
    for (ErrorCode c : codes) insert(c);
  }
  // The codes is_retryable() advises retrying (error.h).
  static constexpr RetryCodeSet retryable_codes() noexcept {
    RetryCodeSet s;
    for (const ErrorCodeInfo& info : kErrorCodes)
      if (info.retryable) s.insert(info.code);
    return s;
  }

  constexpr bool contains(ErrorCode c) const noexcept { return (bits_ >> index(c)) & 1u; }
  constexpr RetryCodeSet& insert(ErrorCode c) noexcept {
    bits_ |= std::uint32_t{1} << index(c);
    return *this;
  }
  constexpr RetryCodeSet& erase(ErrorCode c) noexcept {
    bits_ &= ~(std::uint32_t{1} << index(c));
    return *this;
  }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  friend constexpr bool operator==(RetryCodeSet, RetryCodeSet) noexcept = default;

 private:
  static_assert(kErrorCodes.size() <= 32, "RetryCodeSet holds at most 32 codes");
  static constexpr unsigned index(ErrorCode c) noexcept { return static_cast<unsigned>(error_code_index(c)); }
  std::uint32_t bits_ = 0;
};

// `.retryable = retry_on({ErrorCode::rate_limited, ErrorCode::server_error})`
constexpr RetryCodeSet retry_on(std::initializer_list<ErrorCode> codes) noexcept {
  return RetryCodeSet{codes};
}

struct RetryConfig {
  int max_attempts = 3;                                      // including the first; 1 = no retry
  BackoffConfig backoff;                                     // OpenAI SDK shape, full jitter
  RetryCodeSet retryable = RetryCodeSet::retryable_codes();  // is_retryable() codes
  bool honor_retry_after = true;                             // wait at least the retry-after...
  Duration max_retry_after = std::chrono::seconds{60};       // ...unless longer: give up
  bool honor_should_retry = true;                            // x-should-retry overrides the set
  std::optional<Duration> attempt_timeout;                   // none: only the overall deadline
};

#define KEEL_RETRY_REASONS(X)                                                          \
  X(retry, "retry") X(not_retryable, "not_retryable") X(attempts_exhausted, "attempts_exhausted") \
  X(budget_exhausted, "budget_exhausted") X(deadline, "deadline")                          \
  X(retry_after_too_long, "retry_after_too_long") X(cancelled, "cancelled")
KEEL_ENUM_WITH_NAMES(RetryReason, kRetryReasonNames, KEEL_RETRY_REASONS);
inline constexpr std::size_t kRetryReasonCount = kRetryReasonNames.size();

// The snake_case name of the reason ("retry_after_too_long").
std::string_view to_string(RetryReason r) noexcept;

struct RetryDecision {
  RetryReason reason = RetryReason::retry;
  Duration delay{};          // the wait computed (retry, deadline, budget_exhausted), else 0
  RetryBudget::Grant grant;  // the budget's grant (empty without a budget); start() it when
                             // the retry starts, or drop it to abandon the retry
  bool retry() const noexcept { return reason == RetryReason::retry; }
};

// The pure decision after attempt number `attempts_made` (1 = the first) failed with
// `last_error`. Draws one backoff delay from `rng` via `backoff` (which carries the backoff
// config; Retry builds it from cfg.backoff) unless it stops at steps 1-4; asks `budget` (may be
// null) last.
RetryDecision decide(const RetryConfig& cfg, const Error& last_error, std::optional<bool> should_retry_hint,
                     int attempts_made, TimePoint now, Deadline overall, RetryBudget* budget, Rng& rng,
                     Backoff& backoff) noexcept;

// The x-should-retry hint of an error, for execute(): set by the transport that classified it
// (from the response header, see retry_hints() in retry_after.h), else nullopt.
constexpr std::optional<bool> should_retry_hint(const Error& e) noexcept { return e.should_retry; }

struct RetryCounters {
  std::array<std::uint64_t, kRetryReasonCount> decisions{};  // indexed by RetryReason
  std::uint64_t attempts = 0;                                // attempts started
  std::uint64_t successes = 0;                               // execute() calls that succeeded

  std::uint64_t count(RetryReason r) const noexcept { return decisions[static_cast<std::size_t>(r)]; }
};

// How one execute() call ended.
struct RetryOutcome {
  int attempts = 0;                       // attempts started
  std::optional<RetryReason> stopped_by;  // nullopt: an attempt succeeded
  Duration backoff_total{};               // sum of the delays of the retries scheduled
};

class Retry {
 public:
  Retry(RetryConfig cfg, Rng& rng, RetryBudget* budget = nullptr, EventSink* sink = nullptr,
        std::string_view target = {})
      : cfg_(cfg), rng_(&rng), budget_(budget), sink_(sink), target_(target) {}
  Retry(const Retry&) = delete;
  Retry& operator=(const Retry&) = delete;

  // Runs op() until it succeeds or a decision stops (see the contract). `outcome`, if given,
  // must outlive the task.
  template <class F>
  std::invoke_result_t<F&> execute(F op, RetryOutcome* outcome = nullptr);

  const RetryCounters& counters() const noexcept { return counters_; }
  const RetryConfig& config() const noexcept { return cfg_; }
  std::string_view target() const noexcept { return target_; }

  // The bookkeeping of one run of the attempt loop (attempt_loop.h): numbering, budget recording, decisions, counters and events —
  // exactly as execute() does them. Holds the pending retry's budget grant. A Run without a
  // Retry (null) allows no retry and records nothing.
  class Run {
   public:
    // `cfg` replaces the Retry's configuration for this run (a tool's own max_attempts); it
    // must outlive the run. `ids` (may be null): the agent step the run's events belong to
    // (trace_ids.h), read at each event, so the caller may update them as attempts go.
    Run(Retry* retry, Deadline overall, RetryOutcome* outcome = nullptr, const RetryConfig* cfg = nullptr,
        const TraceIds* ids = nullptr)
        : retry_(retry), cfg_(cfg ? cfg : retry ? &retry->cfg_ : nullptr), overall_(overall), outcome_(outcome),
          ids_(ids) {
      if (outcome_) *outcome_ = RetryOutcome{};
    }
    // An attempt starts now (the retry's budget grant starts with it).
    KEEL_INLINE_HOT void start_attempt(TimePoint now) {
      ++attempt_;
      if (!retry_) return;
      decision_.grant.start();
      retry_->note_attempt(attempt_, now, outcome_, ids_);
    }
    void succeeded() noexcept {
      if (!retry_) return;
      if (retry_->budget_) retry_->record_outcome(nullptr);
      ++retry_->counters_.successes;
    }
    // The attempt failed with `e`: the decision (`cancelled` if the caller was). Without a
    // Retry: not_retryable, unrecorded.
    const RetryDecision& failed(const Error& e, bool caller_cancelled, TimePoint now) {
      if (!retry_) {
        decision_ = RetryDecision{caller_cancelled ? RetryReason::cancelled : RetryReason::not_retryable};
        return decision_;
      }
      retry_->record_outcome(&e);
      if (!backoff_) backoff_.emplace(cfg_->backoff);
      decision_ = caller_cancelled ? RetryDecision{RetryReason::cancelled}
                                   : decide(*cfg_, e, should_retry_hint(e), attempt_, now, overall_,
                                            retry_->budget_, *retry_->rng_, *backoff_);
      retry_->note(decision_, attempt_, e.code, now, outcome_, ids_);
      return decision_;
    }
    // The attempt failed with `e` and the caller moves on whatever the policy would say (a
    // stream policy leaving the model): recorded like failed() (budget, counters, event),
    // decided not_retryable.
    const RetryDecision& failed_without_retry(const Error& e, TimePoint now) {
      decision_ = RetryDecision{RetryReason::not_retryable};
      if (!retry_) return decision_;
      retry_->record_outcome(&e);
      retry_->note(decision_, attempt_, e.code, now, outcome_, ids_);
      return decision_;
    }
    // The caller was cancelled while waiting to retry: a second decision (`cancelled`), and
    // the error to return, caused by the last attempt's.
    Error backoff_cancelled(Error last, TimePoint now) {
      if (retry_) retry_->note(RetryDecision{RetryReason::cancelled}, attempt_, last.code, now, outcome_, ids_);
      return Error(ErrorCode::cancelled, "cancelled during retry backoff").caused_by(std::move(last));
    }
    // The error to return when the caller was cancelled and the last attempt failed otherwise.
    static Error cancelled(Error last) {
      return Error(ErrorCode::cancelled, "retry cancelled").caused_by(std::move(last));
    }
    int attempt() const noexcept { return attempt_; }

   private:
    Retry* retry_;
    const RetryConfig* cfg_;
    Deadline overall_;
    RetryOutcome* outcome_;
    const TraceIds* ids_;
    std::optional<Backoff> backoff_;  // from the first failure on (most calls never need it)
    RetryDecision decision_;  // the last decision; holds the grant of the retry about to start
    int attempt_ = 0;
  };

 private:
  void record_outcome(const Error* e) noexcept;  // into the budget; null = success
  void note(const RetryDecision& d, int attempt, ErrorCode code, TimePoint now, RetryOutcome* outcome,
            const TraceIds* ids);
  // Inline: once per attempt; the event (with a sink) is built out of line.
  void note_attempt(int attempt, TimePoint now, RetryOutcome* outcome, const TraceIds* ids) {
    ++counters_.attempts;
    if (outcome) outcome->attempts = attempt;
    if (sink_) emit_attempt(attempt, now, ids);
  }
  void emit_attempt(int attempt, TimePoint now, const TraceIds* ids);

  RetryConfig cfg_;
  Rng* rng_;
  RetryBudget* budget_;
  EventSink* sink_;
  std::string target_;
  RetryCounters counters_;
};

}  // namespace keel::policy

// Retry::execute is the attempt loop configured with this retry alone (attempt_loop.h).
#include "keel/policy/attempt_loop.h"
