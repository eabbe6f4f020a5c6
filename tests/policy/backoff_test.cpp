// Backoff: exact ceilings, jitter family bounds, overflow safety, normalisation, determinism.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include "keel/policy/backoff.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;

BackoffConfig cfg(Duration base, Duration max, double mult, Jitter j) {
  return BackoffConfig{.base = base, .max = max, .multiplier = mult, .jitter = j};
}

TEST(Backoff, DefaultsAreTheOpenAiSdkShape) {
  const BackoffConfig c;
  EXPECT_EQ(c.base, 500ms);
  EXPECT_EQ(c.max, 8s);
  EXPECT_EQ(c.multiplier, 2.0);
  EXPECT_EQ(c.jitter, Jitter::full);
}

TEST(Backoff, NoJitterGivesTheExactExponentialCeilingUpToTheCap) {
  const auto c = cfg(500ms, 8s, 2.0, Jitter::none);
  Rng rng{1};
  const Duration expected[] = {500ms, 1s, 2s, 4s, 8s, 8s, 8s};
  for (int a = 1; a <= 7; ++a) EXPECT_EQ(next_delay(c, a, {}, rng), expected[a - 1]) << "attempt " << a;
  EXPECT_EQ(rng, Rng{1}) << "jitter none must not draw";
}

TEST(Backoff, OtherMultipliersAreExactWhenRepresentable) {
  Rng rng;
  const auto three = cfg(100ms, 1h, 3.0, Jitter::none);
  EXPECT_EQ(next_delay(three, 1, {}, rng), 100ms);
  EXPECT_EQ(next_delay(three, 2, {}, rng), 300ms);
  EXPECT_EQ(next_delay(three, 5, {}, rng), 8100ms);
  const auto one_and_half = cfg(1s, 1h, 1.5, Jitter::none);
  EXPECT_EQ(next_delay(one_and_half, 2, {}, rng), 1500ms);
  EXPECT_EQ(next_delay(one_and_half, 4, {}, rng), 3375ms);
  const auto flat = cfg(250ms, 1s, 1.0, Jitter::none);
  EXPECT_EQ(next_delay(flat, 1000, {}, rng), 250ms);
}

