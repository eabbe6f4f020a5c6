// keel/policy/retry_budget.cpp — gRPC A6 token bucket in milli-tokens, with pending grants.
#include "keel/policy/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace keel::policy {
namespace {

// Tokens -> milli-tokens, rounded; negative/NaN -> 0; capped far below int64 overflow.
std::int64_t to_milli(double tokens) noexcept {
  constexpr double kCap = 1e15;  // a trillion tokens: more than any sane budget
  if (!(tokens > 0)) return 0;
  return static_cast<std::int64_t>(std::floor(std::min(tokens, kCap) * RetryBudget::kMilli + 0.5));
}

}  // namespace

RetryBudget::RetryBudget(const RetryBudgetConfig& cfg) noexcept
    : max_(to_milli(cfg.max_tokens)), ratio_(std::min(to_milli(cfg.token_ratio), max_)), tokens_(max_) {}

void RetryBudget::on_success() noexcept {
  ++counters_.successes;
  tokens_ = std::min(max_, tokens_ + ratio_);
}

void RetryBudget::on_failure() noexcept {
  ++counters_.failures;
  tokens_ = std::max<std::int64_t>(0, tokens_ - kMilli);
}

bool RetryBudget::try_acquire() noexcept {
  if (!would_grant()) {
    ++counters_.refused;
    return false;
  }
  ++pending_;
  ++counters_.granted;
  return true;
}

void RetryBudget::release() noexcept {
  if (pending_ > 0) --pending_;
}

}  // namespace keel::policy
