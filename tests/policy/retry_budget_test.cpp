// RetryBudget: gRPC A6 token math, the strict threshold, pending grants and RAII grants.
#include <cmath>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "keel/policy/retry_budget.h"

namespace keel::policy {
namespace {

TEST(RetryBudget, StartsFullWithNothingPending) {
  RetryBudget b;
  EXPECT_EQ(b.tokens(), 10.0);
  EXPECT_EQ(b.tokens_milli(), 10'000);
  EXPECT_EQ(b.token_ratio_milli(), 100);
  EXPECT_EQ(b.pending(), 0);
  EXPECT_TRUE(b.would_grant());
}

TEST(RetryBudget, FailuresCostOneTokenSuccessesEarnTheRatioWithinZeroAndMax) {
  RetryBudget b{{.max_tokens = 3, .token_ratio = 0.25}};
  b.on_success();
  EXPECT_EQ(b.tokens(), 3.0);  // capped
  for (int i = 0; i < 5; ++i) b.on_failure();
  EXPECT_EQ(b.tokens(), 0.0);  // floored
  b.on_success();
  b.on_success();
  EXPECT_EQ(b.tokens(), 0.5);
  EXPECT_EQ(b.counters().successes, 3u);
  EXPECT_EQ(b.counters().failures, 5u);
}

TEST(RetryBudget, ThresholdIsStrictlyAboveHalf) {
  RetryBudget b{{.max_tokens = 10, .token_ratio = 0.1}};
  for (int i = 0; i < 4; ++i) b.on_failure();
  EXPECT_TRUE(b.would_grant());  // 6 > 5
  b.on_failure();
  EXPECT_FALSE(b.would_grant());  // 5 > 5 is false: throttled, like gRPC
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.counters().refused, 1u);
  b.on_success();  // 5.1 > 5
  EXPECT_TRUE(b.try_acquire());
  EXPECT_EQ(b.counters().granted, 1u);
  EXPECT_EQ(b.pending(), 1);
}

TEST(RetryBudget, RetriesWaitingInBackoffCountAgainstTheBudget) {
  RetryBudget b{{.max_tokens = 10, .token_ratio = 0.1}};
  // tokens - pending > 5 holds for pending 0..4: five grants, then refusal while they wait.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.try_acquire()) << i;
  EXPECT_EQ(b.pending(), 5);
  EXPECT_FALSE(b.try_acquire());
  b.release();  // one of them started
  EXPECT_EQ(b.pending(), 4);
  EXPECT_TRUE(b.try_acquire());
  EXPECT_EQ(b.counters().granted, 6u);
  EXPECT_EQ(b.counters().refused, 1u);
  EXPECT_EQ(b.tokens(), 10.0);  // granting costs nothing; failures do
}

TEST(RetryBudget, ReleaseWithNothingPendingIsIgnored) {
  RetryBudget b;
  b.release();
  b.release();
  EXPECT_EQ(b.pending(), 0);
  ASSERT_TRUE(b.try_acquire());
  b.release();
  b.release();
  EXPECT_EQ(b.pending(), 0);
}

TEST(RetryBudget, GrantReleasesOnStartOrDestructionExactlyOnce) {
  RetryBudget b;
  {
    RetryBudget::Grant g = b.acquire();
    ASSERT_TRUE(g);
    EXPECT_EQ(b.pending(), 1);
    g.start();
    EXPECT_FALSE(g);
    EXPECT_EQ(b.pending(), 0);
    g.start();
  }
  EXPECT_EQ(b.pending(), 0);
  {
    RetryBudget::Grant a = b.acquire();
    RetryBudget::Grant c = b.acquire();
    EXPECT_EQ(b.pending(), 2);
    RetryBudget::Grant moved = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_EQ(b.pending(), 2);
    moved = std::move(c);  // the overwritten grant is released
    EXPECT_EQ(b.pending(), 1);
  }
  EXPECT_EQ(b.pending(), 0);  // abandoned grants released on destruction
  std::vector<RetryBudget::Grant> many;
  for (int i = 0; i < 3; ++i) many.push_back(b.acquire());
  EXPECT_EQ(b.pending(), 3);
  many.clear();
  EXPECT_EQ(b.pending(), 0);
}

TEST(RetryBudget, RefusedAcquireGivesAnEmptyGrant) {
  RetryBudget b{{.max_tokens = 2, .token_ratio = 0}};
  b.on_failure();  // 1 > 1 is false
  RetryBudget::Grant g = b.acquire();
  EXPECT_FALSE(g);
  EXPECT_EQ(b.pending(), 0);
  EXPECT_EQ(b.counters().refused, 1u);
}

TEST(RetryBudget, ConfigIsRoundedToMilliTokensAndClamped) {
  EXPECT_EQ(RetryBudget({.max_tokens = 10, .token_ratio = 0.0004}).token_ratio_milli(), 0);
  EXPECT_EQ(RetryBudget({.max_tokens = 10, .token_ratio = 0.0005}).token_ratio_milli(), 1);
  EXPECT_EQ(RetryBudget({.max_tokens = -3, .token_ratio = 0.1}).max_tokens_milli(), 0);
  EXPECT_EQ(RetryBudget({.max_tokens = std::nan(""), .token_ratio = 0.1}).max_tokens_milli(), 0);
  EXPECT_EQ(RetryBudget({.max_tokens = 1, .token_ratio = 5}).token_ratio_milli(), 1000);  // <= max
  RetryBudget zero{{.max_tokens = 0, .token_ratio = 0}};
  EXPECT_FALSE(zero.try_acquire());  // no tokens: never retry
}

}  // namespace
}  // namespace keel::policy