TEST(Backoff, HugeAttemptNumbersSaturateAtTheCap) {
  Rng rng;
  for (double mult : {1.5, 2.0, 10.0, 1e300, std::numeric_limits<double>::infinity()}) {
    for (int attempt : {64, 10'000, INT_MAX - 1, INT_MAX}) {
      const auto c = cfg(500ms, 8s, mult, Jitter::none);
      EXPECT_EQ(backoff_ceiling(c, attempt), 8s) << mult << " " << attempt;
      EXPECT_EQ(next_delay(c, attempt, {}, rng), 8s);
    }
  }
  // Slow growth still reaches the cap, in O(log attempt) steps.
  const auto slow = cfg(500ms, 8s, 1.0000001, Jitter::none);
  EXPECT_EQ(backoff_ceiling(slow, 10'000), 500500200ns);
  EXPECT_EQ(backoff_ceiling(slow, INT_MAX), 8s);
  // No cap at all: saturates at Duration::max() without overflow.
  const auto uncapped = cfg(1ns, Duration::max(), 2.0, Jitter::none);
  EXPECT_EQ(backoff_ceiling(uncapped, 63), Duration{std::int64_t{1} << 62});
  EXPECT_EQ(backoff_ceiling(uncapped, 64), Duration::max());
  EXPECT_EQ(backoff_ceiling(uncapped, INT_MAX), Duration::max());
  const auto full = cfg(1ns, Duration::max(), 2.0, Jitter::full);
  EXPECT_GE(next_delay(full, INT_MAX, {}, rng), Duration::zero());
  const auto equal = cfg(1ns, Duration::max(), 2.0, Jitter::equal);
  EXPECT_GE(next_delay(equal, INT_MAX, {}, rng), Duration::max() / 2);
}

TEST(Backoff, ConfigurationIsNormalisedNeverRejected) {
  Rng rng;
  EXPECT_EQ(backoff_ceiling(cfg(500ms, -1s, 2.0, Jitter::none), 3), 0ns);   // max < 0 -> 0
  EXPECT_EQ(backoff_ceiling(cfg(5s, 1s, 2.0, Jitter::none), 1), 1s);        // base > max
  EXPECT_EQ(backoff_ceiling(cfg(-5s, 1s, 2.0, Jitter::none), 4), 0ns);      // base < 0
  EXPECT_EQ(backoff_ceiling(cfg(100ms, 1s, 0.5, Jitter::none), 4), 100ms);  // mult < 1
  EXPECT_EQ(backoff_ceiling(cfg(100ms, 1s, std::nan(""), Jitter::none), 4), 100ms);
  EXPECT_EQ(backoff_ceiling(cfg(100ms, 1s, 2.0, Jitter::none), 0), 100ms);  // attempt < 1
  EXPECT_EQ(backoff_ceiling(cfg(100ms, 1s, 2.0, Jitter::none), INT_MIN), 100ms);
  EXPECT_EQ(next_delay(cfg(0ns, 1s, 2.0, Jitter::decorrelated), 3, {}, rng), 0ns);
  EXPECT_EQ(next_delay(cfg(0ns, 1s, 2.0, Jitter::full), 30, {}, rng), 0ns);
}

TEST(Backoff, FullJitterIsUniformOverZeroToCeiling) {
  const auto c = cfg(1s, 8s, 2.0, Jitter::full);
  Rng rng{7};
  Duration lo = Duration::max(), hi = Duration::zero();
  for (int i = 0; i < 2000; ++i) {
    const Duration d = next_delay(c, 3, {}, rng);  // ceiling 4s
    ASSERT_GE(d, 0ns);
    ASSERT_LE(d, 4s);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 100ms);
  EXPECT_GT(hi, 3900ms);
}

TEST(Backoff, EqualJitterKeepsAtLeastHalfTheCeiling) {
  const auto c = cfg(1s, 8s, 2.0, Jitter::equal);
  Rng rng{7};
  Duration lo = Duration::max(), hi = Duration::zero();
  for (int i = 0; i < 2000; ++i) {
    const Duration d = next_delay(c, 3, {}, rng);
    ASSERT_GE(d, 2s);
    ASSERT_LE(d, 4s);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 2100ms);
  EXPECT_GT(hi, 3900ms);
  // An odd ceiling: halves in integer nanoseconds still cover exactly [c/2, c].
  const auto odd = cfg(3ns, 3ns, 2.0, Jitter::equal);
  for (int i = 0; i < 200; ++i) {
    const Duration d = next_delay(odd, 1, {}, rng);
    ASSERT_GE(d, 1ns);
    ASSERT_LE(d, 3ns);
  }
}

TEST(Backoff, DecorrelatedJitterGrowsFromThePreviousDelayAndIgnoresTheAttempt) {
  const auto c = cfg(100ms, 2s, 2.0, Jitter::decorrelated);
  Rng rng{3};
  for (int i = 0; i < 500; ++i) {
    const Duration first = next_delay(c, 1, {}, rng);  // no previous: U[base, 3 base]
    ASSERT_GE(first, 100ms);
    ASSERT_LE(first, 300ms);
    const Duration next = next_delay(c, 99, 400ms, rng);  // U[base, 1.2s]
    ASSERT_GE(next, 100ms);
    ASSERT_LE(next, 1200ms);
    const Duration capped = next_delay(c, 2, 1s, rng);  // U[base, 3s] capped at 2s
    ASSERT_GE(capped, 100ms);
    ASSERT_LE(capped, 2s);
  }
  // Huge previous delays saturate instead of overflowing.
  EXPECT_LE(next_delay(c, 1, Duration::max(), rng), 2s);
}

TEST(Backoff, StatefulBackoffCountsAttemptsAndRemembersThePreviousDelay) {
  Backoff b{cfg(100ms, 10s, 2.0, Jitter::none)};
  Rng rng;
  EXPECT_EQ(b.next(rng), 100ms);
  EXPECT_EQ(b.next(rng), 200ms);
  EXPECT_EQ(b.attempt(), 2);
  EXPECT_EQ(b.previous(), 200ms);
  EXPECT_EQ(b.next(5, rng), 1600ms);
  EXPECT_EQ(b.next(rng), 3200ms);
  b.reset();
  EXPECT_EQ(b.attempt(), 0);
  EXPECT_EQ(b.previous(), 0ns);
  EXPECT_EQ(b.next(rng), 100ms);
  b.next(INT_MAX, rng);
  EXPECT_EQ(b.next(rng), 10s);  // the attempt counter does not overflow
  EXPECT_EQ(b.attempt(), INT_MAX);

  Backoff d{cfg(100ms, 10s, 2.0, Jitter::decorrelated)};
  Duration prev = 100ms;
  for (int i = 0; i < 50; ++i) {
    const Duration x = d.next(rng);
    ASSERT_GE(x, 100ms);
    ASSERT_LE(x, std::min<Duration>(10s, 3 * prev));
    prev = x;
  }
}

TEST(Backoff, SameSeedSameDelays) {
  for (Jitter j : {Jitter::full, Jitter::equal, Jitter::decorrelated}) {
    Backoff a{cfg(50ms, 5s, 2.0, j)}, b{cfg(50ms, 5s, 2.0, j)};
    Rng ra{99}, rb{99};
    for (int i = 0; i < 20; ++i) ASSERT_EQ(a.next(ra), b.next(rb));
  }
}

TEST(Backoff, JitterNamesRoundTrip) {
  for (Jitter j : {Jitter::none, Jitter::full, Jitter::equal, Jitter::decorrelated})
    EXPECT_EQ(jitter_from_string(to_string(j)), j);
  EXPECT_EQ(to_string(Jitter::decorrelated), "decorrelated");
  EXPECT_EQ(jitter_from_string("Full"), std::nullopt);
  EXPECT_EQ(jitter_from_string(""), std::nullopt);
}

}  // namespace
}  // namespace keel::policy
