// keel/policy/retry_budget.h — a retry budget shared by all calls to one target (gRPC A6
// retry throttling), counting retries that wait in backoff.
//
// Purpose: retries amplify load exactly when a target is struggling. The budget lets retries
// (and hedges) through while the target mostly succeeds and shuts them off while it mostly
// fails, whatever the number of concurrent callers.
//
// Contract (gRPC A6, in exact integer milli-tokens like gRPC's implementation):
//  - Tokens start at max_tokens. on_failure(): -1 (floor 0). on_success(): +token_ratio
//    (cap max_tokens). max_tokens and token_ratio are rounded to 0.001; negative/NaN -> 0;
//    token_ratio is capped at max_tokens.
//  - A retry or hedge may be granted only while  tokens - pending > max_tokens / 2,  where
//    `pending` counts grants whose attempt has not started yet (it waits in backoff). Counting
//    them fixes Envoy's open defect: N callers in backoff cannot all pass a check made when
//    the budget still looked healthy.
//  - try_acquire() grants (pending + 1) or refuses; release() ends a grant (its attempt started
//    or was abandoned: pending - 1; a release with nothing pending is ignored, so pending
//    never goes negative). Granting costs no token: the failures of the attempts do.
//  - Bound: if every try_acquire() comes right after recording its own failure (how Retry
//    uses it), then over any history  granted < max_tokens / 2 + token_ratio * successes
//    (rounded values). Why: a grant needs tokens > max/2 >= 0 right after that failure, so
//    the failure was not clipped at 0 and took a whole token; at the last grant, max/2 <
//    tokens = max + earned - taken <= max + ratio * successes - granted. Checked in
//    properties/budget_properties.cpp. Hedges are granted without a failure, so only the
//    threshold limits them (as in gRPC).
//  - No events: the caller (retry, hedging) reports a refusal in its own decision event.
//  - Single-threaded (one scheduler). The budget must outlive its Grants.
//
// Example:
//   RetryBudget budget{{.max_tokens = 10, .token_ratio = 0.1}};  // one per target
//   budget.on_failure();                                         // an attempt failed
//   if (RetryBudget::Grant g = budget.acquire()) {
//     co_await sleep_for(backoff);  g.start();  co_await attempt();   // g released at start
//   }
#pragma once

#include <cstdint>
#include <utility>

namespace keel::policy {
// Default-constructed: gRPC A6's example of 10 tokens, NOT keel_default's 100 per model
struct RetryBudgetConfig {  // (keel::config::keel_default().manager.budget, keel/config/presets.h)
  double max_tokens = 10;    // gRPC A6 maxTokens
  double token_ratio = 0.1;  // gRPC A6 tokenRatio: tokens earned per success
};

class RetryBudget {
 public:
  // A granted retry/hedge that has not started yet. Move-only; releases its grant on start()
  // or, if never started, on destruction (the retry was abandoned).
  class Grant {
   public:
    Grant() noexcept = default;
    Grant(Grant&& o) noexcept : budget_(std::exchange(o.budget_, nullptr)) {}
    Grant& operator=(Grant&& o) noexcept {
      if (this != &o) {
        start();
        budget_ = std::exchange(o.budget_, nullptr);
      }
      return *this;
    }
    Grant(const Grant&) = delete;
    Grant& operator=(const Grant&) = delete;
    ~Grant() { start(); }

    // True while this holds a grant that has not been released.
    explicit operator bool() const noexcept { return budget_ != nullptr; }
    // The granted attempt starts now: it stops counting as pending. Idempotent.
    void start() noexcept {
      if (RetryBudget* b = std::exchange(budget_, nullptr)) b->release();
    }

   private:
    friend class RetryBudget;
    explicit Grant(RetryBudget* b) noexcept : budget_(b) {}
    RetryBudget* budget_ = nullptr;
  };

  struct Counters {
    std::uint64_t granted = 0;
    std::uint64_t refused = 0;
    std::uint64_t successes = 0;  // on_success() calls
    std::uint64_t failures = 0;   // on_failure() calls
  };

  static constexpr std::int64_t kMilli = 1000;  // milli-tokens per token

  explicit RetryBudget(const RetryBudgetConfig& cfg = {}) noexcept;

  void on_success() noexcept;
  void on_failure() noexcept;

  // Grants a retry/hedge (pending + 1) if tokens - pending > max_tokens / 2.
  bool try_acquire() noexcept;
  // Ends one grant (its attempt started or was abandoned).
  void release() noexcept;
  // try_acquire() as an RAII Grant; an empty Grant when refused.
  Grant acquire() noexcept { return try_acquire() ? Grant{this} : Grant{}; }
  // Whether try_acquire() would grant now (no side effects).
  bool would_grant() const noexcept { return 2 * (tokens_ - kMilli * pending_) > max_; }

  double tokens() const noexcept { return static_cast<double>(tokens_) / kMilli; }
  std::int64_t tokens_milli() const noexcept { return tokens_; }
  std::int64_t max_tokens_milli() const noexcept { return max_; }
  std::int64_t token_ratio_milli() const noexcept { return ratio_; }
  std::int64_t pending() const noexcept { return pending_; }
  const Counters& counters() const noexcept { return counters_; }

 private:
  std::int64_t max_;     // milli-tokens
  std::int64_t ratio_;   // milli-tokens per success
  std::int64_t tokens_;  // milli-tokens, in [0, max_]
  std::int64_t pending_ = 0;
  Counters counters_;
};

}  // namespace keel::policy
