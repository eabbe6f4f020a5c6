// decide_recovery: the whole decision table (strategy x retries left x other worker x
// cancelled x stopping), and the default validator.
#include "keel/workforce/failure_handling.h"

#include <gtest/gtest.h>

namespace keel::workforce {
namespace {

using A = RecoveryAction;
using S = RecoveryStrategy;

A action(S s, int max_retries, int attempts, std::optional<std::size_t> other = std::nullopt,
         ErrorCode code = ErrorCode::server_error, bool stopping = false) {
  return decide_recovery(s, max_retries, attempts, code, stopping, other).action;
}

TEST(DecideRecoveryTest, RetryFamilyRetriesThenAppliesItsEnd) {
  EXPECT_EQ(action(S::retry, 2, 1), A::retry);
  EXPECT_EQ(action(S::retry, 2, 2), A::retry);
  EXPECT_EQ(action(S::retry, 2, 3), A::fail);
  EXPECT_EQ(action(S::skip, 1, 1), A::retry);
  EXPECT_EQ(action(S::skip, 1, 2), A::skip);
  EXPECT_EQ(action(S::skip, 0, 1), A::skip);
  EXPECT_EQ(action(S::terminate, 1, 1), A::retry);
  EXPECT_EQ(action(S::terminate, 1, 2), A::terminate);
}

TEST(DecideRecoveryTest, FallbackAndReassignNeedAWorkerAndARetry) {
  EXPECT_EQ(action(S::fallback, 3, 1, 4), A::fallback);
  EXPECT_EQ(decide_recovery(S::fallback, 3, 1, ErrorCode::timeout, false, 4).next_worker, 4u);
  EXPECT_EQ(action(S::fallback, 3, 1), A::fail);
  EXPECT_EQ(action(S::fallback, 1, 2, 4), A::fail);
  EXPECT_EQ(action(S::reassign, 3, 1, 0), A::reassign);
  EXPECT_EQ(action(S::reassign, 3, 1), A::fail);
  EXPECT_EQ(action(S::reassign, 0, 1, 2), A::fail);
}

TEST(DecideRecoveryTest, CancelledAndStoppingEndTheTask) {
  for (S s : {S::retry, S::skip, S::fallback, S::terminate, S::reassign}) {
    EXPECT_EQ(action(s, 5, 1, 1, ErrorCode::cancelled), A::cancel) << to_string(s);
    EXPECT_EQ(action(s, 5, 1, 1, ErrorCode::server_error, true), A::fail) << to_string(s);
  }
}

TEST(DecideRecoveryTest, NeverAllowsMoreThanOnePlusMaxRetriesAttempts) {
  for (S s : {S::retry, S::skip, S::fallback, S::terminate, S::reassign}) {
    for (int max = 0; max < 4; ++max) {
      const A a = action(s, max, max + 1, 7);
      EXPECT_TRUE(a != A::retry && a != A::fallback && a != A::reassign) << to_string(s) << " " << max;
    }
  }
}

TEST(RejectEmptyResultTest, EmptyAndWhitespaceAreRejected) {
  EXPECT_FALSE(reject_empty_result({}, ""));
  EXPECT_EQ(reject_empty_result({}, " \n\t").error().code, ErrorCode::malformed_response);
  EXPECT_TRUE(reject_empty_result({}, " x "));
}

}  // namespace
}  // namespace keel::workforce
