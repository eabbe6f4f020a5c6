#include "keel/core/time.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

using namespace std::chrono_literals;

TEST(Deadline, NeverIsLaterThanAnyTimeAndNeverPasses) {
  const Deadline never = Deadline::never();
  EXPECT_TRUE(never.is_never());
  EXPECT_LT(Deadline::at(TimePoint{} + 1000h), never);
  EXPECT_FALSE(never.passed(TimePoint::max() - 1ns));
  EXPECT_EQ(never.remaining(TimePoint{}), Duration::max());
}

TEST(Deadline, AfterSaturatesInsteadOfOverflowing) {
  const TimePoint late = TimePoint{} + Duration{std::numeric_limits<std::int64_t>::max() - 5};
  EXPECT_TRUE(Deadline::after(late, 1h).is_never());
  EXPECT_TRUE(Deadline::after(TimePoint{}, Duration::max()).is_never());
  EXPECT_EQ(Deadline::after(TimePoint{} + 1s, 2s).time(), TimePoint{} + 3s);
}

TEST(Deadline, RemainingAndPassed) {
  const Deadline d = Deadline::after(TimePoint{}, 10ms);
  EXPECT_EQ(d.remaining(TimePoint{} + 4ms), 6ms);
  EXPECT_FALSE(d.passed(TimePoint{} + 9ms));
  EXPECT_TRUE(d.passed(TimePoint{} + 10ms));
  EXPECT_EQ(d.remaining(TimePoint{} + 1s), Duration::zero());
  EXPECT_TRUE(Deadline::after(TimePoint{} + 1s, -5ms).passed(TimePoint{} + 1s));
}

TEST(Deadline, EarliestPicksTheTighterOne) {
  const Deadline a = Deadline::at(TimePoint{} + 5s), b = Deadline::at(TimePoint{} + 2s);
  EXPECT_EQ(Deadline::earliest(a, b), b);
  EXPECT_EQ(Deadline::earliest(Deadline::never(), a), a);
  EXPECT_EQ(a.minus(1s).time(), TimePoint{} + 4s);
  EXPECT_TRUE(Deadline::never().minus(1s).is_never());
}

TEST(SaturatingAdd, ClampsAtBothEnds) {
  EXPECT_EQ(saturating_add(Duration::max(), 1ns), Duration::max());
  EXPECT_EQ(saturating_add(Duration::min(), -1ns), Duration::min());
  EXPECT_EQ(saturating_add(3ns, 4ns), 7ns);
}

}  // namespace
}  // namespace keel
