// x-should-retry travels on the Error (set by the transport's classifier) into Retry::execute.
#include <gtest/gtest.h>

#include "keel/core/spawn.h"
#include "keel/model/classify.h"
#include "keel/policy/retry.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;

int attempts_until_done(Error error_every_time) {
  sim::Simulator sim;
  Rng rng{1};
  Retry retry{RetryConfig{.max_attempts = 4, .backoff = {.base = 1ms, .max = 1ms, .jitter = Jitter::none}}, rng};
  int attempts = 0;
  auto op = [&]() -> Task<Result<int>> {
    ++attempts;
    co_return error_every_time;
  };
  spawn(sim, retry.execute(op));
  sim.run_until_idle();
  return attempts;
}

TEST(ShouldRetry, ServerSaysFalseStopsARetryableError) {
  Error e = model::classify_failure(model::ProviderApi::openai, "p", {.status = 503, .should_retry = false});
  ASSERT_EQ(e.code, ErrorCode::server_error);
  EXPECT_EQ(attempts_until_done(e), 1);
}

TEST(ShouldRetry, ServerSaysTrueRetriesANonRetryableError) {
  Error e = model::classify_failure(model::ProviderApi::openai, "p", {.status = 400, .should_retry = true});
  ASSERT_EQ(e.code, ErrorCode::invalid_request);
  EXPECT_EQ(attempts_until_done(e), 4);
}

TEST(ShouldRetry, NoHintFollowsTheCode) {
  EXPECT_EQ(attempts_until_done(Error{ErrorCode::server_error}), 4);
  EXPECT_EQ(attempts_until_done(Error{ErrorCode::invalid_request}), 1);
}

}  // namespace
}  // namespace keel::policy
